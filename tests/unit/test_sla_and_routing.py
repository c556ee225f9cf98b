"""Service-level clocks on a case, and routing to people who can take it."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from returndesk.domain.business_time import BusinessCalendar, WorkingBlock
from returndesk.domain.cases.status import CaseStatus
from returndesk.domain.sla import AnswerClock, CaseSla, SlaAlert, SlaClock, SlaTargets
from returndesk.domain.teams import Candidate, PresenceStatus, TeamSlot, route, skill_for

OFFICE = BusinessCalendar(
    "America/New_York", (WorkingBlock.parse(["mon", "tue", "wed", "thu", "fri"], "09:00", "17:00"),)
)
MONDAY_10 = datetime(2026, 11, 30, 15, 0, tzinfo=UTC)  # 10:00 in New York


def new_sla(targets: SlaTargets | None = None) -> CaseSla:
    sla = CaseSla("c1", targets or SlaTargets(60, 120, 480), started_at=MONDAY_10)
    sla.follow(CaseStatus.requested, MONDAY_10, OFFICE)
    return sla


def test_clocks_are_due_in_working_time() -> None:
    sla = new_sla()
    assert sla.due[SlaClock.first_response] == MONDAY_10 + timedelta(hours=1)
    # 8 working hours: 7 on Monday (10:00-17:00), 1 on Tuesday.
    assert sla.due[SlaClock.resolution] == datetime(2026, 12, 1, 15, 0, tzinfo=UTC)
    assert sla.warn_at[SlaClock.first_response] == MONDAY_10 + timedelta(minutes=48)


def test_a_staff_answer_stops_the_first_response_clock_and_a_buyer_message_starts_the_next() -> (
    None
):
    sla = new_sla()
    sla.staff_responded(MONDAY_10 + timedelta(minutes=30), OFFICE)
    assert SlaClock.first_response not in sla.due
    sla.buyer_wrote(MONDAY_10 + timedelta(hours=2), OFFICE)
    assert sla.due[SlaClock.next_response] == MONDAY_10 + timedelta(hours=4)
    sla.staff_responded(MONDAY_10 + timedelta(hours=3), OFFICE)
    assert SlaClock.next_response not in sla.due


def test_waiting_on_the_buyer_pauses_every_clock_and_the_pause_is_added_back() -> None:
    sla = new_sla()
    sla.follow(CaseStatus.needs_evidence, MONDAY_10 + timedelta(minutes=20), OFFICE)
    assert sla.paused and not sla.due and sla.next_check_at is None
    # Evidence arrives Tuesday 10:00: 6h40m of Monday plus 1 h of Tuesday were paused.
    resumed = datetime(2026, 12, 1, 15, 0, tzinfo=UTC)
    sla.follow(CaseStatus.under_review, resumed, OFFICE)
    assert sla.paused_minutes == pytest.approx(400 + 60)
    # 20 of the 60 first-response minutes were used before the pause; 40 remain.
    assert sla.due[SlaClock.first_response] == resumed + timedelta(minutes=40)


def test_warnings_and_breaches_are_raised_once() -> None:
    sla = new_sla()
    assert sla.check(MONDAY_10 + timedelta(minutes=10)) == []
    assert sla.check(MONDAY_10 + timedelta(minutes=50)) == [
        (SlaClock.first_response, SlaAlert.warning)
    ]
    assert sla.check(MONDAY_10 + timedelta(minutes=61)) == [
        (SlaClock.first_response, SlaAlert.breach)
    ]
    assert sla.check(MONDAY_10 + timedelta(minutes=62)) == []
    assert sla.next_check_at == sla.warn_at[SlaClock.resolution]


def test_each_wait_for_an_answer_can_be_warned_and_missed_again() -> None:
    sla = new_sla()
    sla.staff_responded(MONDAY_10 + timedelta(minutes=5), OFFICE)
    sla.buyer_wrote(MONDAY_10 + timedelta(minutes=10), OFFICE)
    late = MONDAY_10 + timedelta(minutes=10 + 121)
    assert (SlaClock.next_response, SlaAlert.breach) in sla.check(late)
    sla.staff_responded(late, OFFICE)
    sla.buyer_wrote(late + timedelta(minutes=1), OFFICE)
    again = sla.check(late + timedelta(minutes=1 + 121))
    assert (SlaClock.next_response, SlaAlert.breach) in again
    assert SlaClock.next_response in sla.breached  # missed at least once, for the figures


def test_an_outcome_stops_every_clock_and_reopening_restarts_them() -> None:
    sla = new_sla()
    sla.follow(CaseStatus.refunded, MONDAY_10 + timedelta(minutes=5), OFFICE)
    assert sla.resolved_at is not None and not sla.due and sla.next_check_at is None
    sla.follow(CaseStatus.under_review, MONDAY_10 + timedelta(minutes=10), OFFICE)
    assert sla.resolved_at is None and SlaClock.resolution in sla.due


@settings(max_examples=100, deadline=None)
@given(
    st.lists(
        st.tuples(
            st.integers(min_value=1, max_value=4000), st.integers(min_value=1, max_value=4000)
        ),
        max_size=4,
    )
)
def test_pauses_never_lose_or_gain_working_minutes(steps: list[tuple[int, int]]) -> None:
    sla = new_sla(SlaTargets(60, 120, 100_000))
    at = MONDAY_10
    for running, paused in steps:
        at += timedelta(minutes=running)
        sla.follow(CaseStatus.needs_evidence, at, OFFICE)
        at += timedelta(minutes=paused)
        sla.follow(CaseStatus.under_review, at, OFFICE)
    due = sla.due[SlaClock.resolution]
    worked = OFFICE.minutes_between(MONDAY_10, due) - sla.paused_minutes
    assert worked == pytest.approx(100_000, abs=1e-6)


def agent(name: str, **changes: object) -> Candidate:
    values: dict[str, object] = {
        "staff_id": name,
        "team_id": "t-us",
        "languages": frozenset({"en", "es"}),
        "markets": frozenset(),
        "capacity": 5,
        "load": 0,
        "status": PresenceStatus.online,
    }
    values.update(changes)
    return Candidate(**values)  # type: ignore[arg-type]


TEAMS = [
    TeamSlot("t-us", MONDAY_10 + timedelta(hours=8), serves=True),
    TeamSlot("t-cn", MONDAY_10 + timedelta(hours=1), serves=True),
    TeamSlot("t-de", MONDAY_10, serves=False),
]


def test_the_least_loaded_online_agent_who_speaks_the_language_gets_the_case() -> None:
    got = route(
        "es",
        "MX",
        [agent("a", load=3), agent("b", load=1), agent("c", languages=frozenset({"de"}))],
        TEAMS,
    )
    assert (got.assignee_id, got.rule) == ("b", "agent")


def test_pt_br_buyers_reach_agents_who_speak_portuguese() -> None:
    got = route("pt-BR", "BR", [agent("a"), agent("p", languages=frozenset({"pt"}))], TEAMS)
    assert got.assignee_id == "p"


def test_nobody_offline_away_or_full_is_picked_and_the_next_team_on_shift_queues_it() -> None:
    got = route(
        "en",
        "US",
        [
            agent("off", status=PresenceStatus.offline),
            agent("away", status=PresenceStatus.away),
            agent("full", load=5),
            agent("zero", capacity=0),
            agent("elsewhere", markets=frozenset({"DE"})),
        ],
        TEAMS,
    )
    assert (got.team_id, got.assignee_id, got.rule) == ("t-cn", None, "team_queue")


def test_a_language_no_team_serves_goes_to_the_team_open_soonest() -> None:
    nobody_serves = [TeamSlot(t.team_id, t.opens_at, serves=False) for t in TEAMS]
    got = route("ja", "JP", [agent("a")], nobody_serves)
    assert (got.team_id, got.rule) == ("t-de", "any_team")
    assert route("ja", "JP", [], []).rule == "unassigned"


candidates = st.lists(
    st.builds(
        agent,
        st.text(alphabet="abcdef", min_size=1, max_size=4),
        load=st.integers(min_value=0, max_value=8),
        capacity=st.integers(min_value=0, max_value=6),
        status=st.sampled_from(list(PresenceStatus)),
        languages=st.sets(st.sampled_from(["en", "es", "de", "pt"]), max_size=3).map(frozenset),
    ),
    max_size=12,
)


@settings(max_examples=300, deadline=None)
@given(candidates, st.sampled_from(["en", "es", "de", "pt-BR", "ja"]))
def test_routing_never_assigns_to_an_offline_or_full_agent(
    pool: list[Candidate], language: str
) -> None:
    got = route(language, "US", pool, TEAMS)
    if got.assignee_id is not None:
        picked = [c for c in pool if c.staff_id == got.assignee_id]
        assert any(c.status is PresenceStatus.online and c.load < c.capacity for c in picked)


def test_the_skill_a_case_needs_comes_from_its_decision() -> None:
    electronics = {"inputs": {"lines": [{"category": "electronics", "reason": "defective"}]}}
    assert skill_for(None) is None
    assert skill_for({"responsibility": "fraud_suspected", **electronics}) == "fraud"
    assert skill_for({"evidence_requested": "inspection_call", **electronics}) == "video_inspection"
    assert skill_for(electronics) == "electronics_howto"
    changed_mind = {"inputs": {"lines": [{"category": "electronics", "reason": "changed_mind"}]}}
    assert skill_for(changed_mind) is None
    assert (
        skill_for({"inputs": {"lines": [{"category": "apparel", "reason": "defective"}]}}) is None
    )


def test_a_chats_answer_clock_warns_then_breaches_once_per_wait_and_keeps_its_promise() -> None:
    start = datetime(2026, 11, 30, 12, 0, tzinfo=UTC)
    due, warn = start + timedelta(minutes=30), start + timedelta(minutes=24)
    clock = AnswerClock()
    assert clock.next_check_at is None and clock.check(due) == []
    clock.start(due, warn)
    clock.start(due + timedelta(hours=1), warn + timedelta(hours=1))  # a second message
    assert (clock.due_at, clock.next_check_at) == (due, warn)  # the first promise stands
    assert clock.check(warn - timedelta(seconds=1)) == []
    assert clock.check(warn) == [SlaAlert.warning]
    assert clock.check(warn) == [] and clock.next_check_at == due
    assert clock.check(due) == [SlaAlert.breach]
    assert clock.check(due + timedelta(hours=5)) == [] and clock.next_check_at is None
    assert AnswerClock.from_data(clock.to_data()) == clock
    clock.stop(answered=True)
    assert (clock.due_at, clock.answered, clock.next_check_at) == (None, True, None)
    # A new wait: a breach found late needs no warning before it.
    clock.start(due + timedelta(hours=2), warn + timedelta(hours=2))
    assert not clock.warned and not clock.alerted
    assert clock.check(due + timedelta(hours=3)) == [SlaAlert.breach]
    # Missed: the buyer who writes again is told a new time, kept the same way.
    later = due + timedelta(hours=4)
    clock.start(later, later - timedelta(minutes=6))
    assert (clock.due_at, clock.alerted, clock.next_check_at) == (
        later, False, later - timedelta(minutes=6),
    )  # fmt: skip
    clock.stop(answered=False)  # closed or handed back: a person's answer is still on record
    assert clock.answered and AnswerClock.from_data(None) == AnswerClock()


def test_a_copy_of_a_chats_clock_read_before_the_sweep_keeps_the_alert_the_sweep_raised() -> None:
    start = datetime(2026, 11, 30, 12, 0, tzinfo=UTC)
    due, warn = start + timedelta(minutes=30), start + timedelta(minutes=24)
    stale, swept = AnswerClock(), AnswerClock()
    stale.start(due, warn)
    swept.start(due, warn)
    assert swept.check(warn) == [SlaAlert.warning]
    stale.keep_marks(swept)
    assert stale.warned and stale.check(warn) == []
    other = AnswerClock()  # a later wait's marks are not this one's
    other.start(due + timedelta(hours=1), warn + timedelta(hours=1))
    other.keep_marks(swept)
    assert not other.warned
