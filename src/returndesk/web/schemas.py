"""Request and response bodies of the JSON API."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Annotated, Any, Literal

from pydantic import (
    AfterValidator,
    AwareDatetime,
    BaseModel,
    ConfigDict,
    Field,
    StrictBool,
    StrictInt,
)

from returndesk.domain.access import Role
from returndesk.domain.carriers import CarrierEvent, CarrierStatus
from returndesk.domain.cases.model import ReturnCase, TimelineEvent
from returndesk.domain.cases.reasons import ReasonCode
from returndesk.domain.cases.status import CaseStatus, ReceiptCondition, Resolution
from returndesk.domain.cases.transitions import allowed_targets
from returndesk.domain.exchanges import Exchange
from returndesk.domain.logistics import Disposition, Grade, Receipt, Refund, RefundStatus
from returndesk.domain.policy.decision import Outcome
from returndesk.services.ports import CaseSummary
from returndesk.services.principal import Principal
from returndesk.services.return_labels import label_available, return_method

_EARLIEST = datetime(1970, 1, 1, tzinfo=UTC)
_LATEST = datetime(2200, 1, 1, tzinfo=UTC)


def _no_nul(value: str) -> str:
    if "\x00" in value:
        raise ValueError("text may not contain NUL characters")
    return value


def _sane_time(value: datetime) -> datetime:
    if not _EARLIEST <= value < _LATEST:
        raise ValueError("the date is out of range (1970-2199)")
    return value


def _text(max_length: int, min_length: int = 0) -> Any:
    return Field(min_length=min_length, max_length=max_length)


NoNul = AfterValidator(_no_nul)
Email = Annotated[str, _text(320, 3), NoNul]
Password = Annotated[str, _text(1024, 1), NoNul]
OrderNumber = Annotated[str, _text(64, 1), NoNul]
Slug = Annotated[str, _text(63, 1), NoNul]
Sku = Annotated[str, _text(100, 1), NoNul]
Title = Annotated[str, _text(300), NoNul]
Label = Annotated[str, _text(60, 1), NoNul]
Name = Annotated[str, _text(200), NoNul]
Reference = Annotated[str, _text(100, 1), NoNul]
Comment = Annotated[str, _text(2000), NoNul]
Note = Annotated[str, _text(4000), NoNul]
Market = Annotated[str, _text(2, 2), NoNul]
Currency = Annotated[str, _text(3, 3), NoNul]
Language = Annotated[str, _text(8, 2), NoNul]
TimeZone = Annotated[str, _text(64, 1), NoNul]


Timestamp = Annotated[AwareDatetime, AfterValidator(_sane_time)]
MinorUnits = Annotated[StrictInt, Field(ge=0, le=10**13)]


class Body(BaseModel):
    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)


class TokenRequest(Body):
    email: Email
    password: Password


class TokenResponse(BaseModel):
    access_token: str
    token_type: str = "bearer"  # noqa: S105
    expires_in: int


class BuyerSessionRequest(Body):
    order_number: OrderNumber
    email: Email
    store: Slug | None = None


class LineIn(Body):
    sku: Sku
    title: Title = ""
    quantity: Annotated[StrictInt, Field(ge=1, le=100_000)]
    unit_price: MinorUnits
    paid_amount: MinorUnits
    category: Label = "general"
    serial_numbers: list[Reference] = Field(default_factory=list, max_length=1000)


class ShipmentIn(Body):
    carrier: Label
    tracking_number: Reference
    shipped_at: Timestamp | None = None
    delivered_at: Timestamp | None = None


class PaymentIn(Body):
    """How the order was paid: the provider and its id for the payment (refunds go to it)."""

    provider: Annotated[str, Field(pattern=r"^[a-z][a-z0-9_]{1,39}$")]
    reference: Annotated[str, _text(200, 1), NoNul]


class OrderIn(Body):
    number: OrderNumber
    email: Email
    market: Market
    currency: Currency
    language: Language | None = None
    placed_at: Timestamp
    buyer_name: Name = ""
    lines: list[LineIn] = Field(min_length=1, max_length=500)
    shipments: list[ShipmentIn] = Field(default_factory=list, max_length=50)
    shipping_paid: MinorUnits = 0
    payment: PaymentIn | None = None
    store: Slug | None = None


class ReturnLineIn(Body):
    sku: Sku
    quantity: Annotated[StrictInt, Field(ge=1, le=100_000)]
    reason: ReasonCode
    comment: Comment = ""


class ExceptionIn(Body):
    """Staff filing a return the policy would refuse: the outcome they grant, and why."""

    outcome: Outcome
    note: Annotated[str, _text(4000, 1), NoNul]


class ReturnIn(Body):
    order_number: OrderNumber
    lines: list[ReturnLineIn] = Field(min_length=1, max_length=500)
    preferred_resolution: Resolution
    store: Slug | None = None
    exception: ExceptionIn | None = None


class ReceiptLineIn(Body):
    sku: Sku
    quantity: Annotated[StrictInt, Field(ge=1, le=100_000)]
    condition: ReceiptCondition = ReceiptCondition.intact


class TransitionIn(Body):
    to: CaseStatus
    note: Note = ""
    refund_amount: MinorUnits | None = None
    lines: list[ReceiptLineIn] = Field(default_factory=list, max_length=500)


class StaffIn(Body):
    email: Email
    role: Role
    password: Password
    name: Name = ""
    language: Language = "en"
    timezone: TimeZone = "UTC"
    store: Slug | None = None


def iso(value: datetime | None) -> str | None:
    return value.isoformat() if value is not None else None


def money(amount: int | None, currency: str) -> dict[str, Any] | None:
    return None if amount is None else {"amount": amount, "currency": currency}


# What a buyer may see of a decision: the outcome and the money, not the fraud signals.
_BUYER_DECISION_KEYS = (
    "outcome",
    "decline_reason",
    "refund",
    "return_shipping_paid_by",
    "evidence_requested",
    "legal_basis",
    "return_address",
)


def decision_out(decision: dict[str, Any] | None, role: Role | None) -> dict[str, Any] | None:
    if decision is None:
        return None
    if role is Role.buyer:
        return {key: decision.get(key) for key in _BUYER_DECISION_KEYS}
    return decision


def costs_out(case: ReturnCase) -> dict[str, Any]:
    """What the return cost and recovered (staff only; null until the warehouse graded it)."""
    return {
        "return_shipping": money(case.return_shipping_cost, case.currency),
        "handling": money(case.handling_cost, case.currency),
        "payment_fees": money(case.payment_fees or 0, case.currency),  # none: 0
        "refunded": money(case.refunded_amount, case.currency),
        "recovered": money(case.recovered_value, case.currency),
        "net": money(case.net_recovery(), case.currency),
    }


def case_out(case: ReturnCase, role: Role | None) -> dict[str, Any]:
    out = _case_out(case, role)
    if role is not Role.buyer:
        out["costs"] = costs_out(case)
    return out


def _case_out(case: ReturnCase, role: Role | None) -> dict[str, Any]:
    return {
        "id": case.id,
        "number": case.number,
        "rma": case.rma,
        "status": case.status.value,
        "version": case.version,
        "order_number": case.order_number,
        "buyer_email": case.buyer_email,
        "market": case.market,
        "language": case.language,
        "currency": case.currency,
        "preferred_resolution": case.preferred_resolution.value,
        "created_at": case.created_at.isoformat(),
        "updated_at": case.updated_at.isoformat(),
        "lines": [
            {
                "sku": ln.sku,
                "title": ln.title,
                "quantity": ln.quantity,
                "reason": ln.reason.value,
                "comment": ln.comment,
                "refundable_amount": money(ln.refundable_amount, case.currency),
                "received_quantity": ln.received_quantity,
                "condition": ln.condition.value if ln.condition else None,
            }
            for ln in case.lines
        ],
        "refundable_total": money(sum(ln.refundable_amount for ln in case.lines), case.currency),
        "refund_amount": money(case.refund_amount, case.currency),
        "refunded_amount": money(case.refunded_amount, case.currency),
        "allowed_transitions": [s.value for s in allowed_targets(case.status, role)],
        "decision": decision_out(case.decision, role),
        "return_method": return_method(case),
        "parcel": {"tracking_number": case.return_tracking_number, "carrier": case.return_carrier}
        if case.return_tracking_number
        else None,
        "label_url": f"/api/v1/returns/{case.id}/label.pdf" if label_available(case) else None,
    }


def summary_out(item: CaseSummary) -> dict[str, Any]:
    return {
        "id": item.id,
        "number": item.number,
        "status": item.status.value,
        "version": item.version,
        "order_number": item.order_number,
        "buyer_email": item.buyer_email,
        "market": item.market,
        "language": item.language,
        "preferred_resolution": item.preferred_resolution,
        "line_count": item.line_count,
        "refundable_total": money(item.refundable_total, item.currency),
        "decision_outcome": item.decision_outcome,
        "created_at": item.created_at.isoformat(),
        "updated_at": item.updated_at.isoformat(),
    }


class ReceivedLineIn(Body):
    sku: Sku
    quantity: Annotated[StrictInt, Field(ge=1, le=100_000)]
    grade: Grade = Grade.resellable
    disposition: Disposition | None = None
    # the inspection checklist's answers: item (code or the policy's text) -> passed
    checks: Annotated[dict[str, StrictBool], Field(max_length=30)] | None = None


class ReceiptIn(Body):
    """A scan at the warehouse: the RMA (or what the scanner read) and what came in."""

    code: Annotated[str, _text(100, 1), NoNul]
    lines: list[ReceivedLineIn] = Field(default_factory=list, max_length=500)
    warehouse: Annotated[str, Field(pattern=r"^[A-Za-z0-9][A-Za-z0-9._-]{0,39}$")] | None = None
    note: Annotated[str, _text(4000), NoNul] = ""


class CarrierEventIn(Body):
    """A carrier's scan of a return parcel (webhook or one CSV row)."""

    tracking_number: Annotated[str, _text(64, 3), NoNul]
    carrier: Annotated[str, _text(60, 1), NoNul]
    status: CarrierStatus
    occurred_at: Timestamp
    location: Annotated[str, _text(200), NoNul] = ""
    reference: Annotated[str, _text(64), NoNul] = ""  # the RMA on the label, if the carrier has it


class ParcelSentIn(Body):
    """The buyer's word that the parcel left: the carrier and its tracking number."""

    carrier: Annotated[str, _text(60, 1), NoNul]
    tracking_number: Annotated[str, _text(64, 3), NoNul]


class IntegrationTokenIn(Body):
    name: Annotated[str, _text(100, 1), NoNul]
    scopes: list[Annotated[str, _text(40, 1)]] = Field(min_length=1, max_length=10)
    store: Slug | None = None


class RefundIn(Body):
    mode: Annotated[str, Field(pattern=r"^[a-z][a-z0-9_]{1,39}$")]  # "manual" or a provider
    amount: MinorUnits | None = None  # default: all that may still be refunded
    currency: Currency | None = None
    reference: Annotated[str, _text(200), NoNul] = ""
    final: bool = True
    note: Annotated[str, _text(4000), NoNul] = ""


class ExchangeLineIn(Body):
    sku: Sku
    quantity: Annotated[StrictInt, Field(ge=1, le=1000)]
    replacement_sku: Sku | None = None  # default: the same sku (another of the same)


class ExchangeIn(Body):
    lines: Annotated[list[ExchangeLineIn], Field(min_length=1, max_length=100)] | None = None
    instant: bool = False


class HoldActionIn(Body):
    action: Literal["capture", "release"]


class ReplacementOrderIn(Body):
    order_reference: Annotated[str, _text(200, 1), NoNul]


# What buyers read of an exchange's steps: a failure (a person retries it) is still under way.
_BUYER_EXCHANGE = {"failed": "pending"}
_BUYER_HOLD = {"failed": "pending"}


def exchange_out(exchange: Exchange, role: Role | None = None) -> dict[str, Any]:
    buyer = role is Role.buyer
    status, hold = exchange.status.value, exchange.hold_status.value
    out: dict[str, Any] = {
        "id": exchange.id,
        "status": _BUYER_EXCHANGE.get(status, status) if buyer else status,
        "instant": exchange.instant,
        "order": exchange.order_name or None,
        "lines": [
            {
                "sku": ln.sku,
                "title": ln.title,
                "quantity": ln.quantity,
                "replacement_sku": ln.replacement_sku,
            }
            for ln in exchange.lines
        ],
        "hold": {
            "status": _BUYER_HOLD.get(hold, hold) if buyer else hold,
            "amount": money(exchange.hold_amount, exchange.currency),
        }
        if exchange.instant
        else None,
        "created_at": exchange.created_at.isoformat(),
        "updated_at": exchange.updated_at.isoformat(),
    }
    if role is not Role.buyer:
        out |= {
            "channel": exchange.channel,
            "order_reference": exchange.order_reference or None,
            "hold_provider": exchange.hold_provider or None,
            "hold_reference": exchange.hold_reference or None,
            "created_by": exchange.created_by,
            "attempts": exchange.attempts,
            "error": {"code": exchange.error_code, "detail": exchange.error}
            if exchange.error_code
            else None,
        }
    return out


def event_out(event: TimelineEvent, role: Role | None = None) -> dict[str, Any]:
    """A timeline entry; buyers get the decision without fraud signals, and no staff notes."""
    data, note = event.data, event.note
    if role is Role.buyer and event.kind == "decision_made":
        data = decision_out(event.data, role) or {}
    if role is Role.buyer and event.kind == "decision_overridden":
        note = ""
    return {
        "id": event.id,
        "at": event.at.isoformat(),
        "kind": event.kind,
        "actor": {
            "kind": event.actor.kind,
            "id": event.actor.id,
            "name": event.actor.name,
            "role": event.actor.role.value if event.actor.role else None,
        },
        "from_status": event.from_status.value if event.from_status else None,
        "to_status": event.to_status.value if event.to_status else None,
        "note": note,
        "data": data,
    }


def receipt_out(receipt: Receipt) -> dict[str, Any]:
    return {
        "id": receipt.id,
        "warehouse": receipt.warehouse,
        "received_at": receipt.received_at.isoformat(),
        "received_by": receipt.received_by,
        "note": receipt.note,
        "lines": [line.to_dict() for line in receipt.lines],
        "holds_refund": receipt.holds_refund,
    }


def refund_out(refund: Refund, role: Role | None = None) -> dict[str, Any]:
    out: dict[str, Any] = {
        "id": refund.id,
        "provider": refund.provider,
        "kind": refund.kind,
        "amount": money(refund.amount, refund.currency),
        "status": refund.status.value,
        "reference": refund.reference,
        "created_at": refund.created_at.isoformat(),
        "updated_at": refund.updated_at.isoformat(),
    }
    if role is not Role.buyer:
        out |= {
            "idempotency_key": refund.key,
            "created_by": refund.created_by,
            "attempts": refund.attempts,
            "error": {"code": refund.error_code, "detail": refund.error}
            if refund.status is RefundStatus.failed
            else None,
        }
    return out


def visible_refunds(refunds: list[Refund], principal: Principal) -> list[dict[str, Any]]:
    if principal.role is Role.buyer:
        refunds = [r for r in refunds if r.status is RefundStatus.succeeded]
    return [refund_out(r, principal.role) for r in refunds]


def carrier_event_out(event: CarrierEvent) -> dict[str, Any]:
    return {
        "id": event.id,
        "tracking_number": event.tracking_number,
        "carrier": event.carrier,
        "status": event.status.value,
        "occurred_at": event.occurred_at.isoformat(),
        "location": event.location,
        "received_at": event.received_at.isoformat(),
    }
