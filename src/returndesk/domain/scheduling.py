"""Booked video calls: the buyer picks a slot from the agents' real working time.

An agent can take a call when their team works: its weekly blocks in its own time zone, less
public holidays and closed dates (the same calendar the SLA clocks count in). Slots are
`SLOT_MINUTES` long and start on the team's local clock (:00, :20, :40), so a team in
New York offers 09:00 New York time on both sides of a daylight-saving switch; a booking keeps
the instant (UTC) it was made for, and each viewer sees it in their own time zone. An agent
with a booked call is not offered for another one that overlaps it.

Who takes calls: members with the `video_inspection` skill (a store that marked nobody: every
member), speaking the buyer's language and covering their market when somebody does; a call in
another language can still be booked with whoever takes calls (an interpreter joins as a
guest).
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from enum import StrEnum

from returndesk.domain.business_time import BusinessCalendar, check_timezone
from returndesk.domain.cases.model import ReturnCase
from returndesk.domain.cases.status import TERMINAL
from returndesk.domain.errors import Conflict, ValidationFailed
from returndesk.domain.teams import TeamMember, covers_market, language_matches

SLOT_MINUTES = 20
LEAD = timedelta(hours=1)  # the earliest slot offered: an hour from now
HORIZON_DAYS = 14  # how far ahead slots are offered
MAX_DAYS = 31
# Reminders before the call, each sent once and only when the call was booked before it was
# due (a call booked three hours ahead gets only the last one).
REMINDERS = (("day_before", timedelta(hours=24)), ("soon", timedelta(minutes=15)))
# A booked call nobody started this long after its end is recorded as missed.
MISSED_AFTER = timedelta(hours=1)
SKILL = "video_inspection"
# Cases whose decision asked for this evidence may book a call without an agent's offer.
INSPECTION = "inspection_call"


class BookingStatus(StrEnum):
    booked = "booked"
    cancelled = "cancelled"  # by the buyer or staff, or replaced by another slot
    held = "held"  # the call was started for it
    missed = "missed"  # nobody started a call by the end of the slot (plus MISSED_AFTER)


@dataclass(slots=True)
class CallBooking:
    id: str
    store_id: str
    case_id: str
    team_id: str
    agent_id: str
    agent_name: str
    starts_at: datetime  # UTC
    minutes: int
    timezone: str  # the buyer's, for what they are told
    booked_by: str  # "buyer" | "staff"
    created_at: datetime
    status: BookingStatus = BookingStatus.booked
    reminders: tuple[str, ...] = ()  # the reminders sent
    call_id: str | None = None
    ended_at: datetime | None = None  # cancelled, held or missed at
    version: int = 0

    @property
    def ends_at(self) -> datetime:
        return self.starts_at + timedelta(minutes=self.minutes)

    def overlaps(self, start: datetime, end: datetime) -> bool:
        return self.starts_at < end and start < self.ends_at

    @property
    def active(self) -> bool:
        return self.status is BookingStatus.booked

    def due_reminder(self, now: datetime) -> str | None:
        """The reminder to send now, if any: the latest one whose time has come (an earlier
        one not sent by then is skipped), before the call starts, not sent yet, and only when
        the call was booked before that reminder was due."""
        if not self.active or now >= self.starts_at:
            return None
        due = None
        for name, before in REMINDERS:
            at = self.starts_at - before
            if at <= now and self.created_at < at:
                due = name
        return due if due is not None and due not in self.reminders else None

    def next_reminder_at(self) -> datetime | None:
        """When this booking next needs a look (a reminder, or being called missed)."""
        if not self.active:
            return None
        for name, before in REMINDERS:
            at = self.starts_at - before
            if name not in self.reminders and self.created_at < at:
                return at
        return self.ends_at + MISSED_AFTER

    def skip_passed(self, now: datetime) -> bool:
        """Reminders whose time went by unsent (the sweep was not running) are not sent late;
        True when that changed anything."""
        passed = [n for n, before in REMINDERS if self.starts_at - before <= now]
        missing = [n for n in passed if n not in self.reminders]
        self.reminders = (*self.reminders, *missing)
        return bool(missing)

    def remind(self, name: str) -> None:
        """`name` is sent; earlier reminders not sent by now never will be."""
        names = [n for n, _ in REMINDERS]
        earlier = names[: names.index(name) + 1]
        self.reminders = (*self.reminders, *(n for n in earlier if n not in self.reminders))

    def cancel(self, now: datetime) -> None:
        if not self.active:
            raise Conflict("this call is not booked any more", code="booking_not_active")
        self.status = BookingStatus.cancelled
        self.ended_at = now

    def hold(self, call_id: str, now: datetime) -> None:
        self.status = BookingStatus.held
        self.call_id = call_id
        self.ended_at = now

    def miss(self, now: datetime) -> bool:
        if not self.active or now < self.ends_at + MISSED_AFTER:
            return False
        self.status = BookingStatus.missed
        self.ended_at = now
        return True

    def facts(self) -> dict[str, object]:
        """What the timeline (and from it the buyer's email) says about this booking."""
        return {
            "booking_id": self.id,
            "starts_at": self.starts_at.isoformat(),
            "minutes": self.minutes,
            "timezone": self.timezone,
            "agent_name": self.agent_name,
        }


MAX_TIME_OFF = timedelta(days=366)


@dataclass(frozen=True, slots=True)
class TimeOff:
    """A member of staff away for a while (a day off, leave, training), beyond their team's
    shifts: no call is booked with them then."""

    id: str
    store_id: str
    staff_id: str
    starts_at: datetime  # UTC
    ends_at: datetime
    note: str
    created_by: str
    created_at: datetime

    def __post_init__(self) -> None:
        for moment in (self.starts_at, self.ends_at):
            if moment.utcoffset() is None:
                raise ValidationFailed("times need a UTC offset", code="invalid_time_off")
        if self.ends_at <= self.starts_at:
            raise ValidationFailed("time off ends after it starts", code="invalid_time_off")
        if self.ends_at - self.starts_at > MAX_TIME_OFF:
            raise ValidationFailed("time off is at most a year at once", code="invalid_time_off")


@dataclass(frozen=True, slots=True)
class Bookable:
    """One agent who may take calls, with their team's working time."""

    staff_id: str
    team_id: str
    name: str
    calendar: BusinessCalendar


@dataclass(frozen=True, slots=True)
class Slot:
    starts_at: datetime  # UTC
    minutes: int
    agents: tuple[str, ...]  # staff ids free then, in the order they are given calls

    @property
    def ends_at(self) -> datetime:
        return self.starts_at + timedelta(minutes=self.minutes)


@dataclass(slots=True)
class Busy:
    """An agent's booked calls and time off, as (start, end) in UTC; only calls count in
    who is least booked."""

    spans: dict[str, list[tuple[datetime, datetime]]] = field(default_factory=dict)
    off: dict[str, list[tuple[datetime, datetime]]] = field(default_factory=dict)

    def add(self, agent_id: str, start: datetime, end: datetime) -> None:
        self.spans.setdefault(agent_id, []).append((start, end))

    def away(self, agent_id: str, start: datetime, end: datetime) -> None:
        self.off.setdefault(agent_id, []).append((start, end))

    def free(self, agent_id: str, start: datetime, end: datetime) -> bool:
        return all(
            end <= lo or hi <= start
            for spans in (self.spans, self.off)
            for lo, hi in spans.get(agent_id, ())
        )

    def count(self, agent_id: str) -> int:
        return len(self.spans.get(agent_id, ()))


def booking_open(case: ReturnCase, timeline_kinds: Iterable[str]) -> bool:
    """Whether the buyer may book a call on this case now: it is open, and its decision asked
    for a live inspection or an agent offered a call (an offer holds until a call took place).
    `timeline_kinds`: the kinds of the case's timeline entries, oldest first."""
    if case.status in TERMINAL:
        return False
    if (case.decision or {}).get("evidence_requested") == INSPECTION:
        return True
    offered = False
    for kind in timeline_kinds:
        if kind == "call_booking_offered":
            offered = True
        elif kind == "call_ended":
            offered = False
    return offered


def takes_calls(members: Sequence[TeamMember], language: str, market: str) -> list[TeamMember]:
    """The members who may be booked for this buyer (see the module's note)."""
    skilled = [m for m in members if SKILL in m.skills] or list(members)
    matching = [
        m
        for m in skilled
        if language_matches(m.languages, language) and covers_market(m.markets, market)
    ]
    return matching or skilled


def _grid_start(moment: datetime, calendar: BusinessCalendar, minutes: int) -> datetime:
    """The first moment at or after `moment` on the calendar's local slot grid."""
    local = moment.astimezone(calendar.zone)
    floor = local.replace(minute=local.minute - local.minute % minutes, second=0, microsecond=0)
    start = floor.astimezone(UTC)
    return start if start >= moment else start + timedelta(minutes=minutes)


def agent_slots(
    agent: Bookable, start: datetime, end: datetime, minutes: int = SLOT_MINUTES
) -> Iterable[datetime]:
    """Slot starts (UTC) in [start, end) whose whole length lies in the agent's working time."""
    step = timedelta(minutes=minutes)
    for lo, hi in agent.calendar.intervals(start, end + step):
        at = _grid_start(max(lo, start), agent.calendar, minutes)
        while at + step <= hi and at < end:
            yield at
            at += step


def open_slots(
    agents: Sequence[Bookable],
    busy: Busy,
    start: datetime,
    end: datetime,
    minutes: int = SLOT_MINUTES,
) -> list[Slot]:
    """Every slot in [start, end) with at least one agent free for all of it; per slot the
    free agents, fewest calls booked first (then by id, so the choice is stable)."""
    step = timedelta(minutes=minutes)
    free: dict[datetime, list[str]] = {}
    for agent in agents:
        for at in agent_slots(agent, start, end, minutes):
            if busy.free(agent.staff_id, at, at + step):
                names = free.setdefault(at, [])
                if agent.staff_id not in names:
                    names.append(agent.staff_id)
    return [
        Slot(at, minutes, tuple(sorted(ids, key=lambda i: (busy.count(i), i))))
        for at, ids in sorted(free.items())
    ]


def window(now: datetime, days: int = HORIZON_DAYS) -> tuple[datetime, datetime]:
    """The span slots are offered in: from an hour from now, for `days` days."""
    if not 1 <= days <= MAX_DAYS:
        raise ValidationFailed(f"days is 1 to {MAX_DAYS}", code="invalid_days")
    start = (now + LEAD).astimezone(UTC)
    return start, start + timedelta(days=days)


def pick_slot(slots: Sequence[Slot], starts_at: datetime) -> Slot:
    """The offered slot starting at that instant, or a clear refusal."""
    if starts_at.utcoffset() is None:
        raise ValidationFailed("starts_at needs a UTC offset", code="invalid_slot")
    try:
        at = starts_at.astimezone(UTC)
    except OverflowError:  # e.g. 9999-12-31T23:59:59-12:00: no such instant
        raise ValidationFailed("starts_at is out of range", code="invalid_slot") from None
    for slot in slots:
        if slot.starts_at == at:
            return slot
    raise Conflict("that time is not free any more: pick another one", code="slot_unavailable")


def group_by_day(slots: Sequence[Slot], timezone_name: str) -> list[tuple[date, list[Slot]]]:
    """Slots grouped by the viewer's local date, in order."""
    zone = check_timezone(timezone_name)
    days: dict[date, list[Slot]] = {}
    for slot in slots:
        days.setdefault(slot.starts_at.astimezone(zone).date(), []).append(slot)
    return list(days.items())
