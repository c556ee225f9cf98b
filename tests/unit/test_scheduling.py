"""Booking video calls: slots from real working time across zones and daylight-saving
switches, busy agents, who takes calls, reminders."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from returndesk.domain.business_time import BusinessCalendar, WorkingBlock
from returndesk.domain.errors import Conflict, ValidationFailed
from returndesk.domain.scheduling import (
    Bookable,
    BookingStatus,
    Busy,
    CallBooking,
    open_slots,
    pick_slot,
    takes_calls,
    window,
)
from returndesk.domain.teams import TeamMember

NY, BERLIN, SHANGHAI = (
    ZoneInfo("America/New_York"),
    ZoneInfo("Europe/Berlin"),
    ZoneInfo("Asia/Shanghai"),
)
WEEKDAYS = ["mon", "tue", "wed", "thu", "fri"]


def agent(
    staff_id: str, tz: str, *blocks: tuple[list[str], str, str], closed: set[date] | None = None
) -> Bookable:
    parsed = tuple(WorkingBlock.parse(days, start, end) for days, start, end in blocks)
    shut = closed or set()
    return Bookable(
        staff_id, "team-" + tz, staff_id, BusinessCalendar(tz, parsed, shut.__contains__)
    )


def local(slot_start: datetime, tz: ZoneInfo) -> str:
    return slot_start.astimezone(tz).strftime("%a %H:%M")


def test_slots_start_on_the_teams_local_clock_inside_its_hours() -> None:
    ny = agent("a", "America/New_York", (WEEKDAYS, "09:00", "10:00"))
    start = datetime(2026, 6, 1, 0, 0, tzinfo=UTC)  # a Monday
    slots = open_slots([ny], Busy(), start, start + timedelta(days=1))
    assert [local(s.starts_at, NY) for s in slots] == ["Mon 09:00", "Mon 09:20", "Mon 09:40"]
    assert all(s.agents == ("a",) and s.minutes == 20 for s in slots)
    assert slots[0].starts_at == datetime(2026, 6, 1, 13, 0, tzinfo=UTC)  # EDT: UTC-4


def test_a_slot_holds_its_local_time_across_the_teams_daylight_saving_switch() -> None:
    """New York springs forward on 8 March 2026, Berlin on 29 March: the 09:00 New York slot
    is 15:00 in Berlin the week before, 14:00 during the three weeks between, 15:00 after."""
    ny = agent("a", "America/New_York", (["mon"], "09:00", "09:20"))
    seen = {}
    for monday in (date(2026, 3, 2), date(2026, 3, 9), date(2026, 3, 30)):
        start = datetime(monday.year, monday.month, monday.day, tzinfo=UTC)
        [slot] = open_slots([ny], Busy(), start, start + timedelta(days=1))
        assert local(slot.starts_at, NY) == "Mon 09:00"
        seen[monday] = local(slot.starts_at, BERLIN)
    assert seen == {
        date(2026, 3, 2): "Mon 15:00",
        date(2026, 3, 9): "Mon 14:00",
        date(2026, 3, 30): "Mon 15:00",
    }


def test_an_overnight_shift_offers_slots_past_midnight_and_the_fall_back_night_is_longer() -> None:
    night = agent("n", "Europe/Berlin", (["sat"], "22:00", "02:00"))
    start = datetime(2026, 10, 24, 12, 0, tzinfo=UTC)  # Saturday; clocks go back on Sunday 03:00
    slots = open_slots([night], Busy(), start, start + timedelta(days=1))
    assert len(slots) == 12  # four hours, 20 minutes each
    assert local(slots[0].starts_at, BERLIN) == "Sat 22:00"
    assert local(slots[-1].starts_at, BERLIN) == "Sun 01:40"
    fall_back = agent("n", "Europe/Berlin", (["sun"], "01:00", "04:00"))
    start = datetime(2026, 10, 25, 0, 0, tzinfo=UTC)
    slots = open_slots([fall_back], Busy(), start - timedelta(hours=2), start + timedelta(days=1))
    assert len(slots) == 12  # 01:00-04:00 on the night the clocks go back lasts four hours


def test_holidays_and_closed_dates_offer_nothing() -> None:
    christmas = date(2026, 12, 25)
    team = agent("a", "Europe/Berlin", (WEEKDAYS, "09:00", "17:00"), closed={christmas})
    start = datetime(2026, 12, 25, 0, 0, tzinfo=BERLIN)
    slots = open_slots([team], Busy(), start, start + timedelta(days=1))
    assert slots == []


def test_a_booked_agent_is_not_offered_twice_and_the_least_booked_comes_first() -> None:
    a = agent("a", "Asia/Shanghai", (WEEKDAYS, "09:00", "10:00"))
    b = agent("b", "Asia/Shanghai", (WEEKDAYS, "09:00", "10:00"))
    start = datetime(2026, 6, 1, 0, 0, tzinfo=SHANGHAI)
    busy = Busy()
    nine = datetime(2026, 6, 1, 9, 0, tzinfo=SHANGHAI).astimezone(UTC)
    busy.add("a", nine, nine + timedelta(minutes=20))
    busy.add("b", nine + timedelta(minutes=40), nine + timedelta(minutes=60))
    busy.add("b", nine + timedelta(minutes=20), nine + timedelta(minutes=30))
    slots = open_slots([a, b], busy, start, start + timedelta(hours=12))
    assert [(local(s.starts_at, SHANGHAI), s.agents) for s in slots] == [
        ("Mon 09:00", ("b",)),  # a is booked then
        ("Mon 09:20", ("a",)),  # b is booked for half of it
        ("Mon 09:40", ("a",)),
    ]
    busy.add("a", nine + timedelta(minutes=20), nine + timedelta(minutes=40))
    slots = open_slots([a, b], busy, start, start + timedelta(hours=12))
    assert [(local(s.starts_at, SHANGHAI), s.agents) for s in slots] == [
        ("Mon 09:00", ("b",)),
        ("Mon 09:40", ("a",)),
    ]


def test_two_agents_free_at_once_give_the_call_to_the_one_with_fewer_calls() -> None:
    a = agent("a", "UTC", (WEEKDAYS, "09:00", "11:00"))
    b = agent("b", "UTC", (WEEKDAYS, "09:00", "11:00"))
    busy = Busy()
    ten = datetime(2026, 6, 1, 10, 0, tzinfo=UTC)
    busy.add("a", ten, ten + timedelta(minutes=20))
    start = datetime(2026, 6, 1, 9, 0, tzinfo=UTC)
    [first, *_] = open_slots([a, b], busy, start, start + timedelta(hours=1))
    assert first.agents == ("b", "a")


def test_picking_a_slot_that_is_gone_is_a_conflict_and_naive_times_are_refused() -> None:
    a = agent("a", "UTC", (WEEKDAYS, "09:00", "10:00"))
    start = datetime(2026, 6, 1, 9, 0, tzinfo=UTC)
    slots = open_slots([a], Busy(), start, start + timedelta(hours=1))
    assert pick_slot(slots, start.astimezone(BERLIN)).starts_at == start  # any offset
    with pytest.raises(Conflict) as gone:
        pick_slot(slots, start + timedelta(minutes=10))
    assert gone.value.code == "slot_unavailable"
    with pytest.raises(ValidationFailed):
        pick_slot(slots, datetime(2026, 6, 1, 9, 0))
    with pytest.raises(ValidationFailed):
        window(start, days=0)


def member(
    staff_id: str, langs: set[str], skills: set[str], markets: frozenset[str] = frozenset()
) -> TeamMember:
    return TeamMember("t", staff_id, frozenset(langs), markets, 5, frozenset(skills))


def test_who_takes_calls_skill_then_language_then_anyone_with_the_skill() -> None:
    ja = member("ja", {"ja"}, {"video_inspection"})
    en = member("en", {"en"}, {"video_inspection"})
    plain = member("plain", {"ja"}, {"returns"})
    assert takes_calls([ja, en, plain], "ja", "JP") == [ja]
    assert takes_calls([ja, en, plain], "fr", "FR") == [ja, en]  # an interpreter can join
    assert takes_calls([plain], "ja", "JP") == [plain]  # nobody marked: every member
    fr_only = member("fr", {"fr"}, {"video_inspection"}, frozenset({"FR"}))
    assert takes_calls([fr_only, en], "fr", "CA") == [fr_only, en]


def booking(created: datetime, starts: datetime) -> CallBooking:
    return CallBooking(
        id="b", store_id="s", case_id="c", team_id="t", agent_id="a", agent_name="Ana",
        starts_at=starts, minutes=20, timezone="Europe/Berlin", booked_by="buyer",
        created_at=created,
    )  # fmt: skip


def test_reminders_a_day_and_a_quarter_before_each_once() -> None:
    starts = datetime(2026, 6, 10, 15, 0, tzinfo=UTC)
    made = booking(starts - timedelta(days=3), starts)
    assert made.next_reminder_at() == starts - timedelta(hours=24)
    assert made.due_reminder(starts - timedelta(hours=25)) is None
    assert made.due_reminder(starts - timedelta(hours=23)) == "day_before"
    made.remind("day_before")
    assert made.due_reminder(starts - timedelta(hours=23)) is None
    assert made.next_reminder_at() == starts - timedelta(minutes=15)
    assert made.due_reminder(starts - timedelta(minutes=10)) == "soon"
    made.remind("soon")
    assert made.due_reminder(starts - timedelta(minutes=5)) is None
    assert made.next_reminder_at() == starts + timedelta(minutes=20, hours=1)
    assert not made.miss(starts + timedelta(minutes=30))
    assert made.miss(starts + timedelta(hours=2)) and made.status is BookingStatus.missed
    assert made.next_reminder_at() is None


def test_a_call_booked_three_hours_ahead_gets_only_the_last_reminder() -> None:
    starts = datetime(2026, 6, 10, 15, 0, tzinfo=UTC)
    made = booking(starts - timedelta(hours=3), starts)
    assert made.next_reminder_at() == starts - timedelta(minutes=15)
    assert made.due_reminder(starts - timedelta(hours=2)) is None
    assert made.due_reminder(starts - timedelta(minutes=14)) == "soon"


def test_a_late_sweep_sends_only_the_latest_reminder_and_skips_the_earlier() -> None:
    starts = datetime(2026, 6, 10, 15, 0, tzinfo=UTC)
    made = booking(starts - timedelta(days=3), starts)
    assert made.due_reminder(starts - timedelta(minutes=5)) == "soon"
    made.remind("soon")
    assert made.reminders == ("day_before", "soon")
    assert made.next_reminder_at() == starts + timedelta(minutes=20, hours=1)


@settings(max_examples=60, deadline=None)
@given(
    start_day=st.dates(min_value=date(2026, 1, 1), max_value=date(2027, 12, 31)),
    opens=st.integers(min_value=0, max_value=23),
    hours=st.integers(min_value=1, max_value=12),
    tz=st.sampled_from(["America/New_York", "Europe/Berlin", "Asia/Shanghai", "Asia/Kolkata"]),
)
def test_every_slot_lies_wholly_in_working_time(
    start_day: date, opens: int, hours: int, tz: str
) -> None:
    end_hour = (opens + hours) % 24
    a = agent("a", tz, (WEEKDAYS, f"{opens:02d}:00", f"{end_hour:02d}:00"))
    start = datetime(start_day.year, start_day.month, start_day.day, tzinfo=UTC)
    slots = open_slots([a], Busy(), start, start + timedelta(days=8))
    assert slots, "five working days in eight always have slots"
    for slot in slots:
        assert a.calendar.minutes_between(slot.starts_at, slot.ends_at) == 20
        assert slot.starts_at.astimezone(ZoneInfo(tz)).minute in (0, 20, 40)


def test_reminders_missed_while_the_sweep_was_down_are_skipped_not_sent_late() -> None:
    starts = datetime(2026, 6, 10, 15, 0, tzinfo=UTC)
    made = booking(starts - timedelta(days=3), starts)
    after_start = starts + timedelta(minutes=5)
    assert made.due_reminder(after_start) is None
    assert made.skip_passed(after_start) is True
    assert made.reminders == ("day_before", "soon")
    assert made.next_reminder_at() == starts + timedelta(minutes=20, hours=1)
    assert made.skip_passed(after_start) is False
