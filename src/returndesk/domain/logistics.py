"""What happens to a return's parcel and money: warehouse grades and dispositions, restock
counts, and refunds executed through a payment provider (docs/logistics.md)."""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum

from returndesk.domain.cases.status import ReceiptCondition
from returndesk.domain.errors import ValidationFailed


class Grade(StrEnum):
    """How a received unit looks to the warehouse."""

    resellable = "resellable"  # as new, back on the shelf
    open_box = "open_box"  # opened or used lightly: sold as open box
    damaged = "damaged"
    wrong_item = "wrong_item"  # not what was sold (another product came back)
    empty_box = "empty_box"  # the box came back without the product
    counterfeit_suspected = "counterfeit_suspected"  # not our unit: held for review


# The case line's condition (what the refund rules read) for each grade.
GRADE_CONDITION = {
    Grade.resellable: ReceiptCondition.intact,
    Grade.open_box: ReceiptCondition.intact,
    Grade.damaged: ReceiptCondition.damaged,
    Grade.wrong_item: ReceiptCondition.wrong_item,
    Grade.empty_box: ReceiptCondition.empty_box,
    Grade.counterfeit_suspected: ReceiptCondition.counterfeit_suspected,
}
# Grades that stop the refund and send the case to a person.
HOLDS_REFUND = frozenset({Grade.counterfeit_suspected, Grade.empty_box, Grade.wrong_item})


class Disposition(StrEnum):
    """Where a received unit goes next."""

    restock = "restock"
    refurbish = "refurbish"
    liquidate = "liquidate"
    dispose = "dispose"
    return_to_buyer = "return_to_buyer"
    hold = "hold"  # kept aside (evidence of a dispute): counterfeit or wrong items


# A grade's disposition when the warehouse names none.
DEFAULT_DISPOSITION = {
    Grade.resellable: Disposition.restock,
    Grade.open_box: Disposition.refurbish,
    Grade.damaged: Disposition.liquidate,
    Grade.wrong_item: Disposition.hold,
    Grade.empty_box: Disposition.hold,
    Grade.counterfeit_suspected: Disposition.hold,
}
# A counterfeit or wrong unit is evidence: it may not be restocked or sold on.
_NOT_SELLABLE = frozenset({Grade.counterfeit_suspected, Grade.wrong_item, Grade.empty_box})
_SELLING = frozenset({Disposition.restock, Disposition.refurbish, Disposition.liquidate})

# Which of the policy's resale estimates a disposition recovers (economics.resale_percent for
# stock sold as new, resale_percent_faulty for refurbished or liquidated units; nothing else).
RESALE = {
    Disposition.restock: "resale",
    Disposition.refurbish: "faulty",
    Disposition.liquidate: "faulty",
}


def recovered_value(
    lines: tuple[ReceivedLine, ...], unit_paid: dict[str, int], resale_bp: int, faulty_bp: int
) -> int:
    """What the graded units are worth again, in minor units (rounded down per line)."""
    total = 0
    for line in lines:
        kind = RESALE.get(line.disposition)
        if kind is None:
            continue
        bp = resale_bp if kind == "resale" else faulty_bp
        total += unit_paid.get(line.sku, 0) * line.quantity * bp // 10_000
    return total


_WAREHOUSE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{0,39}$")
_CODE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._/-]{0,63}$")


def check_warehouse(name: str) -> str:
    if not _WAREHOUSE.match(name):
        raise ValidationFailed(
            f"{name!r} is not a warehouse code (letters, digits, . _ -; up to 40)",
            code="invalid_warehouse",
        )
    return name


def clean_scan(code: str) -> str:
    """What a scanner gun or camera read, as a lookup code: trimmed; an RMA in upper case.

    Scanners add a newline or tab; QR codes on our labels carry the bare RMA."""
    value = code.strip()
    if not _CODE.match(value):
        raise ValidationFailed("that is not an RMA or tracking number", code="invalid_code")
    return value.upper() if value[:2].upper() == "R-" else value


@dataclass(frozen=True, slots=True)
class ReceivedLine:
    """Units of one sku that arrived, how they look, and where they go."""

    sku: str
    quantity: int
    grade: Grade
    disposition: Disposition
    checks: tuple[tuple[str, bool], ...] = ()  # the inspection checklist: (item, passed)

    @classmethod
    def of(
        cls,
        sku: str,
        quantity: int,
        grade: Grade,
        disposition: Disposition | None,
        checks: tuple[tuple[str, bool], ...] = (),
    ) -> ReceivedLine:
        if not 1 <= quantity <= 100_000:
            raise ValidationFailed(
                f"{sku}: a quantity is 1-100000", code="invalid_quantity", sku=sku
            )
        chosen = disposition or DEFAULT_DISPOSITION[grade]
        if grade in _NOT_SELLABLE and chosen in _SELLING:
            raise ValidationFailed(
                f"{sku}: a unit graded {grade.value} cannot be sold on ({chosen.value})",
                code="disposition_not_allowed",
                sku=sku,
                grade=grade.value,
                disposition=chosen.value,
            )
        failed = [item for item, passed in checks if not passed]
        if failed and grade is Grade.resellable:
            raise ValidationFailed(
                f"{sku}: a unit that failed a check ({', '.join(failed)}) is not as new",
                code="failed_check_resellable",
                sku=sku,
                failed=failed,
            )
        return cls(sku, quantity, grade, chosen, checks)

    @property
    def failed_checks(self) -> tuple[str, ...]:
        return tuple(item for item, passed in self.checks if not passed)

    def to_dict(self) -> dict[str, object]:
        out: dict[str, object] = {
            "sku": self.sku,
            "quantity": self.quantity,
            "grade": self.grade.value,
            "disposition": self.disposition.value,
        }
        if self.checks:
            out["checks"] = [{"item": item, "passed": passed} for item, passed in self.checks]
        return out


@dataclass(frozen=True, slots=True)
class Receipt:
    """One scan-and-grade at a warehouse: what came in for a case."""

    id: str
    store_id: str
    case_id: str
    warehouse: str
    lines: tuple[ReceivedLine, ...]
    received_by: str
    received_at: datetime
    note: str = ""

    @property
    def holds_refund(self) -> bool:
        return any(line.grade in HOLDS_REFUND for line in self.lines)


class RefundStatus(StrEnum):
    pending = "pending"  # written before the provider is called; a retry finishes it
    succeeded = "succeeded"
    failed = "failed"  # the provider refused or could not be reached: retry with the same key


@dataclass(slots=True)
class Refund:
    """Money sent back for a case, once: `key` (the caller's Idempotency-Key) names it."""

    id: str
    store_id: str
    case_id: str
    provider: str  # "manual" | "stripe" | ...
    kind: str  # "refund" | "store_credit"
    amount: int
    currency: str
    key: str
    status: RefundStatus
    created_by: str
    created_at: datetime
    updated_at: datetime
    reference: str = ""  # the provider's id, or what staff typed for a manual refund
    error_code: str = ""
    error: str = ""
    attempts: int = 0
    final: bool = True  # the last refund of the case: once paid, a decided case is refunded

    @property
    def counts(self) -> bool:
        """Whether it takes from what may still be refunded (failed ones do not)."""
        return self.status is not RefundStatus.failed
