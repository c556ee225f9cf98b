"""Carrier tracking events for a return parcel, and how each moves the case."""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum

from returndesk.domain.cases.status import CaseStatus
from returndesk.domain.errors import ValidationFailed


class CarrierStatus(StrEnum):
    """A carrier's scan of the return parcel, in the documented webhook and CSV shape."""

    label_created = "label_created"  # the label exists; the parcel is not with the carrier yet
    accepted = "accepted"  # dropped off or picked up: the carrier has it
    in_transit = "in_transit"
    out_for_delivery = "out_for_delivery"
    delivered = "delivered"  # at the return address
    exception = "exception"  # delayed, damaged, address problem: staff look
    returned_to_sender = "returned_to_sender"  # back to the buyer: it never arrived


# Where each scan takes a case that is still behind it (later scans never move it back).
TARGET = {
    CarrierStatus.accepted: CaseStatus.in_transit,
    CarrierStatus.in_transit: CaseStatus.in_transit,
    CarrierStatus.out_for_delivery: CaseStatus.in_transit,
    CarrierStatus.delivered: CaseStatus.received,
}
# A parcel's progress: a scan moves the case only forward along this order.
PROGRESS = (CaseStatus.awaiting_return, CaseStatus.in_transit, CaseStatus.received)

_TRACKING = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._/-]{2,63}$")
_CARRIER = re.compile(r"^[\w .&-]{1,60}$")


def check_tracking(number: str) -> str:
    value = number.strip()
    if not _TRACKING.match(value):
        raise ValidationFailed(
            "a tracking number is 3-64 letters, digits and . _ / -", code="invalid_tracking_number"
        )
    return value


def check_carrier(name: str) -> str:
    value = name.strip()
    if not _CARRIER.match(value):
        raise ValidationFailed("name the carrier (up to 60 characters)", code="invalid_carrier")
    return value


def move_for(status: CarrierStatus, case_status: CaseStatus) -> CaseStatus | None:
    """The status a scan moves the case to, or None (no move: behind, or not a parcel scan)."""
    target = TARGET.get(status)
    if target is None or case_status not in PROGRESS:
        return None
    if PROGRESS.index(target) <= PROGRESS.index(case_status):
        return None
    return target


@dataclass(frozen=True, slots=True)
class CarrierEvent:
    id: str
    store_id: str
    case_id: str
    tracking_number: str
    carrier: str
    status: CarrierStatus
    occurred_at: datetime
    location: str
    received_at: datetime
