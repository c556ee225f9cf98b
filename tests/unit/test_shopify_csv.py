"""The Shopify order-export parser: grouping, exact amounts, and row-level rejection."""

from __future__ import annotations

import csv
import io
from datetime import datetime, timedelta, timezone
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from returndesk.adapters.importers.shopify_csv import (
    ParsedOrder,
    ShopifyImport,
    parse_shopify_csv,
)
from returndesk.domain.errors import ValidationFailed
from returndesk.services.orders import OrderInput, ShipmentInput, build_order

FIXTURE = Path(__file__).resolve().parents[1] / "fixtures" / "shopify_orders.csv"


def _parse_fixture() -> ShopifyImport:
    with FIXTURE.open(encoding="utf-8-sig", newline="") as stream:
        return parse_shopify_csv(stream)


def _header() -> list[str]:
    with FIXTURE.open(encoding="utf-8-sig", newline="") as stream:
        return next(csv.reader(stream))


def _csv(rows: list[dict[str, str]], header: list[str] | None = None) -> str:
    out = io.StringIO()
    writer = csv.DictWriter(out, fieldnames=header or _header(), lineterminator="\n")
    writer.writeheader()
    for row in rows:
        writer.writerow(row)
    return out.getvalue()


def _order_row(number: str = "#2001", **extra: str) -> dict[str, str]:
    row = {
        "Name": number,
        "Email": "buyer@example.com",
        "Financial Status": "paid",
        "Currency": "USD",
        "Discount Amount": "0.00",
        "Created at": "2024-03-05 14:23:11 +0100",
        "Fulfilled at": "",
        "Shipping Country": "US",
        "Lineitem quantity": "1",
        "Lineitem name": "Widget",
        "Lineitem price": "10.00",
        "Lineitem sku": "W-1",
        "Lineitem discount": "0.00",
    }
    row.update(extra)
    return row


def _line_row(number: str = "#2001", **extra: str) -> dict[str, str]:
    row = {
        "Name": number,
        "Email": "buyer@example.com",
        "Created at": "2024-03-05 14:23:11 +0100",
        "Lineitem quantity": "1",
        "Lineitem name": "Gadget",
        "Lineitem price": "5.00",
        "Lineitem sku": "G-1",
        "Lineitem discount": "0.00",
    }
    row.update(extra)
    return row


def _parse(text: str) -> ShopifyImport:
    return parse_shopify_csv(io.StringIO(text, newline=""))


def _by_number(result: ShopifyImport) -> dict[str, ParsedOrder]:
    return {parsed.order.number: parsed for parsed in result.orders}


# --- the fixture -------------------------------------------------------------------------------


def test_fixture_imports_the_good_orders_and_reports_each_bad_row() -> None:
    result = _parse_fixture()

    assert result.rows_read == 17
    assert [(p.order.number, p.first_row) for p in result.orders] == [
        ("1001", 2),
        ("1002", 5),
        ("1003", 8),
        ("1004", 9),
        ("1010", 19),
    ]
    # Line numbers are physical lines: #1001's Notes spans lines 2-3.
    assert [(r.row, r.order_number, r.code) for r in result.rejected] == [
        (12, "1005", "invalid_amount"),
        (13, "1006", "invalid_currency"),
        (14, "1007", "missing_email"),
        (17, "1008", "invalid_quantity"),
        (18, "1009", "orphan_line"),
    ]
    assert all(r.message for r in result.rejected)


def test_multi_row_orders_are_grouped_with_their_lines_in_file_order() -> None:
    orders = _by_number(_parse_fixture())

    assert [line.sku for line in orders["1001"].order.lines] == ["TEE-BLK-M", "HOODIE-GRY-L"]
    assert [line.sku for line in orders["1002"].order.lines] == [
        "MUG-HSM-01",
        "NAME:Furoshiki Wrap",
        "CHOP-SET-3",
    ]
    assert len(orders["1003"].order.lines) == 1


def test_jpy_amounts_are_whole_yen_and_the_discounts_add_up_exactly() -> None:
    order = _by_number(_parse_fixture())["1002"].order

    assert order.currency == "JPY"
    assert order.market == "JP"
    assert [(li.quantity, li.unit_price) for li in order.lines] == [(2, 3300), (1, 1500), (3, 880)]
    # 330 off the mug line, then the remaining 500 of Discount Amount (830) spread by line net
    # (6270, 1500, 2640) cumulatively: 301, 72, 127.
    assert [li.paid_amount for li in order.lines] == [5969, 1428, 2513]
    gross = sum(li.quantity * li.unit_price for li in order.lines)
    assert gross - sum(li.paid_amount for li in order.lines) == 830
    assert order.placed_at == datetime(2024, 3, 7, 10, 5, 42, tzinfo=timezone(timedelta(hours=9)))


@pytest.mark.parametrize(
    ("number", "discount_minor"), [("1001", 1000), ("1002", 830), ("1004", 4200), ("1010", 300)]
)
def test_paid_amounts_add_up_to_gross_less_discount_amount(
    number: str, discount_minor: int
) -> None:
    order = _by_number(_parse_fixture())[number].order

    gross = sum(li.quantity * li.unit_price for li in order.lines)
    assert gross - sum(li.paid_amount for li in order.lines) == discount_minor
    assert all(0 <= li.paid_amount <= li.quantity * li.unit_price for li in order.lines)


def test_usd_order_level_discount_is_split_by_line_subtotal() -> None:
    order = _by_number(_parse_fixture())["1001"].order

    assert [(li.unit_price, li.paid_amount) for li in order.lines] == [(2499, 4472), (4500, 4026)]
    assert order.email == "jane.carter@example.com"
    assert order.buyer_name == "Jane Carter"
    assert order.language is None
    assert order.lines[0].category == "general"
    assert order.lines[0].serial_numbers == ()


def test_line_level_discounts_only_brl() -> None:
    order = _by_number(_parse_fixture())["1004"].order

    assert order.currency == "BRL"
    assert [li.paid_amount for li in order.lines] == [12000, 19800]


def test_fulfilled_order_gets_one_shipment_from_the_shipping_method() -> None:
    orders = _by_number(_parse_fixture())

    assert orders["1001"].order.shipments == (
        ShipmentInput(
            carrier="UPS Ground",
            tracking_number="1001-1",
            shipped_at=datetime(2024, 3, 6, 9, 12, 40, tzinfo=timezone(timedelta(hours=-8))),
        ),
    )
    assert orders["1010"].order.shipments[0].carrier == "Royal Mail Tracked 48"
    assert orders["1003"].order.shipments == ()


def test_market_falls_back_to_billing_country() -> None:
    order = _by_number(_parse_fixture())["1003"].order

    assert order.market == "AT"
    assert order.currency == "EUR"
    assert order.email == "lena.huber@example.at"


def test_every_imported_order_passes_domain_validation() -> None:
    for parsed in _parse_fixture().orders:
        built = build_order("store-1", parsed.order, None)
        assert built.number == parsed.order.number


def test_on_row_is_called_once_per_data_row() -> None:
    seen: list[int] = []
    with FIXTURE.open(encoding="utf-8-sig", newline="") as stream:
        result = parse_shopify_csv(stream, on_row=seen.append)

    assert seen == list(range(1, result.rows_read + 1))


# --- whole-order rejection ----------------------------------------------------------------------


def test_one_bad_line_rejects_the_whole_order_but_not_the_others() -> None:
    result = _parse(
        _csv(
            [
                _order_row("#2001"),
                _line_row("#2001", **{"Lineitem quantity": "0"}),
                _order_row("#2002"),
            ]
        )
    )

    assert [p.order.number for p in result.orders] == ["2002"]
    assert [(r.row, r.order_number, r.code) for r in result.rejected] == [
        (3, "2001", "invalid_quantity")
    ]


def test_each_bad_row_of_an_order_is_reported_once() -> None:
    result = _parse(
        _csv(
            [
                _order_row("#2001", Currency="ABC", **{"Lineitem price": "x"}),
                _line_row("#2001", **{"Lineitem price": "abc"}),
                _line_row("#2001", **{"Lineitem sku": "G-2"}),
            ]
        )
    )

    assert result.orders == []
    assert [(r.row, r.code) for r in result.rejected] == [
        (2, "invalid_currency"),
        (3, "invalid_amount"),
    ]


def test_orphan_lines_and_duplicate_order_rows_are_rejected() -> None:
    result = _parse(
        _csv(
            [
                _line_row("#3001"),
                _order_row("#3002"),
                _order_row("#3002", **{"Lineitem sku": "W-2"}),
            ]
        )
    )

    assert result.orders == []
    assert [(r.row, r.order_number, r.code) for r in result.rejected] == [
        (2, "3001", "orphan_line"),
        (4, "3002", "duplicate_order"),
    ]


def test_duplicate_sku_in_one_order_is_rejected() -> None:
    result = _parse(_csv([_order_row(), _line_row(**{"Lineitem sku": "W-1"})]))

    assert result.orders == []
    assert [(r.row, r.code) for r in result.rejected] == [(3, "duplicate_sku")]


@pytest.mark.parametrize(
    ("changes", "code"),
    [
        ({"Email": "not-an-email"}, "invalid_email"),
        ({"Currency": ""}, "invalid_currency"),
        ({"Shipping Country": "", "Billing Country": ""}, "missing_market"),
        ({"Shipping Country": "USA"}, "invalid_market"),
        ({"Created at": "2024-03-05 14:23:11"}, "naive_datetime"),
        ({"Created at": "05/03/2024"}, "invalid_date"),
        ({"Fulfilled at": "yesterday"}, "invalid_date"),
        ({"Name": "#10 01"}, "invalid_order_number"),
        ({"Lineitem quantity": "1.5"}, "invalid_quantity"),
        ({"Lineitem quantity": "100001"}, "invalid_quantity"),
        ({"Lineitem price": "10.005"}, "invalid_amount"),
        ({"Lineitem price": "-10.00"}, "invalid_amount"),
        ({"Lineitem price": ""}, "invalid_amount"),
        ({"Discount Amount": "NaN"}, "invalid_amount"),
        ({"Lineitem discount": "10.01"}, "invalid_discount"),
        ({"Lineitem sku": "", "Lineitem name": ""}, "invalid_sku"),
        ({"Lineitem sku": "S" * 101}, "invalid_sku"),
    ],
)
def test_bad_values_become_rejected_rows(changes: dict[str, str], code: str) -> None:
    result = _parse(_csv([_order_row(**changes)]))

    assert result.orders == []
    assert [(r.row, r.code) for r in result.rejected] == [(2, code)]


def test_jpy_price_with_sub_yen_decimals_is_rejected() -> None:
    result = _parse(_csv([_order_row(Currency="JPY", **{"Lineitem price": "1200.50"})]))

    assert [r.code for r in result.rejected] == ["invalid_amount"]
    assert "JPY" in result.rejected[0].message


def test_missing_order_number_and_empty_line_rows() -> None:
    result = _parse(
        _csv(
            [
                _order_row("", **{"Lineitem sku": "X"}),
                _order_row("#4001"),
                _line_row(
                    "#4001",
                    **{
                        "Lineitem quantity": "",
                        "Lineitem name": "",
                        "Lineitem price": "",
                        "Lineitem sku": "",
                    },
                ),
            ]
        )
    )

    assert result.orders == []
    assert [(r.row, r.order_number, r.code) for r in result.rejected] == [
        (2, "", "missing_order_number"),
        (4, "4001", "missing_line"),
    ]


# --- file-level handling ------------------------------------------------------------------------


def test_utf8_bom_is_handled() -> None:
    result = _parse("\ufeff" + _csv([_order_row()]))

    assert [p.order.number for p in result.orders] == ["2001"]
    assert result.rejected == []


def test_bom_in_bytes_read_as_plain_utf8() -> None:
    raw = ("\ufeff" + _csv([_order_row()])).encode("utf-8")
    stream = io.TextIOWrapper(io.BytesIO(raw), encoding="utf-8", newline="")

    assert [p.order.number for p in parse_shopify_csv(stream).orders] == ["2001"]


def test_missing_required_column_raises() -> None:
    header = [name for name in _header() if name != "Lineitem sku"]
    row = {k: v for k, v in _order_row().items() if k != "Lineitem sku"}

    with pytest.raises(ValidationFailed) as info:
        _parse(_csv([row], header=header))
    assert info.value.code == "missing_column"
    assert info.value.data["columns"] == ["Lineitem sku"]


def test_empty_file_raises_missing_column() -> None:
    with pytest.raises(ValidationFailed) as info:
        _parse("")
    assert info.value.code == "missing_column"


def test_headers_match_ignoring_case_and_order() -> None:
    row = _order_row()
    header = sorted(row, reverse=True)
    text = _csv([row], header=header)
    text = text.replace("Lineitem sku", "LINEITEM  SKU", 1)

    result = _parse(text)

    assert [p.order.number for p in result.orders] == ["2001"]


def test_rows_with_the_wrong_column_count_are_rejected_with_their_order() -> None:
    good = _csv([_order_row("#5001"), _line_row("#5001"), _order_row("#5002")]).splitlines()
    good[2] += ",extra"  # the #5001 line row now has one column too many
    text = "\n".join([*good, "#5003,short"]) + "\n"

    result = _parse(text)

    assert [p.order.number for p in result.orders] == ["5002"]
    assert [(r.row, r.order_number, r.code) for r in result.rejected] == [
        (3, "5001", "wrong_column_count"),
        (5, "5003", "wrong_column_count"),
    ]
    assert result.rows_read == 4


def test_oversized_field_is_rejected_and_parsing_goes_on() -> None:
    rows = [
        _order_row("#6001", Notes="x" * (csv.field_size_limit() + 1)),
        _order_row("#6002"),
    ]

    result = _parse(_csv(rows))

    assert [p.order.number for p in result.orders] == ["6002"]
    assert [(r.row, r.code) for r in result.rejected] == [(2, "malformed_row")]


def test_blank_lines_are_skipped_but_counted_in_line_numbers() -> None:
    lines = _csv([_order_row("#7001"), _order_row("#7002", Currency="???")]).splitlines()
    text = "\n".join([lines[0], lines[1], "", lines[2]]) + "\n"

    result = _parse(text)

    assert result.rows_read == 2
    assert [(r.row, r.code) for r in result.rejected] == [(4, "invalid_currency")]


def test_iso_dates_and_rows_apart_are_accepted() -> None:
    result = _parse(
        _csv(
            [
                _order_row("#8001", **{"Created at": "2024-03-05T14:23:11+01:00"}),
                _order_row("#8002"),
                _line_row("#8001"),
            ]
        )
    )

    orders = _by_number(result)
    assert [li.sku for li in orders["8001"].order.lines] == ["W-1", "G-1"]
    assert orders["8001"].order.placed_at.utcoffset() == timedelta(hours=1)


def test_product_type_column_sets_the_category() -> None:
    header = [*_header(), "Lineitem product type"]
    result = _parse(_csv([_order_row(**{"Lineitem product type": "Apparel"})], header=header))

    assert result.orders[0].order.lines[0].category == "Apparel"


def test_discount_amount_beyond_the_lines_never_makes_a_line_negative() -> None:
    result = _parse(_csv([_order_row(**{"Discount Amount": "25.00"}), _line_row()]))

    order: OrderInput = result.orders[0].order
    assert [li.paid_amount for li in order.lines] == [0, 0]


@settings(max_examples=60, deadline=None, database=None)
@given(
    lines=st.lists(
        st.tuples(st.integers(1, 20), st.integers(0, 500_00), st.integers(0, 100)),
        min_size=1,
        max_size=6,
    ),
    order_discount=st.integers(0, 2_000_00),
)
def test_allocation_is_exact_and_never_negative(
    lines: list[tuple[int, int, int]], order_discount: int
) -> None:
    rows: list[dict[str, str]] = []
    line_discounts = 0
    gross = 0
    for i, (quantity, price, percent) in enumerate(lines):
        line_gross = quantity * price
        discount = line_gross * percent // 100
        gross += line_gross
        line_discounts += discount
        values = {
            "Lineitem quantity": str(quantity),
            "Lineitem price": f"{price // 100}.{price % 100:02d}",
            "Lineitem sku": f"SKU-{i}",
            "Lineitem discount": f"{discount // 100}.{discount % 100:02d}",
        }
        rows.append(_order_row(**values) if i == 0 else _line_row(**values))
    total_discount = line_discounts + order_discount
    rows[0]["Discount Amount"] = f"{total_discount // 100}.{total_discount % 100:02d}"

    result = _parse(_csv(rows))

    assert result.rejected == []
    paid = [li.paid_amount for li in result.orders[0].order.lines]
    assert all(p >= 0 for p in paid)
    assert gross - sum(paid) == min(total_discount, gross)
