"""Money in minor units, exact decimal parsing, proration and the refund bound on one line."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from decimal import Decimal

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from returndesk.domain.access import Role
from returndesk.domain.cases.model import (
    Actor,
    LineRequest,
    LineUsage,
    ReturnCase,
    TransitionRequest,
)
from returndesk.domain.cases.reasons import ReasonCode
from returndesk.domain.cases.status import CaseStatus, Resolution
from returndesk.domain.errors import ValidationFailed
from returndesk.domain.money import (
    Money,
    check_currency,
    check_refund_within_paid,
    minor_unit_exponent,
    prorated_share,
)
from returndesk.domain.orders import Order, OrderLine, Shipment

PROPERTY = settings(max_examples=300, deadline=None)

NOW = datetime(2024, 6, 1, 12, 0, tzinfo=UTC)
BUYER = Actor("buyer", "buyer-1", "Ana", Role.buyer)
AGENT = Actor("staff", "agent-1", "Bo", Role.agent)


def make_order(quantity: int, paid: int, currency: str = "EUR") -> Order:
    line = OrderLine(
        id="line-1",
        sku="SKU-1",
        title="Thing",
        quantity=quantity,
        unit_price=paid,  # >= paid / quantity for any quantity >= 1
        paid_amount=paid,
    )
    return Order(
        id="order-1",
        store_id="store-1",
        number="1001",
        email="ana@example.com",
        market="DE",
        currency=currency,
        language="de",
        placed_at=NOW - timedelta(days=5),
        lines=[line],
        shipments=[Shipment("ship-1", "DHL", "T1", delivered_at=NOW - timedelta(days=2))],
    )


def usage_of(cases: list[ReturnCase]) -> dict[str, LineUsage]:
    """What the repository's line_usage computes: cases still holding quantity, per line."""
    totals: dict[str, LineUsage] = {}
    for case in cases:
        if not case.holds_quantity:
            continue
        for line in case.lines:
            prev = totals.get(line.order_line_id, LineUsage())
            totals[line.order_line_id] = LineUsage(
                prev.quantity + line.quantity, prev.amount + line.refundable_amount
            )
    return totals


def expect_code(code: str) -> pytest.RaisesExc[ValidationFailed]:
    return pytest.raises(ValidationFailed, check=lambda e: e.code == code)


# --- validation --------------------------------------------------------------------------------


@pytest.mark.parametrize("amount", [0, 1, -5, 10**30])
def test_money_accepts_integer_minor_units(amount: int) -> None:
    assert Money(amount, "EUR").amount == amount


@pytest.mark.parametrize("amount", [True, False, 1.0, 12.5, Decimal("12"), "12", None])
def test_money_refuses_non_integer_amounts(amount: object) -> None:
    with expect_code("invalid_money"):
        Money(amount, "EUR")  # type: ignore[arg-type]


@pytest.mark.parametrize("currency", ["eur", "EURO", "XXX", "", " EUR", "ABC"])
def test_money_refuses_unknown_currency_codes(currency: str) -> None:
    with expect_code("invalid_currency"):
        Money(1, currency)
    with expect_code("invalid_currency"):
        check_currency(currency)


@pytest.mark.parametrize(
    ("currency", "exponent"), [("JPY", 0), ("KRW", 0), ("EUR", 2), ("USD", 2), ("KWD", 3)]
)
def test_minor_unit_exponent_follows_iso_4217(currency: str, exponent: int) -> None:
    assert minor_unit_exponent(currency) == exponent


def test_zero_is_zero_in_the_currency() -> None:
    assert Money.zero("JPY") == Money(0, "JPY")


# --- from_decimal ------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("value", "currency", "amount"),
    [
        ("1234", "JPY", 1234),
        ("0", "JPY", 0),
        ("12.50", "EUR", 1250),
        ("12.5", "EUR", 1250),
        ("12.500", "EUR", 1250),  # trailing zeros are still exact
        ("0.01", "EUR", 1),
        ("-3.10", "EUR", -310),
        (" 7.25 ", "EUR", 725),
        ("12.345", "KWD", 12345),
        ("0.001", "KWD", 1),
        ("5", "KWD", 5000),
        (Decimal("19.99"), "USD", 1999),
    ],
)
def test_from_decimal_is_exact_per_currency_exponent(
    value: str | Decimal, currency: str, amount: int
) -> None:
    assert Money.from_decimal(value, currency) == Money(amount, currency)


@pytest.mark.parametrize(
    ("value", "currency"),
    [("12.345", "EUR"), ("0.001", "USD"), ("1.5", "JPY"), ("0.1", "KRW"), ("1.2345", "KWD")],
)
def test_from_decimal_refuses_sub_minor_precision(value: str, currency: str) -> None:
    with expect_code("invalid_money"):
        Money.from_decimal(value, currency)


@pytest.mark.parametrize(
    "value",
    [
        "NaN",
        "nan",
        "sNaN",
        "inf",
        "-inf",
        "Infinity",
        "abc",
        "",
        "  ",
        "12,50",
        "1.2.3",
        "€12",
        "1E+2",
        "1_000",
        "\u0663",
    ],
)
def test_from_decimal_refuses_non_amounts(value: str) -> None:
    with expect_code("invalid_money"):
        Money.from_decimal(value, "EUR")


def test_from_decimal_refuses_absurd_exponents_as_validation_errors() -> None:
    # A huge exponent must be a ValidationFailed (HTTP 4xx), not a stray decimal.Overflow.
    with expect_code("invalid_money"):
        Money.from_decimal("1E+1000000", "EUR")


def test_from_decimal_checks_the_currency() -> None:
    with expect_code("invalid_currency"):
        Money.from_decimal("1.00", "eur")


@PROPERTY
@given(
    amount=st.integers(-(10**15), 10**15),
    currency=st.sampled_from(["JPY", "EUR", "KWD", "USD", "CLP", "BHD"]),
)
def test_from_decimal_round_trips_to_decimal(amount: int, currency: str) -> None:
    money = Money(amount, currency)
    assert Money.from_decimal(money.to_decimal(), currency) == money
    assert Money.from_decimal(str(money.to_decimal()), currency) == money


# --- arithmetic --------------------------------------------------------------------------------


def test_arithmetic_within_one_currency() -> None:
    a, b = Money(150, "EUR"), Money(50, "EUR")
    assert a + b == Money(200, "EUR")
    assert a - b == Money(100, "EUR")
    assert b < a
    assert b <= a
    assert a <= a
    assert not a < a


@pytest.mark.parametrize(
    "op",
    [
        lambda a, b: a + b,
        lambda a, b: a - b,
        lambda a, b: a < b,
        lambda a, b: a <= b,
        lambda a, b: a > b,
        lambda a, b: a >= b,
    ],
    ids=["add", "sub", "lt", "le", "gt", "ge"],
)
def test_arithmetic_refuses_mixed_currencies(op: object) -> None:
    with expect_code("currency_mismatch"):
        op(Money(1, "EUR"), Money(1, "USD"))  # type: ignore[operator]


# --- prorated_share ----------------------------------------------------------------------------


@st.composite
def line_split(draw: st.DrawFn) -> tuple[int, int, list[int]]:
    bought = draw(st.integers(1, 200))
    paid = draw(st.integers(0, 10**12))
    parts: list[int] = []
    left = bought
    while left:
        take = draw(st.integers(1, left))
        parts.append(take)
        left -= take
    return paid, bought, parts


@PROPERTY
@given(line_split())
def test_prorated_shares_of_any_split_add_up_to_exactly_what_was_paid(
    split: tuple[int, int, list[int]],
) -> None:
    paid, bought, parts = split
    already = 0
    total = 0
    for part in parts:
        share = prorated_share(paid, bought, already, part)
        assert share >= 0
        total += share
        already += part
        assert total <= paid  # any prefix of returns stays within what was paid
    assert total == paid


def test_prorated_share_examples() -> None:
    assert [prorated_share(100, 3, k, 1) for k in range(3)] == [33, 33, 34]
    assert prorated_share(100, 3, 0, 3) == 100
    assert prorated_share(100, 3, 1, 0) == 0
    assert prorated_share(0, 5, 0, 2) == 0


@pytest.mark.parametrize(
    ("paid", "bought", "already", "returning", "code"),
    [
        (100, 0, 0, 0, "invalid_line"),
        (100, -1, 0, 1, "invalid_line"),
        (-1, 3, 0, 1, "invalid_line"),
        (100, 3, 2, 2, "quantity_exceeds_purchased"),
        (100, 3, -1, 1, "quantity_exceeds_purchased"),
        (100, 3, 0, -1, "quantity_exceeds_purchased"),
        (100, 3, 0, 4, "quantity_exceeds_purchased"),
    ],
)
def test_prorated_share_refuses_impossible_lines(
    paid: int, bought: int, already: int, returning: int, code: str
) -> None:
    with expect_code(code):
        prorated_share(paid, bought, already, returning)


# --- the refund bound across returns of one line -----------------------------------------------


@PROPERTY
@given(
    quantity=st.integers(1, 12),
    paid=st.integers(0, 10**9),
    data=st.data(),
)
def test_refund_never_exceeds_amount_paid(quantity: int, paid: int, data: st.DataObject) -> None:
    order = make_order(quantity, paid)
    line = order.lines[0]
    cases: list[ReturnCase] = []
    for _ in range(data.draw(st.integers(1, 15), label="steps")):
        usage = usage_of(cases)
        held = usage.get(line.id, LineUsage())
        active = [c for c in cases if c.holds_quantity]
        remaining = quantity - held.quantity
        if remaining and (not active or data.draw(st.booleans(), label="open?")):
            take = data.draw(st.integers(1, remaining), label="open units")
            cases.append(
                ReturnCase.open(
                    order=order,
                    requests=[LineRequest(line.sku, take, ReasonCode.changed_mind)],
                    preferred_resolution=Resolution.refund,
                    usage=usage,
                    actor=BUYER,
                    now=NOW,
                )
            )
        else:
            if not remaining:
                # Every unit is held: one more return of this line is refused.
                with expect_code("quantity_exceeds_purchased"):
                    ReturnCase.open(
                        order=order,
                        requests=[LineRequest(line.sku, 1, ReasonCode.defective)],
                        preferred_resolution=Resolution.refund,
                        usage=usage,
                        actor=BUYER,
                        now=NOW,
                    )
            victim = data.draw(st.sampled_from(active), label="release")
            if data.draw(st.booleans(), label="cancel or decline"):
                victim.transition(BUYER, TransitionRequest(CaseStatus.canceled, Role.buyer), NOW)
            else:
                victim.transition(
                    AGENT,
                    TransitionRequest(CaseStatus.declined, Role.agent, note="worn"),
                    NOW,
                )
            assert not victim.holds_quantity

        after = usage_of(cases).get(line.id, LineUsage())
        for case in cases:
            assert case.lines[0].refundable_amount >= 0
        assert after.amount <= paid
        if after.quantity == quantity:
            assert after.amount == paid
        for case in cases:
            if case.holds_quantity:
                assert case.refund_bound() <= paid


# --- check_refund_within_paid ------------------------------------------------------------------


@PROPERTY
@given(
    paid=st.integers(0, 10**12),
    already=st.integers(0, 10**12),
    refund=st.integers(-(10**6), 10**12),
    currency=st.sampled_from(["JPY", "EUR", "KWD"]),
)
def test_check_refund_within_paid_allows_exactly_the_refunds_that_fit(
    paid: int, already: int, refund: int, currency: str
) -> None:
    def check() -> None:
        check_refund_within_paid(
            Money(refund, currency), Money(paid, currency), Money(already, currency)
        )

    if refund < 0:
        with expect_code("invalid_refund"):
            check()
    elif already + refund > paid:
        with expect_code("refund_exceeds_paid"):
            check()
    else:
        check()


def test_check_refund_within_paid_boundaries() -> None:
    paid = Money(1000, "EUR")
    check_refund_within_paid(Money(1000, "EUR"), paid, Money.zero("EUR"))
    check_refund_within_paid(Money(400, "EUR"), paid, Money(600, "EUR"))
    check_refund_within_paid(Money(0, "EUR"), paid, Money(1000, "EUR"))
    with expect_code("refund_exceeds_paid"):
        check_refund_within_paid(Money(1, "EUR"), paid, Money(1000, "EUR"))
    with expect_code("refund_exceeds_paid"):
        check_refund_within_paid(Money(1001, "EUR"), paid, Money.zero("EUR"))


def test_check_refund_within_paid_refuses_a_refund_in_another_currency() -> None:
    with expect_code("currency_mismatch"):
        check_refund_within_paid(Money(1, "USD"), Money(100, "EUR"), Money.zero("EUR"))


def test_check_refund_within_paid_refuses_a_paid_amount_in_another_currency() -> None:
    # 1 USD of 100 JPY paid must not pass just because 1 <= 100 as bare integers.
    with expect_code("currency_mismatch"):
        check_refund_within_paid(Money(1, "USD"), Money(100, "JPY"), Money.zero("USD"))
