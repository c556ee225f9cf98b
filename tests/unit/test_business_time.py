"""Working-time arithmetic: tables of known answers, then properties over random calendars."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

import pytest
from hypothesis import assume, given, settings
from hypothesis import strategies as st

from returndesk.domain.business_time import BusinessCalendar, WorkingBlock
from returndesk.domain.errors import ValidationFailed

WEEKDAYS = ["mon", "tue", "wed", "thu", "fri"]


def calendar(zone: str, *blocks: tuple[list[str], str, str], closed: set[date] | None = None):
    shut = closed or set()
    return BusinessCalendar(
        zone, tuple(WorkingBlock.parse(d, s, e) for d, s, e in blocks), lambda day: day in shut
    )


def utc(text: str) -> datetime:
    return datetime.fromisoformat(text).replace(tzinfo=UTC)


NY_OFFICE = calendar("America/New_York", (WEEKDAYS, "09:00", "17:00"))
BERLIN_NIGHTS = calendar(
    "Europe/Berlin", (["mon", "tue", "wed", "thu", "fri", "sat", "sun"], "22:00", "06:00")
)
SHANGHAI_FOR_US = calendar("Asia/Shanghai", (WEEKDAYS, "21:00", "05:00"))  # US daytime
SPLIT = calendar("Europe/Madrid", (WEEKDAYS, "09:00", "13:00"), (WEEKDAYS, "16:00", "20:00"))
US_THANKSGIVING = calendar(
    "America/New_York", (WEEKDAYS, "09:00", "17:00"), closed={date(2026, 11, 26)}
)


@pytest.mark.parametrize(
    ("cal", "start", "minutes", "due"),
    [
        # Friday 15:00 in New York (EST, UTC-5) plus 3 h: 2 h on Friday, 1 h on Monday.
        (NY_OFFICE, "2026-11-27T20:00", 180, "2026-11-30T15:00"),
        # Before opening: the clock starts at 09:00.
        (NY_OFFICE, "2026-11-30T12:00", 60, "2026-11-30T15:00"),
        # A Saturday start waits for Monday.
        (NY_OFFICE, "2026-11-28T15:00", 30, "2026-11-30T14:30"),
        # Thanksgiving (Thursday) is closed: Wednesday 16:00 + 2 h ends Friday 10:00.
        (US_THANKSGIVING, "2026-11-25T21:00", 120, "2026-11-27T15:00"),
        # Across the spring-forward Sunday (8 March 2026): Friday 16:00 EST + 2 h is Monday
        # 10:00 EDT (UTC-4).
        (NY_OFFICE, "2026-03-06T21:00", 120, "2026-03-09T14:00"),
        # Overnight block in Berlin: Saturday 23:00 CET + 5 h crosses the 02:00->03:00 switch
        # on 29 March 2026; the night lasts 7 h, so 5 h later is 05:00 CEST = 03:00 UTC.
        (BERLIN_NIGHTS, "2026-03-28T22:00", 300, "2026-03-29T03:00"),
        # The autumn night (25 October 2026) lasts 9 h: 22:00 CEST + 8.5 h = 05:30 CET.
        (BERLIN_NIGHTS, "2026-10-24T20:00", 510, "2026-10-25T04:30"),
        # A Shanghai team on 21:00-05:00 serving US buyers: a New York Monday 10:00 message
        # (15:00 UTC = 23:00 Shanghai) is answered within the same night.
        (SHANGHAI_FOR_US, "2026-11-30T15:00", 240, "2026-11-30T19:00"),
        # The Shanghai Friday night runs into Saturday; the next block starts Monday 21:00.
        (SHANGHAI_FOR_US, "2026-12-04T20:00", 120, "2026-12-07T14:00"),
        # Split shift in Madrid: 12:00 + 2 h = 1 h before lunch, 1 h after.
        (SPLIT, "2026-12-01T11:00", 120, "2026-12-01T16:00"),
    ],
)
def test_add_minutes_lands_on_the_known_moment(
    cal: BusinessCalendar, start: str, minutes: int, due: str
) -> None:
    assert cal.add_minutes(utc(start), minutes) == utc(due)


@pytest.mark.parametrize(
    ("cal", "start", "end", "minutes"),
    [
        (NY_OFFICE, "2026-11-27T00:00", "2026-12-04T00:00", 5 * 8 * 60 - 0),
        (US_THANKSGIVING, "2026-11-23T00:00", "2026-11-30T00:00", 4 * 8 * 60),
        (BERLIN_NIGHTS, "2026-03-28T12:00", "2026-03-29T12:00", 7 * 60),
        (BERLIN_NIGHTS, "2026-10-24T12:00", "2026-10-25T12:00", 9 * 60),
        (SPLIT, "2026-12-01T00:00", "2026-12-02T00:00", 8 * 60),
    ],
)
def test_minutes_between_counts_only_working_time(
    cal: BusinessCalendar, start: str, end: str, minutes: int
) -> None:
    assert cal.minutes_between(utc(start), utc(end)) == minutes


def test_next_open_is_now_inside_a_block_and_the_next_start_outside() -> None:
    assert NY_OFFICE.next_open(utc("2026-11-30T15:00")) == utc("2026-11-30T15:00")
    assert NY_OFFICE.next_open(utc("2026-11-28T15:00")) == utc("2026-11-30T14:00")
    assert NY_OFFICE.is_open(utc("2026-11-30T15:00"))
    assert not NY_OFFICE.is_open(utc("2026-11-30T22:00"))  # 17:00 sharp: closed


def test_a_team_that_never_works_says_so() -> None:
    every_day = {date(2026, 1, 1) + timedelta(days=n) for n in range(800)}
    shut = calendar("UTC", (WEEKDAYS, "09:00", "17:00"), closed=every_day)
    assert shut.next_open(utc("2026-02-01T00:00")) is None
    with pytest.raises(ValidationFailed) as caught:
        shut.add_minutes(utc("2026-02-01T00:00"), 10)
    assert caught.value.code == "team_never_works"


@pytest.mark.parametrize(
    ("days", "start", "end", "code"),
    [
        (["mon"], "25:00", "10:00", "invalid_hours"),
        (["mon"], "09:00", "9:30", "invalid_hours"),
        (["funday"], "09:00", "10:00", "invalid_hours"),
        ([], "09:00", "10:00", "invalid_hours"),
        (["mon"], "24:30", "10:00", "invalid_hours"),
    ],
)
def test_bad_hours_are_refused_with_a_code(
    days: list[str], start: str, end: str, code: str
) -> None:
    with pytest.raises(ValidationFailed) as caught:
        WorkingBlock.parse(days, start, end)
    assert caught.value.code == code


def test_an_unknown_time_zone_is_refused() -> None:
    with pytest.raises(ValidationFailed) as caught:
        calendar("Mars/Olympus", (WEEKDAYS, "09:00", "17:00"))
    assert caught.value.code == "invalid_timezone"


def add_within_horizon(cal: BusinessCalendar, start: datetime, minutes: int) -> datetime:
    """add_minutes, leaving out examples whose team works too little to finish in 400 days
    (15 minutes a week, 5000 minutes asked): those raise team_never_works, tested above."""
    try:
        return cal.add_minutes(start, minutes)
    except ValidationFailed as exc:
        assert exc.code == "team_never_works"
        assume(False)
        raise


# Properties, over random weekly calendars in zones with daylight saving.
ZONES = ["America/New_York", "Europe/Berlin", "Asia/Shanghai", "Australia/Sydney", "UTC"]
clock_times = st.integers(min_value=0, max_value=24 * 4 - 1).map(
    lambda q: f"{q // 4:02d}:{q % 4 * 15:02d}"
)
blocks = st.tuples(
    st.lists(
        st.sampled_from(["mon", "tue", "wed", "thu", "fri", "sat", "sun"]),
        min_size=1,
        max_size=7,
        unique=True,
    ),
    clock_times,
    clock_times,
)
calendars = st.builds(
    lambda zone, bs, closed: calendar(zone, *bs, closed=closed),
    st.sampled_from(ZONES),
    st.lists(blocks, min_size=1, max_size=3),
    st.sets(st.dates(min_value=date(2026, 1, 1), max_value=date(2027, 12, 31)), max_size=20),
)
moments = st.datetimes(
    min_value=datetime(2026, 1, 1), max_value=datetime(2027, 6, 30), timezones=st.just(UTC)
)


@settings(max_examples=150, deadline=None)
@given(calendars, moments, st.integers(min_value=1, max_value=5000))
def test_due_times_never_fall_outside_working_time(
    cal: BusinessCalendar, start: datetime, minutes: int
) -> None:
    due = add_within_horizon(cal, start, minutes)
    # In a working interval, or on the closing edge of one.
    assert cal.intervals(due - timedelta(microseconds=1), due + timedelta(microseconds=1))
    assert cal.minutes_between(start, due) == pytest.approx(minutes, abs=1e-6)


@settings(max_examples=150, deadline=None)
@given(calendars, moments, st.lists(st.integers(min_value=1, max_value=3000), max_size=4))
def test_pausing_and_resuming_never_loses_or_gains_working_minutes(
    cal: BusinessCalendar, start: datetime, pauses: list[int]
) -> None:
    # Walk from `start` in steps (pausing between them): the working minutes of all the steps
    # add up to those of the whole stretch, however it is cut.
    moment, counted = start, 0.0
    for step in pauses:
        later = moment + timedelta(minutes=step)
        counted += cal.minutes_between(moment, later)
        moment = later
    assert counted == pytest.approx(cal.minutes_between(start, moment), abs=1e-6)


@settings(max_examples=100, deadline=None)
@given(
    calendars,
    moments,
    st.integers(min_value=0, max_value=3000),
    st.integers(min_value=1, max_value=3000),
)
def test_adding_in_two_steps_equals_adding_once(
    cal: BusinessCalendar, start: datetime, first: int, second: int
) -> None:
    once = add_within_horizon(cal, start, first + second)
    assert cal.add_minutes(cal.add_minutes(start, first), second) == once


@settings(max_examples=150, deadline=None)
@given(
    calendars,
    moments,
    st.lists(
        st.floats(min_value=0, max_value=5000, allow_nan=False).map(lambda m: round(m, 3)),
        max_size=6,
    ),
)
def test_adding_several_in_one_walk_equals_adding_each(
    cal: BusinessCalendar, start: datetime, minutes: list[float]
) -> None:
    expected = []
    for m in minutes:
        expected.append(add_within_horizon(cal, start, m))  # type: ignore[arg-type]
    assert cal.add_minutes_each(start, minutes) == expected


@settings(max_examples=60, deadline=None)
@given(
    calendars,
    st.lists(st.tuples(moments, st.integers(min_value=0, max_value=5000)), min_size=2, max_size=12),
)
def test_one_calendar_answers_many_starts_in_any_order_as_the_walk_does(
    cal: BusinessCalendar, asked: list[tuple[datetime, int]]
) -> None:
    # The index kept with a calendar grows forwards and is rebuilt from further back as the
    # starts come: every answer is still the walk's.
    for start, minutes in asked:
        expected = add_within_horizon(cal, start, minutes)
        assert cal.add_minutes_each(start, [minutes, minutes / 2]) == [
            expected,
            cal.add_minutes(start, minutes / 2),
        ]


def test_an_index_grown_far_ahead_answers_an_earlier_start_past_its_horizon_as_the_walk() -> None:
    # Mondays 09:00-09:15 only: 5,000 minutes need far more than 400 days.
    sparse = calendar("Europe/Berlin", (["mon"], "09:00", "09:15"))
    late = utc("2027-06-01T00:00")
    assert sparse.add_minutes_each(late, [600]) == [sparse.add_minutes(late, 600)]
    early = utc("2026-01-05T00:00")
    # 57 Mondays (855 minutes) lie within 400 days of `early`; the index now reaches further.
    for beyond in (900, 5000):
        with pytest.raises(ValidationFailed) as caught:
            sparse.add_minutes_each(early, [beyond])
        assert caught.value.code == "team_never_works"
    assert sparse.add_minutes_each(early, [30]) == [utc("2026-01-12T08:15")]
