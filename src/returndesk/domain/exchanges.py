"""Exchanges executed: the replacement order of a return, and the card hold of an instant one.

A return resolved as an exchange ends with a replacement order. A plain exchange is ordered
once the returned parcel is in (received or inspected); an instant exchange ships before the
parcel arrives, secured by a hold on the buyer's card for the value of the returned units: the
hold is released when a carrier or the warehouse scans the parcel, and captured when the
parcel is not sent in time. The store creates the order through its adapter (Shopify), or,
for a store without one, staff export the exchanges to ship and record the order they made.
docs/logistics.md.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum

from returndesk.domain.cases.status import CaseStatus
from returndesk.domain.errors import ValidationFailed

EXPORT = "export"  # no store adapter: staff create the order in their shop system
_SKU = re.compile(r"^\S(.{0,98}\S)?$")  # as an order line's sku

# A plain exchange is ordered once the parcel is in; an instant one before it is scanned.
PLAIN_FROM = frozenset({CaseStatus.inspected})
# Where an exchange stops: the return ended another way (or a person reviews it).
ENDED = frozenset(
    {
        CaseStatus.canceled,
        CaseStatus.declined,
        CaseStatus.closed,
        CaseStatus.refund_pending,
        CaseStatus.refunded,
        CaseStatus.resolved_without_return,
    }
)
# A run of an exchange holds it this long; a run that died is taken over after it.
RUN_SECONDS = 120
INSTANT_FROM = frozenset({CaseStatus.approved, CaseStatus.awaiting_return})


class ExchangeStatus(StrEnum):
    pending = "pending"  # written before the store (or the card hold) is asked; a retry ends it
    to_ship = "to_ship"  # no store adapter: waits for staff to create the order and record it
    ordered = "ordered"  # the store has the replacement order
    failed = "failed"  # the store or the card hold refused or could not be reached: retry


class HoldStatus(StrEnum):
    none = "none"  # a plain exchange: nothing held
    pending = "pending"  # being authorised
    authorised = "authorised"  # held on the buyer's card until the parcel is scanned
    released = "released"  # the parcel was scanned: the hold is let go
    captured = "captured"  # the parcel was not sent in time: the held money was taken
    failed = "failed"  # the authorisation was refused (the exchange is not made)


@dataclass(frozen=True, slots=True)
class ExchangeLine:
    sku: str  # the returned unit
    quantity: int
    replacement_sku: str  # what the buyer gets instead (another size or colour)
    title: str = ""

    def __post_init__(self) -> None:
        if not _SKU.match(self.replacement_sku):
            raise ValidationFailed(
                "a replacement sku is 1-100 characters, no spaces at either end",
                code="invalid_replacement_sku",
                sku=self.sku,
            )
        if not 1 <= self.quantity <= 100_000:
            raise ValidationFailed(
                "the quantity is 1 to 100000", code="invalid_quantity", sku=self.sku
            )


@dataclass(slots=True)
class Exchange:
    """One per case: its replacement order and, for an instant exchange, the card hold."""

    id: str
    store_id: str
    case_id: str
    lines: tuple[ExchangeLine, ...]
    instant: bool
    channel: str  # the store adapter's name ("shopify") or EXPORT
    status: ExchangeStatus
    currency: str
    created_by: str
    created_at: datetime
    updated_at: datetime
    order_reference: str = ""  # the store's id of the replacement order
    order_name: str = ""  # what people call it ("#1002")
    hold_provider: str = ""
    hold_status: HoldStatus = HoldStatus.none
    hold_reference: str = ""
    hold_amount: int = 0
    error_code: str = ""
    error: str = ""
    attempts: int = 0
    hold_tries: int = 0  # holds refused for good: the next try is a new one, with a new key

    @property
    def ordered(self) -> bool:
        return self.status is ExchangeStatus.ordered

    @property
    def hold_key(self) -> str:
        """The provider's idempotency key of the hold: the same across retries of one try (a
        timeout), a new one after a refusal (a declined card replays its decline otherwise)."""
        suffix = f"-{self.hold_tries}" if self.hold_tries else ""
        return f"returndesk-hold-{self.id}{suffix}"

    @property
    def needs_hold(self) -> bool:
        return self.instant and self.hold_status in (HoldStatus.pending, HoldStatus.failed)

    @property
    def hold_open(self) -> bool:
        """Money is held on the buyer's card and waits for the parcel."""
        return self.hold_status is HoldStatus.authorised

    def same_lines(self, lines: tuple[ExchangeLine, ...]) -> bool:
        key = sorted((ln.sku, ln.quantity, ln.replacement_sku) for ln in lines)
        return key == sorted((ln.sku, ln.quantity, ln.replacement_sku) for ln in self.lines)


def exchange_window(instant: bool) -> frozenset[CaseStatus]:
    """The case statuses at which an exchange of this kind may be ordered."""
    return INSTANT_FROM if instant else PLAIN_FROM
