"""Opening a return: which units of an order can come back, when, and what they are worth."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone

import pytest

from returndesk.adapters.rules.compiler import PolicyCompiler
from returndesk.domain.access import Role
from returndesk.domain.cases.model import (
    MAX_COMMENT,
    Actor,
    LineRequest,
    LineUsage,
    ReceiptLine,
    ReturnCase,
    TransitionRequest,
)
from returndesk.domain.cases.reasons import FAULT_REASONS, ReasonCode
from returndesk.domain.cases.status import CaseStatus, ReceiptCondition, Resolution
from returndesk.domain.errors import ValidationFailed
from returndesk.domain.orders import Order, OrderLine, Shipment
from returndesk.domain.policy.decision import Decision, DecisionRequest, DeclineReason, Outcome
from returndesk.domain.policy.document import DEFAULT_DOCUMENT, Policy
from returndesk.domain.policy.engine import decide, line_returnability
from returndesk.services.policies import claim_lines, whole_order

DELIVERED = datetime(2024, 5, 1, 9, 0, tzinfo=UTC)
BUYER = Actor("buyer", "buyer-1", "Ana", Role.buyer)
SYSTEM = Actor.system()
CHANGE_OF_MIND = [r for r in ReasonCode if r not in FAULT_REASONS]


def make_line(
    sku: str = "SHIRT-M",
    *,
    quantity: int = 3,
    unit_price: int = 1000,
    paid: int | None = None,
    category: str = "general",
) -> OrderLine:
    return OrderLine(
        id=f"line-{sku}",
        sku=sku,
        title=f"Item {sku}",
        quantity=quantity,
        unit_price=unit_price,
        paid_amount=unit_price * quantity if paid is None else paid,
        category=category,
    )


def delivered(at: datetime | None, sid: str = "s1") -> Shipment:
    shipped = None if at is None else at - timedelta(days=2)
    return Shipment(sid, "DHL", f"TRK-{sid}", shipped_at=shipped, delivered_at=at)


def make_order(
    lines: list[OrderLine] | None = None,
    shipments: list[Shipment] | None = None,
    *,
    market: str = "DE",
    currency: str = "EUR",
    language: str = "de",
) -> Order:
    return Order(
        id="order-1",
        store_id="store-1",
        number="#1001",
        email="ana@example.com",
        market=market,
        currency=currency,
        language=language,
        placed_at=DELIVERED - timedelta(days=5),
        lines=[make_line()] if lines is None else lines,
        shipments=[delivered(DELIVERED)] if shipments is None else shipments,
    )


def open_case(
    order: Order | None = None,
    requests: list[LineRequest] | None = None,
    *,
    now: datetime | None = None,
    usage: dict[str, LineUsage] | None = None,
    resolution: Resolution = Resolution.refund,
) -> ReturnCase:
    return ReturnCase.open(
        order=order or make_order(),
        requests=requests or [LineRequest("SHIRT-M", 1, ReasonCode.changed_mind)],
        preferred_resolution=resolution,
        usage=usage or {},
        actor=BUYER,
        now=now or DELIVERED + timedelta(days=3),
    )


def expect_code(code: str) -> pytest.RaisesExc[ValidationFailed]:
    return pytest.raises(ValidationFailed, check=lambda e: e.code == code)


# --- a new case --------------------------------------------------------------------------------


def test_new_case_starts_requested_at_version_1_with_one_opened_event() -> None:
    order = make_order()
    now = DELIVERED + timedelta(days=1)
    case = open_case(
        order,
        [LineRequest("SHIRT-M", 2, ReasonCode.wrong_size, comment="  too small  ")],
        now=now,
        resolution=Resolution.exchange,
    )
    assert case.status is CaseStatus.requested
    assert case.version == 1
    assert case.holds_quantity is True
    assert case.refund_amount is None
    assert case.refunded_amount is None
    assert (case.order_id, case.order_number, case.store_id) == ("order-1", "#1001", "store-1")
    assert (case.currency, case.market, case.language) == ("EUR", "DE", "de")
    assert case.buyer_email == "ana@example.com"
    assert case.created_at == case.updated_at == now
    assert case.number.startswith("R-")
    (event,) = case.new_events
    assert event.kind == "case_opened"
    assert event.case_id == case.id
    assert event.actor == BUYER
    assert event.at == now
    assert event.from_status is None
    assert event.to_status is CaseStatus.requested
    assert event.data == {
        "lines": [{"sku": "SHIRT-M", "quantity": 2, "reason": "wrong_size"}],
        "preferred_resolution": "exchange",
    }
    (line,) = case.lines
    assert (line.order_line_id, line.sku, line.quantity) == ("line-SHIRT-M", "SHIRT-M", 2)
    assert line.comment == "too small"
    assert line.refundable_amount == 2000
    assert line.received_quantity == 0
    assert line.condition is None


def test_each_case_gets_its_own_id_and_reference() -> None:
    a, b = open_case(), open_case()
    assert a.id != b.id
    assert a.number != b.number


def test_refundable_amount_is_the_prorated_share_of_what_was_paid() -> None:
    # 3 units, 100 paid after a discount: 33 + 33 + 34, in order of opening.
    order = make_order([make_line(quantity=3, unit_price=50, paid=100)])
    first = open_case(order, [LineRequest("SHIRT-M", 1, ReasonCode.changed_mind)])
    assert first.lines[0].refundable_amount == 33
    usage = {"line-SHIRT-M": LineUsage(1, 33)}
    rest = open_case(order, [LineRequest("SHIRT-M", 2, ReasonCode.changed_mind)], usage=usage)
    assert rest.lines[0].refundable_amount == 67


# --- what can be requested ---------------------------------------------------------------------


def test_open_refuses_an_empty_request() -> None:
    with expect_code("empty_return"):
        ReturnCase.open(
            order=make_order(),
            requests=[],
            preferred_resolution=Resolution.refund,
            usage={},
            actor=BUYER,
            now=DELIVERED,
        )


def test_open_refuses_a_sku_not_on_the_order() -> None:
    with expect_code("unknown_sku"):
        open_case(requests=[LineRequest("NOPE", 1, ReasonCode.changed_mind)])


def test_open_refuses_the_same_sku_twice_in_one_request() -> None:
    with expect_code("duplicate_sku"):
        open_case(
            requests=[
                LineRequest("SHIRT-M", 1, ReasonCode.changed_mind),
                LineRequest("SHIRT-M", 1, ReasonCode.defective),
            ]
        )


@pytest.mark.parametrize("quantity", [0, -1, 4, 100])
def test_open_refuses_quantities_outside_what_was_bought(quantity: int) -> None:
    with expect_code("quantity_exceeds_purchased"):
        open_case(requests=[LineRequest("SHIRT-M", quantity, ReasonCode.changed_mind)])


def test_open_allows_every_unit_bought() -> None:
    case = open_case(requests=[LineRequest("SHIRT-M", 3, ReasonCode.changed_mind)])
    assert case.lines[0].quantity == 3
    assert case.lines[0].refundable_amount == 3000


def test_open_counts_units_held_by_other_returns() -> None:
    usage = {"line-SHIRT-M": LineUsage(2, 2000)}
    with expect_code("quantity_exceeds_purchased"):
        open_case(requests=[LineRequest("SHIRT-M", 2, ReasonCode.changed_mind)], usage=usage)
    case = open_case(requests=[LineRequest("SHIRT-M", 1, ReasonCode.changed_mind)], usage=usage)
    assert case.lines[0].refundable_amount == 1000


def test_open_refuses_a_line_whose_every_unit_is_already_in_a_return() -> None:
    usage = {"line-SHIRT-M": LineUsage(3, 3000)}
    for reason in (ReasonCode.changed_mind, ReasonCode.defective):
        with expect_code("quantity_exceeds_purchased"):
            open_case(requests=[LineRequest("SHIRT-M", 1, reason)], usage=usage)


def test_open_with_several_lines_keeps_them_in_order() -> None:
    order = make_order([make_line("A", quantity=1), make_line("B", quantity=2, unit_price=500)])
    case = open_case(
        order,
        [LineRequest("B", 2, ReasonCode.defective), LineRequest("A", 1, ReasonCode.other)],
    )
    assert [(ln.sku, ln.quantity, ln.refundable_amount) for ln in case.lines] == [
        ("B", 2, 1000),
        ("A", 1, 1000),
    ]


def test_comment_may_be_as_long_as_the_limit_but_no_longer() -> None:
    ok = open_case(requests=[LineRequest("SHIRT-M", 1, ReasonCode.other, "x" * MAX_COMMENT)])
    assert len(ok.lines[0].comment) == MAX_COMMENT
    with expect_code("comment_too_long"):
        open_case(requests=[LineRequest("SHIRT-M", 1, ReasonCode.other, "x" * (MAX_COMMENT + 1))])


# --- what the policy allows (the engine decides; ReturnCase.open only checks quantities) -------

COMPILER = PolicyCompiler()


def compile_policy(**sections: object) -> Policy:
    return COMPILER.compile({**DEFAULT_DOCUMENT, **sections})


DEFAULT = compile_policy()
FINAL_SALE = compile_policy(categories={"final_sale": ["underwear"], "non_returnable": []})
WINDOWS = compile_policy(windows={"change_of_mind_days": 30, "fault_days": 365})


def us_order(
    lines: list[OrderLine] | None = None, shipments: list[Shipment] | None = None
) -> Order:
    """An order in a market with no statutory withdrawal right: only the store's policy counts."""
    return make_order(lines, shipments, market="US", currency="USD", language="en")


def decision_for(
    order: Order,
    requests: list[LineRequest] | None = None,
    *,
    now: datetime | None = None,
    policy: Policy = DEFAULT,
) -> Decision:
    asked = requests or [LineRequest("SHIRT-M", 1, ReasonCode.changed_mind)]
    return decide(
        DecisionRequest(
            order=order,
            lines=claim_lines(order, asked, {}),
            requested_at=now or DELIVERED + timedelta(days=3),
            whole_order=whole_order(order, asked, {}),
        ),
        policy,
        1,
    )


def assert_declined(decision: Decision, reason: DeclineReason) -> None:
    assert decision.outcome is Outcome.decline
    assert decision.decline_reason is reason
    assert decision.refund_amount == 0


def assert_accepted(decision: Decision) -> None:
    assert decision.outcome is not Outcome.decline, decision.reasons
    assert decision.decline_reason is None


def test_open_leaves_windows_and_final_sale_to_the_policy_engine() -> None:
    # Years after delivery, a final-sale category: the case itself only checks quantities.
    order = us_order([make_line(category="underwear")])
    case = open_case(order, now=DELIVERED + timedelta(days=3000))
    assert case.status is CaseStatus.requested
    assert case.decision is None


# --- final sale ----------------------------------------------------------------------------------


@pytest.mark.parametrize("reason", CHANGE_OF_MIND)
def test_final_sale_blocks_change_of_mind_returns(reason: ReasonCode) -> None:
    order = us_order([make_line(category="underwear")])
    decision = decision_for(order, [LineRequest("SHIRT-M", 1, reason)], policy=FINAL_SALE)
    assert_declined(decision, DeclineReason.final_sale)
    assert [r.sku for r in decision.reasons if r.code == "final_sale"] == ["SHIRT-M"]


@pytest.mark.parametrize("reason", sorted(FAULT_REASONS))
def test_final_sale_still_allows_fault_returns(reason: ReasonCode) -> None:
    order = us_order([make_line(category="underwear")])
    decision = decision_for(order, [LineRequest("SHIRT-M", 1, reason)], policy=FINAL_SALE)
    assert_accepted(decision)
    assert decision.rights == {"SHIRT-M": "store_fault"}


def test_final_sale_applies_only_to_its_categories() -> None:
    order = us_order([make_line(category="shirts")])
    decision = decision_for(order, policy=FINAL_SALE)
    assert_accepted(decision)
    assert decision.rights == {"SHIRT-M": "store_change_of_mind"}


def test_final_sale_gives_way_to_the_eu_withdrawal_right() -> None:
    # Changed from the basic policy: in the EU, 14 days to withdraw apply even to final sale.
    order = make_order([make_line(category="underwear")])
    within = decision_for(order, now=DELIVERED + timedelta(days=14), policy=FINAL_SALE)
    assert_accepted(within)
    assert within.rights == {"SHIRT-M": "withdrawal"}
    assert "Directive 2011/83/EU Art. 9" in within.legal_basis
    after = decision_for(order, now=DELIVERED + timedelta(days=15), policy=FINAL_SALE)
    assert_declined(after, DeclineReason.final_sale)


def test_non_returnable_categories_are_refused_even_within_the_eu_withdrawal_period() -> None:
    policy = compile_policy(categories={"final_sale": [], "non_returnable": ["hygiene"]})
    order = make_order([make_line(category="hygiene")])
    assert_declined(decision_for(order, policy=policy), DeclineReason.non_returnable)
    faulty = [LineRequest("SHIRT-M", 1, ReasonCode.defective)]
    assert_accepted(decision_for(order, faulty, policy=policy))


# --- return windows ------------------------------------------------------------------------------


def test_change_of_mind_window_is_inclusive_of_its_last_day() -> None:
    order = us_order()
    last_day = DELIVERED + timedelta(days=30)
    late_that_day = last_day.replace(hour=23, minute=59)
    assert_accepted(decision_for(order, now=late_that_day, policy=WINDOWS))
    next_day = late_that_day + timedelta(minutes=1)
    assert_declined(decision_for(order, now=next_day, policy=WINDOWS), DeclineReason.window_ended)


def test_fault_window_outlasts_the_change_of_mind_window() -> None:
    order = us_order()
    fault = [LineRequest("SHIRT-M", 1, ReasonCode.defective)]
    later = DELIVERED + timedelta(days=200)
    assert_declined(decision_for(order, now=later, policy=WINDOWS), DeclineReason.window_ended)
    assert_accepted(decision_for(order, fault, now=later, policy=WINDOWS))
    end = DELIVERED + timedelta(days=365)
    assert_accepted(decision_for(order, fault, now=end, policy=WINDOWS))
    day_after = decision_for(order, fault, now=end + timedelta(days=1), policy=WINDOWS)
    assert_declined(day_after, DeclineReason.window_ended)


def test_store_windows_come_from_the_policy_document() -> None:
    short = compile_policy(windows={"change_of_mind_days": 7, "fault_days": 10})
    order = us_order()
    fault = [LineRequest("SHIRT-M", 1, ReasonCode.defective)]
    assert_accepted(decision_for(order, now=DELIVERED + timedelta(days=7), policy=short))
    eighth = DELIVERED + timedelta(days=8)
    assert_declined(decision_for(order, now=eighth, policy=short), DeclineReason.window_ended)
    assert_accepted(decision_for(order, fault, now=DELIVERED + timedelta(days=10), policy=short))
    eleventh = decision_for(order, fault, now=DELIVERED + timedelta(days=11), policy=short)
    assert_declined(eleventh, DeclineReason.window_ended)


def test_the_statutory_floor_outlasts_shorter_store_windows() -> None:
    # Changed from the basic policy: the law of the buyer's market is a floor under the store's.
    short = compile_policy(windows={"change_of_mind_days": 7, "fault_days": 10})
    day_14 = DELIVERED + timedelta(days=14)
    eu = make_order()
    assert decision_for(eu, now=day_14, policy=short).rights == {"SHIRT-M": "withdrawal"}
    assert_declined(
        decision_for(eu, now=day_14 + timedelta(days=1), policy=short), DeclineReason.window_ended
    )
    fault = [LineRequest("SHIRT-M", 1, ReasonCode.defective)]
    gb = make_order(market="GB", currency="GBP", language="en")
    day_30 = DELIVERED + timedelta(days=30)
    assert decision_for(gb, fault, now=day_30, policy=short).rights == {
        "SHIRT-M": "statutory_fault"
    }
    assert_declined(
        decision_for(gb, fault, now=day_30 + timedelta(days=1), policy=short),
        DeclineReason.window_ended,
    )
    # The US has no statutory withdrawal: the store's 7 days are all there is.
    assert_declined(
        decision_for(us_order(), now=DELIVERED + timedelta(days=8), policy=short),
        DeclineReason.window_ended,
    )


def test_windows_count_from_the_last_shipment_delivered() -> None:
    last = DELIVERED + timedelta(days=20)
    order = us_order(shipments=[delivered(DELIVERED, "s1"), delivered(last, "s2")])
    assert order.delivered_at == last
    # 40 days after the first parcel but 20 after the last: still inside 30 days.
    assert_accepted(decision_for(order, now=DELIVERED + timedelta(days=40), policy=WINDOWS))
    late = decision_for(order, now=last + timedelta(days=31), policy=WINDOWS)
    assert_declined(late, DeclineReason.window_ended)
    # The fault window too.
    fault = [LineRequest("SHIRT-M", 1, ReasonCode.defective)]
    assert_accepted(decision_for(order, fault, now=DELIVERED + timedelta(days=380), policy=WINDOWS))
    late_fault = decision_for(order, fault, now=last + timedelta(days=366), policy=WINDOWS)
    assert_declined(late_fault, DeclineReason.window_ended)


def test_windows_count_from_the_last_delivery_whatever_the_shipment_order() -> None:
    last = DELIVERED + timedelta(days=20)
    order = make_order(shipments=[delivered(last, "s2"), delivered(DELIVERED, "s1")])
    assert order.delivered_at == last


def test_delivery_times_compare_across_time_zones() -> None:
    tokyo = timezone(timedelta(hours=9))
    early_utc = DELIVERED + timedelta(hours=5)  # 14:00 UTC
    later_in_tokyo = datetime(2024, 5, 2, 0, 30, tzinfo=tokyo)  # 15:30 UTC on 1 May
    order = make_order(shipments=[delivered(early_utc, "s1"), delivered(later_in_tokyo, "s2")])
    assert order.delivered_at == later_in_tokyo


def test_periods_start_only_when_the_whole_order_arrived() -> None:
    # Part delivered: the windows have not started, so what arrived can go back; with no
    # delivery at all there is nothing to send back (only "not received" can be claimed).
    partly = us_order(shipments=[delivered(DELIVERED, "s1"), delivered(None, "s2")])
    assert partly.delivered_at is None
    years_later = DELIVERED + timedelta(days=3000)
    case = open_case(partly, now=years_later)
    assert case.status is CaseStatus.requested
    assert decision_for(partly, now=years_later, policy=WINDOWS).outcome is Outcome.approve_return
    missing = [LineRequest("SHIRT-M", 1, ReasonCode.not_received)]
    claim = decision_for(partly, missing, now=years_later, policy=WINDOWS)
    assert claim.outcome is Outcome.approve_returnless
    assert claim.rights == {"SHIRT-M": "carrier_claim"}
    unshipped = us_order(shipments=[])
    assert unshipped.delivered_at is None
    open_case(unshipped, now=years_later)
    assert_declined(
        decision_for(unshipped, now=years_later, policy=WINDOWS), DeclineReason.not_delivered
    )


# --- line_returnability ------------------------------------------------------------------------


def end_of(day: datetime) -> datetime:
    return day.replace(hour=23, minute=59, second=59)


def test_line_returnability_reports_windows_and_remaining_units() -> None:
    order = us_order([make_line(category="underwear")])
    line = order.lines[0]
    now = DELIVERED + timedelta(days=10)
    r = line_returnability(order, line, LineUsage(1, 1000), FINAL_SALE, now)
    assert r.sku == "SHIRT-M"
    assert r.returnable_quantity == 2
    assert r.change_of_mind_until == end_of(DELIVERED + timedelta(days=30))
    assert r.fault_until == end_of(DELIVERED + timedelta(days=365))
    assert r.final_sale is True
    assert r.blocked_code is None


def test_line_returnability_includes_the_statutory_floor() -> None:
    # Changed: an EU order may be withdrawn from for 14 days and faults reported for two years,
    # so a final-sale line is not final sale while the withdrawal period runs.
    short = compile_policy(
        windows={"change_of_mind_days": 7, "fault_days": 10},
        categories={"final_sale": ["underwear"], "non_returnable": []},
    )
    order = make_order([make_line(category="underwear")])
    line = order.lines[0]
    r = line_returnability(order, line, LineUsage(), short, DELIVERED + timedelta(days=10))
    assert r.change_of_mind_until == end_of(DELIVERED + timedelta(days=14))
    assert r.fault_until == end_of(DELIVERED + timedelta(days=730))
    assert r.final_sale is False
    later = line_returnability(order, line, LineUsage(), short, DELIVERED + timedelta(days=15))
    assert later.final_sale is True
    assert later.blocked_code is None


def test_line_returnability_before_delivery_has_no_windows() -> None:
    order = make_order(shipments=[delivered(None)])
    r = line_returnability(order, order.lines[0], LineUsage(), DEFAULT, DELIVERED)
    assert r.change_of_mind_until is None
    assert r.fault_until is None
    assert r.blocked_code is None
    assert r.returnable_quantity == 3
    assert r.final_sale is False


def test_line_returnability_blocks_a_fully_returned_line() -> None:
    order = make_order()
    r = line_returnability(order, order.lines[0], LineUsage(3, 3000), DEFAULT, DELIVERED)
    assert r.returnable_quantity == 0
    assert r.blocked_code == "already_returned"


def test_line_returnability_blocks_after_the_fault_window() -> None:
    order = us_order()
    now = DELIVERED + timedelta(days=366)
    r = line_returnability(order, order.lines[0], LineUsage(), WINDOWS, now)
    assert r.blocked_code == "window_ended"
    assert r.returnable_quantity == 3


def test_line_returnability_is_not_blocked_merely_past_change_of_mind() -> None:
    order = us_order()
    now = DELIVERED + timedelta(days=31)
    r = line_returnability(order, order.lines[0], LineUsage(), WINDOWS, now)
    assert r.blocked_code is None


# --- refund_bound ------------------------------------------------------------------------------


def _received(case: ReturnCase, *receipt: ReceiptLine) -> None:
    for to in (CaseStatus.approved, CaseStatus.awaiting_return):
        case.transition(SYSTEM, TransitionRequest(to, None), DELIVERED)
    case.transition(
        SYSTEM, TransitionRequest(CaseStatus.partially_received, None, receipt=receipt), DELIVERED
    )


def test_refund_bound_is_everything_refundable_before_anything_arrives() -> None:
    order = make_order([make_line("A", quantity=3, unit_price=50, paid=100), make_line("B")])
    case = open_case(
        order, [LineRequest("A", 3, ReasonCode.defective), LineRequest("B", 2, ReasonCode.other)]
    )
    assert case.refund_bound() == 100 + 2000
    assert not case.has_receipt_problem()


def test_refund_bound_with_a_partial_receipt_uses_the_received_share() -> None:
    order = make_order([make_line("A", quantity=3, unit_price=50, paid=100), make_line("B")])
    case = open_case(
        order, [LineRequest("A", 3, ReasonCode.defective), LineRequest("B", 2, ReasonCode.other)]
    )
    _received(case, ReceiptLine("A", 2))
    # 2 of the 3 units of A (floor(100 * 2 / 3) = 66); nothing of B came back yet.
    assert case.refund_bound() == 66
    assert case.has_receipt_problem()


def test_refund_bound_counts_partial_receipts_of_several_lines() -> None:
    order = make_order([make_line("A", quantity=3, unit_price=50, paid=100), make_line("B")])
    case = open_case(
        order, [LineRequest("A", 3, ReasonCode.defective), LineRequest("B", 2, ReasonCode.other)]
    )
    _received(case, ReceiptLine("A", 1), ReceiptLine("B", 1, ReceiptCondition.damaged))
    assert case.refund_bound() == 33 + 1000


def test_refund_bound_is_the_full_share_once_everything_arrived() -> None:
    order = make_order([make_line("A", quantity=3, unit_price=50, paid=100)])
    case = open_case(order, [LineRequest("A", 3, ReasonCode.defective)])
    _received(case, ReceiptLine("A", 1))
    case.transition(SYSTEM, TransitionRequest(CaseStatus.received, None), DELIVERED)
    assert case.lines[0].received_quantity == 3
    assert case.refund_bound() == 100
    assert case.has_receipt_problem() is False


# --- Order validation --------------------------------------------------------------------------


def test_order_refuses_a_paid_amount_above_list_price_times_quantity() -> None:
    with expect_code("paid_exceeds_price"):
        make_line(quantity=2, unit_price=1000, paid=2001)
    assert make_line(quantity=2, unit_price=1000, paid=2000).paid_amount == 2000
    assert make_line(quantity=2, unit_price=1000, paid=0).paid_amount == 0


@pytest.mark.parametrize(
    ("kwargs", "code"),
    [
        ({"sku": " padded"}, "invalid_sku"),
        ({"sku": ""}, "invalid_sku"),
        ({"quantity": 0}, "invalid_quantity"),
        ({"quantity": 100_001}, "invalid_quantity"),
        ({"unit_price": -1, "paid": 0}, "invalid_money"),
        ({"paid": -1}, "invalid_money"),
    ],
)
def test_order_line_refuses_bad_values(kwargs: dict[str, object], code: str) -> None:
    with expect_code(code):
        make_line(**kwargs)  # type: ignore[arg-type]


def test_order_line_refuses_more_serial_numbers_than_units() -> None:
    with expect_code("invalid_serials"):
        OrderLine("l1", "A", "A", 1, 10, 10, serial_numbers=("s1", "s2"))


def test_order_refuses_the_same_sku_on_two_lines() -> None:
    with expect_code("duplicate_sku"):
        make_order([make_line("A"), make_line("A")])


def test_order_needs_a_line() -> None:
    with expect_code("empty_order"):
        make_order([])


def test_order_refuses_a_naive_placed_at() -> None:
    with expect_code("naive_datetime"):
        Order(
            id="o",
            store_id="s",
            number="1",
            email="a@example.com",
            market="DE",
            currency="EUR",
            language="de",
            placed_at=datetime(2024, 1, 1, 12, 0),
            lines=[make_line()],
        )


@pytest.mark.parametrize("field", ["shipped_at", "delivered_at"])
def test_shipment_refuses_naive_datetimes(field: str) -> None:
    with expect_code("naive_datetime"):
        Shipment("s1", "DHL", "T", **{field: datetime(2024, 1, 1, 12, 0)})  # type: ignore[arg-type]


def test_shipment_cannot_arrive_before_it_left() -> None:
    with expect_code("invalid_shipment"):
        Shipment("s1", "DHL", "T", shipped_at=DELIVERED, delivered_at=DELIVERED - timedelta(1))


@pytest.mark.parametrize(
    ("field", "value", "code"),
    [
        ("number", " 1001", "invalid_order_number"),
        ("market", "de", "invalid_market"),
        ("currency", "EURO", "invalid_currency"),
        ("language", "xx", "unsupported_language"),
    ],
)
def test_order_refuses_bad_header_fields(field: str, value: str, code: str) -> None:
    values: dict[str, object] = {
        "id": "o",
        "store_id": "s",
        "number": "1001",
        "email": "a@example.com",
        "market": "DE",
        "currency": "EUR",
        "language": "de",
        "placed_at": DELIVERED,
        "lines": [make_line()],
    }
    values[field] = value
    with expect_code(code):
        Order(**values)  # type: ignore[arg-type]


def test_order_looks_up_lines_and_totals_what_was_paid() -> None:
    order = make_order([make_line("A", quantity=2, unit_price=500), make_line("B", paid=2500)])
    assert order.line_by_sku("B").paid_amount == 2500
    assert order.paid(order.lines[0]).amount == 1000
    assert order.total_paid.amount == 3500
    assert order.total_paid.currency == "EUR"
    with expect_code("unknown_sku"):
        order.line_by_sku("C")
