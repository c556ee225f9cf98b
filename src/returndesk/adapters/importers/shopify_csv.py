"""Read Shopify's "Export orders" CSV into `OrderInput` values.

The format (Shopify admin > Orders > Export, "CSV for Excel, Numbers, or other spreadsheet
programs") has one row per line item. The first row of an order carries the order-level fields
(Financial Status, Currency, Subtotal, Total, Discount Amount, Fulfilled at, Shipping Country...);
the order's later rows repeat Name (and Email, Created at) and carry the Lineitem columns only.
Columns are found by header name (case and runs of spaces ignored), never by position; columns
this parser does not use are ignored.

Decisions worth knowing:

* Order number: Shopify's Name ("#1001") with one leading "#" removed ("1001"); the rest is kept
  as Shopify shows it, so a store prefix or suffix ("EU1001-A") stays.
* Market: Shipping Country (ISO 3166-1 alpha-2), else Billing Country. Language: None, so the
  market's main language applies. Buyer name: Billing Name, else Shipping Name.
* Amounts are exact integer minor units of the order's Currency (JPY has none, BHD three).
  unit_price is Lineitem price. paid_amount = quantity * price - Lineitem discount - the line's
  share of the order-level discount. The order-level discount is Discount Amount less the sum of
  the order's Lineitem discounts, kept within 0 and the lines' net total. It is allocated
  cumulatively in proportion to each line's net (after its own discount), so the shares add up
  exactly and no line is paid less than 0. shipping_paid is the Shipping column (0 if absent).
* A line with an empty Lineitem sku gets the sku "NAME:" + its Lineitem name (whitespace
  collapsed, cut to 100 characters), so importing the same export again finds the same line.
  Two lines of one order with the same sku are rejected ("duplicate_sku").
* Category: a "Lineitem product type" or "Product Type" column if the file has one (Shopify's
  own export has neither), else "general". Serial numbers: none.
* Shipments: Shopify's export has no tracking-number column. If Fulfilled at is set, the order
  gets one shipment: carrier = Shipping Method (or "unknown"), tracking number = order number
  + "-1", shipped_at = Fulfilled at, delivered_at = None.
* Dates look like "2024-03-05 14:23:11 +0100"; ISO 8601 is accepted too. A date without a UTC
  offset is rejected ("naive_datetime").
* `RejectedRow.row` is the physical line (header = line 1) on which the record starts. It
  differs from a spreadsheet's row number only after a quoted field that spans lines (Shopify's
  Notes column can).
* Rows are grouped by order number wherever they are in the file (Shopify writes them
  together). An order is all or nothing: each bad row is reported once (its first problem) and
  none of the order's rows is imported.
* Bad row data never raises. Only a file whose header lacks a required column (or cannot be
  read) raises `ValidationFailed` with code "missing_column".
* The caller opens the file, ideally `open(path, encoding="utf-8-sig", newline="")`; a UTF-8
  byte order mark that still reaches the parser is dropped from the first header.

Rejection codes: malformed_row, wrong_column_count, missing_order_number, invalid_order_number,
duplicate_order, orphan_line, invalid_currency, missing_email, invalid_email, missing_market,
invalid_market, invalid_date, naive_datetime, missing_line, invalid_quantity, invalid_sku,
duplicate_sku, invalid_amount, invalid_discount. A row with the wrong number of columns is
reported on its own; if its Name can still be read, the rest of that order is not imported.
"""

from __future__ import annotations

import csv
import re
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING, TextIO

from returndesk.domain.errors import ValidationFailed
from returndesk.domain.money import Money, check_currency
from returndesk.domain.orders import check_market, check_order_number
from returndesk.domain.stores import normalize_email
from returndesk.services.imports import ImportReport, Rejection
from returndesk.services.orders import LineInput, OrderInput, ShipmentInput

if TYPE_CHECKING:
    from _csv import Reader

# Header names as Shopify writes them.
NAME = "Name"
EMAIL = "Email"
FINANCIAL_STATUS = "Financial Status"
FULFILLED_AT = "Fulfilled at"
CURRENCY = "Currency"
SUBTOTAL = "Subtotal"
TOTAL = "Total"
DISCOUNT_AMOUNT = "Discount Amount"
SHIPPING = "Shipping"
SHIPPING_METHOD = "Shipping Method"
CREATED_AT = "Created at"
LINEITEM_QUANTITY = "Lineitem quantity"
LINEITEM_NAME = "Lineitem name"
LINEITEM_PRICE = "Lineitem price"
LINEITEM_SKU = "Lineitem sku"
LINEITEM_DISCOUNT = "Lineitem discount"
BILLING_NAME = "Billing Name"
BILLING_COUNTRY = "Billing Country"
SHIPPING_NAME = "Shipping Name"
SHIPPING_COUNTRY = "Shipping Country"
# Not in Shopify's export; used when a merchant adds one.
PRODUCT_TYPE_COLUMNS = ("Lineitem product type", "Product Type")

REQUIRED_COLUMNS = (
    NAME,
    EMAIL,
    CURRENCY,
    CREATED_AT,
    DISCOUNT_AMOUNT,
    FULFILLED_AT,
    SHIPPING_COUNTRY,
    LINEITEM_QUANTITY,
    LINEITEM_NAME,
    LINEITEM_PRICE,
    LINEITEM_SKU,
    LINEITEM_DISCOUNT,
)
_OPTIONAL_COLUMNS = (
    FINANCIAL_STATUS,
    SUBTOTAL,
    TOTAL,
    SHIPPING,
    SHIPPING_METHOD,
    BILLING_NAME,
    BILLING_COUNTRY,
    SHIPPING_NAME,
    *PRODUCT_TYPE_COLUMNS,
)
# Only an order's first row has any of these; its other rows leave them all empty.
_ORDER_ROW_MARKERS = (CURRENCY, FINANCIAL_STATUS, SUBTOTAL, TOTAL)
_LINE_COLUMNS = (LINEITEM_QUANTITY, LINEITEM_NAME, LINEITEM_PRICE, LINEITEM_SKU)

_QUANTITY = re.compile(r"[0-9]{1,7}")
_DECIMAL = re.compile(r"-?[0-9]+(?:\.[0-9]+)?")
_SKU = re.compile(r"\S(?:.{0,98}\S)?")  # the rule of domain.orders.OrderLine
_MAX_QUANTITY = 100_000
_MAX_AMOUNT = 10**15  # minor units; far beyond any real order, well within a BIGINT
_SKU_MAX = 100


@dataclass(frozen=True, slots=True)
class RejectedRow:
    row: int  # 1-based line number in the file, the header is line 1
    order_number: str  # as imported (leading "#" removed); "" if unknown
    code: str  # stable snake_case code, see the module docstring
    message: str


@dataclass(frozen=True, slots=True)
class ParsedOrder:
    first_row: int
    order: OrderInput


@dataclass(slots=True)
class ShopifyImport:
    orders: list[ParsedOrder]
    rejected: list[RejectedRow]
    rows_read: int  # data rows (records) read, blank lines not counted


def parse_shopify_csv(
    text_stream: TextIO, *, on_row: Callable[[int], None] | None = None
) -> ShopifyImport:
    """Parse a Shopify order export. `on_row(n)` is called after each data row, n = rows so far.

    Raises ValidationFailed(code="missing_column") if a required column is missing; every problem
    in the data itself becomes a RejectedRow.
    """
    reader = csv.reader(text_stream)
    try:
        header = next(reader, [])
    except csv.Error as exc:
        raise ValidationFailed(
            f"the header row cannot be read as CSV: {exc}", code="missing_column", columns=[]
        ) from exc
    columns = _column_index(header)
    result = ShopifyImport(orders=[], rejected=[], rows_read=0)
    groups: dict[str, list[_Row]] = {}
    unreadable: set[str] = set()

    for start, record in _records(reader):
        result.rows_read += 1
        if on_row is not None:
            on_row(result.rows_read)
        if isinstance(record, csv.Error):
            result.rejected.append(
                RejectedRow(start, "", "malformed_row", f"the row cannot be read as CSV: {record}")
            )
            continue
        if len(record) != len(header):
            name_at = columns[NAME]
            number = _order_number(record[name_at]) if name_at < len(record) else ""
            if number:
                unreadable.add(number)
            result.rejected.append(
                RejectedRow(
                    start,
                    number[:100],
                    "wrong_column_count",
                    f"the row has {len(record)} columns, the header has {len(header)}",
                )
            )
            continue
        cells = {column: record[i].strip() for column, i in columns.items()}
        number = _order_number(cells[NAME])
        if not number:
            result.rejected.append(
                RejectedRow(start, "", "missing_order_number", "the row has no Name")
            )
            continue
        is_order_row = any(cells.get(column) for column in _ORDER_ROW_MARKERS)
        groups.setdefault(number, []).append(_Row(start, number, cells, is_order_row))

    for number, rows in groups.items():
        order, problems = _build_order(number, rows)
        result.rejected.extend(problems)
        if order is not None and number not in unreadable:
            result.orders.append(ParsedOrder(rows[0].row, order))
    result.rejected.sort(key=lambda rejected: rejected.row)
    return result


# --- reading -----------------------------------------------------------------------------------


@dataclass(slots=True)
class _Row:
    row: int
    number: str
    cells: dict[str, str]
    is_order_row: bool

    def get(self, column: str) -> str:
        return self.cells.get(column, "")


class _RowError(Exception):
    """One problem with one row; becomes a RejectedRow."""

    def __init__(self, code: str, message: str) -> None:
        super().__init__(message)
        self.code = code
        self.message = message


def _key(header: str) -> str:
    return " ".join(header.split()).casefold()


def _column_index(header: list[str]) -> dict[str, int]:
    positions: dict[str, int] = {}
    for i, name in enumerate(header):
        positions.setdefault(_key(name.lstrip("\ufeff") if i == 0 else name), i)
    missing = [column for column in REQUIRED_COLUMNS if _key(column) not in positions]
    if missing:
        raise ValidationFailed(
            "this is not a Shopify order export: missing column(s) " + ", ".join(missing),
            code="missing_column",
            columns=missing,
        )
    return {
        column: positions[_key(column)]
        for column in (*REQUIRED_COLUMNS, *_OPTIONAL_COLUMNS)
        if _key(column) in positions
    }


def _records(reader: Reader) -> Iterator[tuple[int, list[str] | csv.Error]]:
    """(first line, record or the CSV error) for each non-blank record after the header."""
    line_num = reader.line_num
    while True:
        start = line_num + 1
        try:
            record: list[str] | csv.Error = next(reader)
        except StopIteration:
            return
        except csv.Error as exc:
            record = exc
        progressed = reader.line_num != line_num
        line_num = reader.line_num
        if isinstance(record, csv.Error):
            yield start, record
            if not progressed:  # the reader cannot move past it; stop rather than spin
                return
        elif any(cell.strip() for cell in record):
            yield start, record


def _order_number(name: str) -> str:
    return name.strip().removeprefix("#").strip()


# --- building one order ------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class _Head:
    currency: str
    email: str
    market: str
    placed_at: datetime
    fulfilled_at: datetime | None
    discount: int
    shipping: int
    carrier: str
    buyer_name: str


@dataclass(frozen=True, slots=True)
class _Line:
    sku: str
    title: str
    quantity: int
    unit_price: int
    discount: int
    category: str

    @property
    def net(self) -> int:
        return self.quantity * self.unit_price - self.discount


def _build_order(number: str, rows: list[_Row]) -> tuple[OrderInput | None, list[RejectedRow]]:
    order_rows = [row for row in rows if row.is_order_row]
    if not order_rows:
        return None, [
            RejectedRow(
                row.row,
                number[:100],
                "orphan_line",
                f"no order row (with Currency) for {number} in the file",
            )
            for row in rows
        ]
    first = order_rows[0]
    problems: list[RejectedRow] = []
    failed: set[int] = set()

    def fail(row: _Row, bad: _RowError) -> None:
        problems.append(RejectedRow(row.row, number[:100], bad.code, bad.message))
        failed.add(row.row)

    for extra in order_rows[1:]:
        fail(
            extra,
            _RowError("duplicate_order", f"order {number} already starts on line {first.row}"),
        )
    head: _Head | None = None
    try:
        head = _parse_head(number, first)
    except _RowError as bad:
        fail(first, bad)

    lines: list[tuple[_Row, _Line]] = []
    for row in rows:
        if row.row in failed:
            continue
        try:
            lines.append((row, _parse_line(row, head.currency if head else None)))
        except _RowError as bad:
            fail(row, bad)
    seen: dict[str, int] = {}
    for row, line in lines:
        if line.sku in seen:
            fail(
                row,
                _RowError("duplicate_sku", f"sku {line.sku!r} is already on line {seen[line.sku]}"),
            )
        seen.setdefault(line.sku, row.row)
    if problems or head is None:
        return None, problems

    # Lineitem discounts are the lines' own; what Discount Amount has beyond them is spread.
    order_level = head.discount - sum(line.discount for _, line in lines)
    shares = _allocate(order_level, [line.net for _, line in lines])
    order = OrderInput(
        number=number,
        email=head.email,
        market=head.market,
        currency=head.currency,
        placed_at=head.placed_at,
        shipping_paid=head.shipping,
        lines=tuple(
            LineInput(
                sku=line.sku,
                title=line.title,
                quantity=line.quantity,
                unit_price=line.unit_price,
                paid_amount=line.net - share,
                category=line.category,
            )
            for (_, line), share in zip(lines, shares, strict=True)
        ),
        language=None,
        shipments=(
            (ShipmentInput(head.carrier, f"{number}-1", shipped_at=head.fulfilled_at),)
            if head.fulfilled_at is not None
            else ()
        ),
        buyer_name=head.buyer_name,
    )
    return order, []


def _allocate(amount: int, weights: Sequence[int]) -> list[int]:
    """Split `amount` over `weights` in proportion, cumulatively: the shares add up exactly.

    The amount is kept within 0 and sum(weights), so no share exceeds its weight.
    """
    total = sum(weights)
    amount = max(0, min(amount, total))
    if amount == 0:
        return [0] * len(weights)
    shares: list[int] = []
    running = given = 0
    for weight in weights:
        running += weight
        upto = amount * running // total
        shares.append(upto - given)
        given = upto
    return shares


def _parse_head(number: str, row: _Row) -> _Head:
    try:
        check_order_number(number)
    except ValidationFailed as exc:
        raise _RowError("invalid_order_number", f"Name {row.get(NAME)!r}: {exc.detail}") from None
    currency = row.get(CURRENCY).upper()
    if not currency:
        raise _RowError("invalid_currency", "Currency is empty")
    try:
        check_currency(currency)
    except ValidationFailed:
        raise _RowError(
            "invalid_currency", f"Currency {row.get(CURRENCY)!r} is not an ISO 4217 code"
        ) from None
    email = row.get(EMAIL)
    if not email:
        raise _RowError("missing_email", "Email is empty; a buyer needs it to open a return")
    try:
        email = normalize_email(email)
    except ValidationFailed:
        raise _RowError("invalid_email", f"Email {email!r} is not an email address") from None
    market = (row.get(SHIPPING_COUNTRY) or row.get(BILLING_COUNTRY)).upper()
    if not market:
        raise _RowError("missing_market", "neither Shipping Country nor Billing Country is set")
    try:
        check_market(market)
    except ValidationFailed:
        raise _RowError(
            "invalid_market", f"country {market!r} is not an ISO 3166-1 alpha-2 code"
        ) from None
    placed_at = _datetime(row, CREATED_AT)
    if placed_at is None:
        raise _RowError("invalid_date", f"{CREATED_AT} is empty")
    return _Head(
        currency=currency,
        email=email,
        market=market,
        placed_at=placed_at,
        fulfilled_at=_datetime(row, FULFILLED_AT),
        discount=_amount(row, DISCOUNT_AMOUNT, currency, required=False),
        shipping=_amount(row, SHIPPING, currency, required=False),
        carrier=row.get(SHIPPING_METHOD) or "unknown",
        buyer_name=row.get(BILLING_NAME) or row.get(SHIPPING_NAME),
    )


def _parse_line(row: _Row, currency: str | None) -> _Line:
    """One row's line item. With currency None (the order row is bad) amounts are only checked."""
    if not any(row.get(column) for column in _LINE_COLUMNS):
        raise _RowError("missing_line", "the row has no line item (Lineitem columns are empty)")
    text = row.get(LINEITEM_QUANTITY)
    if not _QUANTITY.fullmatch(text) or not 1 <= int(text) <= _MAX_QUANTITY:
        raise _RowError(
            "invalid_quantity",
            f"{LINEITEM_QUANTITY} {text!r} is not a whole number from 1 to {_MAX_QUANTITY}",
        )
    quantity = int(text)
    title = " ".join(row.get(LINEITEM_NAME).split())
    sku = row.get(LINEITEM_SKU)
    if not sku:
        if not title:
            raise _RowError("invalid_sku", f"both {LINEITEM_SKU} and {LINEITEM_NAME} are empty")
        sku = ("NAME:" + title)[:_SKU_MAX].rstrip()
    if not _SKU.fullmatch(sku):
        raise _RowError(
            "invalid_sku", f"{LINEITEM_SKU} {sku[:120]!r} is not a sku (1-100 characters)"
        )
    price = _amount(row, LINEITEM_PRICE, currency, required=True)
    discount = _amount(row, LINEITEM_DISCOUNT, currency, required=False)
    if quantity * price > _MAX_AMOUNT:
        raise _RowError("invalid_amount", "quantity times price is beyond any real order")
    if discount > quantity * price:
        raise _RowError(
            "invalid_discount", f"{LINEITEM_DISCOUNT} is more than quantity times {LINEITEM_PRICE}"
        )
    category = next((row.get(c) for c in PRODUCT_TYPE_COLUMNS if row.get(c)), "general")
    return _Line(sku, title, quantity, price, discount, category)


def _amount(row: _Row, column: str, currency: str | None, *, required: bool) -> int:
    """A non-negative amount in minor units; empty is 0 unless required."""
    text = row.get(column)
    if not text:
        if required:
            raise _RowError("invalid_amount", f"{column} is empty")
        return 0
    if not _DECIMAL.fullmatch(text):
        raise _RowError("invalid_amount", f"{column} {text!r} is not a number like 12.50")
    if text.startswith("-"):
        raise _RowError("invalid_amount", f"{column} {text!r} is negative")
    if currency is None:
        return 0
    try:
        amount = Money.from_decimal(text, currency).amount
    except ValidationFailed as exc:
        raise _RowError("invalid_amount", f"{column}: {exc.detail}") from None
    if amount > _MAX_AMOUNT:
        raise _RowError("invalid_amount", f"{column} {text!r} is beyond any real order")
    return amount


def _datetime(row: _Row, column: str) -> datetime | None:
    text = row.get(column)
    if not text:
        return None
    try:
        value = datetime.strptime(text, "%Y-%m-%d %H:%M:%S %z")
    except ValueError:
        try:
            value = datetime.fromisoformat(text)
        except ValueError:
            raise _RowError(
                "invalid_date",
                f"{column} {text!r} is not a date and time like 2024-03-05 14:23:11 +0100",
            ) from None
    if value.utcoffset() is None:
        raise _RowError("naive_datetime", f"{column} {text!r} has no UTC offset")
    return value


def start_report(parsed: ShopifyImport) -> ImportReport:
    """The import report, holding what the parser already refused."""
    return ImportReport(
        rows_read=parsed.rows_read,
        rejected=[Rejection(r.row, r.order_number, r.code, r.message) for r in parsed.rejected],
    )
