"""Booking a video call: the slots agents can take, booking one, reminders, cancelling.

The buyer books from their return page when the store asked for a live inspection (the
decision's evidence request) or an agent offered them a call; staff may book for the buyer
(after a phone call). Each booking is a timeline entry the buyer is emailed about, in their
language and their time zone; reminders a day and a quarter of an hour before go to the buyer
(timeline + email) and to the agent (email). The agent starts the call from the case as any
other call; a booking nobody started is recorded as missed.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from returndesk.domain.access import Permission, has_permission
from returndesk.domain.business_time import check_timezone
from returndesk.domain.cases.model import ReturnCase
from returndesk.domain.cases.status import TERMINAL
from returndesk.domain.errors import (
    Conflict,
    NotFound,
    PermissionDenied,
    StaleVersion,
    ValidationFailed,
)
from returndesk.domain.ids import new_id
from returndesk.domain.markets import market_zone
from returndesk.domain.scheduling import (
    HORIZON_DAYS,
    MAX_DAYS,
    SLOT_MINUTES,
    Bookable,
    BookingStatus,
    Busy,
    CallBooking,
    Slot,
    TimeOff,
    booking_open,
    open_slots,
    pick_slot,
    takes_calls,
    window,
)
from returndesk.domain.stores import StaffUser
from returndesk.services.ports import Clock, UnitOfWork, UnitOfWorkFactory
from returndesk.services.principal import SYSTEM, Principal
from returndesk.services.returns import load_case

# A call started from this long before its booked slot on counts as the booked call.
EARLY_START = timedelta(hours=1)


@dataclass(frozen=True, slots=True)
class SlotOffer:
    case_id: str
    timezone: str  # the viewer's, for showing the slots
    minutes: int
    open_to_buyer: bool  # the buyer may book (an inspection asked for, or a call offered)
    slots: list[Slot]
    booking: CallBooking | None  # the call booked now, if any


@dataclass(frozen=True, slots=True)
class UpcomingCall:
    booking: CallBooking
    case_number: str


def _timezone(name: str) -> str:
    check_timezone(name)
    return name


def open_to_buyer(uow: UnitOfWork, case: ReturnCase) -> bool:
    """Whether the buyer may book a call on this case now."""
    return booking_open(case, (e.kind for e in uow.cases.timeline(case.id)))


def _bookables(uow: UnitOfWork, case: ReturnCase) -> list[Bookable]:
    teams = {team.id: team for team in uow.teams.for_store(case.store_id)}
    staff = {
        user.id: user
        for user in uow.staff.list(case.store_id)
        if user.active and has_permission(user.role, Permission.call_start)
    }
    members, seen = [], set()
    for m in uow.teams.members(case.store_id):  # an agent in two teams: their first one
        if m.team_id in teams and m.staff_id in staff and m.staff_id not in seen:
            seen.add(m.staff_id)
            members.append(m)
    calendars = {tid: team.calendar(uow.teams.public_holiday) for tid, team in teams.items()}
    return [
        Bookable(m.staff_id, m.team_id, staff[m.staff_id].name, calendars[m.team_id])
        for m in takes_calls(members, case.language, case.market)
    ]


def _slots(
    uow: UnitOfWork, case: ReturnCase, now: datetime, days: int, *, ignore: str | None = None
) -> tuple[list[Bookable], list[Slot]]:
    agents = _bookables(uow, case)
    start, end = window(now, days)
    busy = Busy()
    staff_ids = sorted({a.staff_id for a in agents})
    for booking in uow.bookings.booked_between(staff_ids, start, end):
        if booking.id != ignore:
            busy.add(booking.agent_id, booking.starts_at, booking.ends_at)
    for away in uow.bookings.time_off_between(staff_ids, start, end):
        busy.away(away.staff_id, away.starts_at, away.ends_at)
    return agents, open_slots(agents, busy, start, end, SLOT_MINUTES)


def _may_book(uow: UnitOfWork, principal: Principal, case: ReturnCase) -> None:
    principal.require(Permission.call_book)
    if case.status in TERMINAL:
        raise Conflict(f"a {case.status.value} case takes no video call", code="case_closed")
    if principal.kind == "buyer" and not open_to_buyer(uow, case):
        raise Conflict(
            "video calls are booked on this return once the store asks for one",
            code="booking_not_offered",
        )


def call_slots(
    uow_factory: UnitOfWorkFactory,
    clock: Clock,
    principal: Principal,
    case_id: str,
    *,
    timezone: str,
    days: int = HORIZON_DAYS,
) -> SlotOffer:
    principal.require(Permission.case_read)
    tz = _timezone(timezone)
    now = clock()
    with uow_factory() as uow:
        case = load_case(uow, principal, case_id)
        offered = open_to_buyer(uow, case)
        booking = uow.bookings.active_for_case(case.id)
        slots: list[Slot] = []
        if case.status not in TERMINAL:
            _agents, slots = _slots(uow, case, now, days, ignore=booking.id if booking else None)
    return SlotOffer(case.id, tz, SLOT_MINUTES, offered, slots, booking)


def book_call(
    uow_factory: UnitOfWorkFactory,
    clock: Clock,
    principal: Principal,
    case_id: str,
    *,
    starts_at: datetime,
    timezone: str | None,
) -> CallBooking:
    """Book the slot starting at `starts_at` (one the offer listed); a case's earlier booking
    is replaced (`rescheduled_from` on the timeline). `timezone`: the buyer's (None: their
    market's)."""
    now = clock()
    with uow_factory(write=True) as uow:
        case = load_case(uow, principal, case_id)
        tz = _timezone(timezone or market_zone(case.market))
        _may_book(uow, principal, case)
        previous = uow.bookings.active_for_case(case.id)
        ignore = previous.id if previous else None
        agents, slots = _slots(uow, case, now, MAX_DAYS, ignore=ignore)
        if not agents:
            raise Conflict("nobody in this store takes video calls yet", code="no_agents")
        slot = pick_slot(slots, starts_at)
        agent = next(a for a in agents if a.staff_id == slot.agents[0])
        # Another booking of this agent may have committed since the slots were read (with a
        # different start: an agent in two teams whose grids are offset): look again, locked.
        uow.bookings.lock_agent(agent.staff_id)
        overlapping = [
            b
            for b in uow.bookings.booked_between([agent.staff_id], slot.starts_at, slot.ends_at)
            if b.id != ignore and b.overlaps(slot.starts_at, slot.ends_at)
        ]
        if overlapping or uow.bookings.time_off_between(
            [agent.staff_id], slot.starts_at, slot.ends_at
        ):
            raise Conflict("that time was just taken: pick another one", code="slot_unavailable")
        if previous is not None:
            if previous.starts_at == slot.starts_at:
                return previous  # the same slot again: nothing changes
            previous.cancel(now)
            uow.bookings.save(previous)
        booking = CallBooking(
            id=new_id(),
            store_id=case.store_id,
            case_id=case.id,
            team_id=agent.team_id,
            agent_id=agent.staff_id,
            agent_name=agent.name[:200],
            starts_at=slot.starts_at,
            minutes=slot.minutes,
            timezone=tz,
            booked_by="buyer" if principal.kind == "buyer" else "staff",
            created_at=now,
        )
        uow.bookings.add(booking)
        data = booking.facts()
        if previous is not None:
            data["rescheduled_from"] = previous.starts_at.isoformat()
            data["previous_booking_id"] = previous.id
        case.record_call("call_booked", data, principal.actor(), now)
        uow.cases.add_events(case)
        uow.commit()
    return booking


def cancel_booking(
    uow_factory: UnitOfWorkFactory, clock: Clock, principal: Principal, case_id: str
) -> CallBooking:
    principal.require(Permission.call_book)
    now = clock()
    with uow_factory(write=True) as uow:
        case = load_case(uow, principal, case_id)
        booking = uow.bookings.active_for_case(case.id)
        if booking is None:
            raise NotFound("no video call is booked on this return", code="booking_not_found")
        booking.cancel(now)
        uow.bookings.save(booking)
        case.record_call("call_booking_cancelled", booking.facts(), principal.actor(), now)
        uow.cases.add_events(case)
        uow.commit()
    return booking


def offer_booking(
    uow_factory: UnitOfWorkFactory, clock: Clock, principal: Principal, case_id: str
) -> None:
    """An agent asks the buyer to pick a time for a call (the buyer is emailed a link)."""
    principal.require(Permission.call_start)
    now = clock()
    with uow_factory(write=True) as uow:
        case = load_case(uow, principal, case_id)
        if case.status in TERMINAL:
            raise Conflict(f"a {case.status.value} case takes no video call", code="case_closed")
        if uow.bookings.active_for_case(case.id) is not None:
            raise Conflict("a video call is already booked", code="booking_exists")
        case.record_call("call_booking_offered", {}, principal.actor(), now)
        uow.cases.add_events(case)
        uow.commit()


def booking_of(
    uow_factory: UnitOfWorkFactory, principal: Principal, case_id: str
) -> CallBooking | None:
    principal.require(Permission.case_read)
    with uow_factory() as uow:
        load_case(uow, principal, case_id)
        return uow.bookings.active_for_case(case_id)


def upcoming_calls(
    uow_factory: UnitOfWorkFactory, clock: Clock, principal: Principal, *, mine: bool
) -> list[UpcomingCall]:
    """Booked calls not over yet: the agent's own, or the store's (soonest first)."""
    principal.require(Permission.call_start)
    if principal.store_id is None:
        raise ValidationFailed("pick a store first", code="store_required")
    with uow_factory() as uow:
        found = uow.bookings.upcoming(principal.store_id, clock(), principal.id if mine else None)
        numbers: dict[str, str] = {}
        for booking in found:
            if booking.case_id not in numbers:
                case = uow.cases.get(booking.case_id)
                numbers[booking.case_id] = case.number if case else ""
    return [UpcomingCall(b, numbers[b.case_id]) for b in found]


def mark_held(uow: UnitOfWork, case_id: str, call_id: str, now: datetime) -> None:
    """A call was started on the case: its booking (an hour before the slot or later) took
    place. Called inside the transaction that starts the call."""
    booking = uow.bookings.active_for_case(case_id)
    if booking is not None and now >= booking.starts_at - EARLY_START:
        booking.hold(call_id, now)
        uow.bookings.save(booking)


def sweep_bookings(uow_factory: UnitOfWorkFactory, clock: Clock, limit: int = 200) -> int:
    """Send the reminders that are due and record the calls nobody started (a dispatcher
    chore); returns how many bookings changed. Each booking is its own transaction."""
    now = clock()
    with uow_factory() as uow:
        due = [b.id for b in uow.bookings.due(now, limit)]
    changed = 0
    for booking_id in due:
        try:
            changed += _sweep_one(uow_factory, booking_id, now)
        except StaleVersion:
            continue  # somebody changed it meanwhile: the next sweep looks again
    return changed


def _sweep_one(uow_factory: UnitOfWorkFactory, booking_id: str, now: datetime) -> int:
    with uow_factory(write=True) as uow:
        booking = uow.bookings.get(booking_id)
        if booking is None or booking.status is not BookingStatus.booked:
            return 0
        case = uow.cases.get(booking.case_id)
        if case is None:
            return 0
        actor = SYSTEM.actor()
        reminder = booking.due_reminder(now)
        if case.status in TERMINAL:  # the return closed: nobody needs the call any more
            booking.cancel(now)
            case.record_call("call_booking_cancelled", booking.facts(), actor, now)
        elif reminder is not None:
            booking.remind(reminder)
            data = {**booking.facts(), "reminder": reminder}
            case.record_call("call_reminder", data, actor, now)
        elif booking.miss(now):
            case.record_call("call_missed", booking.facts(), actor, now)
        elif not booking.skip_passed(now):
            return 0
        uow.bookings.save(booking)
        uow.cases.add_events(case)
        uow.commit()
    return 1


@dataclass(frozen=True, slots=True)
class TimeOffAdded:
    time_off: TimeOff
    calls: list[CallBooking]  # booked calls of theirs that fall in it: someone moves them


def _staff_member(uow: UnitOfWork, principal: Principal, staff_id: str) -> StaffUser:
    """Whose time off: one's own (every member of staff), or, for those who run teams, anyone
    of their store's."""
    principal.require(Permission.team_read)
    if principal.kind != "staff":
        raise PermissionDenied("time off is for members of staff")
    if staff_id in ("me", principal.id):
        staff_id = principal.id
    else:
        principal.require(Permission.team_write)
    user = uow.staff.get(staff_id)
    if (
        user is None
        or user.store_id is None
        or not (principal.is_platform or user.store_id == principal.store_id)
    ):
        raise NotFound("no such member of staff", code="staff_not_found")
    return user


def add_time_off(
    uow_factory: UnitOfWorkFactory,
    clock: Clock,
    principal: Principal,
    staff_id: str,
    *,
    starts_at: datetime,
    ends_at: datetime,
    note: str = "",
) -> TimeOffAdded:
    now = clock()
    try:  # an instant past the calendar's ends (year 9999 west of UTC) is refused, not a 500
        if starts_at.utcoffset() is None or ends_at.utcoffset() is None:
            raise ValueError("naive")
        starts_at, ends_at = starts_at.astimezone(UTC), ends_at.astimezone(UTC)
    except (OverflowError, ValueError):
        raise ValidationFailed(
            "times need a UTC offset and a real date", code="invalid_time_off"
        ) from None
    with uow_factory(write=True) as uow:
        user = _staff_member(uow, principal, staff_id)
        if ends_at <= now:
            raise ValidationFailed("that time is over already", code="invalid_time_off")
        assert user.store_id is not None
        time_off = TimeOff(
            id=new_id(),
            store_id=user.store_id,
            staff_id=user.id,
            starts_at=starts_at,
            ends_at=ends_at,
            note=note.strip()[:200],
            created_by=principal.name[:200] or principal.id,
            created_at=now,
        )
        calls = [
            b
            for b in uow.bookings.booked_between([user.id], starts_at, ends_at)
            if b.overlaps(starts_at, ends_at)
        ]
        uow.bookings.add_time_off(time_off)
        uow.commit()
    return TimeOffAdded(time_off, sorted(calls, key=lambda b: b.starts_at))


def list_time_off(
    uow_factory: UnitOfWorkFactory, clock: Clock, principal: Principal, staff_id: str | None
) -> list[TimeOff]:
    """Time off not over yet: one person's (`me` for one's own), or, for those who run teams,
    everyone's in their store (staff_id None)."""
    with uow_factory() as uow:
        if staff_id is None:
            principal.require(Permission.team_write)
            if principal.store_id is None:
                raise ValidationFailed("name a member of staff", code="staff_required")
            return uow.bookings.time_off(principal.store_id, None, clock())
        user = _staff_member(uow, principal, staff_id)
        assert user.store_id is not None
        return uow.bookings.time_off(user.store_id, user.id, clock())


def remove_time_off(
    uow_factory: UnitOfWorkFactory, principal: Principal, staff_id: str, time_off_id: str
) -> None:
    with uow_factory(write=True) as uow:
        user = _staff_member(uow, principal, staff_id)
        found = uow.bookings.get_time_off(time_off_id)
        if found is None or found.staff_id != user.id:
            raise NotFound("no such time off", code="time_off_not_found")
        uow.bookings.remove_time_off(found.id)
        uow.commit()
