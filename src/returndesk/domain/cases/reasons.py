"""The return reason list: a two-level hierarchy of stable codes. Labels live in the catalogue."""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum

from returndesk.domain.errors import ValidationFailed


class ReasonCode(StrEnum):
    changed_mind = "changed_mind"
    wrong_size = "wrong_size"
    not_as_described = "not_as_described"
    color_differs = "color_differs"
    damaged_in_transit = "damaged_in_transit"
    defective = "defective"
    wrong_item = "wrong_item"
    missing_parts = "missing_parts"
    not_received = "not_received"
    arrived_late = "arrived_late"
    counterfeit_suspected = "counterfeit_suspected"
    other = "other"


@dataclass(frozen=True, slots=True)
class ReasonGroup:
    code: str
    reasons: tuple[ReasonCode, ...]


REASON_TREE: tuple[ReasonGroup, ...] = (
    ReasonGroup(
        "preference", (ReasonCode.changed_mind, ReasonCode.wrong_size, ReasonCode.arrived_late)
    ),
    ReasonGroup(
        "not_as_expected",
        (ReasonCode.not_as_described, ReasonCode.color_differs, ReasonCode.counterfeit_suspected),
    ),
    ReasonGroup(
        "damaged_or_faulty",
        (ReasonCode.defective, ReasonCode.damaged_in_transit, ReasonCode.missing_parts),
    ),
    ReasonGroup("delivery_problem", (ReasonCode.wrong_item, ReasonCode.not_received)),
    ReasonGroup("other", (ReasonCode.other,)),
)

# Seller or carrier at fault: the longer fault window applies, and final sale does not bar it.
FAULT_REASONS = frozenset(
    {
        ReasonCode.not_as_described,
        ReasonCode.damaged_in_transit,
        ReasonCode.defective,
        ReasonCode.wrong_item,
        ReasonCode.missing_parts,
        ReasonCode.not_received,
        ReasonCode.counterfeit_suspected,
    }
)


def parse_reason(value: str) -> ReasonCode:
    try:
        return ReasonCode(value)
    except ValueError:
        raise ValidationFailed(
            f"{value!r} is not a reason code",
            code="unknown_reason",
            allowed=[r.value for r in ReasonCode],
        ) from None
