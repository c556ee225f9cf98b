"""Video calls on a case: start, join links, seats, consent to record, stills, recordings, end.

Staff start a call from a case; the buyer, the agent and guests join through links that carry
a signed token for one seat of one call (adapters/auth/tokens.py), valid until the call's
links expire. The call's start, the buyer's answer about recording and its end are timeline
entries of the case; stills and recordings are evidence of the case like any other, through
the same checks and the same hash chain.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any, Protocol

from returndesk.domain.access import Permission, Role
from returndesk.domain.calls import (
    Call,
    CallRole,
    CallStatus,
    Consent,
    Participant,
    check_link_minutes,
    guest_name,
)
from returndesk.domain.cases.status import TERMINAL
from returndesk.domain.errors import (
    AuthenticationFailed,
    Conflict,
    DomainError,
    NotFound,
    StaleVersion,
    ValidationFailed,
)
from returndesk.domain.evidence import EvidenceItem
from returndesk.domain.ids import new_id
from returndesk.services import recordings
from returndesk.services.evidence import finish_upload, principal_key, start_upload
from returndesk.services.ports import Clock, EvidenceFiles, Recording, UnitOfWork, UnitOfWorkFactory
from returndesk.services.principal import SYSTEM, Principal
from returndesk.services.recordings import ChunkReceipt
from returndesk.services.returns import get_case, load_case
from returndesk.services.scheduling import mark_held

MAX_STILL_BYTES = 30 * 1024 * 1024


class JoinTokens(Protocol):
    def issue_join(
        self, call_id: str, seat_id: str, now: datetime, expires_at: datetime
    ) -> str: ...
    def read_join(self, token: str) -> tuple[str, str]: ...


@dataclass(frozen=True, slots=True)
class IceConfig:
    """Where the browsers find STUN/TURN (settings), and the TURN REST-API secret."""

    stun_urls: tuple[str, ...] = ()
    turn_urls: tuple[str, ...] = ()
    turn_secret: str = ""
    turn_ttl_seconds: int = 3600
    policy: str = "all"  # "relay": only through TURN

    @classmethod
    def parse(cls, stun: str, turn: str, secret: str, ttl_seconds: int, policy: str) -> IceConfig:
        def urls(text: str) -> tuple[str, ...]:
            return tuple(u.strip() for u in text.split(",") if u.strip())

        return cls(urls(stun), urls(turn), secret, ttl_seconds, policy)

    def servers(self, seat_id: str, now: datetime) -> list[dict[str, Any]]:
        """RTCIceServer entries; TURN credentials per the TURN REST API scheme (coturn's
        `use-auth-secret`): username `expiry:seat`, password base64(HMAC-SHA1(secret, it))."""
        servers: list[dict[str, Any]] = []
        if self.stun_urls:
            servers.append({"urls": list(self.stun_urls)})
        if self.turn_urls and self.turn_secret:
            expiry = int((now + timedelta(seconds=self.turn_ttl_seconds)).timestamp())
            username = f"{expiry}:{seat_id}"
            digest = hmac.new(self.turn_secret.encode(), username.encode(), hashlib.sha1).digest()
            servers.append(
                {
                    "urls": list(self.turn_urls),
                    "username": username,
                    "credential": base64.b64encode(digest).decode(),
                }
            )
        return servers


@dataclass(frozen=True, slots=True)
class StartedCall:
    call: Call
    tokens: dict[str, str]  # role -> join token of that seat (agent, buyer)


@dataclass(frozen=True, slots=True)
class SeatAccess:
    """A valid link: the call (as read now), the seat, and who that is for the evidence."""

    call: Call
    seat: Participant
    principal: Principal | None  # None for guests: they see and speak, they add no evidence
    language: str  # the page's language for this person


def _case_call(
    uow_factory: UnitOfWorkFactory, principal: Principal, case_id: str, call_id: str
) -> Call:
    """A call of a case this principal may see."""
    with uow_factory() as uow:
        load_case(uow, principal, case_id)
        call = uow.calls.get(call_id)
    if call is None or call.case_id != case_id:
        raise NotFound("call not found", code="call_not_found")
    return call


def start_call(
    uow_factory: UnitOfWorkFactory,
    clock: Clock,
    tokens: JoinTokens,
    principal: Principal,
    *,
    case_id: str,
    link_minutes: int,
) -> StartedCall:
    """Staff start a call with the buyer of a case: two seats (agent, buyer) and their links;
    `call_started` on the timeline (the buyer's email and live page say so)."""
    principal.require(Permission.call_start)
    if principal.kind != "staff":
        raise AuthenticationFailed("only staff start calls", code="staff_only")
    check_link_minutes(link_minutes)
    now = clock()
    with uow_factory(write=True) as uow:
        case = load_case(uow, principal, case_id)
        if case.status in TERMINAL:
            raise Conflict(f"a {case.status.value} case takes no video call", code="case_closed")
        order = uow.orders.get(case.order_id)
        buyer_name = (order.buyer_name or order.email) if order else ""
        call = Call(
            id=new_id(),
            store_id=case.store_id,
            case_id=case.id,
            started_by=principal.id,
            started_by_name=principal.name[:200],
            created_at=now,
            expires_at=now + timedelta(minutes=link_minutes),
        )
        call.add_seat(Participant(new_id(), CallRole.agent, principal.name[:100]))
        call.add_seat(Participant(new_id(), CallRole.buyer, buyer_name[:100]))
        uow.calls.add(call)
        mark_held(uow, case.id, call.id, now)
        case.record_call(
            "call_started",
            {"call_id": call.id, "expires_at": call.expires_at.isoformat()},
            principal.actor(),
            now,
        )
        uow.cases.add_events(case)
        uow.commit()
    links = {
        seat.role.value: tokens.issue_join(call.id, seat.id, now, call.expires_at)
        for seat in call.participants
    }
    return StartedCall(call, links)


def invite_guest(
    uow_factory: UnitOfWorkFactory,
    clock: Clock,
    tokens: JoinTokens,
    principal: Principal,
    *,
    case_id: str,
    call_id: str,
    name: str,
) -> tuple[Call, str]:
    """A third person (an interpreter, a local agent abroad): a guest seat and its link."""
    principal.require(Permission.call_start)
    cleaned = guest_name(name)
    now = clock()
    _case_call(uow_factory, principal, case_id, call_id)
    seat = Participant(new_id(), CallRole.guest, cleaned)

    def change(_uow: UnitOfWork, call: Call) -> bool:
        call.check_open(now)
        call.add_seat(seat)
        return True

    call = _update(uow_factory, call_id, change)
    return call, tokens.issue_join(call.id, seat.id, now, call.expires_at)


def buyer_link(
    uow_factory: UnitOfWorkFactory,
    clock: Clock,
    tokens: JoinTokens,
    principal: Principal,
    *,
    case_id: str,
    call_id: str,
) -> str:
    """The buyer's seat link, for the buyer signed in to the portal (or staff resending it)."""
    now = clock()
    call = _case_call(uow_factory, principal, case_id, call_id)
    call.check_open(now)
    seat = call.seat_of(CallRole.buyer)
    if seat is None:  # every call is made with one
        raise NotFound("call not found", code="call_not_found")
    return tokens.issue_join(call.id, seat.id, now, call.expires_at)


def open_call_of(uow_factory: UnitOfWorkFactory, clock: Clock, principal: Principal,
                 case_id: str) -> Call | None:  # fmt: skip
    """The case's call that can be joined now, if any (the latest)."""
    now = clock()
    calls = list_calls(uow_factory, principal, case_id)
    return next((c for c in reversed(calls) if c.usable(now)), None)


def list_calls(uow_factory: UnitOfWorkFactory, principal: Principal, case_id: str) -> list[Call]:
    get_case(uow_factory, principal, case_id)  # who may see the case may see its calls
    with uow_factory() as uow:
        return uow.calls.for_case(case_id)


def access(
    uow_factory: UnitOfWorkFactory,
    clock: Clock,
    tokens: JoinTokens,
    token: str,
    *,
    call_id: str | None = None,
    ended_ok: bool = False,
) -> SeatAccess:
    """What a join link opens, checked now: a genuine token (of `call_id`, when given), its
    call still open and the seat in it. An ended or expired call says so (call_ended /
    call_expired); `ended_ok`: an ended call's seat still may finish what it was sending."""
    token_call, seat_id = tokens.read_join(token)
    if call_id is not None and token_call != call_id:
        raise AuthenticationFailed("the call link is invalid", code="invalid_join_token")
    with uow_factory() as uow:
        call = uow.calls.get(token_call)
        seat = call.seat(seat_id) if call else None
        if call is None or seat is None:
            raise AuthenticationFailed("the call link is invalid", code="invalid_join_token")
        if not (ended_ok and call.status is CallStatus.ended):
            call.check_open(clock())
        principal, language = _seat_person(uow, call, seat)
    return SeatAccess(call, seat, principal, language)


def _seat_person(uow: UnitOfWork, call: Call, seat: Participant) -> tuple[Principal | None, str]:
    """Who a seat is for the evidence, and the page's language. The agent's seat needs only the
    staff account (it is checked on every chunk a recording sends)."""
    if seat.role is CallRole.agent:
        user = uow.staff.get(call.started_by)
        if user is not None and user.active:
            return Principal("staff", user.id, user.role, user.store_id, user.name), user.language
        raise AuthenticationFailed("the call link is invalid", code="invalid_join_token")
    case = uow.cases.get(call.case_id)
    order = uow.orders.get(case.order_id) if case else None
    if order is None:
        return None, "en"
    if seat.role is CallRole.buyer:
        name = order.buyer_name or order.email
        return Principal("buyer", order.id, Role.buyer, order.store_id, name, order.id), (
            order.language
        )
    return None, order.language  # a guest: the buyer's language until they choose another


def _update(
    uow_factory: UnitOfWorkFactory,
    call_id: str,
    change: Callable[[UnitOfWork, Call], bool],
) -> Call:
    """Read the call, change it, save it (again on a concurrent save)."""
    for _ in range(10):
        with uow_factory(write=True) as uow:
            call = uow.calls.get(call_id, for_update=True)
            if call is None:
                raise NotFound("call not found", code="call_not_found")
            if not change(uow, call):
                return call
            try:
                uow.calls.save(call)
            except StaleVersion:
                continue
            uow.commit()
            return call
    raise Conflict("the call is busy: try again", code="call_busy")


def join(uow_factory: UnitOfWorkFactory, clock: Clock, seat: SeatAccess) -> Call:
    """The seat's browser connected (again)."""
    now = clock()

    def change(_uow: UnitOfWork, call: Call) -> bool:
        call.join(seat.seat.id, now)
        return True

    return _update(uow_factory, seat.call.id, change)


def leave(uow_factory: UnitOfWorkFactory, clock: Clock, call_id: str, seat_id: str) -> Call:
    """The seat's browser went away (closed, reloading, lost the network)."""
    now = clock()

    def change(_uow: UnitOfWork, call: Call) -> bool:
        seat = call.seat(seat_id)
        if seat is None or not seat.present:
            return False
        call.leave(seat_id, now)
        return True

    return _update(uow_factory, call_id, change)


def answer_consent(
    uow_factory: UnitOfWorkFactory, clock: Clock, seat: SeatAccess, answer: str
) -> Call:
    """The buyer's answer about recording, on the timeline before any recording starts."""
    if seat.seat.role is not CallRole.buyer or seat.principal is None:
        raise AuthenticationFailed("only the buyer answers this", code="buyer_only")
    try:
        consent = Consent(answer)
    except ValueError:
        raise ValidationFailed(
            "answer 'granted' or 'declined'",
            code="invalid_consent",
            allowed=[c.value for c in Consent],
        ) from None
    now = clock()
    actor = seat.principal.actor()

    def change(uow: UnitOfWork, call: Call) -> bool:
        if not call.answer_consent(consent, now):
            return False
        case = uow.cases.get(call.case_id)
        if case is not None:
            case.record_call("call_consent", {"call_id": call.id, "consent": consent.value},
                             actor, now)  # fmt: skip
            uow.cases.add_events(case)
        return True

    return _update(uow_factory, seat.call.id, change)


def end_call(
    uow_factory: UnitOfWorkFactory, clock: Clock, call_id: str, actor_principal: Principal | None
) -> Call:
    """Hang up for everyone; `call_ended` with the call's summary on the timeline."""
    now = clock()

    def change(uow: UnitOfWork, call: Call) -> bool:
        if not call.end(now):
            return False
        case = uow.cases.get(call.case_id)
        if case is not None:
            actor = (actor_principal or SYSTEM).actor()
            case.record_call("call_ended", call.summary(now), actor, now)
            uow.cases.add_events(case)
        return True

    return _update(uow_factory, call_id, change)


def staff_end_call(
    uow_factory: UnitOfWorkFactory, clock: Clock, principal: Principal, *, case_id: str,
    call_id: str,
) -> Call:  # fmt: skip
    """Staff end a call from the case (a call page left open, a buyer who never came)."""
    principal.require(Permission.call_start)
    _case_call(uow_factory, principal, case_id, call_id)
    return end_call(uow_factory, clock, call_id, principal)


def hang_up(uow_factory: UnitOfWorkFactory, clock: Clock, seat: SeatAccess) -> Call:
    """The agent's hang-up ends the call for everyone; anyone else leaves it."""
    if seat.seat.role is CallRole.agent:
        return end_call(uow_factory, clock, seat.call.id, seat.principal)
    return leave(uow_factory, clock, seat.call.id, seat.seat.id)


def _evidence_principal(seat: SeatAccess) -> Principal:
    if seat.principal is None:
        raise AuthenticationFailed("guests add no evidence", code="guest_no_evidence")
    return seat.principal


def take_still(
    uow_factory: UnitOfWorkFactory,
    clock: Clock,
    files: EvidenceFiles,
    seat: SeatAccess,
    *,
    data: bytes,
    device: str,
    requested_by: str = "",  # the seat id of whoever asked for it
) -> EvidenceItem:
    """A full-resolution still of the buyer's camera (taken on the buyer's phone when the
    agent asks, or from the agent's view): evidence of the case, noted on the call."""
    principal = _evidence_principal(seat)
    if not data:
        raise ValidationFailed("the still is empty", code="empty_file")
    if len(data) > MAX_STILL_BYTES:
        raise ValidationFailed("the still is too large", code="file_too_large")
    seat.call.check_open(clock())
    now = clock()
    upload = start_upload(
        uow_factory, clock, principal, case_id=seat.call.case_id, kind="photo",
        filename=f"call-still-{now:%Y%m%d-%H%M%S}.jpg", length=len(data), device=device,
    )  # fmt: skip
    part = files.upload_path(upload.id)
    part.parent.mkdir(parents=True, exist_ok=True)
    part.write_bytes(data)
    extra = {"call_id": seat.call.id, "call_role": seat.seat.role.value}
    asker = seat.call.seat(requested_by) if requested_by else None
    if asker is not None:  # the seat that asked for it (the agent), named as the call has it
        extra["requested_by"] = asker.name
    item = finish_upload(uow_factory, clock, files, principal, upload, extra=extra)

    def change(_uow: UnitOfWork, call: Call) -> bool:
        call.still_ids.append(item.id)
        return True

    _update(uow_factory, seat.call.id, change)
    return item


def start_recording(
    uow_factory: UnitOfWorkFactory,
    clock: Clock,
    seat: SeatAccess,
    *,
    mime_type: str,
    timeslice_ms: int,
    device: str,
) -> Recording:
    """One side's camera and microphone, recorded live; only once the buyer said yes."""
    principal = _evidence_principal(seat)
    seat.call.check_open(clock())
    seat.call.require_consent()
    recording = recordings.start_recording(
        uow_factory, clock, principal, case_id=seat.call.case_id, mime_type=mime_type,
        timeslice_ms=timeslice_ms, device=device,
    )  # fmt: skip

    def change(_uow: UnitOfWork, call: Call) -> bool:
        call.require_consent()  # asked again in the unit that notes it
        call.recording_ids.append(recording.id)
        return True

    _update(uow_factory, seat.call.id, change)
    return recording


def _call_recording(seat: SeatAccess, recording_id: str) -> None:
    if recording_id not in seat.call.recording_ids:
        raise NotFound("recording not found", code="recording_not_found")


def put_chunk(
    uow_factory: UnitOfWorkFactory,
    clock: Clock,
    files: EvidenceFiles,
    seat: SeatAccess,
    *,
    recording_id: str,
    seq: int,
    data: bytes,
) -> ChunkReceipt:
    """A chunk while the buyer's yes holds (a withdrawn yes stops the recording at once)."""
    principal = _evidence_principal(seat)
    _call_recording(seat, recording_id)
    seat.call.require_consent()
    return recordings.put_chunk(
        uow_factory, clock, files, principal, case_id=seat.call.case_id,
        recording_id=recording_id, seq=seq, data=data,
    )  # fmt: skip


def finish_recording(
    uow_factory: UnitOfWorkFactory,
    clock: Clock,
    files: EvidenceFiles,
    seat: SeatAccess,
    *,
    recording_id: str,
) -> EvidenceItem:
    principal = _evidence_principal(seat)
    _call_recording(seat, recording_id)
    return recordings.finish_recording(
        uow_factory, clock, files, principal, case_id=seat.call.case_id, recording_id=recording_id
    )


def seat_access_of(uow_factory: UnitOfWorkFactory, call: Call, seat: Participant) -> SeatAccess:
    with uow_factory() as uow:
        principal, language = _seat_person(uow, call, seat)
    return SeatAccess(call, seat, principal, language)


@dataclass(frozen=True, slots=True)
class CallSweep:
    ended: int
    recordings_finished: int


def sweep_calls(
    uow_factory: UnitOfWorkFactory,
    clock: Clock,
    files: EvidenceFiles,
    *,
    quiet_seconds: int = 60,
    limit: int = 100,
) -> CallSweep:
    """End calls whose links ran out, and finish the recordings of ended calls that their
    browsers never finished (a crash, a closed tab): what arrived becomes the evidence."""
    now = clock()
    with uow_factory() as uow:
        due = uow.calls.open_calls(now, limit)
    ended = 0
    for call in due:
        try:
            end_call(uow_factory, clock, call.id, None)
            ended += 1
        except DomainError:
            continue
    finished = 0
    with uow_factory() as uow:
        recent = uow.calls.ended_since(now - timedelta(days=1), limit)
    for call in recent:
        seats = [seat_access_of(uow_factory, call, p) for p in call.participants]
        by_key = {principal_key(s.principal): s for s in seats if s.principal is not None}
        for recording_id in call.recording_ids:
            with uow_factory() as uow:
                recording = uow.evidence.get_recording(recording_id)
                chunks = uow.evidence.chunks(recording_id) if recording else []
            if recording is None or recording.status != "open" or not chunks:
                continue
            if (now - chunks[-1].arrived_at).total_seconds() < quiet_seconds:
                continue  # its browser may still be finishing it
            seat = by_key.get(recording.principal)
            if seat is None:
                continue
            try:
                finish_recording(uow_factory, clock, files, seat, recording_id=recording_id)
                finished += 1
            except DomainError:
                continue  # e.g. a gap in the chunks: the chunks stay, staff can see why
    return CallSweep(ended, finished)
