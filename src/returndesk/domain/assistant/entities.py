"""What a message mentions: order numbers, emails, tracking numbers, skus. Pure regexes."""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass

_EMAIL = re.compile(r"[A-Za-z0-9._%+-]+@[A-Za-z0-9-]+(?:\.[A-Za-z0-9-]+)*\.[A-Za-z]{2,24}")
# Carrier formats: UPS 1Z…, UPU S10 (LX123456789CN), USPS 20-22 digits, and long digit runs
# written next to a tracking word. Checked before order numbers so they are not taken for one.
_TRACKING = (
    re.compile(r"\b1Z[0-9A-Z]{16}\b"),
    re.compile(r"\b[A-Z]{2}\d{9}[A-Z]{2}\b"),
    re.compile(r"\b9\d{19,21}\b"),
    re.compile(
        r"(?i)(?:tracking|seguimiento|rastreio|rastreamento|suivi|sendungsnummer|"
        r"追跡番号|追踪|运单|快递单)\D{0,20}?([0-9A-Z]{10,30})\b"
    ),
)
# "#10234", "order 10234", "pedido A-55812", "注文番号 10234", or a standalone "A-55812".
_ORDER_WORD = (
    r"(?:order|commande|pedido|encomenda|bestellung|auftrag|ordine|注文|订单|訂單|"
    r"order number|número de pedido|numero de commande|bestellnummer|注文番号|订单号)"
)
_ORDER = (
    re.compile(r"#\s?([A-Za-z0-9][A-Za-z0-9._/-]{1,40})"),
    re.compile(
        _ORDER_WORD + r"(?:\s*(?:no\.?|nr\.?|n[°º]|number|número|numéro|番号|号))?"
        r"[\s:：#]*([A-Za-z]{0,4}-?\d[\dA-Za-z-]{2,30})",
        re.IGNORECASE,
    ),
    re.compile(r"(?<![\w@.-])([A-Z]{1,4}-\d{3,12})(?![\w-])"),
)


@dataclass(frozen=True, slots=True)
class Mentions:
    order_numbers: tuple[str, ...] = ()
    emails: tuple[str, ...] = ()
    tracking_numbers: tuple[str, ...] = ()
    skus: tuple[str, ...] = ()

    def as_dict(self) -> dict[str, list[str]]:
        return {
            "order_numbers": list(self.order_numbers),
            "emails": list(self.emails),
            "tracking_numbers": list(self.tracking_numbers),
            "skus": list(self.skus),
        }


def _unique(values: Iterable[str]) -> tuple[str, ...]:
    return tuple(dict.fromkeys(v for v in values if v))


def extract(text: str, known_skus: Iterable[str] = ()) -> Mentions:
    """Everything a message names. Skus are only those of the buyer's order (known_skus)."""
    text = text[:4000]
    emails = _unique(m.group(0).lower() for m in _EMAIL.finditer(text))
    rest = _EMAIL.sub(" ", text)
    tracking: list[str] = []
    for pattern in _TRACKING:
        for match in pattern.finditer(rest):
            tracking.append(match.group(match.lastindex or 0))
    for number in tracking:
        rest = rest.replace(number, " ")
    orders: list[str] = []
    for pattern in _ORDER:
        for match in pattern.finditer(rest):
            orders.append(match.group(1).rstrip(".-/"))
    folded = text.casefold()
    skus = [sku for sku in known_skus if len(sku) >= 3 and sku.casefold() in folded]
    return Mentions(_unique(orders), emails, _unique(tracking), _unique(skus))


_BARE_ORDER = re.compile(r"(?<![\w@.-])#?([A-Za-z]{0,4}-?\d[\dA-Za-z-]{2,30})(?![\w@-])")


def answer_as_order_number(text: str, mentions: Mentions) -> Mentions:
    """When the assistant asked for the order number, a bare "1001" is one."""
    if mentions.order_numbers:
        return mentions
    rest = _EMAIL.sub(" ", text[:4000])
    found = [m.group(1) for m in _BARE_ORDER.finditer(rest)]
    found = [f for f in found if f not in mentions.tracking_numbers]
    if not found:
        return mentions
    return Mentions((found[0],), mentions.emails, mentions.tracking_numbers, mentions.skus)
