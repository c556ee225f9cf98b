"""Which buyer email a transaction calls for, and quiet hours in the buyer's time zone."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from hypothesis import given
from hypothesis import strategies as st

from returndesk.domain.errors import ValidationFailed
from returndesk.domain.markets import market_zone
from returndesk.domain.notifications import QuietHours, Section, plan_email

AT = "2026-11-27T10:00:00+00:00"


def event(kind: str, to_status: str | None = None, **data: Any) -> dict[str, Any]:
    return {"kind": kind, "to_status": to_status, "status": to_status or "requested",
            "at": AT, "data": data}  # fmt: skip


def test_opening_and_an_automatic_approval_make_one_email() -> None:
    plan = plan_email(
        "US",
        [
            event("case_opened"),
            event("decision_made", outcome="approve_return", rights={"A": "store_change_of_mind"}),
            event("status_changed", "approved"),
            event("status_changed", "awaiting_return"),
        ],
    )
    assert plan is not None
    assert plan.sections == (Section.received, Section.decision, Section.return_instructions)
    assert plan.primary is Section.return_instructions
    assert not plan.urgent
    assert plan.status == "awaiting_return"


WITHDRAWAL_MARKETS = [("DE", True), ("FR", True), ("GB", True), ("US", False), ("BR", False),
                      ("JP", False)]  # fmt: skip


@pytest.mark.parametrize(("market", "ack"), WITHDRAWAL_MARKETS)
def test_a_statutory_withdrawal_in_the_eu_or_uk_is_acknowledged_at_once(
    market: str, ack: bool
) -> None:
    plan = plan_email(
        market,
        [event("case_opened"), event("decision_made", outcome="approve_return",
                                     rights={"A": "withdrawal"})],
    )  # fmt: skip
    assert plan is not None
    assert (Section.withdrawal_ack in plan.sections) is ack
    assert plan.urgent is ack
    assert (plan.primary is Section.withdrawal_ack) is ack


def test_a_fault_claim_is_not_a_withdrawal() -> None:
    plan = plan_email(
        "DE",
        [event("case_opened"), event("decision_made", rights={"A": "statutory_fault"})],
    )
    assert plan is not None and Section.withdrawal_ack not in plan.sections


@pytest.mark.parametrize(
    ("to_status", "section"),
    [
        ("received", Section.item_received),
        ("partially_received", Section.item_received),
        ("refunded", Section.refund_issued),
        ("declined", Section.decision),
        ("needs_evidence", Section.decision),
    ],
)
def test_steps_buyers_care_about(to_status: str, section: Section) -> None:
    plan = plan_email("US", [event("status_changed", to_status)])
    assert plan is not None and plan.sections == (section,)


@pytest.mark.parametrize("to_status", ["under_review", "in_transit", "inspected", "escalated"])
def test_internal_steps_send_nothing(to_status: str) -> None:
    assert plan_email("US", [event("status_changed", to_status)]) is None
    assert plan_email("US", []) is None


BERLIN = ZoneInfo("Europe/Berlin")
QUIET = QuietHours.parse("21:00-08:00")


@pytest.mark.parametrize(
    ("local", "released"),
    [
        ("2026-11-27T12:00", "2026-11-27T12:00"),  # daytime: at once
        ("2026-11-27T20:59", "2026-11-27T20:59"),
        ("2026-11-27T21:00", "2026-11-28T08:00"),  # evening: tomorrow morning
        ("2026-11-27T23:30", "2026-11-28T08:00"),
        ("2026-11-28T03:00", "2026-11-28T08:00"),  # night: this morning
        ("2026-11-28T08:00", "2026-11-28T08:00"),
    ],
)
def test_quiet_hours_hold_messages_until_the_morning(local: str, released: str) -> None:
    assert QUIET is not None
    now = datetime.fromisoformat(local).replace(tzinfo=BERLIN).astimezone(UTC)
    got = QUIET.release(now, BERLIN)
    assert got.astimezone(BERLIN).replace(tzinfo=None) == datetime.fromisoformat(released)
    assert got.tzinfo is not None


def test_quiet_hours_within_a_day_and_across_a_dst_change() -> None:
    lunch = QuietHours.parse("12:00-13:30")
    assert lunch is not None
    noon = datetime(2026, 6, 1, 12, 15, tzinfo=BERLIN)
    assert lunch.release(noon, BERLIN) == datetime(2026, 6, 1, 13, 30, tzinfo=BERLIN)
    assert QUIET is not None
    # The night clocks go back in Berlin (25 October 2026): still 08:00 local.
    night = datetime(2026, 10, 24, 23, 0, tzinfo=BERLIN)
    assert QUIET.release(night, BERLIN).astimezone(BERLIN).hour == 8


@given(st.datetimes(min_value=datetime(2020, 1, 1), max_value=datetime(2035, 1, 1),
                    timezones=st.just(UTC)))  # fmt: skip
def test_a_released_time_is_never_earlier_nor_inside_the_window(now: datetime) -> None:
    assert QUIET is not None
    tokyo = ZoneInfo("Asia/Tokyo")
    released = QUIET.release(now, tokyo)
    assert released >= now
    local = released.astimezone(tokyo).time()
    assert not QUIET._quiet(local)
    assert (released - now).total_seconds() <= 11 * 3600


@pytest.mark.parametrize("text", ["21:00-", "9pm-8am", "21:00", "25:00-08:00", "21:00-08:00-09:00"])
def test_bad_quiet_hours_are_refused(text: str) -> None:
    with pytest.raises(ValidationFailed) as caught:
        QuietHours.parse(text)
    assert caught.value.code == "invalid_quiet_hours"


def test_no_quiet_hours() -> None:
    assert QuietHours.parse("") is None
    assert QuietHours.parse("08:00-08:00") is None


def test_market_zones() -> None:
    assert market_zone("DE") == "Europe/Berlin"
    assert market_zone("BR") == "America/Sao_Paulo"
    assert market_zone("it") == "Europe/Rome"  # from zone.tab
    assert market_zone("XX") == "UTC"
    assert market_zone(None, "Asia/Tokyo") == "Asia/Tokyo"


def test_a_decision_the_store_did_not_apply_is_not_told_to_the_buyer() -> None:
    """Automation off: the engine's decision is advice for staff; the case stays requested."""
    plan = plan_email("US", [event("case_opened"), event("decision_made", outcome="decline")])
    assert plan is not None and plan.sections == (Section.received,)
    plan = plan_email("DE", [event("case_opened"),
                             event("decision_made", outcome="approve_return",
                                   rights={"A": "withdrawal"})])  # fmt: skip
    assert plan is not None
    assert plan.sections == (Section.received, Section.withdrawal_ack)
    # A person overriding it while the case is under review tells the buyer nothing yet.
    overridden = {**event("decision_overridden", outcome="decline"), "status": "under_review"}
    assert plan_email("US", [overridden]) is None
