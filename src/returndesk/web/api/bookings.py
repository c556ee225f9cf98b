"""Booking video calls over HTTP: the free slots of a case, the booked call, the agent's list.

Times go out as ISO 8601 in the time zone the caller asked for (`timezone`, IANA; UTC when
not given), so a client can show them as they come; a booking is made by the instant, in any
offset.
"""

from __future__ import annotations

from typing import Annotated, Any
from zoneinfo import ZoneInfo

from fastapi import APIRouter, Path, Query, Response
from pydantic import AwareDatetime, Field

from returndesk.domain.business_time import check_timezone
from returndesk.domain.scheduling import HORIZON_DAYS, MAX_DAYS, CallBooking, Slot, TimeOff
from returndesk.services import scheduling
from returndesk.services.principal import Principal
from returndesk.web.deps import ContainerDep, PrincipalDep
from returndesk.web.schemas import Body, iso

router = APIRouter(prefix="/api/v1", tags=["calls"])
CaseId = Annotated[str, Path(pattern=r"^[0-9a-f-]{36}$")]
Timezone = Annotated[str, Field(min_length=1, max_length=64)]
TimezoneQuery = Annotated[str, Query(min_length=1, max_length=64)]


def booking_out(
    booking: CallBooking, timezone: str | None = None, *, staff: bool = True
) -> dict[str, Any]:
    """A booking as JSON; buyers see the agent's name only (no staff, team or call ids)."""
    tz = check_timezone(timezone or booking.timezone)
    agent: dict[str, str] = {"name": booking.agent_name}
    found: dict[str, Any] = {
        "id": booking.id,
        "case_id": booking.case_id,
        "status": booking.status.value,
        "starts_at": booking.starts_at.astimezone(tz).isoformat(),
        "ends_at": booking.ends_at.astimezone(tz).isoformat(),
        "minutes": booking.minutes,
        "timezone": booking.timezone,
        "agent": agent,
        "booked_by": booking.booked_by,
        "reminders_sent": list(booking.reminders),
        "created_at": iso(booking.created_at),
        "ended_at": iso(booking.ended_at),
    }
    if staff:
        agent["id"] = booking.agent_id
        found.update(team_id=booking.team_id, call_id=booking.call_id)
    return found


def slot_out(slot: Slot, tz: ZoneInfo) -> dict[str, Any]:
    return {
        "starts_at": slot.starts_at.astimezone(tz).isoformat(),
        "ends_at": slot.ends_at.astimezone(tz).isoformat(),
        "agents_free": len(slot.agents),
    }


@router.get("/returns/{case_id}/call-slots")
def call_slots(
    case_id: CaseId,
    principal: PrincipalDep,
    container: ContainerDep,
    timezone: TimezoneQuery = "UTC",
    days: Annotated[int, Query(ge=1, le=MAX_DAYS)] = HORIZON_DAYS,
) -> dict[str, Any]:
    """The times a video call can be booked on this case, from the agents' working time."""
    offer = scheduling.call_slots(
        container.uow, container.clock, principal, case_id, timezone=timezone, days=days
    )
    zone = check_timezone(offer.timezone)
    return {
        "case_id": offer.case_id,
        "timezone": offer.timezone,
        "minutes": offer.minutes,
        "open_to_buyer": offer.open_to_buyer,
        "slots": [slot_out(slot, zone) for slot in offer.slots],
        "booking": booking_out(offer.booking, offer.timezone, staff=_staff(principal))
        if offer.booking
        else None,
    }


def _staff(principal: Principal) -> bool:
    return principal.kind != "buyer"


class BookingIn(Body):
    starts_at: AwareDatetime
    timezone: Timezone | None = None  # the buyer's (their market's when not given)


@router.post("/returns/{case_id}/call-booking", status_code=201)
def book_call(
    case_id: CaseId, body: BookingIn, principal: PrincipalDep, container: ContainerDep
) -> dict[str, Any]:
    """Book one of the free slots (moving the case's booked call, if it has one)."""
    booking = scheduling.book_call(
        container.uow,
        container.clock,
        principal,
        case_id,
        starts_at=body.starts_at,
        timezone=body.timezone,
    )
    return booking_out(booking, staff=_staff(principal))


@router.get("/returns/{case_id}/call-booking")
def get_booking(case_id: CaseId, principal: PrincipalDep, container: ContainerDep) -> Any:
    booking = scheduling.booking_of(container.uow, principal, case_id)
    return {"booking": booking_out(booking, staff=_staff(principal)) if booking else None}


@router.delete("/returns/{case_id}/call-booking")
def cancel_booking(
    case_id: CaseId, principal: PrincipalDep, container: ContainerDep
) -> dict[str, Any]:
    booking = scheduling.cancel_booking(container.uow, container.clock, principal, case_id)
    return booking_out(booking, staff=_staff(principal))


@router.post("/returns/{case_id}/call-booking/offer", status_code=202)
def offer_booking(
    case_id: CaseId, principal: PrincipalDep, container: ContainerDep
) -> dict[str, Any]:
    """Ask the buyer to pick a time for a call (their return page offers it; they get an
    email)."""
    scheduling.offer_booking(container.uow, container.clock, principal, case_id)
    return {"case_id": case_id, "offered": True}


@router.get("/call-bookings")
def upcoming(
    principal: PrincipalDep,
    container: ContainerDep,
    mine: bool = True,
    timezone: TimezoneQuery | None = None,
) -> dict[str, Any]:
    """Booked calls not over yet, soonest first: the caller's own (or the store's)."""
    tz = check_timezone(timezone).key if timezone else None
    found = scheduling.upcoming_calls(container.uow, container.clock, principal, mine=mine)
    return {"items": [{**booking_out(u.booking, tz), "case_number": u.case_number} for u in found]}


StaffId = Annotated[str, Path(pattern=r"^(me|[0-9a-f-]{36})$")]
TimeOffId = Annotated[str, Path(pattern=r"^[0-9a-f-]{36}$")]


def time_off_out(time_off: TimeOff) -> dict[str, Any]:
    return {
        "id": time_off.id,
        "staff_id": time_off.staff_id,
        "starts_at": iso(time_off.starts_at),
        "ends_at": iso(time_off.ends_at),
        "note": time_off.note,
        "created_by": time_off.created_by,
        "created_at": iso(time_off.created_at),
    }


class TimeOffIn(Body):
    starts_at: AwareDatetime
    ends_at: AwareDatetime
    note: Annotated[str, Field(max_length=200)] = ""


@router.get("/staff/{staff_id}/time-off")
def list_time_off(
    staff_id: StaffId, principal: PrincipalDep, container: ContainerDep
) -> dict[str, Any]:
    """A member of staff's time off not over yet (`me`: one's own), soonest first."""
    found = scheduling.list_time_off(container.uow, container.clock, principal, staff_id)
    return {"items": [time_off_out(t) for t in found]}


@router.post("/staff/{staff_id}/time-off", status_code=201)
def add_time_off(
    staff_id: StaffId, body: TimeOffIn, principal: PrincipalDep, container: ContainerDep
) -> dict[str, Any]:
    """Time off (no call is booked with them then); `conflicting_calls`: calls already
    booked in it, for someone to move."""
    added = scheduling.add_time_off(
        container.uow,
        container.clock,
        principal,
        staff_id,
        starts_at=body.starts_at,
        ends_at=body.ends_at,
        note=body.note,
    )
    return {
        **time_off_out(added.time_off),
        "conflicting_calls": [booking_out(b) for b in added.calls],
    }


@router.delete("/staff/{staff_id}/time-off/{time_off_id}", status_code=204)
def remove_time_off(
    staff_id: StaffId, time_off_id: TimeOffId, principal: PrincipalDep, container: ContainerDep
) -> Response:
    scheduling.remove_time_off(container.uow, principal, staff_id, time_off_id)
    return Response(status_code=204)
