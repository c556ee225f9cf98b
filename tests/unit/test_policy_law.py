"""The statutory floor per market (shared/docs/consumer-law.md), checked at each deadline.

Every row is decided with a store policy whose own windows are shorter than the statutory
ones (0 days), so the law alone decides: the day before and the day of the deadline the
return is approved and the legal basis is cited; the day after it is declined and the basis
is gone. Deadlines count from the delivery of the last parcel and end at the end of the N-th
day after the delivery date (business days skip Saturday and Sunday).
"""

from __future__ import annotations

import copy
from datetime import UTC, date, datetime, time, timedelta
from typing import Any

import pytest

from returndesk.adapters.rules.compiler import PolicyCompiler
from returndesk.domain.cases.reasons import ReasonCode
from returndesk.domain.cases.status import Resolution
from returndesk.domain.orders import Order, OrderLine, Shipment
from returndesk.domain.policy.decision import (
    BuyerHistory,
    ClaimLine,
    Decision,
    DecisionRequest,
    DeclineReason,
    Outcome,
    RefundItem,
    Responsibility,
    Right,
)
from returndesk.domain.policy.document import Policy
from returndesk.domain.policy.engine import decide
from returndesk.domain.policy.law import Payer

DELIVERED = datetime(2026, 3, 2, 15, 30, tzinfo=UTC)  # a Monday
LATER = datetime(2026, 3, 6, 11, 0, tzinfo=UTC)  # the second parcel, four days later
SHORT: dict[str, Any] = {"windows": {"change_of_mind_days": 0, "fault_days": 0}}
CURRENCY = {"DE": "EUR", "FR": "EUR", "ES": "EUR", "IT": "EUR", "GB": "GBP", "BR": "BRL",
            "JP": "JPY", "US": "USD", "AU": "AUD"}  # fmt: skip

EU_WITHDRAWAL = "Directive 2011/83/EU Art. 9"
EU_REFUND = "Directive 2011/83/EU Art. 13"
EU_EXEMPT = "Directive 2011/83/EU Art. 16"
EU_GUARANTEE = "Directive (EU) 2019/771 Art. 10"
UK_WITHDRAWAL = "Consumer Contracts Regulations 2013"
UK_REJECT = "Consumer Rights Act 2015 s.22"
BR_WITHDRAWAL = "CDC"
JP_WITHDRAWAL = "15-3"
AU_MAJOR = "Australian Consumer Law s.259"

_compiler = PolicyCompiler()


def merge(base: dict[str, Any], extra: dict[str, Any]) -> dict[str, Any]:
    out = copy.deepcopy(base)
    for key, value in extra.items():
        if isinstance(value, dict) and isinstance(out.get(key), dict):
            out[key] = merge(out[key], value)
        else:
            out[key] = copy.deepcopy(value)
    return out


def policy(extra: dict[str, Any] | None = None, base: dict[str, Any] = SHORT) -> Policy:
    return _compiler.compile(merge(base, extra or {}))


def make_order(
    market: str,
    *,
    deliveries: tuple[datetime | None, ...] = (DELIVERED,),
    category: str = "general",
    amount: int = 4000,
    shipping_paid: int = 0,
) -> Order:
    shipped = min((d for d in deliveries if d is not None), default=DELIVERED) - timedelta(days=3)
    return Order(
        id="o-1",
        store_id="store-1",
        number="1001",
        email="buyer@example.com",
        market=market,
        currency=CURRENCY[market],
        language="en",
        placed_at=shipped - timedelta(days=1),
        lines=[OrderLine("l-1", "SKU-1", "Sweater", 1, amount, amount, category)],
        shipments=[
            Shipment(f"s-{i}", "dhl", f"T{i}", shipped, delivered)
            for i, delivered in enumerate(deliveries)
        ],
        shipping_paid=shipping_paid,
    )


def on_day(day: date) -> datetime:
    return datetime.combine(day, time(12, 0), tzinfo=UTC)


def request(
    order: Order,
    requested_at: datetime,
    *,
    reason: ReasonCode = ReasonCode.changed_mind,
    category: str = "general",
    amount: int = 4000,
    **kw: Any,
) -> DecisionRequest:
    line = ClaimLine("SKU-1", category, 1, amount, reason)
    return DecisionRequest(order=order, lines=(line,), requested_at=requested_at, **kw)


def has_basis(decision: Decision, fragment: str) -> bool:
    return any(fragment in basis for basis in decision.legal_basis)


# --- the table: every statutory deadline, the day before, on and after -----------------------


ROWS = [
    # id, market, law overrides, reason, days, basis fragment, right, who pays the return
    pytest.param("DE", {}, ReasonCode.changed_mind, 14, EU_WITHDRAWAL, Right.withdrawal,
                 Payer.buyer, id="EU-DE-withdrawal"),
    pytest.param("FR", {}, ReasonCode.changed_mind, 14, EU_WITHDRAWAL, Right.withdrawal,
                 Payer.buyer, id="EU-FR-withdrawal"),
    pytest.param("ES", {}, ReasonCode.wrong_size, 14, EU_WITHDRAWAL, Right.withdrawal,
                 Payer.buyer, id="EU-ES-withdrawal-wrong-size"),
    pytest.param("IT", {}, ReasonCode.changed_mind, 14, EU_WITHDRAWAL, Right.withdrawal,
                 Payer.buyer, id="EU-IT-withdrawal"),
    pytest.param("DE", {}, ReasonCode.defective, 730, EU_GUARANTEE, Right.statutory_fault,
                 Payer.store, id="EU-DE-legal-guarantee"),
    pytest.param("GB", {}, ReasonCode.changed_mind, 14, UK_WITHDRAWAL, Right.withdrawal,
                 Payer.buyer, id="UK-withdrawal"),
    pytest.param("GB", {}, ReasonCode.defective, 30, UK_REJECT, Right.statutory_fault,
                 Payer.store, id="UK-short-term-right-to-reject"),
    pytest.param("BR", {}, ReasonCode.changed_mind, 7, BR_WITHDRAWAL, Right.withdrawal,
                 Payer.store, id="BR-withdrawal-calendar"),
    pytest.param("JP", {"policy_displayed": False}, ReasonCode.changed_mind, 8, JP_WITHDRAWAL,
                 Right.withdrawal, Payer.buyer, id="JP-no-policy-displayed"),
    # every value is configurable per store
    pytest.param("DE", {"law": {"EU": {"withdrawal_days": 30}}}, ReasonCode.changed_mind, 30,
                 EU_WITHDRAWAL, Right.withdrawal, Payer.buyer, id="EU-configured-30-days"),
    pytest.param("FR", {"law": {"EU": {"withdrawal_basis": "Code de la consommation L221-18"}}},
                 ReasonCode.changed_mind, 14, "L221-18", Right.withdrawal, Payer.buyer,
                 id="EU-configured-basis"),
    pytest.param("GB", {"law": {"UK": {"fault_days": 45}}}, ReasonCode.defective, 45,
                 UK_REJECT, Right.statutory_fault, Payer.store, id="UK-configured-fault-days"),
    pytest.param("BR", {"law": {"BR": {"withdrawal_days": 10}}}, ReasonCode.changed_mind, 10,
                 BR_WITHDRAWAL, Right.withdrawal, Payer.store, id="BR-configured-10-days"),
    pytest.param("JP", {"law": {"JP": {"only_without_displayed_policy": False}}},
                 ReasonCode.changed_mind, 8, JP_WITHDRAWAL, Right.withdrawal, Payer.buyer,
                 id="JP-configured-right-despite-policy"),
    pytest.param("US", {"law": {"US": {"withdrawal_days": 3, "withdrawal_basis": "State law"}}},
                 ReasonCode.changed_mind, 3, "State law", Right.withdrawal, Payer.buyer,
                 id="US-configured-state-right"),
]  # fmt: skip


@pytest.mark.parametrize("offset", [-1, 0, 1], ids=["day-before", "on-deadline", "day-after"])
@pytest.mark.parametrize(("market", "extra", "reason", "days", "basis", "right", "payer"), ROWS)
def test_statutory_deadline(
    market: str,
    extra: dict[str, Any],
    reason: ReasonCode,
    days: int,
    basis: str,
    right: Right,
    payer: Payer,
    offset: int,
) -> None:
    order = make_order(market)
    deadline = DELIVERED.date() + timedelta(days=days)
    decision = decide(
        request(order, on_day(deadline + timedelta(days=offset)), reason=reason), policy(extra), 7
    )
    if offset <= 0:
        assert decision.outcome is Outcome.approve_return, decision.to_dict()
        assert decision.decline_reason is None
        assert has_basis(decision, basis), decision.legal_basis
        assert decision.rights == {"SKU-1": right.value}
        assert decision.return_shipping_paid_by is payer
        assert decision.refund_amount == 4000
    else:
        assert decision.outcome is Outcome.decline, decision.to_dict()
        assert decision.decline_reason is DeclineReason.window_ended
        assert not has_basis(decision, basis), decision.legal_basis
        assert decision.rights == {}
        assert decision.refund_amount == 0
    assert decision.policy_version == 7


@pytest.mark.parametrize("offset", [-1, 0, 1], ids=["day-before", "on-deadline", "day-after"])
def test_eu_window_runs_from_the_last_parcel(offset: int) -> None:
    order = make_order("DE", deliveries=(DELIVERED, LATER))
    assert order.delivered_at == LATER
    deadline = LATER.date() + timedelta(days=14)
    decision = decide(request(order, on_day(deadline + timedelta(days=offset))), policy(), 1)
    if offset <= 0:
        assert decision.outcome is Outcome.approve_return
        assert EU_WITHDRAWAL in decision.legal_basis
    else:
        assert decision.outcome is Outcome.decline
        assert decision.decline_reason is DeclineReason.window_ended
        assert EU_WITHDRAWAL not in decision.legal_basis


def test_eu_window_not_ended_by_the_first_parcel() -> None:
    order = make_order("DE", deliveries=(DELIVERED, LATER))
    after_first = DELIVERED.date() + timedelta(days=15)  # past 14 days from the first parcel
    decision = decide(request(order, on_day(after_first)), policy(), 1)
    assert decision.outcome is Outcome.approve_return
    assert EU_WITHDRAWAL in decision.legal_basis


def test_the_period_has_not_started_while_a_parcel_is_still_on_its_way() -> None:
    """Art. 9: 14 days from the LAST item; what already arrived may go back meanwhile."""
    order = make_order("DE", deliveries=(DELIVERED, None))
    decision = decide(request(order, on_day(DELIVERED.date() + timedelta(days=30))), policy(), 1)
    assert decision.outcome is Outcome.approve_return
    assert "Directive 2011/83/EU Art. 9" in decision.legal_basis
    nothing = make_order("DE", deliveries=(None,))
    refused = decide(request(nothing, on_day(DELIVERED.date())), policy(), 1)
    assert refused.decline_reason is DeclineReason.not_delivered


def test_deadline_is_the_end_of_the_day_not_24_hour_periods() -> None:
    order = make_order("DE")  # delivered 15:30
    late_evening = datetime.combine(
        DELIVERED.date() + timedelta(days=14), time(23, 59, 59), tzinfo=UTC
    )
    assert decide(request(order, late_evening), policy(), 1).outcome is Outcome.approve_return
    midnight = late_evening + timedelta(seconds=1)
    assert decide(request(order, midnight), policy(), 1).outcome is Outcome.decline


# --- EU: the statutory floor ------------------------------------------------------------------

WITHIN_EU = on_day(DELIVERED.date() + timedelta(days=10))
AFTER_EU = on_day(DELIVERED.date() + timedelta(days=20))
OPEN_STORE_WINDOW: dict[str, Any] = {"windows": {"change_of_mind_days": 30, "fault_days": 365}}


@pytest.mark.parametrize(
    ("then", "held"),
    [
        ({"outcome": "decline", "decline_reason": "store_rule"}, Outcome.decline),
        ({"outcome": "human_review"}, Outcome.human_review),
        ({"outcome": "request_evidence", "evidence": "photo"}, Outcome.request_evidence),
    ],
    ids=["decline", "human_review", "request_evidence"],
)
@pytest.mark.parametrize("market", ["DE", "FR", "ES", "IT"])
def test_eu_withdrawal_cannot_be_refused_or_held_by_a_store_rule(
    market: str, then: dict[str, Any], held: Outcome
) -> None:
    doc = merge(OPEN_STORE_WINDOW, {"rules": [{"id": "store-says-no", "then": then}]})
    order = make_order(market)
    decision = decide(request(order, WITHIN_EU), policy(base=doc), 1)
    assert decision.outcome is Outcome.approve_return
    assert decision.decline_reason is None
    assert decision.evidence_requested is None
    assert EU_WITHDRAWAL in decision.legal_basis
    codes = [r.code for r in decision.reasons]
    assert "statutory_floor" in codes
    assert [r.rule for r in decision.reasons if r.code == "store_rule"] == ["store-says-no"]
    # after the statutory window the same rule decides
    later = decide(request(order, AFTER_EU), policy(base=doc), 1)
    assert later.outcome is held
    if held is Outcome.decline:
        assert later.decline_reason is DeclineReason.store_rule


def test_eu_withdrawal_is_not_held_for_fraud_signals_or_block_lists() -> None:
    doc = {
        "windows": {"change_of_mind_days": 0, "fault_days": 0},
        "fraud": {"max_returns": 1, "review_above": {"EUR": 100}},
        "lists": {"block_emails": ["buyer@example.com"], "block_skus": ["SKU-1"]},
    }
    order = make_order("DE")
    decision = decide(
        request(order, WITHIN_EU, history=BuyerHistory(returns=5, refunded=9000)),
        policy(base=doc),
        1,
    )
    assert decision.outcome is Outcome.approve_return
    assert decision.responsibility is Responsibility.fraud_suspected  # flagged, not refused


def test_eu_whole_order_withdrawal_refunds_outbound_shipping() -> None:
    order = make_order("DE", shipping_paid=495)
    decision = decide(request(order, WITHIN_EU, whole_order=True), policy(), 1)
    assert decision.outcome is Outcome.approve_return
    assert RefundItem("outbound_shipping", 495) in decision.breakdown
    assert decision.refund_amount == 4000 + 495
    assert EU_REFUND in decision.legal_basis
    assert [r.basis for r in decision.reasons if r.code == "outbound_shipping"] == [EU_REFUND]


def test_eu_partial_withdrawal_keeps_outbound_shipping() -> None:
    order = make_order("DE", shipping_paid=495)
    decision = decide(request(order, WITHIN_EU, whole_order=False), policy(), 1)
    assert [item.kind for item in decision.breakdown] == ["line"]
    assert decision.refund_amount == 4000
    assert EU_REFUND not in decision.legal_basis


def test_outbound_shipping_is_not_refunded_on_a_store_window_return() -> None:
    order = make_order("DE", shipping_paid=495)
    decision = decide(request(order, AFTER_EU, whole_order=True), policy(base=OPEN_STORE_WINDOW), 1)
    assert decision.outcome is Outcome.approve_return
    assert decision.rights == {"SKU-1": Right.store_change_of_mind.value}
    assert "outbound_shipping" not in [item.kind for item in decision.breakdown]
    assert decision.refund_amount == 4000


def test_no_restocking_fee_on_an_eu_withdrawal() -> None:
    doc = merge(
        OPEN_STORE_WINDOW,
        {
            "restocking_fee": {"percent": 10, "reasons": ["changed_mind"]},
            "rules": [{"id": "fee", "then": {"restocking_fee_percent": 15}}],
        },
    )
    order = make_order("DE")
    within = decide(request(order, WITHIN_EU), policy(base=doc), 1)
    assert "restocking_fee" not in [item.kind for item in within.breakdown]
    assert within.refund_amount == 4000
    assert "no_restocking_fee" in [r.code for r in within.reasons]
    # a store-window return after the 14 days may carry the store's fee
    after = decide(request(order, AFTER_EU), policy(base=doc), 1)
    assert RefundItem("restocking_fee", -600, "SKU-1") in after.breakdown
    assert after.refund_amount == 3400


@pytest.mark.parametrize(
    ("extra", "payer"),
    [
        ({}, Payer.buyer),
        ({"law": {"EU": {"withdrawal_return_paid_by": "store"}}}, Payer.store),
        ({"law": {"EU": {"withdrawal_return_paid_by": "buyer"}}}, Payer.buyer),
    ],
    ids=["default-buyer", "store", "explicit-buyer"],
)
def test_eu_withdrawal_return_payer_follows_the_law_setting(
    extra: dict[str, Any], payer: Payer
) -> None:
    decision = decide(request(make_order("DE"), WITHIN_EU), policy(extra), 1)
    assert decision.return_shipping_paid_by is payer


@pytest.mark.parametrize("market", ["DE", "GB"])
def test_store_offering_free_returns_pays_a_withdrawal_return(market: str) -> None:
    doc = {"return_shipping": {"default": "store"}}
    decision = decide(request(make_order(market), WITHIN_EU), policy(doc), 1)
    assert decision.rights == {"SKU-1": Right.withdrawal.value}
    assert decision.return_shipping_paid_by is Payer.store


def test_eu_non_returnable_category_is_declined_inside_the_window() -> None:
    doc = {"categories": {"non_returnable": ["hygiene"]}}
    order = make_order("DE", category="hygiene")
    decision = decide(request(order, WITHIN_EU, category="hygiene"), policy(doc), 1)
    assert decision.outcome is Outcome.decline
    assert decision.decline_reason is DeclineReason.non_returnable
    assert EU_EXEMPT in decision.legal_basis
    assert EU_WITHDRAWAL not in decision.legal_basis


def test_eu_non_returnable_category_may_still_come_back_when_faulty() -> None:
    doc = {"categories": {"non_returnable": ["hygiene"]}}
    order = make_order("DE", category="hygiene")
    decision = decide(
        request(order, WITHIN_EU, category="hygiene", reason=ReasonCode.defective), policy(doc), 1
    )
    assert decision.outcome is Outcome.approve_return
    assert EU_GUARANTEE in decision.legal_basis


@pytest.mark.parametrize("offset", [-1, 0, 1], ids=["day-before", "on-deadline", "day-after"])
def test_eu_final_sale_is_returnable_within_the_statutory_window(offset: int) -> None:
    doc = {"categories": {"final_sale": ["clearance"]}}
    order = make_order("DE", category="clearance")
    day = DELIVERED.date() + timedelta(days=14 + offset)
    decision = decide(request(order, on_day(day), category="clearance"), policy(doc), 1)
    if offset <= 0:
        assert decision.outcome is Outcome.approve_return
        assert EU_WITHDRAWAL in decision.legal_basis
    else:
        assert decision.outcome is Outcome.decline
        assert decision.decline_reason is DeclineReason.final_sale


def test_final_sale_outside_statutory_markets_is_declined_at_once() -> None:
    doc = merge(OPEN_STORE_WINDOW, {"categories": {"final_sale": ["clearance"]}})
    order = make_order("US", category="clearance")
    day = on_day(DELIVERED.date() + timedelta(days=1))
    decision = decide(request(order, day, category="clearance"), policy(base=doc), 1)
    assert decision.outcome is Outcome.decline
    assert decision.decline_reason is DeclineReason.final_sale


# --- UK -------------------------------------------------------------------------------------


def test_uk_faulty_goods_rejected_within_30_days_trader_pays_the_return() -> None:
    order = make_order("GB")
    day = on_day(DELIVERED.date() + timedelta(days=25))  # past the 14-day withdrawal
    decision = decide(request(order, day, reason=ReasonCode.defective), policy(), 1)
    assert decision.outcome is Outcome.approve_return
    assert UK_REJECT in decision.legal_basis
    assert not has_basis(decision, UK_WITHDRAWAL)
    assert decision.return_shipping_paid_by is Payer.store
    assert decision.responsibility is Responsibility.seller


def test_uk_faulty_goods_after_30_days_fall_to_the_store_fault_window() -> None:
    order = make_order("GB")
    day = on_day(DELIVERED.date() + timedelta(days=60))
    doc = {"windows": {"change_of_mind_days": 0, "fault_days": 365}}
    decision = decide(request(order, day, reason=ReasonCode.defective), policy(base=doc), 1)
    assert decision.outcome is Outcome.approve_return
    assert decision.rights == {"SKU-1": Right.store_fault.value}
    assert UK_REJECT not in decision.legal_basis


# --- Brazil: calendar or business days ------------------------------------------------------

FRIDAY = datetime(2026, 1, 9, 10, 0, tzinfo=UTC)
assert FRIDAY.weekday() == 4


@pytest.mark.parametrize(
    ("extra", "deadline"),
    [
        ({}, date(2026, 1, 16)),  # 7 calendar days: the next Friday
        ({"law": {"BR": {"day_count": "calendar"}}}, date(2026, 1, 16)),
        # 7 business days: Mon 12 .. Fri 16 (5), Mon 19 (6), Tue 20 (7)
        ({"law": {"BR": {"day_count": "business"}}}, date(2026, 1, 20)),
    ],
    ids=["default-calendar", "calendar", "business"],
)
@pytest.mark.parametrize("offset", [-1, 0, 1], ids=["day-before", "on-deadline", "day-after"])
def test_brazil_day_count(extra: dict[str, Any], deadline: date, offset: int) -> None:
    order = make_order("BR", deliveries=(FRIDAY,))
    decision = decide(request(order, on_day(deadline + timedelta(days=offset))), policy(extra), 1)
    if offset <= 0:
        assert decision.outcome is Outcome.approve_return
        assert has_basis(decision, BR_WITHDRAWAL)
        assert decision.return_shipping_paid_by is Payer.store
    else:
        assert decision.outcome is Outcome.decline
        assert decision.decline_reason is DeclineReason.window_ended
        assert not has_basis(decision, BR_WITHDRAWAL)


def test_brazil_business_days_cover_the_weekend_after_the_calendar_deadline() -> None:
    order = make_order("BR", deliveries=(FRIDAY,))
    saturday = on_day(date(2026, 1, 17))
    calendar = decide(request(order, saturday), policy(), 1)
    business = decide(
        request(order, saturday), policy({"law": {"BR": {"day_count": "business"}}}), 1
    )
    assert calendar.outcome is Outcome.decline
    assert business.outcome is Outcome.approve_return


BLACK_CONSCIOUSNESS_EVE = datetime(2026, 11, 19, 10, 0, tzinfo=UTC)  # Thursday; Fri 20 is off


@pytest.mark.parametrize("offset", [-1, 0, 1], ids=["day-before", "on-deadline", "day-after"])
def test_brazil_business_days_skip_public_holidays(offset: int) -> None:
    """Nov 20 (Dia da Consciência Negra) is a national holiday: Mon 23 .. Fri 27 (5), Mon 30
    (6), Tue Dec 1 (7). Counting weekends only would end on Mon Nov 30."""
    order = make_order("BR", deliveries=(BLACK_CONSCIOUSNESS_EVE,))
    deadline = date(2026, 12, 1)
    business = policy({"law": {"BR": {"day_count": "business"}}})
    decision = decide(request(order, on_day(deadline + timedelta(days=offset))), business, 1)
    expected = Outcome.approve_return if offset <= 0 else Outcome.decline
    assert decision.outcome is expected


# --- Japan: the 8-day right exists only without a displayed return policy -------------------


def test_japan_displayed_policy_means_no_statutory_right() -> None:
    order = make_order("JP")
    day = on_day(DELIVERED.date() + timedelta(days=3))
    decision = decide(request(order, day), policy({"policy_displayed": True}), 1)
    assert decision.outcome is Outcome.decline
    assert decision.decline_reason is DeclineReason.window_ended
    assert decision.legal_basis == ()


@pytest.mark.parametrize("offset", [-1, 0, 1], ids=["day-before", "on-deadline", "day-after"])
def test_japan_displayed_policy_store_window_decides(offset: int) -> None:
    doc = {"policy_displayed": True, "windows": {"change_of_mind_days": 5, "fault_days": 30}}
    order = make_order("JP")
    day = on_day(DELIVERED.date() + timedelta(days=5 + offset))
    decision = decide(request(order, day), policy(base=doc), 1)
    assert decision.legal_basis == ()
    expected = Outcome.approve_return if offset <= 0 else Outcome.decline
    assert decision.outcome is expected


def test_japan_withdrawal_without_displayed_policy_buyer_pays() -> None:
    doc = {"policy_displayed": False, "return_shipping": {"default": "buyer"}}
    order = make_order("JP")
    decision = decide(request(order, on_day(DELIVERED.date() + timedelta(days=8))), policy(doc), 1)
    assert decision.outcome is Outcome.approve_return
    assert has_basis(decision, JP_WITHDRAWAL)
    assert decision.return_shipping_paid_by is Payer.buyer


# --- US: no statutory right -----------------------------------------------------------------


@pytest.mark.parametrize("market", ["US", "AU"])
@pytest.mark.parametrize("offset", [-1, 0, 1], ids=["day-before", "on-deadline", "day-after"])
def test_no_change_of_mind_right_store_window_decides(market: str, offset: int) -> None:
    doc = {"windows": {"change_of_mind_days": 10, "fault_days": 30}}
    order = make_order(market)
    day = on_day(DELIVERED.date() + timedelta(days=10 + offset))
    decision = decide(request(order, day), policy(base=doc), 1)
    assert decision.legal_basis == ()
    if offset <= 0:
        assert decision.outcome is Outcome.approve_return
        assert decision.rights == {"SKU-1": Right.store_change_of_mind.value}
    else:
        assert decision.outcome is Outcome.decline
        assert decision.decline_reason is DeclineReason.window_ended


@pytest.mark.parametrize("market", ["US", "AU"])
def test_no_change_of_mind_right_with_a_zero_day_store_window(market: str) -> None:
    order = make_order(market)
    decision = decide(request(order, on_day(DELIVERED.date() + timedelta(days=1))), policy(), 1)
    assert decision.outcome is Outcome.decline
    assert decision.decline_reason is DeclineReason.window_ended
    assert decision.legal_basis == ()


# --- Australia: major failure, the buyer chooses the remedy ----------------------------------

AU_STORE: dict[str, Any] = {"windows": {"change_of_mind_days": 0, "fault_days": 365}}


@pytest.mark.parametrize(
    ("preferred", "outcome"),
    [
        (Resolution.exchange, Outcome.offer_exchange),
        (Resolution.refund, Outcome.approve_return),
    ],
)
@pytest.mark.parametrize("exchange_enabled", [True, False])
def test_australia_major_failure_buyer_chooses(
    preferred: Resolution, outcome: Outcome, exchange_enabled: bool
) -> None:
    doc = merge(AU_STORE, {"exchange": {"enabled": exchange_enabled}})
    order = make_order("AU")
    decision = decide(
        request(
            order,
            on_day(DELIVERED.date() + timedelta(days=40)),
            reason=ReasonCode.defective,
            preferred_resolution=preferred,
            findings=frozenset({"major_failure"}),
        ),
        policy(base=doc),
        1,
    )
    assert decision.outcome is outcome
    assert AU_MAJOR in decision.legal_basis
    assert decision.return_shipping_paid_by is Payer.store


def test_australia_minor_failure_business_chooses() -> None:
    doc = merge(AU_STORE, {"exchange": {"enabled": False}})
    order = make_order("AU")
    decision = decide(
        request(
            order,
            on_day(DELIVERED.date() + timedelta(days=40)),
            reason=ReasonCode.defective,
            preferred_resolution=Resolution.exchange,
        ),
        policy(base=doc),
        1,
    )
    assert decision.outcome is Outcome.approve_return  # no exchange offered: the store chose
    assert AU_MAJOR not in decision.legal_basis
