"""Opening a return: which units of an order can come back, when, and what they are worth."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone

import pytest

from returndesk.domain.access import Role
from returndesk.domain.cases.model import (
    MAX_COMMENT,
    Actor,
    LineRequest,
    LineUsage,
    ReceiptLine,
    ReturnCase,
    TransitionRequest,
    line_returnability,
)
from returndesk.domain.cases.reasons import FAULT_REASONS, ReasonCode
from returndesk.domain.cases.status import CaseStatus, ReceiptCondition, Resolution
from returndesk.domain.errors import ValidationFailed
from returndesk.domain.orders import Order, OrderLine, Shipment
from returndesk.domain.stores import StorePolicy

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
    lines: list[OrderLine] | None = None, shipments: list[Shipment] | None = None
) -> Order:
    return Order(
        id="order-1",
        store_id="store-1",
        number="#1001",
        email="ana@example.com",
        market="DE",
        currency="EUR",
        language="de",
        placed_at=DELIVERED - timedelta(days=5),
        lines=[make_line()] if lines is None else lines,
        shipments=[delivered(DELIVERED)] if shipments is None else shipments,
    )


def open_case(
    order: Order | None = None,
    requests: list[LineRequest] | None = None,
    *,
    now: datetime | None = None,
    policy: StorePolicy | None = None,
    usage: dict[str, LineUsage] | None = None,
    resolution: Resolution = Resolution.refund,
) -> ReturnCase:
    return ReturnCase.open(
        order=order or make_order(),
        requests=requests or [LineRequest("SHIRT-M", 1, ReasonCode.changed_mind)],
        preferred_resolution=resolution,
        usage=usage or {},
        policy=policy or StorePolicy(),
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
            policy=StorePolicy(),
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


# --- final sale --------------------------------------------------------------------------------

FINAL_SALE = StorePolicy(non_returnable_categories=frozenset({"underwear"}))


@pytest.mark.parametrize("reason", CHANGE_OF_MIND)
def test_final_sale_blocks_change_of_mind_returns(reason: ReasonCode) -> None:
    order = make_order([make_line(category="underwear")])
    with expect_code("final_sale"):
        open_case(order, [LineRequest("SHIRT-M", 1, reason)], policy=FINAL_SALE)


@pytest.mark.parametrize("reason", sorted(FAULT_REASONS))
def test_final_sale_still_allows_fault_returns(reason: ReasonCode) -> None:
    order = make_order([make_line(category="underwear")])
    case = open_case(order, [LineRequest("SHIRT-M", 1, reason)], policy=FINAL_SALE)
    assert case.lines[0].reason is reason


def test_final_sale_applies_only_to_its_categories() -> None:
    order = make_order([make_line(category="shirts")])
    case = open_case(order, policy=FINAL_SALE)
    assert case.status is CaseStatus.requested


# --- return windows ----------------------------------------------------------------------------

WINDOWS = StorePolicy(return_window_days=30, fault_window_days=365)


def test_change_of_mind_window_is_inclusive_of_its_last_moment() -> None:
    order = make_order()
    last = DELIVERED + timedelta(days=30)
    open_case(order, now=last, policy=WINDOWS)
    with expect_code("outside_return_window"):
        open_case(order, now=last + timedelta(seconds=1), policy=WINDOWS)


def test_fault_window_outlasts_the_change_of_mind_window() -> None:
    order = make_order()
    later = DELIVERED + timedelta(days=200)
    with expect_code("outside_return_window"):
        open_case(order, now=later, policy=WINDOWS)
    case = open_case(
        order, [LineRequest("SHIRT-M", 1, ReasonCode.defective)], now=later, policy=WINDOWS
    )
    assert case.lines[0].reason is ReasonCode.defective
    end = DELIVERED + timedelta(days=365)
    open_case(order, [LineRequest("SHIRT-M", 1, ReasonCode.defective)], now=end, policy=WINDOWS)
    with expect_code("outside_return_window"):
        open_case(
            order,
            [LineRequest("SHIRT-M", 1, ReasonCode.defective)],
            now=end + timedelta(seconds=1),
            policy=WINDOWS,
        )


def test_windows_count_from_the_last_shipment_delivered() -> None:
    last = DELIVERED + timedelta(days=20)
    order = make_order(shipments=[delivered(DELIVERED, "s1"), delivered(last, "s2")])
    assert order.delivered_at == last
    # 40 days after the first parcel but 20 after the last: still inside 30 days.
    open_case(order, now=DELIVERED + timedelta(days=40), policy=WINDOWS)
    with expect_code("outside_return_window"):
        open_case(order, now=last + timedelta(days=30, seconds=1), policy=WINDOWS)
    # The fault window too.
    fault = [LineRequest("SHIRT-M", 1, ReasonCode.defective)]
    open_case(order, fault, now=DELIVERED + timedelta(days=380), policy=WINDOWS)
    with expect_code("outside_return_window"):
        open_case(order, fault, now=last + timedelta(days=366), policy=WINDOWS)


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


def test_an_order_not_yet_fully_delivered_is_returnable_at_any_time() -> None:
    partly = make_order(shipments=[delivered(DELIVERED, "s1"), delivered(None, "s2")])
    assert partly.delivered_at is None
    years_later = DELIVERED + timedelta(days=3000)
    case = open_case(partly, now=years_later, policy=WINDOWS)
    assert case.status is CaseStatus.requested
    unshipped = make_order(shipments=[])
    assert unshipped.delivered_at is None
    open_case(unshipped, now=years_later, policy=WINDOWS)


# --- line_returnability ------------------------------------------------------------------------


def test_line_returnability_reports_windows_and_remaining_units() -> None:
    order = make_order([make_line(category="underwear")])
    line = order.lines[0]
    now = DELIVERED + timedelta(days=10)
    r = line_returnability(order, line, LineUsage(1, 1000), FINAL_SALE, now)
    assert r.sku == "SHIRT-M"
    assert r.returnable_quantity == 2
    assert r.change_of_mind_until == DELIVERED + timedelta(days=30)
    assert r.fault_until == DELIVERED + timedelta(days=365)
    assert r.final_sale is True
    assert r.blocked_code is None


def test_line_returnability_before_delivery_has_no_windows() -> None:
    order = make_order(shipments=[delivered(None)])
    r = line_returnability(order, order.lines[0], LineUsage(), StorePolicy(), DELIVERED)
    assert r.change_of_mind_until is None
    assert r.fault_until is None
    assert r.blocked_code is None
    assert r.returnable_quantity == 3
    assert r.final_sale is False


def test_line_returnability_blocks_a_fully_returned_line() -> None:
    order = make_order()
    r = line_returnability(order, order.lines[0], LineUsage(3, 3000), StorePolicy(), DELIVERED)
    assert r.returnable_quantity == 0
    assert r.blocked_code == "already_returned"


def test_line_returnability_blocks_after_the_fault_window() -> None:
    order = make_order()
    now = DELIVERED + timedelta(days=366)
    r = line_returnability(order, order.lines[0], LineUsage(), WINDOWS, now)
    assert r.blocked_code == "outside_return_window"
    assert r.returnable_quantity == 3


def test_line_returnability_is_not_blocked_merely_past_change_of_mind() -> None:
    order = make_order()
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
