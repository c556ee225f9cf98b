"""decide(): how the store's policy, the buyer's history and the evidence shape a decision."""

from __future__ import annotations

import copy
import json
from dataclasses import replace
from datetime import UTC, datetime, time, timedelta, timezone
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from returndesk.adapters.rules.compiler import PolicyCompiler
from returndesk.domain.cases.reasons import FAULT_REASONS, ReasonCode
from returndesk.domain.cases.status import Resolution
from returndesk.domain.orders import Order, OrderLine, Shipment
from returndesk.domain.policy.decision import (
    BuyerHistory,
    ClaimLine,
    Decision,
    DecisionRequest,
    DeclineReason,
    EvidenceKind,
    Outcome,
    RefundItem,
    RefundTiming,
    Responsibility,
    Right,
)
from returndesk.domain.policy.document import Policy
from returndesk.domain.policy.engine import FINDINGS, MAJOR_FAILURE, decide, replay
from returndesk.domain.policy.law import EU_MEMBERS, Payer

DELIVERED = datetime(2026, 3, 2, 15, 30, tzinfo=UTC)
EMAIL = "buyer@example.com"
CURRENCY = {"DE": "EUR", "FR": "EUR", "IT": "EUR", "ES": "EUR", "NL": "EUR", "AT": "EUR",
            "PL": "PLN", "SE": "SEK", "GB": "GBP", "BR": "BRL", "JP": "JPY", "US": "USD",
            "AU": "AUD", "CA": "CAD"}  # fmt: skip
_compiler = PolicyCompiler()


def policy(doc: dict[str, Any] | None = None) -> Policy:
    return _compiler.compile(copy.deepcopy(doc or {}))


def claim(
    sku: str = "SKU-1",
    amount: int = 4000,
    reason: ReasonCode = ReasonCode.changed_mind,
    category: str = "general",
    quantity: int = 1,
) -> ClaimLine:
    return ClaimLine(sku, category, quantity, amount, reason)


def make_order(
    market: str,
    claims: tuple[ClaimLine, ...],
    *,
    deliveries: tuple[datetime | None, ...] = (DELIVERED,),
    shipping_paid: int = 0,
    email: str = EMAIL,
    number: str = "1001",
) -> Order:
    known = [d for d in deliveries if d is not None]
    shipped = (min(known) if known else DELIVERED) - timedelta(days=3)
    return Order(
        id="o-1",
        store_id="store-1",
        number=number,
        email=email,
        market=market,
        currency=CURRENCY[market],
        language="en",
        placed_at=shipped - timedelta(days=1),
        lines=[
            OrderLine(f"l-{i}", c.sku, c.sku.title(), c.quantity, c.amount, c.amount, c.category)
            for i, c in enumerate(claims)
        ],
        shipments=[
            Shipment(f"s-{i}", "dhl", f"T{i}", shipped, d) for i, d in enumerate(deliveries)
        ],
        shipping_paid=shipping_paid,
    )


def ask(
    market: str,
    *claims: ClaimLine,
    day: int = 5,
    delivered: bool = True,
    shipping_paid: int = 0,
    email: str = EMAIL,
    number: str = "1001",
    **kw: Any,
) -> DecisionRequest:
    claims = claims or (claim(),)
    order = make_order(
        market,
        claims,
        deliveries=(DELIVERED if delivered else None,),
        shipping_paid=shipping_paid,
        email=email,
        number=number,
    )
    requested = datetime.combine(DELIVERED.date() + timedelta(days=day), time(12), tzinfo=UTC)
    return DecisionRequest(order=order, lines=claims, requested_at=requested, **kw)


def codes(decision: Decision) -> list[str]:
    return [r.code for r in decision.reasons]


def fired(decision: Decision) -> list[str | None]:
    return [r.rule for r in decision.reasons if r.code == "store_rule"]


# --- approve, keep-the-item, exchange -----------------------------------------------------------


def test_plain_return_within_the_store_window() -> None:
    decision = decide(ask("US", day=30), policy(), 3)
    assert decision.outcome is Outcome.approve_return
    assert decision.decline_reason is None
    assert decision.responsibility is Responsibility.buyer
    assert decision.refund_amount == 4000
    assert decision.currency == "USD"
    assert decision.breakdown == (RefundItem("line", 4000, "SKU-1"),)
    assert decision.return_shipping_paid_by is Payer.buyer
    assert decision.rights == {"SKU-1": Right.store_change_of_mind.value}
    assert decision.legal_basis == ()
    assert decision.policy_version == 3
    assert decision.refund_timing is RefundTiming.on_receipt


def test_store_window_ended() -> None:
    decision = decide(ask("US", day=31), policy(), 1)
    assert decision.outcome is Outcome.decline
    assert decision.decline_reason is DeclineReason.window_ended
    assert decision.refund_amount == 0
    assert decision.breakdown == ()
    assert decision.return_shipping_paid_by is Payer.nobody
    assert decision.return_address is None


def test_window_override_per_category_and_market() -> None:
    doc = {
        "windows": {
            "change_of_mind_days": 30,
            "overrides": [
                {"categories": ["electronics"], "change_of_mind_days": 15},
                {"markets": ["EU"], "change_of_mind_days": 60, "fault_days": 400},
            ],
        }
    }
    electronics = claim(category="electronics")
    assert decide(ask("US", electronics, day=15), policy(doc), 1).outcome is Outcome.approve_return
    assert decide(ask("US", electronics, day=16), policy(doc), 1).outcome is Outcome.decline
    assert decide(ask("FR", day=60), policy(doc), 1).outcome is Outcome.approve_return
    assert decide(ask("FR", day=61), policy(doc), 1).outcome is Outcome.decline
    assert decide(ask("US", day=31), policy(doc), 1).outcome is Outcome.decline


def test_fault_window_is_separate_from_change_of_mind() -> None:
    doc = {"windows": {"change_of_mind_days": 30, "fault_days": 90}}
    faulty = claim(reason=ReasonCode.defective)
    ok = decide(ask("US", faulty, day=90), policy(doc), 1)
    assert ok.outcome is Outcome.approve_return
    assert ok.rights == {"SKU-1": Right.store_fault.value}
    late = decide(ask("US", faulty, day=91), policy(doc), 1)
    assert late.outcome is Outcome.decline
    assert late.decline_reason is DeclineReason.window_ended


@pytest.mark.parametrize(("amount", "outcome"), [(1499, Outcome.approve_returnless),
                                                 (1500, Outcome.approve_return)])  # fmt: skip
def test_returnless_below_a_value(amount: int, outcome: Outcome) -> None:
    doc = {"economics": {"returnless_below": {"USD": 1500}}}
    decision = decide(ask("US", claim(amount=amount)), policy(doc), 1)
    assert decision.outcome is outcome
    if outcome is Outcome.approve_returnless:
        assert "returnless_threshold" in codes(decision)
        assert decision.return_shipping_paid_by is Payer.nobody
        assert decision.return_address is None
        assert decision.refund_amount == amount


ECONOMICS: dict[str, Any] = {
    "economics": {
        "handling_cost": {"USD": 300},
        "return_cost": {"US": {"USD": 900}},
        "resale_percent": 60,
        "resale_percent_faulty": 10,
    }
}


@pytest.mark.parametrize(
    ("amount", "reason", "outcome"),
    [
        # lane 900 + handling 300 = 1200 against 60 % of the amount
        (2000, ReasonCode.changed_mind, Outcome.approve_return),  # recovers 1200: not more
        (1999, ReasonCode.changed_mind, Outcome.approve_returnless),  # recovers 1199
        # faulty goods recover 10 %: 12000 -> 1200, 11999 -> 1199
        (12000, ReasonCode.defective, Outcome.approve_return),
        (11999, ReasonCode.defective, Outcome.approve_returnless),
    ],
)
def test_returnless_when_the_return_costs_more_than_it_recovers(
    amount: int, reason: ReasonCode, outcome: Outcome
) -> None:
    decision = decide(ask("US", claim(amount=amount, reason=reason)), policy(ECONOMICS), 1)
    assert decision.outcome is outcome
    assert ("return_costs_more" in codes(decision)) is (outcome is Outcome.approve_returnless)


def test_return_cost_is_per_lane() -> None:
    # no lane for Canada: nothing to weigh, the item comes back
    decision = decide(ask("CA", claim(amount=100)), policy(ECONOMICS), 1)
    assert decision.outcome is Outcome.approve_return


def test_handling_cost_counts_toward_the_return_cost() -> None:
    without = copy.deepcopy(ECONOMICS)
    del without["economics"]["handling_cost"]
    # 60 % of 1600 = 960: above the 900 lane alone, below 900 + 300
    assert decide(ask("US", claim(amount=1600)), policy(without), 1).outcome is (
        Outcome.approve_return
    )
    assert decide(ask("US", claim(amount=1600)), policy(ECONOMICS), 1).outcome is (
        Outcome.approve_returnless
    )


@pytest.mark.parametrize(("enabled", "outcome"), [(True, Outcome.offer_exchange),
                                                  (False, Outcome.approve_return)])  # fmt: skip
def test_exchange_when_the_buyer_asks_and_the_store_offers(enabled: bool, outcome: Outcome) -> None:
    doc = {"exchange": {"enabled": enabled}}
    decision = decide(ask("US", preferred_resolution=Resolution.exchange), policy(doc), 1)
    assert decision.outcome is outcome


# --- evidence ------------------------------------------------------------------------------

EVIDENCE: dict[str, Any] = {
    "evidence": {
        "by_reason": {"defective": "photo", "missing_parts": "unboxing_video"},
        "not_below": {"USD": 3000},
    }
}


def test_fault_needs_the_configured_evidence() -> None:
    decision = decide(ask("US", claim(reason=ReasonCode.missing_parts)), policy(EVIDENCE), 1)
    assert decision.outcome is Outcome.request_evidence
    assert decision.evidence_requested is EvidenceKind.unboxing_video
    need = [r for r in decision.reasons if r.code == "evidence_needed"]
    assert [r.sku for r in need] == ["SKU-1"]


def test_evidence_already_given_is_not_asked_again() -> None:
    request = ask(
        "US", claim(reason=ReasonCode.defective), evidence=frozenset({EvidenceKind.photo})
    )
    decision = decide(request, policy(EVIDENCE), 1)
    assert decision.outcome is Outcome.approve_return
    assert decision.evidence_requested is None


def test_stronger_evidence_counts_and_other_evidence_does_not() -> None:
    """A video or an inspection call shows what a photo would; a photo is no unboxing video."""
    for shown in (EvidenceKind.unboxing_video, EvidenceKind.inspection_call):
        request = ask("US", claim(reason=ReasonCode.defective), evidence=frozenset({shown}))
        assert decide(request, policy(EVIDENCE), 1).outcome is Outcome.approve_return
    video = {"evidence": {"by_reason": {"missing_parts": "unboxing_video"}}}
    request = ask(
        "US", claim(reason=ReasonCode.missing_parts), evidence=frozenset({EvidenceKind.photo})
    )
    decision = decide(request, policy(video), 1)
    assert decision.outcome is Outcome.request_evidence
    assert decision.evidence_requested is EvidenceKind.unboxing_video


@pytest.mark.parametrize(("amount", "outcome"), [(2999, Outcome.approve_return),
                                                 (3000, Outcome.request_evidence)])  # fmt: skip
def test_evidence_waived_below_a_value(amount: int, outcome: Outcome) -> None:
    decision = decide(ask("US", claim(amount=amount, reason=ReasonCode.defective)),
                      policy(EVIDENCE), 1)  # fmt: skip
    assert decision.outcome is outcome
    assert ("evidence_waived" in codes(decision)) is (outcome is Outcome.approve_return)


def test_no_evidence_for_a_reason_without_a_setting() -> None:
    decision = decide(ask("US", claim(reason=ReasonCode.wrong_item)), policy(EVIDENCE), 1)
    assert decision.outcome is Outcome.approve_return


# --- human review --------------------------------------------------------------------------


@pytest.mark.parametrize(("returns", "outcome"), [(2, Outcome.approve_return),
                                                  (3, Outcome.human_review)])  # fmt: skip
def test_serial_returner_goes_to_a_person(returns: int, outcome: Outcome) -> None:
    doc = {"fraud": {"max_returns": 3, "lookback_days": 60}}
    decision = decide(ask("US", history=BuyerHistory(returns=returns)), policy(doc), 1)
    assert decision.outcome is outcome
    if outcome is Outcome.human_review:
        assert "serial_returner" in codes(decision)
        assert decision.responsibility is Responsibility.fraud_suspected
        assert decision.refund_amount == 4000  # what a person would approve


def test_allow_list_skips_fraud_checks() -> None:
    doc = {
        "fraud": {"max_returns": 1, "review_above": {"USD": 100}},
        "lists": {"allow_emails": ["Buyer@Example.com"]},
    }
    decision = decide(ask("US", history=BuyerHistory(returns=9)), policy(doc), 1)
    assert decision.outcome is Outcome.approve_return
    assert decision.responsibility is Responsibility.buyer


@pytest.mark.parametrize(("amount", "outcome"), [(50000, Outcome.approve_return),
                                                 (50001, Outcome.human_review)])  # fmt: skip
def test_high_value_goes_to_a_person(amount: int, outcome: Outcome) -> None:
    doc = {"fraud": {"review_above": {"USD": 50000}}}
    decision = decide(ask("US", claim(amount=amount)), policy(doc), 1)
    assert decision.outcome is outcome
    assert ("high_value" in codes(decision)) is (outcome is Outcome.human_review)
    assert decision.responsibility is Responsibility.buyer


def test_review_threshold_is_per_currency() -> None:
    doc = {"fraud": {"review_above": {"EUR": 100}}}
    assert decide(ask("US", claim(amount=50000)), policy(doc), 1).outcome is (
        Outcome.approve_return
    )


@pytest.mark.parametrize("finding", ["item_swapped", "counterfeit_returned"])
def test_fraud_finding_goes_to_a_person(finding: str) -> None:
    decision = decide(ask("US", findings=frozenset({finding})), policy(), 1)
    assert decision.outcome is Outcome.human_review
    assert decision.responsibility is Responsibility.fraud_suspected
    assert "finding" in codes(decision)


# --- declines ------------------------------------------------------------------------------


def test_final_sale_is_declined() -> None:
    doc = {"categories": {"final_sale": ["clearance"]}}
    decision = decide(ask("US", claim(category="clearance")), policy(doc), 1)
    assert decision.outcome is Outcome.decline
    assert decision.decline_reason is DeclineReason.final_sale


def test_final_sale_does_not_bar_a_fault() -> None:
    doc = {"categories": {"final_sale": ["clearance"]}}
    decision = decide(
        ask("US", claim(category="clearance", reason=ReasonCode.defective)), policy(doc), 1
    )
    assert decision.outcome is Outcome.approve_return


def test_non_returnable_outside_the_eu_has_no_basis() -> None:
    doc = {"categories": {"non_returnable": ["hygiene"]}}
    decision = decide(ask("US", claim(category="hygiene")), policy(doc), 1)
    assert decision.outcome is Outcome.decline
    assert decision.decline_reason is DeclineReason.non_returnable
    assert decision.legal_basis == ()


@pytest.mark.parametrize(
    ("lists", "kw"),
    [
        ({"block_emails": ["BUYER@example.com"]}, {}),
        ({"block_emails": ["buyer@example.com"]}, {"email": "Buyer@Example.COM"}),
        ({"block_orders": ["1001"]}, {}),
        ({"block_skus": ["SKU-1"]}, {}),
    ],
    ids=["email", "email-case", "order", "sku"],
)
def test_block_lists(lists: dict[str, Any], kw: dict[str, Any]) -> None:
    decision = decide(ask("US", **kw), policy({"lists": lists}), 1)
    assert decision.outcome is Outcome.decline
    assert decision.decline_reason is DeclineReason.blocked
    # A blocked email or order points at the buyer; a blocked product does not.
    suspected = "block_skus" not in lists
    assert (decision.responsibility is Responsibility.fraud_suspected) is suspected
    assert decision.refund_amount == 0
    assert "blocked" in codes(decision)


def test_block_lists_do_not_match_other_buyers() -> None:
    doc = {"lists": {"block_emails": ["x@example.com"], "block_orders": ["999"],
                     "block_skus": ["OTHER"]}}  # fmt: skip
    assert decide(ask("US"), policy(doc), 1).outcome is Outcome.approve_return


def test_block_sku_anywhere_in_the_claim_declines_it() -> None:
    doc = {"lists": {"block_skus": ["SKU-2"]}}
    decision = decide(ask("US", claim(), claim("SKU-2", 100)), policy(doc), 1)
    assert decision.decline_reason is DeclineReason.blocked
    assert [r.sku for r in decision.reasons if r.code == "blocked"] == ["SKU-2"]


def test_periods_are_counted_in_utc_days() -> None:
    """The same moment gives the same decision whatever offset the timestamp carries."""

    base = ask("US")
    late = base.requested_at.astimezone(UTC).replace(hour=22, minute=30)
    shifted = late.astimezone(timezone(timedelta(hours=2)))  # already "tomorrow" there
    a = decide(replace(base, requested_at=late), policy({}), 1)
    b = decide(replace(base, requested_at=shifted), policy({}), 1)
    assert a.to_dict() == b.to_dict()


def test_a_line_that_cannot_come_back_declines_the_claim_first() -> None:
    doc = {"categories": {"final_sale": ["clearance"]}, "lists": {"block_skus": ["SKU-1"]}}
    decision = decide(ask("US", claim(category="clearance")), policy(doc), 1)
    assert decision.decline_reason is DeclineReason.final_sale


def test_not_delivered_yet() -> None:
    decision = decide(ask("US", delivered=False), policy(), 1)
    assert decision.outcome is Outcome.decline
    assert decision.decline_reason is DeclineReason.not_delivered


def test_not_received_refund_without_return_from_the_carrier() -> None:
    decision = decide(
        ask("US", claim(reason=ReasonCode.not_received), delivered=False), policy(), 1
    )
    assert decision.outcome is Outcome.approve_returnless
    assert decision.responsibility is Responsibility.carrier
    assert decision.rights == {"SKU-1": Right.carrier_claim.value}
    assert decision.refund_amount == 4000
    assert decision.return_shipping_paid_by is Payer.nobody


def test_not_received_but_carrier_says_delivered_goes_to_a_person() -> None:
    decision = decide(ask("US", claim(reason=ReasonCode.not_received)), policy(), 1)
    assert decision.outcome is Outcome.human_review
    assert "delivered_per_carrier" in codes(decision)


# --- responsibility ------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("reason", "findings", "expected"),
    [
        (ReasonCode.changed_mind, (), Responsibility.buyer),
        (ReasonCode.wrong_size, (), Responsibility.buyer),
        (ReasonCode.defective, (), Responsibility.seller),
        (ReasonCode.wrong_item, (), Responsibility.seller),
        (ReasonCode.not_as_described, (), Responsibility.seller),
        (ReasonCode.color_differs, (), Responsibility.seller),
        (ReasonCode.damaged_in_transit, (), Responsibility.carrier),
        # findings from evidence or inspection override the buyer's stated reason
        (ReasonCode.defective, ("damage_by_buyer",), Responsibility.buyer),
        (ReasonCode.defective, ("misuse",), Responsibility.buyer),
        (ReasonCode.defective, ("transit_damage",), Responsibility.carrier),
        (ReasonCode.changed_mind, ("defect_confirmed",), Responsibility.seller),
        (ReasonCode.damaged_in_transit, ("wrong_item_confirmed",), Responsibility.seller),
        (ReasonCode.changed_mind, ("item_swapped",), Responsibility.fraud_suspected),
        (ReasonCode.defective, ("unknown_finding",), Responsibility.seller),
    ],
)
def test_responsibility(
    reason: ReasonCode, findings: tuple[str, ...], expected: Responsibility
) -> None:
    decision = decide(ask("US", claim(reason=reason), findings=frozenset(findings)), policy(), 1)
    assert decision.responsibility is expected


def test_seller_or_carrier_fault_store_pays_the_return() -> None:
    doc = {"return_shipping": {"default": "buyer"}}
    for reason in (ReasonCode.defective, ReasonCode.damaged_in_transit):
        decision = decide(ask("US", claim(reason=reason)), policy(doc), 1)
        assert decision.return_shipping_paid_by is Payer.store


def test_buyer_damage_finding_makes_the_buyer_pay() -> None:
    doc = {"return_shipping": {"default": "buyer"}}
    request = ask("US", claim(reason=ReasonCode.defective), findings=frozenset({"misuse"}))
    assert decide(request, policy(doc), 1).return_shipping_paid_by is Payer.buyer


def test_return_shipping_by_reason() -> None:
    doc = {"return_shipping": {"default": "buyer", "by_reason": {"wrong_size": "store"}}}
    wrong_size = decide(ask("US", claim(reason=ReasonCode.wrong_size)), policy(doc), 1)
    assert wrong_size.return_shipping_paid_by is Payer.store
    assert decide(ask("US"), policy(doc), 1).return_shipping_paid_by is Payer.buyer


def test_buyer_paid_return_cost_is_deducted_when_configured() -> None:
    doc = {
        "return_shipping": {"default": "buyer", "deduct_return_cost": True},
        "economics": {"return_cost": {"US": {"USD": 900}}},
    }
    decision = decide(ask("US", claim(amount=4000)), policy(doc), 1)
    assert RefundItem("return_shipping", -900) in decision.breakdown
    assert decision.refund_amount == 3100
    free = copy.deepcopy(doc)
    free["return_shipping"]["default"] = "store"
    assert decide(ask("US", claim(amount=4000)), policy(free), 1).refund_amount == 4000


# --- store rules ---------------------------------------------------------------------------


def rule(rule_id: str, then: dict[str, Any], **scope: Any) -> dict[str, Any]:
    return {"id": rule_id, "then": then, **scope}


RETURNLESS = {"outcome": "approve_returnless"}
REVIEW = {"outcome": "human_review"}


@pytest.mark.parametrize(
    ("when", "request_kw", "matches"),
    [
        ("days_since_delivery > 20", {"day": 21}, True),
        ("days_since_delivery > 20", {"day": 20}, False),
        ("buyer.returns >= 2", {"history": BuyerHistory(returns=2)}, True),
        ("buyer.returns >= 2", {"history": BuyerHistory(returns=1)}, False),
        ("refund.amount >= 4000 && refund.currency == 'USD'", {}, True),
        ("order.shipping > 0", {"shipping_paid": 10}, True),
        ("order.shipping > 0", {}, False),
        ("lines.exists(l, l.category == 'general' && l.reason_group == 'preference')", {}, True),
        ("'defective' in reasons", {}, False),
        ("preferred_resolution == 'store_credit'",
         {"preferred_resolution": Resolution.store_credit}, True),
        ("evidence.photo", {"evidence": frozenset({EvidenceKind.photo})}, True),
        ("evidence.photo", {}, False),
        ("international && market == 'US' && region == 'US'", {}, True),
        ("'misuse' in findings", {"findings": frozenset({"misuse"})}, True),
        ("lines[0].right == 'store_change_of_mind'", {}, True),
        ("statutory_withdrawal", {}, False),
    ],
)  # fmt: skip
def test_rule_conditions_read_the_facts(
    when: str, request_kw: dict[str, Any], matches: bool
) -> None:
    doc = {"origin_country": "CN", "rules": [rule("r", RETURNLESS, when=when)]}
    decision = decide(ask("US", **request_kw), policy(doc), 1)
    assert (decision.outcome is Outcome.approve_returnless) is matches
    assert fired(decision) == (["r"] if matches else [])


@pytest.mark.parametrize(
    ("scope", "market", "line", "matches"),
    [
        ({"markets": ["EU"]}, "DE", claim(), True),
        ({"markets": ["EU"]}, "US", claim(), False),
        ({"markets": ["DE"]}, "DE", claim(), True),
        ({"markets": ["DE"]}, "FR", claim(), False),
        ({"markets": ["UK"]}, "GB", claim(), True),
        ({"reasons": ["changed_mind"]}, "US", claim(), True),
        ({"reasons": ["wrong_size"]}, "US", claim(), False),
        ({"reasons": ["preference"]}, "US", claim(reason=ReasonCode.wrong_size), True),
        ({"reasons": ["damaged_or_faulty"]}, "US", claim(), False),
        ({"categories": ["electronics"]}, "US", claim(category="electronics"), True),
        ({"categories": ["electronics"]}, "US", claim(), False),
        ({"markets": ["US"], "reasons": ["changed_mind"], "categories": ["general"]},
         "US", claim(), True),
        ({"markets": ["US"], "reasons": ["changed_mind"], "categories": ["apparel"]},
         "US", claim(), False),
    ],
)  # fmt: skip
def test_rule_scope_filters(
    scope: dict[str, Any], market: str, line: ClaimLine, matches: bool
) -> None:
    doc = {"rules": [rule("scoped", RETURNLESS, **scope)]}
    decision = decide(ask(market, line, day=20), policy(doc), 1)  # past the EU 14 days
    assert (decision.outcome is Outcome.approve_returnless) is matches
    assert fired(decision) == (["scoped"] if matches else [])


def test_first_outcome_wins_every_match_is_reported_in_order() -> None:
    doc = {
        "rules": [
            rule("fee-only", {"restocking_fee_percent": 5}),
            rule("not-me", REVIEW, when="buyer.returns > 100"),
            rule("keep-it", RETURNLESS, when="refund.amount < 5000"),
            rule("exchange", {"outcome": "offer_exchange"}, when="true"),
            rule("pay", {"return_shipping_paid_by": "store"}),
        ]
    }
    decision = decide(ask("US"), policy(doc), 1)
    assert decision.outcome is Outcome.approve_returnless
    assert fired(decision) == ["fee-only", "keep-it", "exchange", "pay"]
    store_rules = [r for r in decision.reasons if r.code == "store_rule"]
    assert store_rules[0].detail == "fee-only"


def test_rule_description_is_the_reason_detail() -> None:
    doc = {"rules": [{"id": "r", "description": "Keep cheap things", "then": RETURNLESS}]}
    decision = decide(ask("US"), policy(doc), 1)
    assert [r.detail for r in decision.reasons if r.rule == "r"] == ["Keep cheap things"]


def test_rule_decline_with_its_reason() -> None:
    doc = {"rules": [rule("no", {"outcome": "decline", "decline_reason": "store_rule"})]}
    decision = decide(ask("US"), policy(doc), 1)
    assert decision.outcome is Outcome.decline
    assert decision.decline_reason is DeclineReason.store_rule
    assert decision.refund_amount == 0


def test_rule_requests_evidence() -> None:
    doc = {"rules": [rule("ev", {"outcome": "request_evidence", "evidence": "inspection_call"})]}
    decision = decide(ask("US"), policy(doc), 1)
    assert decision.outcome is Outcome.request_evidence
    assert decision.evidence_requested is EvidenceKind.inspection_call


def test_rule_cannot_override_a_line_that_is_refused() -> None:
    doc = {"rules": [rule("yes", {"outcome": "approve_return"})]}
    decision = decide(ask("US", day=31), policy(doc), 1)
    assert decision.decline_reason is DeclineReason.window_ended
    assert fired(decision) == ["yes"]


def test_rule_sets_who_pays_the_return() -> None:
    doc = {"rules": [rule("free", {"return_shipping_paid_by": "store"}, reasons=["changed_mind"])]}
    decision = decide(ask("US"), policy(doc), 1)
    assert decision.outcome is Outcome.approve_return
    assert decision.return_shipping_paid_by is Payer.store


@pytest.mark.parametrize(
    "when",
    [
        "lines[1].amount > 0",  # the dry run has two lines; this claim has one
        "order.shipping / refund.amount > 1",  # division by zero on a zero-value claim
    ],
)
def test_rule_failing_at_run_time_sends_the_case_to_a_person(when: str) -> None:
    doc = {"rules": [rule("fragile", RETURNLESS, when=when)]}
    decision = decide(ask("US", claim(amount=0)), policy(doc), 1)
    assert decision.outcome is Outcome.human_review
    failed = [r for r in decision.reasons if r.code == "rule_failed"]
    assert [r.rule for r in failed] == ["fragile"]
    assert fired(decision) == []


def test_rule_failing_after_an_outcome_keeps_that_outcome() -> None:
    doc = {
        "rules": [
            rule("keep-it", RETURNLESS),
            rule("fragile", REVIEW, when="lines[1].amount > 0"),
        ]
    }
    decision = decide(ask("US"), policy(doc), 1)
    assert decision.outcome is Outcome.approve_returnless
    assert "rule_failed" in codes(decision)


def test_rule_failing_on_an_eu_withdrawal_still_approves() -> None:
    doc = {"rules": [rule("fragile", RETURNLESS, when="lines[1].amount > 0")]}
    decision = decide(ask("DE", day=3), policy(doc), 1)
    assert decision.outcome is Outcome.approve_return
    assert "rule_failed" in codes(decision)


# --- money: restocking fee, store credit ---------------------------------------------------

FEE: dict[str, Any] = {"restocking_fee": {"percent": 12.5, "reasons": ["changed_mind"]}}


def test_restocking_fee_percent_on_listed_reasons() -> None:
    decision = decide(ask("US", claim(amount=4001)), policy(FEE), 1)
    # 12.5 % of 4001 = 500.125: the fee rounds down, in the buyer's favour
    assert decision.breakdown == (
        RefundItem("line", 4001, "SKU-1"),
        RefundItem("restocking_fee", -500, "SKU-1"),
    )
    assert decision.refund_amount == 3501


def test_restocking_fee_only_on_listed_reasons_and_never_on_faults() -> None:
    lines = (
        claim("SKU-1", 4000, ReasonCode.changed_mind),
        claim("SKU-2", 2000, ReasonCode.wrong_size),
        claim("SKU-3", 1000, ReasonCode.defective),
    )
    decision = decide(ask("US", *lines), policy(FEE), 1)
    fees = [item for item in decision.breakdown if item.kind == "restocking_fee"]
    assert fees == [RefundItem("restocking_fee", -500, "SKU-1")]
    assert decision.refund_amount == 7000 - 500


def test_no_restocking_fee_on_a_returnless_refund() -> None:
    doc = {**FEE, "economics": {"returnless_below": {"USD": 5000}}}
    decision = decide(ask("US"), policy(doc), 1)
    assert decision.outcome is Outcome.approve_returnless
    assert decision.refund_amount == 4000


def test_rule_restocking_fee_overrides_the_store_fee() -> None:
    doc = {**FEE, "rules": [rule("opened", {"restocking_fee_percent": 15},
                                categories=["electronics"])]}  # fmt: skip
    decision = decide(ask("US", claim(category="electronics")), policy(doc), 1)
    assert RefundItem("restocking_fee", -600, "SKU-1") in decision.breakdown


def test_rule_restocking_fee_applies_only_to_the_lines_in_its_scope() -> None:
    doc = {"rules": [rule("opened", {"restocking_fee_percent": 15},
                          categories=["electronics"], reasons=["changed_mind"])]}  # fmt: skip
    lines = (
        claim("PHONE", 10000, ReasonCode.changed_mind, "electronics"),
        claim("SHIRT", 2000, ReasonCode.changed_mind, "apparel"),
        claim("CABLE", 1000, ReasonCode.wrong_size, "electronics"),
    )
    decision = decide(ask("US", *lines), policy(doc), 1)
    fees = [item for item in decision.breakdown if item.kind == "restocking_fee"]
    assert fees == [RefundItem("restocking_fee", -1500, "PHONE")]


@pytest.mark.parametrize(
    ("preferred", "bonus"),
    [(Resolution.store_credit, 400), (Resolution.refund, 0), (Resolution.exchange, 0)],
)
def test_store_credit_bonus(preferred: Resolution, bonus: int) -> None:
    doc = {"exchange": {"store_credit_bonus_percent": 10}}
    decision = decide(ask("US", preferred_resolution=preferred), policy(doc), 1)
    assert decision.store_credit_bonus == bonus
    assert decision.refund_amount == 4000


def test_no_store_credit_bonus_on_a_decline() -> None:
    doc = {"exchange": {"store_credit_bonus_percent": 10}}
    decision = decide(ask("US", day=40, preferred_resolution=Resolution.store_credit),
                      policy(doc), 1)  # fmt: skip
    assert decision.store_credit_bonus == 0


@pytest.mark.parametrize("timing", ["at_drop_off", "in_transit", "after_inspection"])
def test_refund_timing_is_the_policy_setting(timing: str) -> None:
    decision = decide(ask("US"), policy({"refund": {"timing": timing}}), 1)
    assert decision.refund_timing is RefundTiming(timing)
    assert decision.to_dict()["refund"]["timing"] == timing


# --- return addresses -----------------------------------------------------------------------

HUB = {"name": "EU hub", "markets": ["EU"], "lines": ["Lagerstraße 12", "Berlin"], "local": True}
PARIS = {"name": "Paris partner", "markets": ["FR"], "lines": ["1 Rue X", "Paris"], "local": True}
ORIGIN = {"name": "Origin", "markets": [], "lines": ["18 Industrial Road", "Shenzhen"]}


@pytest.mark.parametrize(
    ("addresses", "market", "name"),
    [
        ([HUB, PARIS, ORIGIN], "FR", "Paris partner"),  # the buyer's own country first
        ([ORIGIN, HUB, PARIS], "FR", "Paris partner"),
        ([HUB, PARIS, ORIGIN], "DE", "EU hub"),  # then the region
        ([HUB, PARIS, ORIGIN], "US", "Origin"),  # then an address for every market
        ([HUB, PARIS], "US", None),
    ],
)
def test_return_address_prefers_the_buyers_market(
    addresses: list[dict[str, Any]], market: str, name: str | None
) -> None:
    doc = {"return_addresses": addresses}
    decision = decide(ask(market, day=20), policy(doc), 1)
    assert decision.outcome is Outcome.approve_return
    if name is None:
        assert decision.return_address is None
    else:
        assert decision.return_address is not None
        assert decision.return_address["name"] == name


def test_return_address_prefers_the_region_over_a_catch_all() -> None:
    doc = {"return_addresses": [ORIGIN, HUB]}
    decision = decide(ask("DE", day=20), policy(doc), 1)
    assert decision.return_address is not None
    assert decision.return_address["name"] == "EU hub"


def test_return_address_given_for_exchanges_not_for_returnless() -> None:
    doc = {"return_addresses": [ORIGIN], "economics": {"returnless_below": {"USD": 1000}}}
    exchange = decide(ask("US", preferred_resolution=Resolution.exchange), policy(doc), 1)
    assert exchange.return_address == {
        "name": "Origin",
        "lines": ["18 Industrial Road", "Shenzhen"],
        "local": False,
    }
    keep = decide(ask("US", claim(amount=999)), policy(doc), 1)
    assert keep.outcome is Outcome.approve_returnless
    assert keep.return_address is None


# --- properties ---------------------------------------------------------------------------

MARKETS = sorted(CURRENCY)
CATEGORIES = ["general", "apparel", "electronics", "clearance", "hygiene"]
NON_FAULT = sorted(r.value for r in ReasonCode if r not in FAULT_REASONS)
CONDITIONS = [
    "true",
    "refund.amount > 3000",
    "days_since_delivery <= 7",
    "buyer.returns >= 2",
    "international",
    "order.shipping > 0",
    "'defective' in reasons",
    "size(lines) > 1",
    "statutory_withdrawal",
    "!delivered",
    "preferred_resolution == 'exchange'",
    "evidence.photo",
    "lines.exists(l, l.category == 'electronics')",
]
ACTIONS = [
    {"outcome": "decline", "decline_reason": "store_rule"},
    {"outcome": "decline", "decline_reason": "final_sale"},
    {"outcome": "human_review"},
    {"outcome": "request_evidence", "evidence": "photo"},
    {"outcome": "approve_returnless"},
    {"outcome": "offer_exchange"},
    {"outcome": "approve_return"},
    {"restocking_fee_percent": 25},
    {"restocking_fee_percent": 100},
    {"return_shipping_paid_by": "store"},
    {"return_shipping_paid_by": "buyer"},
]
SKUS = ["SKU-1", "SKU-2", "SKU-3"]


def subset(values: list[str], max_size: int | None = None) -> st.SearchStrategy[list[str]]:
    return st.lists(st.sampled_from(values), unique=True, max_size=max_size or len(values))


def amounts(low: int = 0, high: int = 20000) -> st.SearchStrategy[dict[str, int]]:
    currencies = sorted(set(CURRENCY.values()))
    return st.dictionaries(st.sampled_from(currencies), st.integers(low, high), max_size=4)


@st.composite
def rules(draw: st.DrawFn) -> list[dict[str, Any]]:
    out = []
    for i in range(draw(st.integers(0, 4))):
        r: dict[str, Any] = {"id": f"rule-{i}", "then": draw(st.sampled_from(ACTIONS))}
        r["when"] = f"({draw(st.sampled_from(CONDITIONS))}) || {i} < 0"  # distinct conditions
        if draw(st.booleans()):
            r["markets"] = draw(subset(["EU", "US", "DE", "GB", "JP"], 2))
        if draw(st.booleans()):
            r["reasons"] = draw(subset(["changed_mind", "defective", "preference"], 2))
            if r["reasons"] == ["defective"] and "restocking_fee_percent" in r["then"]:
                r["reasons"].append("changed_mind")  # a fee on faults only is refused
        if draw(st.booleans()):
            r["categories"] = draw(subset(CATEGORIES, 2))
        out.append(r)
    return out


@st.composite
def documents(draw: st.DrawFn, *, law: bool = True) -> dict[str, Any]:
    cm = draw(st.integers(0, 60))
    fault = draw(st.integers(cm, 800))
    final_sale = draw(subset(["clearance", "apparel", "electronics"], 2))
    non_returnable = draw(subset(["hygiene"]))
    doc: dict[str, Any] = {
        "policy_displayed": draw(st.booleans()),
        "origin_country": draw(st.sampled_from(["CN", "DE", "US"])),
        "windows": {"change_of_mind_days": cm, "fault_days": fault},
        "categories": {"final_sale": final_sale, "non_returnable": non_returnable},
        "return_shipping": {
            "default": draw(st.sampled_from(["buyer", "store"])),
            "deduct_return_cost": draw(st.booleans()),
        },
        "restocking_fee": {
            "percent": draw(st.integers(0, 100)),
            "reasons": draw(subset(NON_FAULT)),
        },
        "exchange": {
            "enabled": draw(st.booleans()),
            "store_credit_bonus_percent": draw(st.integers(0, 50)),
        },
        "economics": {
            "returnless_below": draw(amounts(0, 3000)),
            "handling_cost": draw(amounts(0, 2000)),
            "return_cost": draw(
                st.dictionaries(
                    st.sampled_from(MARKETS),
                    st.sampled_from(MARKETS).map(lambda m: {CURRENCY[m]: 900}),
                    max_size=4,
                )
            ),
            "resale_percent": draw(st.integers(0, 100)),
        },
        "fraud": {"review_above": draw(amounts(0, 100000))},
        "evidence": {
            "by_reason": draw(
                st.dictionaries(
                    st.sampled_from(["defective", "missing_parts", "changed_mind"]),
                    st.sampled_from(["photo", "unboxing_video", "inspection_call"]),
                )
            ),
            "not_below": draw(amounts()),
        },
        "rules": draw(rules()),
    }
    if draw(st.booleans()):
        doc["fraud"]["max_returns"] = draw(st.integers(1, 5))
    if law is False or draw(st.integers(0, 3)) == 2:  # mostly no block lists: other outcomes
        doc["lists"] = {
            "block_emails": draw(subset([EMAIL, "x@example.com"])),
            "block_orders": draw(subset(["1001", "2002"])),
            "block_skus": draw(subset([*SKUS, "OTHER"], 2)),
        }
    if law and draw(st.booleans()):
        doc["law"] = {
            "EU": {
                "withdrawal_days": draw(st.integers(0, 60)),
                "withdrawal_return_paid_by": draw(st.sampled_from(["buyer", "store"])),
            },
            "BR": {"day_count": draw(st.sampled_from(["calendar", "business"]))},
        }
    return doc


@st.composite
def requests(draw: st.DrawFn, *, eu_withdrawal: bool = False) -> DecisionRequest:
    if eu_withdrawal:
        market = draw(st.sampled_from(sorted(EU_MEMBERS & set(CURRENCY))))
        reasons = st.just(ReasonCode.changed_mind)
        categories = st.sampled_from(["apparel", "electronics", "clearance"])
        day = draw(st.integers(0, 14))
    else:
        market = draw(st.sampled_from(MARKETS))
        reasons = st.sampled_from(list(ReasonCode))
        categories = st.sampled_from(CATEGORIES)
        day = draw(st.one_of(st.integers(0, 40), st.integers(0, 800)))
    n = draw(st.integers(1, 3))
    claims = tuple(
        ClaimLine(
            SKUS[i],
            draw(categories),
            draw(st.integers(1, 3)),
            draw(st.integers(0, 80000)),
            draw(reasons),
        )
        for i in range(n)
    )
    first = DELIVERED - timedelta(days=draw(st.integers(0, 6)))
    last = DELIVERED
    if not eu_withdrawal and draw(st.integers(0, 9)) == 5:
        last = None  # a parcel still on its way
    order = make_order(
        market,
        claims,
        deliveries=(first, last),
        shipping_paid=draw(st.integers(0, 3000)),
    )
    requested = DELIVERED + timedelta(days=day, hours=draw(st.integers(0, 8)))
    return DecisionRequest(
        order=order,
        lines=claims,
        requested_at=requested,
        preferred_resolution=draw(st.sampled_from(list(Resolution))),
        history=BuyerHistory(returns=draw(st.integers(0, 6))),
        evidence=frozenset(draw(st.lists(st.sampled_from(list(EvidenceKind)), max_size=2))),
        findings=frozenset(draw(st.lists(st.sampled_from([*FINDINGS, MAJOR_FAILURE]), max_size=2))),
        whole_order=draw(st.booleans()),
    )


@settings(max_examples=200, deadline=None)
@given(doc=documents(), request=requests())
def test_refund_never_exceeds_what_was_paid_nor_goes_negative(
    doc: dict[str, Any], request: DecisionRequest
) -> None:
    decision = decide(request, policy(doc), 1)
    paid = sum(line.amount for line in request.lines) + request.order.shipping_paid
    assert 0 <= decision.refund_amount <= paid
    if decision.outcome is Outcome.decline:
        assert decision.refund_amount == 0
        assert decision.decline_reason is not None
    else:
        assert decision.decline_reason is None


@settings(max_examples=200, deadline=None)
@given(doc=documents(), request=requests())
def test_same_inputs_same_decision(doc: dict[str, Any], request: DecisionRequest) -> None:
    first = policy(doc)
    once = decide(request, first, 4).to_dict()
    assert decide(request, first, 4).to_dict() == once
    recompiled = PolicyCompiler().compile(copy.deepcopy(doc))
    assert decide(request, recompiled, 4).to_dict() == once


@settings(max_examples=200, deadline=None)
@given(doc=documents(), request=requests())
def test_a_stored_decision_replays_to_itself(doc: dict[str, Any], request: DecisionRequest) -> None:
    """What is stored on the case (JSON, inputs included) is enough to decide again."""
    compiled = policy(doc)
    stored = json.loads(json.dumps(decide(request, compiled, 3).to_dict()))
    assert replay(stored, PolicyCompiler().compile(copy.deepcopy(doc))) == stored


@settings(max_examples=200, deadline=None)
@given(doc=documents(law=False), request=requests(eu_withdrawal=True))
def test_eu_withdrawal_is_never_declined(doc: dict[str, Any], request: DecisionRequest) -> None:
    for line in request.lines:
        assert line.category not in doc["categories"]["non_returnable"]
    decision = decide(request, policy(doc), 1)
    assert decision.outcome not in (
        Outcome.decline,
        Outcome.human_review,
        Outcome.request_evidence,
    ), decision.to_dict()
    assert decision.decline_reason is None
    assert "Directive 2011/83/EU Art. 9" in decision.legal_basis
    assert set(decision.rights.values()) == {Right.withdrawal.value}
