"""Case statuses, each documented in one line."""

from __future__ import annotations

from enum import StrEnum


class CaseStatus(StrEnum):
    requested = "requested"  # the buyer (or an agent for them) filed the return
    under_review = "under_review"  # a person is looking at it
    needs_evidence = "needs_evidence"  # waiting on the buyer for photos/video/details
    escalated = "escalated"  # handed to a supervisor (dispute, fraud suspicion, appeal)
    approved = "approved"  # the return is accepted; the next step depends on the resolution
    declined = "declined"  # the return is refused, with a reason
    awaiting_return = "awaiting_return"  # the buyer has to send the item back
    in_transit = "in_transit"  # the carrier has the parcel
    partially_received = "partially_received"  # some units arrived; the rest are still due
    received = "received"  # every unit expected arrived at the warehouse
    inspected = "inspected"  # the warehouse graded what arrived
    refund_pending = "refund_pending"  # the refund is decided and waiting to be paid
    refunded = "refunded"  # the money went back to the buyer
    exchange_shipped = "exchange_shipped"  # the replacement is on its way
    resolved_without_return = "resolved_without_return"  # guidance or a fix settled it
    closed = "closed"  # nothing left to do
    canceled = "canceled"  # withdrawn by the buyer or voided by staff before completion


TERMINAL = frozenset({CaseStatus.closed, CaseStatus.canceled})
# While a case is in one of these, its units are not available to another return.
RELEASES_QUANTITY = frozenset({CaseStatus.canceled, CaseStatus.declined})


class Resolution(StrEnum):
    refund = "refund"
    exchange = "exchange"
    store_credit = "store_credit"
    repair = "repair"  # repair or help: fix it, or show the buyer how


class ReceiptCondition(StrEnum):
    """What the warehouse saw when a unit arrived."""

    intact = "intact"
    damaged = "damaged"
    wrong_item = "wrong_item"
    empty_box = "empty_box"
    counterfeit_suspected = "counterfeit_suspected"
