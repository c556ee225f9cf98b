"""Money as integer minor units with an ISO 4217 currency, and the refund bound."""

from __future__ import annotations

import re
from dataclasses import dataclass
from decimal import Decimal

from returndesk.domain.errors import ValidationFailed

# ISO 4217 active codes; the exponent is 2 unless listed below.
_CODES = frozenset(
    """
    AED AFN ALL AMD ANG AOA ARS AUD AWG AZN BAM BBD BDT BGN BHD BIF BMD BND BOB BRL BSD BTN BWP
    BYN BZD CAD CDF CHF CLP CNY COP CRC CUP CVE CZK DJF DKK DOP DZD EGP ERN ETB EUR FJD FKP GBP
    GEL GHS GIP GMD GNF GTQ GYD HKD HNL HTG HUF IDR ILS INR IQD IRR ISK JMD JOD JPY KES KGS KHR
    KMF KPW KRW KWD KYD KZT LAK LBP LKR LRD LSL LYD MAD MDL MGA MKD MMK MNT MOP MRU MUR MVR MWK
    MXN MYR MZN NAD NGN NIO NOK NPR NZD OMR PAB PEN PGK PHP PKR PLN PYG QAR RON RSD RUB RWF SAR
    SBD SCR SDG SEK SGD SHP SLE SOS SRD SSP STN SVC SYP SZL THB TJS TMT TND TOP TRY TTD TWD TZS
    UAH UGX USD UYU UZS VES VND VUV WST XAF XCD XOF XPF YER ZAR ZMW ZWL
    """.split()  # noqa: SIM905
)
_EXPONENTS = {
    "BHD": 3, "IQD": 3, "JOD": 3, "KWD": 3, "LYD": 3, "OMR": 3, "TND": 3,
    "BIF": 0, "CLP": 0, "DJF": 0, "GNF": 0, "ISK": 0, "JPY": 0, "KMF": 0, "KRW": 0, "PYG": 0,
    "RWF": 0, "UGX": 0, "VND": 0, "VUV": 0, "XAF": 0, "XOF": 0, "XPF": 0,
}  # fmt: skip


# Plain ASCII decimals only: no exponents, digit separators or other scripts' digits.
_AMOUNT = re.compile(r"^[+-]?[0-9]{1,18}(\.[0-9]{1,6})?$")


def check_currency(code: str) -> str:
    """Return the code if it is an active ISO 4217 currency, else raise."""
    if code not in _CODES:
        raise ValidationFailed(
            f"{code!r} is not an ISO 4217 currency code", code="invalid_currency", currency=code
        )
    return code


def minor_unit_exponent(currency: str) -> int:
    return _EXPONENTS.get(check_currency(currency), 2)


@dataclass(frozen=True, slots=True)
class Money:
    """An amount in the currency's minor unit (cents, yen, fils)."""

    amount: int
    currency: str

    def __post_init__(self) -> None:
        if isinstance(self.amount, bool) or not isinstance(self.amount, int):
            raise ValidationFailed(
                "money amounts are integers in minor units", code="invalid_money"
            )
        check_currency(self.currency)

    @classmethod
    def zero(cls, currency: str) -> Money:
        return cls(0, currency)

    @classmethod
    def from_decimal(cls, value: str | Decimal, currency: str) -> Money:
        """Parse a major-unit decimal string ("12.50") exactly; refuse sub-minor precision."""
        exponent = minor_unit_exponent(currency)
        text = str(value).strip()
        if not _AMOUNT.match(text):
            raise ValidationFailed(f"{value!r} is not an amount", code="invalid_money")
        scaled = Decimal(text).scaleb(exponent)
        if scaled != scaled.to_integral_value():
            raise ValidationFailed(
                f"{value!r} has more decimals than {currency} allows", code="invalid_money"
            )
        return cls(int(scaled), currency)

    def to_decimal(self) -> Decimal:
        return Decimal(self.amount).scaleb(-minor_unit_exponent(self.currency))

    def _same(self, other: Money) -> None:
        if other.currency != self.currency:
            raise ValidationFailed(
                f"cannot combine {self.currency} with {other.currency}", code="currency_mismatch"
            )

    def __add__(self, other: Money) -> Money:
        self._same(other)
        return Money(self.amount + other.amount, self.currency)

    def __sub__(self, other: Money) -> Money:
        self._same(other)
        return Money(self.amount - other.amount, self.currency)

    def __le__(self, other: Money) -> bool:
        self._same(other)
        return self.amount <= other.amount

    def __lt__(self, other: Money) -> bool:
        self._same(other)
        return self.amount < other.amount


def prorated_share(paid: int, bought: int, already: int, returning: int) -> int:
    """The part of a line's paid amount that belongs to `returning` more units.

    Allocates cumulatively (floor of paid * k / bought at each boundary), so any sequence of
    partial refunds of one line adds up to at most what was paid, and to exactly what was paid
    once every unit is returned. Nothing is lost or invented by rounding.
    """
    if bought <= 0 or paid < 0:
        raise ValidationFailed(
            "a line needs a positive quantity and a paid amount", code="invalid_line"
        )
    if already < 0 or returning < 0 or already + returning > bought:
        raise ValidationFailed(
            "cannot return more units than were bought",
            code="quantity_exceeds_purchased",
            bought=bought,
            already=already,
            returning=returning,
        )
    return paid * (already + returning) // bought - paid * already // bought


def check_refund_within_paid(refund: Money, paid: Money, already_refunded: Money) -> None:
    """A refund can never exceed what was paid for a line, counting earlier refunds."""
    if refund.amount < 0:
        raise ValidationFailed("a refund cannot be negative", code="invalid_refund")
    if paid < already_refunded + refund:
        raise ValidationFailed(
            "the refund exceeds what was paid",
            code="refund_exceeds_paid",
            paid=paid.amount,
            already_refunded=already_refunded.amount,
            requested=refund.amount,
        )
