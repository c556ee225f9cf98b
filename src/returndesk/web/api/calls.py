"""Video calls over HTTP: staff start and list them; the call pages use their join link.

Endpoints under /api/v1/calls/{call_id} take the seat's join token in `X-Call-Token` (the
token in the link), not a session: a buyer on a phone who opened the emailed link needs no
sign-in, and the token opens only that seat of that call until the call's links expire.
"""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any

from fastapi import APIRouter, Header, Path, Request
from pydantic import Field
from starlette.concurrency import run_in_threadpool

from returndesk.bootstrap import Container
from returndesk.domain.calls import Call
from returndesk.services import calls as call_service
from returndesk.services.calls import SeatAccess
from returndesk.web.api.evidence import RecordingId, RecordingIn, Seq, item_out, recording_out
from returndesk.web.call_signals import announce, hub_of, ice_config, wall_clock
from returndesk.web.deps import ContainerDep, PrincipalDep
from returndesk.web.schemas import Body, NoNul, iso

router = APIRouter(prefix="/api/v1", tags=["calls"])
CaseId = Annotated[str, Path(pattern=r"^[0-9a-f-]{36}$")]
CallId = Annotated[str, Path(pattern=r"^[0-9a-f-]{36}$")]
CallToken = Annotated[str, Header(alias="X-Call-Token", min_length=1, max_length=2000)]


def call_url(container: Container, call_id: str, token: str) -> str:
    return f"{container.settings.public_url.rstrip('/')}/calls/{call_id}?token={token}"


def call_out(call: Call, now: datetime) -> dict[str, Any]:
    return {
        "id": call.id,
        "case_id": call.case_id,
        "status": call.status.value,
        "started_by": {"id": call.started_by, "name": call.started_by_name},
        "created_at": iso(call.created_at),
        "expires_at": iso(call.expires_at),
        "started_at": iso(call.started_at),
        "ended_at": iso(call.ended_at),
        "duration_seconds": int(call.duration(now).total_seconds()),
        "consent": call.consent.value if call.consent else None,
        "consent_at": iso(call.consent_at),
        "participants": [p.to_dict() for p in call.participants],
        "recording_ids": list(call.recording_ids),
        "still_ids": list(call.still_ids),
    }


class CallIn(Body):
    link_minutes: Annotated[int, Field(ge=5, le=24 * 60)] | None = None


@router.post("/returns/{case_id}/calls", status_code=201)
def start_call(
    case_id: CaseId, principal: PrincipalDep, container: ContainerDep, body: CallIn | None = None
) -> dict[str, Any]:
    """Start a call with the buyer: both links open the call page directly (the buyer's is
    also offered on their portal page and by email)."""
    minutes = (body.link_minutes if body else None) or container.settings.call_link_minutes
    started = call_service.start_call(
        container.uow, container.clock, container.tokens, principal,
        case_id=case_id, link_minutes=minutes,
    )  # fmt: skip
    call = started.call
    return {
        "call_id": call.id,
        "buyer_url": call_url(container, call.id, started.tokens["buyer"]),
        "agent_url": call_url(container, call.id, started.tokens["agent"]),
        "expires_at": iso(call.expires_at),
        "call": call_out(call, container.clock()),
    }


@router.get("/returns/{case_id}/calls")
def list_calls(case_id: CaseId, principal: PrincipalDep, container: ContainerDep) -> dict[str, Any]:
    """The case's calls, oldest first: duration, participants, consent, recordings, stills."""
    calls = call_service.list_calls(container.uow, principal, case_id)
    now = container.clock()
    return {"items": [call_out(c, now) for c in calls]}


class GuestIn(Body):
    name: Annotated[str, Field(min_length=1, max_length=100), NoNul]


@router.post("/returns/{case_id}/calls/{call_id}/guests", status_code=201)
def invite_guest(
    case_id: CaseId, call_id: CallId, body: GuestIn, principal: PrincipalDep,
    container: ContainerDep,
) -> dict[str, Any]:  # fmt: skip
    """A third person's link (an interpreter, a local agent): they see and hear everyone."""
    call, token = call_service.invite_guest(
        container.uow, container.clock, container.tokens, principal,
        case_id=case_id, call_id=call_id, name=body.name,
    )  # fmt: skip
    return {"guest_url": call_url(container, call.id, token), "expires_at": iso(call.expires_at)}


@router.post("/returns/{case_id}/calls/{call_id}/end")
async def end_call(
    case_id: CaseId, call_id: CallId, request: Request, principal: PrincipalDep,
    container: ContainerDep,
) -> dict[str, Any]:  # fmt: skip
    """Staff end a call for everyone (from the case, e.g. when a page was left open)."""
    call = await run_in_threadpool(
        lambda: call_service.staff_end_call(
            container.uow, container.clock, principal, case_id=case_id, call_id=call_id
        )
    )
    await announce(hub_of(request), call_id, {"type": "ended"})
    return call_out(call, container.clock())


# The call page's own endpoints: the join link's token is the credential.


async def _seat(
    container: Container, token: str, call_id: str, *, ended_ok: bool = False
) -> SeatAccess:
    return await run_in_threadpool(
        lambda: call_service.access(
            container.uow, container.clock, container.tokens, token, call_id=call_id,
            ended_ok=ended_ok,
        )
    )  # fmt: skip


@router.get("/calls/{call_id}")
async def seat_view(call_id: CallId, token: CallToken, container: ContainerDep) -> dict[str, Any]:
    """The seat's view: the call, who they are, and fresh STUN/TURN servers."""
    seat = await _seat(container, token, call_id)
    now = container.clock()
    return {
        "call": call_out(seat.call, now),
        "you": seat.seat.to_dict(),
        "ice_servers": ice_config(container).servers(seat.seat.id, wall_clock()),
        "ice_policy": container.settings.call_ice_policy,
    }


class ConsentIn(Body):
    answer: Annotated[str, Field(max_length=16), NoNul]


@router.post("/calls/{call_id}/consent")
async def consent(
    call_id: CallId, body: ConsentIn, token: CallToken, request: Request, container: ContainerDep
) -> dict[str, Any]:
    """The buyer's answer about recording: on the timeline first, then told to the call."""
    seat = await _seat(container, token, call_id)
    call = await run_in_threadpool(
        call_service.answer_consent, container.uow, container.clock, seat, body.answer
    )
    answer = call.consent.value if call.consent else None
    hub = hub_of(request)
    if answer != "granted":
        await hub.bus.set_recording(call_id, False)
    await announce(hub, call_id, {"type": "consent", "answer": answer})
    return call_out(call, container.clock())


@router.post("/calls/{call_id}/hang-up")
async def hang_up(
    call_id: CallId, token: CallToken, request: Request, container: ContainerDep
) -> dict[str, Any]:
    """The agent's hang-up ends the call for everyone; anyone else leaves it."""
    seat = await _seat(container, token, call_id)
    call = await run_in_threadpool(call_service.hang_up, container.uow, container.clock, seat)
    if not call.is_open:
        await announce(hub_of(request), call_id, {"type": "ended"})
    return call_out(call, container.clock())


@router.post("/calls/{call_id}/stills", status_code=201)
async def still(
    call_id: CallId, token: CallToken, request: Request, container: ContainerDep,
    requested_by: Annotated[str, Header(alias="X-Requested-By", max_length=36)] = "",
) -> dict[str, Any]:  # fmt: skip
    """A still (JPEG, PNG or WebP as the body): evidence of the case, told to the call.
    `X-Requested-By`: the seat that asked for it (the agent's), if any."""
    seat = await _seat(container, token, call_id)
    data = await request.body()
    item = await run_in_threadpool(
        lambda: call_service.take_still(
            container.uow, container.clock, container.files, seat, data=data,
            device=request.headers.get("user-agent", ""), requested_by=requested_by,
        )
    )  # fmt: skip
    await announce(
        hub_of(request), call_id,
        {"type": "still", "evidence_id": item.id, "by": seat.seat.role.value,
         "width": item.details.get("width"), "height": item.details.get("height")},
    )  # fmt: skip
    return item_out(item, f"/api/v1/returns/{seat.call.case_id}/evidence/{item.id}/content")


@router.post("/calls/{call_id}/recordings", status_code=201)
async def start_recording(
    call_id: CallId, body: RecordingIn, token: CallToken, request: Request,
    container: ContainerDep,
) -> dict[str, Any]:  # fmt: skip
    """Record this side of the call (only once the buyer agreed); chunks as they come."""
    seat = await _seat(container, token, call_id)
    recording = await run_in_threadpool(
        lambda: call_service.start_recording(
            container.uow, container.clock, seat, mime_type=body.mime_type,
            timeslice_ms=body.timeslice_ms, device=request.headers.get("user-agent", ""),
        )
    )  # fmt: skip
    return recording_out(recording, f"/api/v1/calls/{call_id}/recordings")


@router.put("/calls/{call_id}/recordings/{recording_id}/chunks/{seq}")
async def recording_chunk(
    call_id: CallId, recording_id: RecordingId, seq: Seq, token: CallToken, request: Request,
    container: ContainerDep,
) -> dict[str, Any]:  # fmt: skip
    seat = await _seat(container, token, call_id, ended_ok=True)  # the last seconds
    data = await request.body()
    receipt = await run_in_threadpool(
        lambda: call_service.put_chunk(
            container.uow, container.clock, container.files, seat,
            recording_id=recording_id, seq=seq, data=data,
        )
    )  # fmt: skip
    return {"seq": receipt.seq, "sha256": receipt.sha256, "arrived_at": receipt.arrived_at,
            "repeated": receipt.repeated}  # fmt: skip


@router.post("/calls/{call_id}/recordings/{recording_id}/finish", status_code=201)
async def recording_finish(
    call_id: CallId, recording_id: RecordingId, token: CallToken, container: ContainerDep
) -> dict[str, Any]:
    """Finishing works after the call ended too (the last chunks of a hang-up)."""
    seat = await _seat(container, token, call_id, ended_ok=True)
    item = await run_in_threadpool(
        lambda: call_service.finish_recording(
            container.uow, container.clock, container.files, seat, recording_id=recording_id
        )
    )
    return item_out(item, f"/api/v1/returns/{seat.call.case_id}/evidence/{item.id}/content")
