"""The ReturnCase aggregate. Every change goes through it and leaves a timeline event."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from returndesk.domain.access import Role
from returndesk.domain.cases.reasons import ReasonCode
from returndesk.domain.cases.status import (
    RELEASES_QUANTITY,
    TERMINAL,
    CaseStatus,
    ReceiptCondition,
    Resolution,
)
from returndesk.domain.cases.transitions import TRANSITIONS, guards_for
from returndesk.domain.errors import InvalidTransition, PermissionDenied, ValidationFailed
from returndesk.domain.ids import new_id, new_reference
from returndesk.domain.money import prorated_share
from returndesk.domain.orders import Order, OrderLine

MAX_COMMENT = 2000
MAX_NOTE = 4000


@dataclass(frozen=True, slots=True)
class Actor:
    """Who did something: a buyer, a staff member, or the system (role None)."""

    kind: str  # "buyer" | "staff" | "system"
    id: str
    name: str
    role: Role | None

    @classmethod
    def system(cls, name: str = "ReturnDesk") -> Actor:
        return cls("system", "system", name, None)


@dataclass(frozen=True, slots=True)
class TimelineEvent:
    """One append-only entry: who, when, from what to what, why."""

    id: str
    case_id: str
    at: datetime
    kind: str
    actor: Actor
    from_status: CaseStatus | None = None
    to_status: CaseStatus | None = None
    note: str = ""
    data: dict[str, Any] = field(default_factory=dict)


@dataclass(slots=True)
class CaseLine:
    order_line_id: str
    sku: str
    title: str
    quantity: int
    reason: ReasonCode
    comment: str
    refundable_amount: int  # this case's share of what was paid for the line, minor units
    received_quantity: int = 0
    condition: ReceiptCondition | None = None


@dataclass(frozen=True, slots=True)
class LineRequest:
    sku: str
    quantity: int
    reason: ReasonCode
    comment: str = ""


@dataclass(frozen=True, slots=True)
class ReceiptLine:
    sku: str
    quantity: int
    condition: ReceiptCondition = ReceiptCondition.intact


@dataclass(frozen=True, slots=True)
class TransitionRequest:
    to: CaseStatus
    actor_role: Role | None
    note: str = ""
    refund_amount: int | None = None
    receipt: tuple[ReceiptLine, ...] = ()


@dataclass(frozen=True, slots=True)
class LineUsage:
    """Units of an order line already held by other open returns, and their refund share."""

    quantity: int = 0
    amount: int = 0


@dataclass(frozen=True, slots=True)
class Returnability:
    sku: str
    returnable_quantity: int
    change_of_mind_until: datetime | None  # None: window not started (not delivered yet)
    fault_until: datetime | None
    final_sale: bool
    blocked_code: str | None  # why nothing can be returned now, if so


@dataclass(slots=True)
class ReturnCase:
    id: str
    store_id: str
    number: str
    order_id: str
    order_number: str
    buyer_email: str
    market: str
    language: str
    currency: str
    status: CaseStatus
    preferred_resolution: Resolution
    lines: list[CaseLine]
    created_at: datetime
    updated_at: datetime
    version: int = 1
    holds_quantity: bool = True
    refund_amount: int | None = None
    refunded_amount: int | None = None
    decision: dict[str, Any] | None = None  # the latest decision (engine or override), as data
    return_tracking_number: str | None = None  # the return parcel's, once known
    return_carrier: str | None = None
    return_address: dict[str, Any] | None = None  # {name, lines, local}: where the parcel goes
    return_shipping_cost: int | None = None  # borne by the store (0: the buyer paid it)
    handling_cost: int | None = None  # receiving and inspecting it
    recovered_value: int | None = None  # what the graded units are worth again
    payment_fees: int | None = None  # what the payment provider kept of refunded money
    new_events: list[TimelineEvent] = field(default_factory=list)

    @classmethod
    def open(
        cls,
        *,
        order: Order,
        requests: list[LineRequest],
        preferred_resolution: Resolution,
        usage: dict[str, LineUsage],
        actor: Actor,
        now: datetime,
    ) -> ReturnCase:
        if not requests:
            raise ValidationFailed("a return needs at least one line", code="empty_return")
        seen: set[str] = set()
        lines: list[CaseLine] = []
        for req in requests:
            if req.sku in seen:
                raise ValidationFailed(
                    f"sku {req.sku!r} is listed twice", code="duplicate_sku", sku=req.sku
                )
            seen.add(req.sku)
            if len(req.comment) > MAX_COMMENT:
                raise ValidationFailed(
                    "the comment is too long", code="comment_too_long", sku=req.sku
                )
            line = order.line_by_sku(req.sku)
            used = usage.get(line.id, LineUsage())
            returnable = max(line.quantity - used.quantity, 0)
            if returnable == 0:
                raise ValidationFailed(
                    f"every unit of {req.sku} is already in a return",
                    code="quantity_exceeds_purchased",
                    sku=req.sku,
                )
            if not 1 <= req.quantity <= returnable:
                raise ValidationFailed(
                    f"you can return 1 to {returnable} of {req.sku}",
                    code="quantity_exceeds_purchased",
                    sku=req.sku,
                    returnable=returnable,
                    requested=req.quantity,
                )
            lines.append(
                CaseLine(
                    order_line_id=line.id,
                    sku=line.sku,
                    title=line.title,
                    quantity=req.quantity,
                    reason=req.reason,
                    comment=req.comment.strip(),
                    refundable_amount=refundable_share(line, used, req.quantity),
                )
            )
        case = cls(
            id=new_id(),
            store_id=order.store_id,
            number=new_reference("R-"),
            order_id=order.id,
            order_number=order.number,
            buyer_email=order.email,
            market=order.market,
            language=order.language,
            currency=order.currency,
            status=CaseStatus.requested,
            preferred_resolution=preferred_resolution,
            lines=lines,
            created_at=now,
            updated_at=now,
        )
        case._record(
            now,
            "case_opened",
            actor,
            to_status=CaseStatus.requested,
            data={
                "lines": [
                    {"sku": ln.sku, "quantity": ln.quantity, "reason": ln.reason.value}
                    for ln in lines
                ],
                "preferred_resolution": preferred_resolution.value,
            },
        )
        return case

    # --- queries -----------------------------------------------------------------------------

    def refund_bound(self) -> int:
        """What may be refunded: the paid share of units received, or of all if none came back."""
        if any(line.received_quantity for line in self.lines):
            return sum(
                prorated_share(line.refundable_amount, line.quantity, 0, line.received_quantity)
                for line in self.lines
            )
        return sum(line.refundable_amount for line in self.lines)

    def has_receipt_problem(self) -> bool:
        return any(
            line.condition not in (None, ReceiptCondition.intact) for line in self.lines
        ) or any(
            line.received_quantity < line.quantity for line in self.lines if line.received_quantity
        )

    def outstanding_after(self, receipt: tuple[ReceiptLine, ...]) -> dict[str, int]:
        received = {line.sku: line.received_quantity for line in self.lines}
        for item in receipt:
            received[item.sku] = received.get(item.sku, 0) + item.quantity
        if not receipt:
            return {}  # moving to received without lines means every unit arrived
        return {
            line.sku: line.quantity - received[line.sku]
            for line in self.lines
            if received[line.sku] < line.quantity
        }

    # --- commands ----------------------------------------------------------------------------

    def transition(self, actor: Actor, req: TransitionRequest, now: datetime) -> TimelineEvent:
        source = self.status
        move = TRANSITIONS[source].get(req.to)
        if move is None:
            raise InvalidTransition(
                f"a case cannot go from {source} to {req.to}",
                **{"from": source.value, "to": req.to.value},
            )
        if actor.role is not None and actor.role not in move.roles:
            raise PermissionDenied(
                f"a {actor.role} cannot move a case from {source} to {req.to}",
                code="transition_not_permitted",
            )
        if len(req.note) > MAX_NOTE:
            raise ValidationFailed("the note is too long", code="note_too_long")
        self._check_receipt(req.receipt)
        for guard in guards_for(source, req.to):
            guard(self, req)
        data: dict[str, Any] = {}
        if req.to in (CaseStatus.partially_received, CaseStatus.received):
            data["received"] = self._apply_receipt(req.receipt)
        if req.to is CaseStatus.refund_pending:
            self.refund_amount = (
                self.refund_bound() if req.refund_amount is None else req.refund_amount
            )
            data["refund_amount"] = self.refund_amount
            data["currency"] = self.currency
        if req.to is CaseStatus.refunded and not self.refunded_amount:
            # Moved by hand with no refund executed here: the decided amount was paid elsewhere.
            self.refunded_amount = self.refund_amount
            data["refunded_amount"] = self.refunded_amount
            data["currency"] = self.currency
        if req.to in RELEASES_QUANTITY:
            self.holds_quantity = False
        self.status = req.to
        self.updated_at = now
        return self._record(
            now,
            "status_changed",
            actor,
            from_status=source,
            to_status=req.to,
            note=req.note.strip(),
            data=data,
        )

    def record_evidence(self, data: dict[str, Any], actor: Actor, now: datetime) -> None:
        """A file was added to the case's evidence (its chain link is in `data`)."""
        if self.status in TERMINAL:
            raise InvalidTransition(
                f"a {self.status.value} case takes no more evidence", code="case_closed"
            )
        self._record(now, "evidence_added", actor, data=data)

    def record_evidence_care(
        self, kind: str, data: dict[str, Any], actor: Actor, now: datetime
    ) -> None:
        """A legal hold placed or released, or evidence erased: in any status, on the record."""
        if kind not in EVIDENCE_CARE:
            raise ValueError(kind)
        self._record(now, kind, actor, data=data)

    def record_work(self, kind: str, data: dict[str, Any], actor: Actor, now: datetime) -> None:
        """Who handles the case and its service-level alerts: staff-only timeline entries."""
        if kind not in WORK_EVENTS:
            raise ValueError(f"not a work event: {kind}")
        self._record(now, kind, actor, data=data)

    def record_call(self, kind: str, data: dict[str, Any], actor: Actor, now: datetime) -> None:
        """A video call on the case: started, the buyer's answer to recording, ended. Buyers
        see these (it is their call); a closed case takes no new call."""
        if kind not in CALL_EVENTS:
            raise ValueError(f"not a call event: {kind}")
        if kind in ("call_started", "call_booked", "call_booking_offered") and (
            self.status in TERMINAL
        ):
            raise InvalidTransition(
                f"a {self.status.value} case takes no video call", code="case_closed"
            )
        self._record(now, kind, actor, data=data)

    @property
    def rma(self) -> str:
        """The return authorisation code the label encodes and the warehouse scans."""
        return self.number

    def record_parcel(
        self,
        tracking_number: str,
        carrier: str,
        data: dict[str, Any],
        actor: Actor,
        now: datetime,
        kind: str = "parcel_scanned",
    ) -> None:
        """A carrier scanned the return parcel, or the buyer says they sent it (`parcel_sent`,
        with the carrier's tracking number): the buyer sees where it is."""
        if kind not in ("parcel_scanned", "parcel_sent"):
            raise ValueError(f"not a parcel event: {kind}")
        self.return_tracking_number = tracking_number
        self.return_carrier = carrier
        self.updated_at = now
        self._record(now, kind, actor, data=data)

    def record_return_window(
        self, kind: str, data: dict[str, Any], actor: Actor, now: datetime
    ) -> None:
        """The buyer was reminded to send the parcel, or the time to send it ran out."""
        if kind not in RETURN_WINDOW_EVENTS:
            raise ValueError(f"not a return window event: {kind}")
        self._record(now, kind, actor, data=data)

    def book_costs(self, *, return_shipping: int, handling: int, recovered: int) -> None:
        """The warehouse graded units: the return's costs once per case, the value recovered
        added for each receipt (a partial parcel, then the rest)."""
        if self.return_shipping_cost is None:
            self.return_shipping_cost = return_shipping
        if self.handling_cost is None:
            self.handling_cost = handling
        self.recovered_value = (self.recovered_value or 0) + recovered

    def net_recovery(self) -> int | None:
        """Value recovered less refunds and return costs (None until graded)."""
        if self.recovered_value is None:
            return None
        return (
            self.recovered_value
            - (self.refunded_amount or 0)
            - (self.return_shipping_cost or 0)
            - (self.handling_cost or 0)
            - (self.payment_fees or 0)
        )

    def book_payment_fee(self, fee: int) -> None:
        """A refund through a provider: the fee it kept of that money is a cost of the return."""
        if fee < 0:
            raise ValueError("a fee is not negative")
        self.payment_fees = (self.payment_fees or 0) + fee

    def record_refund(self, amount: int, data: dict[str, Any], actor: Actor, now: datetime) -> None:
        """Money went back to the buyer (a provider confirmed it, or staff recorded it)."""
        if amount <= 0:
            raise ValueError("a refund is positive")
        self.refunded_amount = (self.refunded_amount or 0) + amount
        self.updated_at = now
        self._record(
            now,
            "refund_executed",
            actor,
            data={**data, "amount": amount, "currency": self.currency},
        )

    def record_exchange(self, kind: str, data: dict[str, Any], actor: Actor, now: datetime) -> None:
        """The replacement order was made, or the card hold of an instant exchange was placed,
        released or captured, or one of them failed (staff only)."""
        if kind not in EXCHANGE_EVENTS:
            raise ValueError(f"not an exchange event: {kind}")
        self.updated_at = now
        self._record(now, kind, actor, data=data)

    def record_refund_failure(self, data: dict[str, Any], actor: Actor, now: datetime) -> None:
        """A provider refused or could not be reached: staff see it on the case and retry."""
        self.updated_at = now
        self._record(now, "refund_failed", actor, data=data)

    def record_decision(self, decision: dict[str, Any], actor: Actor, now: datetime) -> None:
        """Store the engine's decision on the case and its timeline (reproducible: all inputs
        that matter are in it, with the policy version)."""
        self.decision = decision
        self.updated_at = now
        self._record(now, "decision_made", actor, data=decision)

    def override_decision(
        self, outcome: str, note: str, actor: Actor, now: datetime
    ) -> TimelineEvent:
        """A person replaces the engine's outcome; the note and the previous outcome are kept."""
        if self.decision is None:
            raise InvalidTransition("this case has no decision to override", code="no_decision")
        if not note.strip():
            raise ValidationFailed("an override needs a note saying why", code="note_required")
        if len(note) > MAX_NOTE:
            raise ValidationFailed("the note is too long", code="note_too_long")
        previous = self.decision.get("outcome")
        if previous == outcome:
            raise ValidationFailed(f"the decision already is {outcome}", code="override_unchanged")
        self.decision = {
            **self.decision,
            "outcome": outcome,
            "decline_reason": self.decision.get("decline_reason") if outcome == "decline" else None,
            "overridden": {"from": previous, "by": actor.name, "note": note.strip()},
        }
        self.updated_at = now
        return self._record(
            now,
            "decision_overridden",
            actor,
            note=note.strip(),
            data={"from": previous, "to": outcome},
        )

    def grade(self, graded: tuple[ReceiptLine, ...]) -> None:
        """The warehouse graded units that had arrived already (a carrier reported the parcel
        delivered): each line keeps the worst condition seen."""
        by_sku = {line.sku: line for line in self.lines}
        for item in graded:
            line = by_sku.get(item.sku)
            if line is None:
                raise ValidationFailed(
                    f"sku {item.sku!r} is not in this return", code="unknown_sku", sku=item.sku
                )
            if not 1 <= item.quantity <= line.received_quantity:
                raise ValidationFailed(
                    f"{item.sku}: more units graded than arrived",
                    code="quantity_exceeds_returned",
                    sku=item.sku,
                    expected=line.received_quantity,
                )
            if line.condition in (None, ReceiptCondition.intact):
                line.condition = item.condition

    def _check_receipt(self, receipt: tuple[ReceiptLine, ...]) -> None:
        by_sku = {line.sku: line for line in self.lines}
        seen: set[str] = set()
        for item in receipt:
            line = by_sku.get(item.sku)
            if line is None:
                raise ValidationFailed(
                    f"sku {item.sku!r} is not in this return", code="unknown_sku", sku=item.sku
                )
            if item.sku in seen:
                raise ValidationFailed(f"sku {item.sku!r} is listed twice", code="duplicate_sku")
            seen.add(item.sku)
            if item.quantity < 1 or line.received_quantity + item.quantity > line.quantity:
                raise ValidationFailed(
                    f"{item.sku}: more units received than are being returned",
                    code="quantity_exceeds_returned",
                    sku=item.sku,
                    expected=line.quantity - line.received_quantity,
                )

    def _apply_receipt(self, receipt: tuple[ReceiptLine, ...]) -> list[dict[str, Any]]:
        applied: list[dict[str, Any]] = []
        if not receipt:  # "received" with no lines: everything outstanding arrived intact
            receipt = tuple(
                ReceiptLine(line.sku, line.quantity - line.received_quantity)
                for line in self.lines
                if line.quantity > line.received_quantity
            )
        by_sku = {line.sku: line for line in self.lines}
        for item in receipt:
            line = by_sku[item.sku]
            line.received_quantity += item.quantity
            if line.condition in (None, ReceiptCondition.intact):
                line.condition = item.condition
            applied.append(
                {"sku": item.sku, "quantity": item.quantity, "condition": item.condition.value}
            )
        return applied

    def _record(
        self,
        now: datetime,
        kind: str,
        actor: Actor,
        *,
        from_status: CaseStatus | None = None,
        to_status: CaseStatus | None = None,
        note: str = "",
        data: dict[str, Any] | None = None,
    ) -> TimelineEvent:
        event = TimelineEvent(
            id=new_id(),
            case_id=self.id,
            at=now,
            kind=kind,
            actor=actor,
            from_status=from_status,
            to_status=to_status,
            note=note,
            data=data or {},
        )
        self.new_events.append(event)
        return event


EVIDENCE_CARE = frozenset({"evidence_hold_placed", "evidence_hold_released", "evidence_erased"})
# Assignment and service-level alerts: for the staff only, never shown to buyers.
WORK_EVENTS = frozenset({"assigned", "sla_warning", "sla_breached"})
BOOKING_EVENTS = frozenset(
    {
        "call_booking_offered",
        "call_booked",
        "call_booking_cancelled",
        "call_reminder",
        "call_missed",
    }
)
CALL_EVENTS = frozenset({"call_started", "call_consent", "call_ended"}) | BOOKING_EVENTS
RETURN_WINDOW_EVENTS = frozenset({"return_reminder", "return_expired"})
EXCHANGE_EVENTS = frozenset(
    {
        "exchange_ordered",
        "exchange_hold_placed",
        "exchange_hold_released",
        "exchange_hold_captured",
        "exchange_failed",
    }
)
# Entries buyers never see (their timeline and their live stream leave them out).
STAFF_ONLY_EVENTS = WORK_EVENTS | {"refund_failed", "exchange_failed"}


def refundable_share(line: OrderLine, used: LineUsage, quantity: int) -> int:
    """This return's share of the line's paid amount; all returns of a line never exceed it."""
    remaining_amount = line.paid_amount - used.amount
    if used.quantity + quantity == line.quantity:
        return remaining_amount
    share = prorated_share(line.paid_amount, line.quantity, used.quantity, quantity)
    return max(0, min(share, remaining_amount))
