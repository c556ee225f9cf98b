"""Orders as bought: lines with what was actually paid, and shipments."""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import datetime

from returndesk.domain.errors import ValidationFailed
from returndesk.domain.money import Money, check_currency

MARKET_LANGUAGES = {
    "US": "en", "GB": "en", "IE": "en", "AU": "en", "CA": "en", "NZ": "en",
    "BR": "pt-BR", "PT": "pt-BR", "JP": "ja", "DE": "de", "AT": "de", "CH": "de",
    "FR": "fr", "BE": "fr", "LU": "fr", "ES": "es", "MX": "es", "AR": "es", "CL": "es",
    "CO": "es", "CN": "zh", "TW": "zh", "HK": "zh",
}  # fmt: skip
SUPPORTED_LANGUAGES = ("en", "es", "pt-BR", "ja", "de", "fr", "zh")
_MARKET = re.compile(r"^[A-Z]{2}$")
_ORDER_NUMBER = re.compile(r"^[A-Za-z0-9#][A-Za-z0-9#._/-]{0,63}$")
_SKU = re.compile(r"^\S(.{0,98}\S)?$")


def check_market(market: str) -> str:
    if not _MARKET.match(market):
        raise ValidationFailed(
            f"{market!r} is not an ISO 3166-1 alpha-2 country", code="invalid_market"
        )
    return market


def check_language(language: str) -> str:
    if language not in SUPPORTED_LANGUAGES:
        raise ValidationFailed(
            f"{language!r} is not a supported language ({', '.join(SUPPORTED_LANGUAGES)})",
            code="unsupported_language",
        )
    return language


def check_order_number(number: str) -> str:
    if not _ORDER_NUMBER.match(number):
        raise ValidationFailed(f"{number!r} is not an order number", code="invalid_order_number")
    return number


def _aware(value: datetime | None, name: str) -> None:
    if value is not None and value.utcoffset() is None:
        raise ValidationFailed(f"{name} needs a time zone", code="naive_datetime")


@dataclass(slots=True)
class OrderLine:
    id: str
    sku: str
    title: str
    quantity: int
    unit_price: int  # minor units, list price per unit
    paid_amount: int  # minor units, for the whole line after allocated discounts
    category: str = "general"
    serial_numbers: tuple[str, ...] = ()

    def __post_init__(self) -> None:
        if not _SKU.match(self.sku):
            raise ValidationFailed(f"{self.sku!r} is not a sku", code="invalid_sku")
        if not 1 <= self.quantity <= 100_000:
            raise ValidationFailed(
                "a line's quantity is 1-100000", code="invalid_quantity", sku=self.sku
            )
        if self.unit_price < 0 or self.paid_amount < 0:
            raise ValidationFailed("amounts cannot be negative", code="invalid_money", sku=self.sku)
        if self.paid_amount > self.unit_price * self.quantity:
            raise ValidationFailed(
                "the paid amount cannot exceed quantity times unit price",
                code="paid_exceeds_price",
                sku=self.sku,
            )
        if len(self.serial_numbers) > self.quantity:
            raise ValidationFailed(
                "more serial numbers than units", code="invalid_serials", sku=self.sku
            )


@dataclass(slots=True)
class Shipment:
    id: str
    carrier: str
    tracking_number: str
    shipped_at: datetime | None = None
    delivered_at: datetime | None = None

    def __post_init__(self) -> None:
        _aware(self.shipped_at, "shipped_at")
        _aware(self.delivered_at, "delivered_at")
        if self.shipped_at and self.delivered_at and self.delivered_at < self.shipped_at:
            raise ValidationFailed("delivered before it was shipped", code="invalid_shipment")


@dataclass(slots=True)
class Order:
    id: str
    store_id: str
    number: str
    email: str
    market: str
    currency: str
    language: str
    placed_at: datetime
    lines: list[OrderLine] = field(default_factory=list)
    shipments: list[Shipment] = field(default_factory=list)
    buyer_name: str = ""
    shipping_paid: int = 0  # minor units paid for standard outbound delivery
    # How the buyer paid: the provider ("stripe", "shopify", "manual", "") and its id for the
    # payment (a Stripe PaymentIntent, a Shopify order id): what a refund is sent against.
    payment_provider: str = ""
    payment_reference: str = ""

    def __post_init__(self) -> None:
        check_order_number(self.number)
        if len(self.payment_provider) > 40 or len(self.payment_reference) > 200:
            raise ValidationFailed("the payment reference is too long", code="invalid_payment")
        if not 0 <= self.shipping_paid <= 10**12:
            raise ValidationFailed("shipping paid is 0 or more", code="invalid_money")
        check_market(self.market)
        check_currency(self.currency)
        check_language(self.language)
        _aware(self.placed_at, "placed_at")
        if not self.lines:
            raise ValidationFailed("an order needs at least one line", code="empty_order")
        skus = [line.sku for line in self.lines]
        if len(set(skus)) != len(skus):
            raise ValidationFailed("each sku appears once per order", code="duplicate_sku")

    def line_by_sku(self, sku: str) -> OrderLine:
        for line in self.lines:
            if line.sku == sku:
                return line
        raise ValidationFailed(
            f"sku {sku!r} is not on order {self.number}", code="unknown_sku", sku=sku
        )

    @property
    def delivered_at(self) -> datetime | None:
        """When the last parcel arrived (EU law counts from the last item); None until all did."""
        if not self.shipments or any(s.delivered_at is None for s in self.shipments):
            return None
        return max(s.delivered_at for s in self.shipments if s.delivered_at is not None)

    def paid(self, line: OrderLine) -> Money:
        return Money(line.paid_amount, self.currency)

    @property
    def total_paid(self) -> Money:
        return Money(sum(line.paid_amount for line in self.lines), self.currency)
