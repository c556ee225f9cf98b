"""What the engine is asked, and the explained decision it gives back."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, datetime
from enum import StrEnum
from typing import Any

from returndesk.domain.cases.reasons import ReasonCode
from returndesk.domain.cases.status import Resolution
from returndesk.domain.orders import Order, OrderLine, Shipment
from returndesk.domain.policy.law import Payer


class Outcome(StrEnum):
    approve_return = "approve_return"  # send it back; refund/exchange follows
    approve_returnless = "approve_returnless"  # keep the item; refund without a return
    offer_exchange = "offer_exchange"  # another variant instead of the money
    request_evidence = "request_evidence"  # a photo, unboxing video or inspection call first
    human_review = "human_review"  # a person decides
    decline = "decline"  # refused, with a reason code


class DeclineReason(StrEnum):
    window_ended = "window_ended"
    final_sale = "final_sale"
    non_returnable = "non_returnable"  # a category the law exempts (hygiene, custom-made)
    blocked = "blocked"  # email, order or product on the store's block list
    not_delivered = "not_delivered"  # nothing arrived yet that could be returned
    store_rule = "store_rule"  # a store rule declined it


class Responsibility(StrEnum):
    seller = "seller"  # defect, wrong item, not as described
    carrier = "carrier"  # damaged or lost in transit
    buyer = "buyer"  # remorse, misuse
    fraud_suspected = "fraud_suspected"


class EvidenceKind(StrEnum):
    photo = "photo"
    unboxing_video = "unboxing_video"
    inspection_call = "inspection_call"


class RefundTiming(StrEnum):
    at_drop_off = "at_drop_off"
    in_transit = "in_transit"
    on_receipt = "on_receipt"
    after_inspection = "after_inspection"


class Right(StrEnum):
    """Why a line may come back at all."""

    withdrawal = "withdrawal"  # statutory change-of-mind right
    statutory_fault = "statutory_fault"  # statutory right for faulty goods
    store_change_of_mind = "store_change_of_mind"
    store_fault = "store_fault"
    carrier_claim = "carrier_claim"  # never arrived


@dataclass(frozen=True, slots=True)
class ClaimLine:
    """One line of a return as the engine sees it."""

    sku: str
    category: str
    quantity: int
    amount: int  # this return's share of what was paid for the line, minor units
    reason: ReasonCode


@dataclass(frozen=True, slots=True)
class BuyerHistory:
    """The buyer's earlier returns within the policy's look-back period."""

    returns: int = 0
    refunded: int = 0  # minor units in the order's currency


@dataclass(frozen=True, slots=True)
class DecisionRequest:
    order: Order
    lines: tuple[ClaimLine, ...]
    requested_at: datetime
    preferred_resolution: Resolution = Resolution.refund
    history: BuyerHistory = BuyerHistory()
    evidence: frozenset[EvidenceKind] = frozenset()
    findings: frozenset[str] = frozenset()  # e.g. defect_confirmed, damage_by_buyer
    whole_order: bool = False  # every unit of the order comes back (outbound shipping refund)


@dataclass(frozen=True, slots=True)
class Reason:
    """One rule that fired, in the order the engine applied them."""

    code: str
    detail: str
    rule: str | None = None  # a store rule's id
    basis: str | None = None  # the legal basis, when the law decided
    sku: str | None = None

    def to_dict(self) -> dict[str, Any]:
        out: dict[str, Any] = {"code": self.code, "detail": self.detail}
        for key in ("rule", "basis", "sku"):
            if getattr(self, key) is not None:
                out[key] = getattr(self, key)
        return out


@dataclass(frozen=True, slots=True)
class RefundItem:
    kind: str  # line | outbound_shipping | restocking_fee | return_shipping
    amount: int  # signed minor units: deductions are negative
    sku: str | None = None

    def to_dict(self) -> dict[str, Any]:
        out: dict[str, Any] = {"kind": self.kind, "amount": self.amount}
        if self.sku is not None:
            out["sku"] = self.sku
        return out


@dataclass(frozen=True, slots=True)
class Decision:
    outcome: Outcome
    decline_reason: DeclineReason | None
    responsibility: Responsibility
    refund_amount: int
    currency: str
    breakdown: tuple[RefundItem, ...]
    return_shipping_paid_by: Payer
    legal_basis: tuple[str, ...]
    reasons: tuple[Reason, ...]
    policy_version: int
    evidence_requested: EvidenceKind | None = None
    refund_timing: RefundTiming = RefundTiming.on_receipt
    refund_automatic: bool = False  # the store refunds by itself at `refund_timing`
    store_credit_bonus: int = 0  # extra credit when the buyer takes store credit, not cash
    return_address: dict[str, Any] | None = None
    rights: dict[str, str] = field(default_factory=dict)  # sku -> Right
    inputs: dict[str, Any] = field(default_factory=dict)  # what was decided on: see snapshot()

    def to_dict(self) -> dict[str, Any]:
        return {
            "outcome": self.outcome.value,
            "decline_reason": self.decline_reason.value if self.decline_reason else None,
            "responsibility": self.responsibility.value,
            "refund": {
                "amount": self.refund_amount,
                "currency": self.currency,
                "breakdown": [item.to_dict() for item in self.breakdown],
                "timing": self.refund_timing.value,
                "automatic": self.refund_automatic,
                "store_credit_bonus": self.store_credit_bonus,
            },
            "return_shipping_paid_by": self.return_shipping_paid_by.value,
            "evidence_requested": (
                self.evidence_requested.value if self.evidence_requested else None
            ),
            "legal_basis": list(self.legal_basis),
            "reasons": [r.to_dict() for r in self.reasons],
            "rights": dict(self.rights),
            "return_address": self.return_address,
            "policy_version": self.policy_version,
            "inputs": self.inputs,
        }


def _utc(moment: datetime) -> str:
    return moment.astimezone(UTC).isoformat()


def snapshot(request: DecisionRequest) -> dict[str, Any]:
    """Everything decide() reads from a request, as data: stored with the decision so that it
    can be replayed later against the same policy version, whatever happened to the order."""
    order = request.order
    return {
        "requested_at": _utc(request.requested_at),
        "preferred_resolution": request.preferred_resolution.value,
        "history": {"returns": request.history.returns, "refunded": request.history.refunded},
        "evidence": sorted(kind.value for kind in request.evidence),
        "findings": sorted(request.findings),
        "whole_order": request.whole_order,
        "order": {
            "number": order.number,
            "email": order.email,
            "market": order.market,
            "currency": order.currency,
            "language": order.language,
            "placed_at": _utc(order.placed_at),
            "shipping_paid": order.shipping_paid,
            "deliveries": [
                _utc(s.delivered_at) if s.delivered_at else None for s in order.shipments
            ],
            "lines": [
                {"sku": ln.sku, "quantity": ln.quantity, "paid_amount": ln.paid_amount,
                 "unit_price": ln.unit_price, "category": ln.category}
                for ln in order.lines
            ],
        },
        "lines": [
            {"sku": ln.sku, "category": ln.category, "quantity": ln.quantity,
             "amount": ln.amount, "reason": ln.reason.value}
            for ln in request.lines
        ],
    }  # fmt: skip


def from_snapshot(data: dict[str, Any]) -> DecisionRequest:
    """The request a stored snapshot describes (the inverse of snapshot())."""
    o = data["order"]
    placed = datetime.fromisoformat(o["placed_at"])
    order = Order(
        id="snapshot",
        store_id="snapshot",
        number=o["number"],
        email=o["email"],
        market=o["market"],
        currency=o["currency"],
        language=o["language"],
        placed_at=placed,
        shipping_paid=int(o["shipping_paid"]),
        lines=[
            OrderLine(f"l{i}", ln["sku"], ln["sku"], int(ln["quantity"]), int(ln["unit_price"]),
                      int(ln["paid_amount"]), ln["category"])
            for i, ln in enumerate(o["lines"])
        ],
        shipments=[
            Shipment(f"s{i}", "snapshot", f"s{i}", placed,
                     datetime.fromisoformat(d) if d else None)
            for i, d in enumerate(o["deliveries"])
        ],
    )  # fmt: skip
    return DecisionRequest(
        order=order,
        lines=tuple(
            ClaimLine(
                ln["sku"],
                ln["category"],
                int(ln["quantity"]),
                int(ln["amount"]),
                ReasonCode(ln["reason"]),
            )
            for ln in data["lines"]
        ),
        requested_at=datetime.fromisoformat(data["requested_at"]),
        preferred_resolution=Resolution(data["preferred_resolution"]),
        history=BuyerHistory(int(data["history"]["returns"]), int(data["history"]["refunded"])),
        evidence=frozenset(EvidenceKind(k) for k in data["evidence"]),
        findings=frozenset(data["findings"]),
        whole_order=bool(data["whole_order"]),
    )
