"""Working time of a team: weekly blocks in the team's own time zone, minus closed days.

A block belongs to the day it starts on; one whose end is not after its start runs past
midnight (22:00-06:00), and a block from a time to the same time lasts 24 hours. A closed day
(a public holiday or a custom date) cancels the blocks that start on it; an overnight block that
started the evening before still runs into it.

Durations are real elapsed time inside working intervals: across a daylight-saving switch a
22:00-06:00 night lasts seven or nine hours, as the people working it experience it. Wall times
that do not exist (02:30 on the spring-forward night) are read with the offset before the
switch, as `zoneinfo` does, and repeated ones (the fall-back hour) as their first occurrence.
"""

from __future__ import annotations

import re
from bisect import bisect_left, bisect_right
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from functools import cache
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError, available_timezones

from returndesk.domain.errors import ValidationFailed

DAY_NAMES = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
_HHMM = re.compile(r"^([01]\d|2[0-4]):([0-5]\d)$")
# The furthest a due time is looked for: a team closed for longer than this never works.
HORIZON = timedelta(days=400)


@cache
def _zone_names() -> frozenset[str]:
    # Debian ships a `localtime` link to the machine's own zone: not a zone name to store.
    return frozenset(available_timezones()) - {"localtime", "posixrules", "Factory"}


def check_timezone(name: str) -> ZoneInfo:
    """An IANA zone by its name (not a file path, not the machine's `localtime`)."""
    try:
        if name not in _zone_names():
            raise ValueError(name)
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError) as exc:
        raise ValidationFailed(
            f"{name[:80]!r} is not an IANA time zone (e.g. Europe/Berlin)",
            code="invalid_timezone",
        ) from exc


def parse_clock(value: str) -> time:
    """'HH:MM' -> time; '24:00' is midnight at the end of the day."""
    found = _HHMM.match(value)
    if not found or (found.group(1) == "24" and found.group(2) != "00"):
        raise ValidationFailed(f"{value!r} is not a time of day (HH:MM)", code="invalid_hours")
    hour = int(found.group(1))
    return time(0, 0) if hour == 24 else time(hour, int(found.group(2)))


def format_clock(value: time) -> str:
    return f"{value.hour:02d}:{value.minute:02d}"


@dataclass(frozen=True, slots=True)
class WorkingBlock:
    days: frozenset[int]  # 0 = Monday ... 6 = Sunday: the days the block starts on
    start: time
    end: time  # not after start: the block ends the next day

    def __post_init__(self) -> None:
        if not self.days or any(day not in range(7) for day in self.days):
            raise ValidationFailed("a working block names one or more days", code="invalid_hours")

    @property
    def overnight(self) -> bool:
        return self.end <= self.start

    @classmethod
    def parse(cls, days: Sequence[str], start: str, end: str) -> WorkingBlock:
        names = [day.strip().lower()[:3] for day in days]
        if not names or any(name not in DAY_NAMES for name in names):
            raise ValidationFailed(
                f"days are among {', '.join(DAY_NAMES)}", code="invalid_hours", days=list(days)
            )
        chosen = frozenset(DAY_NAMES.index(name) for name in names)
        return cls(chosen, parse_clock(start), parse_clock(end))

    def to_data(self) -> dict[str, object]:
        midnight_end = self.end == time(0) and self.start != time(0)
        return {
            "days": [DAY_NAMES[day] for day in sorted(self.days)],
            "start": format_clock(self.start),
            "end": "24:00" if midnight_end else format_clock(self.end),
        }


Interval = tuple[datetime, datetime]  # [start, end) in UTC


def _never_closed(_day: date) -> bool:
    return False


@dataclass(frozen=True, slots=True)
class BusinessCalendar:
    """When a team works. All datetimes in and out are timezone-aware; results are in UTC."""

    timezone: str
    blocks: tuple[WorkingBlock, ...]
    closed: Callable[[date], bool] = _never_closed
    _zone: ZoneInfo = field(init=False, repr=False, compare=False)
    # Each local day's working intervals in UTC, computed once per calendar object (a sweep or
    # a recomputation reuses one calendar for many cases).
    _days: dict[date, tuple[Interval, ...]] = field(
        init=False, repr=False, compare=False, default_factory=dict
    )
    # The working intervals of a stretch of days as integers, with the working time before
    # each: adding minutes is two binary searches instead of a walk (see add_minutes_each).
    _index: _Index | None = field(init=False, repr=False, compare=False, default=None)

    def __post_init__(self) -> None:
        object.__setattr__(self, "_zone", check_timezone(self.timezone))

    @property
    def zone(self) -> ZoneInfo:
        return self._zone

    def intervals(self, start: datetime, end: datetime) -> list[Interval]:
        """The working intervals overlapping [start, end), merged, clipped to it, in order."""
        _aware(start)
        _aware(end)
        if end <= start or not self.blocks:
            return []
        zone = self._zone
        first = start.astimezone(zone).date() - timedelta(days=1)
        last = end.astimezone(zone).date()
        found: list[Interval] = []
        day = first
        while day <= last:
            for opens, closes in self._day(day):
                lo, hi = max(opens, start), min(closes, end)
                if lo < hi:
                    found.append((lo, hi))
            day += timedelta(days=1)
        return _merge(found)

    def _day(self, day: date) -> tuple[Interval, ...]:
        """The blocks that start on this local day, in UTC (none on a closed day)."""
        cached = self._days.get(day)
        if cached is not None:
            return cached
        found = []
        if not self.closed(day):
            weekday, zone = day.weekday(), self._zone
            for block in self.blocks:
                if weekday in block.days:
                    opens = datetime.combine(day, block.start, zone).astimezone(UTC)
                    next_day = day + timedelta(days=1) if block.overnight else day
                    closes = datetime.combine(next_day, block.end, zone).astimezone(UTC)
                    found.append((opens, closes))
        if len(self._days) > 4096:
            self._days.clear()
        self._days[day] = cached = tuple(sorted(found))
        return cached

    def is_open(self, at: datetime) -> bool:
        return bool(self.intervals(at, at + timedelta(microseconds=1)))

    def next_open(self, at: datetime) -> datetime | None:
        """`at` itself when the team works then, else the next moment it does (None: never)."""
        for lo, _hi in self._walk(at):
            return lo
        return None

    def add_minutes(self, start: datetime, minutes: float) -> datetime:
        """The moment `minutes` of working time after `start` (at least the next opening)."""
        if minutes < 0:
            raise ValueError("minutes must not be negative")
        left = timedelta(minutes=minutes)
        for lo, hi in self._walk(start):
            if hi - lo >= left:
                return lo + left
            left -= hi - lo
        raise ValidationFailed(
            f"the team has no working time within {HORIZON.days} days", code="team_never_works"
        )

    def add_minutes_each(self, start: datetime, minutes: Sequence[float]) -> list[datetime]:
        """`add_minutes(start, m)` for each m (a case's clocks all count from the same start:
        its warning and due times, per clock), found by binary search in an index of the
        working intervals kept with the calendar; the same answers as walking them."""
        if not minutes:
            return []
        if min(minutes) < 0:
            raise ValueError("minutes must not be negative")
        _aware(start)
        at = _micros(start)
        wanted = [_minute_micros(m) for m in minutes]
        index = self._index
        if index is None or at < index.valid_from:
            index = self._indexed(start, index)
        while True:
            i = bisect_right(index.ends, at)  # the first interval that ends after `start`
            if i < len(index.ends):
                base = index.before[i] + max(0, at - index.starts[i])
                if base + max(wanted) <= index.total:
                    break
            grown = self._grown(start, index)
            if grown is None:  # not within this start's horizon: the walk says what is found
                return [self.add_minutes(start, m) for m in minutes]
            index = grown
        found = []
        for offset in wanted:
            target = base + offset
            j = bisect_left(index.reached, target, lo=i)
            found.append(_EPOCH + (index.starts[j] + target - index.before[j]) * _MICRO)
        if max(found) - start > _INDEX_REACH:
            # An index grown for a later start may hold days past this one's horizon.
            return [self.add_minutes(start, m) for m in minutes]
        return found

    def _indexed(self, start: datetime, index: _Index | None) -> _Index:
        """An index that holds `start` (rebuilt from further back when it did not)."""
        first = start.astimezone(self._zone).date() - timedelta(days=2)
        if index is not None:
            first = min(first, index.first - timedelta(days=_INDEX_DAYS))
            last = index.last
        else:
            last = first + timedelta(days=_INDEX_DAYS)
        built = self._index_of(first, last)
        object.__setattr__(self, "_index", built)
        return built

    def _grown(self, start: datetime, index: _Index) -> _Index | None:
        """The index with more days after its last (None: not without passing the horizon
        of `start`)."""
        horizon_day = (start.astimezone(UTC) + HORIZON).astimezone(self._zone).date()
        if index.last >= horizon_day:
            return None
        span = max(_INDEX_DAYS, (index.last - index.first).days)
        built = self._index_of(index.first, min(index.last + timedelta(days=span), horizon_day))
        object.__setattr__(self, "_index", built)
        return built

    def _index_of(self, first: date, last: date) -> _Index:
        starts: list[int] = []
        ends: list[int] = []
        before: list[int] = []
        reached: list[int] = []
        covered, total = -(2**62), 0
        day = first
        while day <= last:
            for lo_at, hi_at in self._day(day):
                lo, hi = max(_micros(lo_at), covered), _micros(hi_at)
                if lo < hi:
                    starts.append(lo)
                    ends.append(hi)
                    before.append(total)
                    total += hi - lo
                    reached.append(total)
                    covered = hi
            day += timedelta(days=1)
        # A block of the day before `first` (left out) may run into `first`, no further: the
        # index is whole from the start of the next day on.
        second = datetime.combine(first + timedelta(days=1), time(0), self._zone)
        return _Index(first, last, _micros(second), starts, ends, before, reached, total)

    def minutes_between(self, start: datetime, end: datetime) -> float:
        """Working minutes in [start, end); 0 when end is not after start."""
        total = sum((hi - lo for lo, hi in self.intervals(start, end)), timedelta())
        return total / timedelta(minutes=1)

    def _walk(self, start: datetime) -> Iterable[Interval]:
        """Working intervals from `start` on, in order, within the horizon. Blocks start in
        order day after day, so overlaps are cut as they stream (no lists, no merging)."""
        _aware(start)
        start = start.astimezone(UTC)
        zone = self._zone
        day = start.astimezone(zone).date() - timedelta(days=1)
        last_day = (start + HORIZON).astimezone(zone).date()
        covered = start
        while day <= last_day:
            for lo, hi in self._day(day):
                lo = max(lo, covered)
                if lo < hi:
                    yield lo, hi
                    covered = hi
            day += timedelta(days=1)


_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
_MICRO = timedelta(microseconds=1)
_INDEX_DAYS = 62  # how far an index grows at a time
_INDEX_REACH = HORIZON - timedelta(days=2)  # further from a start, the walk answers
_MINUTES: dict[float, int] = {}  # minutes -> microseconds, as timedelta rounds them


def _minute_micros(minutes: float) -> int:
    """A case's targets repeat from case to case: their conversions are kept."""
    found = _MINUTES.get(minutes)
    if found is None:
        if len(_MINUTES) > 4096:
            _MINUTES.clear()
        _MINUTES[minutes] = found = timedelta(minutes=minutes) // _MICRO
    return found


def _micros(at: datetime) -> int:
    """Microseconds since the epoch (exact integers: no float rounding)."""
    return (at - _EPOCH) // _MICRO


@dataclass(frozen=True, slots=True)
class _Index:
    """The working intervals of the local days first..last, in microseconds since the epoch,
    in order and without overlaps; `before[i]`/`reached[i]`: working time before the start and
    at the end of interval i. Never changed once built (a calendar shared by threads swaps in
    a new one), and whole for instants from `valid_from` until the end of `last`."""

    first: date
    last: date
    valid_from: int
    starts: list[int]
    ends: list[int]
    before: list[int]
    reached: list[int]
    total: int


def _merge(intervals: list[Interval]) -> list[Interval]:
    intervals.sort()
    merged: list[Interval] = []
    for lo, hi in intervals:
        if merged and lo <= merged[-1][1]:
            if hi > merged[-1][1]:
                merged[-1] = (merged[-1][0], hi)
        else:
            merged.append((lo, hi))
    return merged


def _aware(value: datetime) -> None:
    if value.tzinfo is None or value.utcoffset() is None:
        raise ValueError("business time needs timezone-aware datetimes")
