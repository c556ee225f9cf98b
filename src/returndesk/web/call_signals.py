"""Signalling for video calls over WebSocket: who is in the room, and the messages between them.

The app never touches the media. It tells each browser who else is in the call, relays their
WebRTC offers, answers and ICE candidates (`signal`) and the agent's inspection requests
(`control`: switch to the back camera, torch, pointer, still, record), and says when someone
joins, leaves, answers about recording or ends the call. The browsers then connect to each
other (directly, or through TURN). Nothing here depends on that topology: a selective
forwarding unit would be one more "peer" the browsers negotiate with (docs/calls.md).

A page connects before its person presses Join (`?lobby=1`): the others are told a seat is
waiting (`peer_joined` with `state: "lobby"`) and connect to it at once, so that the media
path is ready when Join is pressed; until then the waiting page sends no media (its senders
carry no track), is not in the call's record (`call_service.join` runs at `{"type": "join"}`)
and gets no `control` (the agent's tools act on a phone only once its person joined). A socket
without `lobby=1` joins as it connects.

Each process holds its own connections; which seats a call has, and the messages to seats
connected to other processes, go through a bus (adapters/call_bus.py): memory in one process,
Redis with `RETURNDESK_REDIS_URL`. A seat that connects again (a reload, a new network, to
any process) replaces its old connection; the others are told it left and joined, and the
one already there offers again.
"""

from __future__ import annotations

import contextlib
import json
import logging
import uuid
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from fastapi import APIRouter, WebSocket, WebSocketDisconnect
from starlette.concurrency import run_in_threadpool

from returndesk.adapters.call_bus import CallBus, LocalBus, RedisBus
from returndesk.bootstrap import Container
from returndesk.domain.calls import Call, CallRole, Consent
from returndesk.domain.errors import DomainError
from returndesk.services import calls as call_service
from returndesk.services.calls import IceConfig, SeatAccess

log = logging.getLogger(__name__)
router = APIRouter()

MAX_MESSAGE = 64 * 1024
# What each role may ask the others to do (relayed as `control`); anything else is refused.
CONTROLS: dict[CallRole, frozenset[str]] = {
    CallRole.agent: frozenset(
        {"camera", "torch", "pointer", "still", "record", "sharing", "media_state"}
    ),
    CallRole.buyer: frozenset(
        {"camera_state", "torch_state", "still_failed", "recording_state", "media_state"}
    ),
    CallRole.guest: frozenset({"media_state"}),
}
# Close codes (4000-4999 are the application's): the page says why in the person's language.
CLOSE_INVALID = 4401  # a wrong or expired link
CLOSE_ENDED = 4410  # the call is over
CLOSE_REPLACED = 4409  # the same seat connected again elsewhere


class SignalHub:
    """The connections of this process, by call and seat; the directory of seats and the bus
    to the other processes (adapters/call_bus.py). Used from the server's event loop only."""

    def __init__(self, bus: CallBus) -> None:
        self.bus = bus
        self.local: dict[str, dict[str, tuple[str, WebSocket]]] = {}  # call -> seat -> (conn, ws)
        self.waiting: set[str] = set()  # connections whose person has not pressed Join yet
        self._started = False

    async def _start(self) -> None:
        if not self._started:
            self._started = True
            await self.bus.start(self._deliver)

    async def take(
        self, call_id: str, person: dict[str, str], websocket: WebSocket
    ) -> tuple[str, list[dict[str, str]], bool]:
        """A seat connected: (its connection id, the others here, whether recording is on). A
        connection that held the seat before (a reload, here or in another process) is closed
        and the others are told the seat left, so that they offer to the new one."""
        await self._start()
        seat_id = person["id"]
        conn = uuid.uuid4().hex
        room = self.local.setdefault(call_id, {})
        old = room.get(seat_id)
        room[seat_id] = (conn, websocket)
        if person.get("state") == "lobby":
            self.waiting.add(conn)
        before = await self.bus.take_seat(call_id, seat_id, {**person, "conn": conn})
        if before is not None:
            if old is not None and old[0] == before:
                with contextlib.suppress(WebSocketDisconnect, RuntimeError, OSError):
                    await old[1].close(CLOSE_REPLACED)
            else:
                await self.bus.publish({"call": call_id, "kick": [seat_id, before]})
            await self.send(call_id, {"type": "peer_left", "id": seat_id}, skip=seat_id)
        seats = await self.bus.seats(call_id)
        peers = [_public(p) for seat, p in seats.items() if seat != seat_id]
        return conn, peers, await self.bus.recording(call_id)

    async def ready(self, call_id: str, person: dict[str, str], conn: str) -> bool:
        """The waiting connection's person pressed Join; False when a newer connection holds
        the seat by now (this one is being closed)."""
        self.waiting.discard(conn)
        return await self.bus.update_seat(call_id, person["id"], {**person, "conn": conn})

    async def leave(self, call_id: str, seat_id: str, conn: str) -> bool:
        """The connection went away; False when a newer one holds the seat (nothing to say)."""
        self.waiting.discard(conn)
        room = self.local.get(call_id, {})
        if room.get(seat_id, ("",))[0] == conn:
            del room[seat_id]
            if not room:
                self.local.pop(call_id, None)
        return await self.bus.leave_seat(call_id, seat_id, conn)

    async def send(
        self,
        call_id: str,
        message: dict[str, Any],
        *,
        to: str | None = None,
        skip: str = "",
        joined_only: bool = False,
    ) -> None:
        """To the call's seats (`to` one, or all but `skip`); `joined_only`: not to seats still
        waiting to press Join."""
        envelope = {
            "call": call_id, "message": message, "to": to, "skip": skip, "joined": joined_only
        }  # fmt: skip
        await self._deliver(envelope)
        await self.bus.publish(envelope)

    async def close_all(self, call_id: str, code: int) -> None:
        envelope = {"call": call_id, "close": code}
        await self._deliver(envelope)
        await self.bus.publish(envelope)
        await self.bus.forget(call_id)

    async def _deliver(self, envelope: dict[str, Any]) -> None:
        """A call's message to this process's connections (from here or from the bus)."""
        call_id = str(envelope.get("call") or "")
        room = self.local.get(call_id)
        if not room:
            return
        kick, close = envelope.get("kick"), envelope.get("close")
        if isinstance(kick, list) and len(kick) == 2:
            held = room.get(str(kick[0]))
            if held is not None and held[0] == kick[1]:
                del room[str(kick[0])]
                with contextlib.suppress(WebSocketDisconnect, RuntimeError, OSError):
                    await held[1].close(CLOSE_REPLACED)
            return
        if isinstance(close, int):
            self.local.pop(call_id, None)
            for _, socket in room.values():
                with contextlib.suppress(WebSocketDisconnect, RuntimeError, OSError):
                    await socket.close(close)
            return
        text = json.dumps(envelope.get("message"), separators=(",", ":"), ensure_ascii=False)
        to, skip, joined_only = envelope.get("to"), envelope.get("skip"), envelope.get("joined")
        for seat, (conn, socket) in list(room.items()):
            if (to and seat != to) or seat == skip or (joined_only and conn in self.waiting):
                continue
            try:
                await socket.send_text(text)
            except (WebSocketDisconnect, RuntimeError, OSError):  # closed meanwhile: its
                continue  # own loop cleans up; the others still get the message


def _public(person: dict[str, str]) -> dict[str, str]:
    return {key: person[key] for key in ("id", "role", "name", "state") if key in person}


def hub_of(websocket_or_app: Any) -> SignalHub:
    app = getattr(websocket_or_app, "app", websocket_or_app)
    hub: SignalHub | None = getattr(app.state, "call_hub", None)
    if hub is None:
        settings = app.state.container.settings
        bus: CallBus = (
            RedisBus(settings.redis_url, settings.redis_namespace)
            if settings.redis_url
            else LocalBus()
        )
        hub = SignalHub(bus)
        app.state.call_hub = hub
    return hub


def wall_clock() -> datetime:
    """TURN credentials are checked by the TURN server against its own clock, not the app's."""
    return datetime.now(UTC)


def ice_config(container: Container) -> IceConfig:
    s = container.settings
    return IceConfig.parse(
        s.stun_urls, s.turn_urls, s.turn_secret, s.turn_ttl_seconds, s.call_ice_policy
    )


def _person(seat: SeatAccess, *, joined: bool = True) -> dict[str, str]:
    return {
        "id": seat.seat.id,
        "role": seat.seat.role.value,
        "name": seat.seat.name,
        "state": "joined" if joined else "lobby",
    }


@router.websocket("/calls/{call_id}/signal")
async def signal(websocket: WebSocket, call_id: str) -> None:
    container: Container = websocket.app.state.container
    hub = hub_of(websocket)
    await websocket.accept()
    token = websocket.query_params.get("token", "")
    lobby = websocket.query_params.get("lobby") == "1"
    try:
        seat = await run_in_threadpool(
            lambda: call_service.access(
                container.uow, container.clock, container.tokens, token, call_id=call_id
            )
        )
        call = (
            seat.call
            if lobby
            else await run_in_threadpool(call_service.join, container.uow, container.clock, seat)
        )
    except DomainError as exc:
        await _refuse(websocket, exc.code)
        return
    me = seat.seat.id
    link = _Link(joined=not lobby)
    try:
        person = _person(seat, joined=not lobby)
        seats = await hub.bus.seats(call_id) if lobby else {}
        if seats.get(me, {}).get("state", "lobby") != "lobby":
            # The seat is in the call on another page (a second tab, or a reload whose old page
            # is not gone yet): this one waits beside it without taking the seat, so opening the
            # link never pushes the person out of the call; Join takes the seat over.
            peers = [_public(p) for other, p in seats.items() if other != me]
            recording = await hub.bus.recording(call_id)
        else:
            link.conn, peers, recording = await hub.take(call_id, person, websocket)
        welcome = _welcome(container, me, peers, recording, call)
        await websocket.send_text(json.dumps({**welcome, "lobby": lobby}))
        if link.conn:
            await hub.send(call_id, {"type": "peer_joined", "peer": _public(person)}, skip=me)
        await _relay(websocket, container, hub, seat, call_id, link)
    except WebSocketDisconnect:
        pass
    finally:
        if link.conn:
            await _gone(container, hub, call_id, seat, link.conn)


@dataclass
class _Link:
    """One socket's hold on its seat: `conn` while it holds it (a page waiting beside another
    page of the same seat holds none), `joined` once its person pressed Join."""

    conn: str = ""
    joined: bool = False


async def _refuse(websocket: WebSocket, code: str) -> None:
    """Say why, and close with the code the page reads (an ended call, or a wrong link)."""
    ended = code in ("call_ended", "call_expired")
    with contextlib.suppress(WebSocketDisconnect, RuntimeError, OSError):
        await websocket.send_text(json.dumps({"type": "error", "code": code}))
        await websocket.close(CLOSE_ENDED if ended else CLOSE_INVALID)


def _welcome(
    container: Container, me: str, peers: list[dict[str, str]], recording: bool, call: Call
) -> dict[str, Any]:
    """Who this is, who else is here, how to reach them (fresh TURN credentials), and the
    state a reloaded page must pick up again (consent, a recording under way)."""
    seat = call.seat(me)
    you = {"id": me, "role": seat.role.value, "name": seat.name} if seat else {"id": me}
    return {
        "type": "welcome",
        "you": you,
        "peers": peers,
        "ice_servers": ice_config(container).servers(me, wall_clock()),
        "ice_policy": container.settings.call_ice_policy,
        "consent": call.consent.value if call.consent else None,
        "recording": recording,
        "status": call.status.value,
    }


async def _relay(
    websocket: WebSocket,
    container: Container,
    hub: SignalHub,
    seat: SeatAccess,
    call_id: str,
    link: _Link,
) -> None:
    me = seat.seat.id
    allowed = CONTROLS[seat.seat.role]
    while True:
        text = await websocket.receive_text()
        if len(text) > MAX_MESSAGE:
            await websocket.close(1009)
            return
        try:
            message = json.loads(text)
        except ValueError:
            continue
        if not isinstance(message, dict):
            continue
        kind = message.get("type")
        to = message.get("to")
        if kind == "signal" and isinstance(to, str) and link.conn:
            await hub.send(call_id, {"type": "signal", "from": me, "data": message.get("data")},
                           to=to)  # fmt: skip
        elif kind == "join" and not link.joined:
            if not await _join(websocket, container, hub, seat, call_id, link):
                return
        elif kind == "control" and not link.joined:
            await websocket.send_text(json.dumps({"type": "error", "code": "call_not_joined"}))
        elif kind == "control":
            await _control(websocket, container, hub, seat, call_id, message, allowed)
        elif kind == "hang_up" and not link.conn:
            await websocket.close(1000)  # a page waiting beside the one in the call: it goes
            return
        elif kind == "hang_up":
            try:
                call = await run_in_threadpool(
                    call_service.hang_up, container.uow, container.clock, seat
                )
            except DomainError:  # ended meanwhile (by staff, or the links ran out)
                call = None
            if call is None or not call.is_open:
                await announce(hub, call_id, {"type": "ended"})
            else:
                await websocket.close(1000)
            return


async def _join(
    websocket: WebSocket,
    container: Container,
    hub: SignalHub,
    seat: SeatAccess,
    call_id: str,
    link: _Link,
) -> bool:
    """The waiting page's person pressed Join: in the call's record, the others told, and the
    page told whether a recording is under way (what it missed while it waited). False when
    this socket is done (a newer page holds the seat, or the call ended meanwhile)."""
    me = seat.seat.id
    if link.conn and not await hub.ready(call_id, _person(seat), link.conn):
        return False
    try:
        await run_in_threadpool(call_service.join, container.uow, container.clock, seat)
    except DomainError as exc:  # ended, or its links ran out, while it waited
        await _refuse(websocket, exc.code)
        return False
    link.joined = True
    if link.conn:
        await hub.send(call_id, {"type": "peer_ready", "id": me}, skip=me)
    else:  # it waited beside the page that held the seat: this one takes it over now
        person = _person(seat)
        link.conn, _, _ = await hub.take(call_id, person, websocket)
        await hub.send(call_id, {"type": "peer_joined", "peer": _public(person)}, skip=me)
    recording = await hub.bus.recording(call_id)
    await websocket.send_text(json.dumps({"type": "joined", "recording": recording}))
    return True


async def _control(
    websocket: WebSocket,
    container: Container,
    hub: SignalHub,
    seat: SeatAccess,
    call_id: str,
    message: dict[str, Any],
    allowed: frozenset[str],
) -> None:
    action = message.get("action")
    if action not in allowed:
        await websocket.send_text(json.dumps({"type": "error", "code": "control_not_allowed"}))
        return
    if action == "record":
        on = bool(message.get("on"))
        if on:
            call = await run_in_threadpool(_read_call, container, call_id)
            if call is None or call.consent is not Consent.granted:
                await websocket.send_text(
                    json.dumps({"type": "error", "code": "recording_not_consented"})
                )
                return
        await hub.bus.set_recording(call_id, on)
    relayed = {k: v for k, v in message.items() if k not in ("type", "to")}
    relayed.update(type="control", **{"from": seat.seat.id, "role": seat.seat.role.value})
    to = message.get("to")
    await hub.send(
        call_id, relayed, to=to if isinstance(to, str) else None, skip=seat.seat.id,
        joined_only=True,
    )  # fmt: skip


def _read_call(container: Container, call_id: str) -> Call | None:
    with container.uow() as uow:
        return uow.calls.get(call_id)


async def _gone(
    container: Container, hub: SignalHub, call_id: str, seat: SeatAccess, conn: str
) -> None:
    me = seat.seat.id
    if not await hub.leave(call_id, me, conn):
        return  # a newer connection holds the seat (a reload), or the call ended
    try:
        await run_in_threadpool(call_service.leave, container.uow, container.clock, call_id, me)
    except DomainError:
        log.info("call %s: seat %s left an ended call", call_id, me)
    await hub.send(call_id, {"type": "peer_left", "id": me})


async def announce(hub: SignalHub, call_id: str, message: dict[str, Any]) -> None:
    """Tell everyone in the call (consent answered, a still saved, the call ended by staff)."""
    await hub.send(call_id, message)
    if message.get("type") == "ended":
        await hub.close_all(call_id, CLOSE_ENDED)
