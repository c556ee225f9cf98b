"""Refunds executed on a case: recorded by staff (manual) or sent through a payment provider.

The caller's Idempotency-Key names the refund. Three steps, so money never moves twice:
1. in one transaction: check the case and the amount, write the refund as `pending`;
2. outside any transaction: ask the provider, with a key derived from the refund's id;
3. in one transaction: mark it succeeded (the case records it and may move to refunded) or
   failed (the case shows `refund_failed`). A retry with the same key repeats 2 and 3 with the
   same provider key, so the provider answers its first refund again instead of paying twice.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import NamedTuple

from returndesk.domain.access import Permission, Role
from returndesk.domain.cases.model import MAX_NOTE, Actor, ReturnCase, TransitionRequest
from returndesk.domain.cases.status import CaseStatus, Resolution
from returndesk.domain.errors import (
    Conflict,
    DomainError,
    NotFound,
    ProviderFailed,
    ValidationFailed,
)
from returndesk.domain.exchanges import Exchange, ExchangeStatus
from returndesk.domain.ids import new_id
from returndesk.domain.logistics import Receipt, Refund, RefundStatus
from returndesk.domain.policy.decision import RefundTiming
from returndesk.services.policies import store_policy
from returndesk.services.ports import (
    Clock,
    PaymentFailed,
    PaymentProvider,
    PaymentRefund,
    UnitOfWork,
    UnitOfWorkFactory,
)
from returndesk.services.principal import Principal
from returndesk.services.returns import load_case
from returndesk.services.work import keep_up

MANUAL = "manual"
# Where money may go back: decided and not yet settled (the policy's timing may refund as
# early as the drop-off, or as late as after inspection).
REFUNDABLE = frozenset(
    {
        CaseStatus.approved,
        CaseStatus.awaiting_return,
        CaseStatus.in_transit,
        CaseStatus.partially_received,
        CaseStatus.received,
        CaseStatus.inspected,
        CaseStatus.refund_pending,
    }
)
_KEY = re.compile(r"^[\x21-\x7e]{1,200}$")


@dataclass(frozen=True, slots=True)
class RequestRefund:
    case_id: str
    provider: str  # "manual" or a configured provider's name
    key: str  # the Idempotency-Key
    amount: int | None = None  # None: all that may still be refunded
    currency: str | None = None  # must be the order's currency when given
    reference: str = ""  # manual: the bank transfer or platform refund id staff made
    final: bool = True  # the last refund of the case: it may move to refunded
    note: str = ""


@dataclass(frozen=True, slots=True)
class RefundResult:
    refund: Refund
    replayed: bool  # an earlier request with this key had already finished it


def refundable_remaining(case: ReturnCase, refunds: list[Refund]) -> int:
    """What may still be refunded: the paid share of the units returned (received, once any
    arrived) less the refunds paid or under way."""
    return max(case.refund_bound() - sum(r.amount for r in refunds if r.counts), 0)


class Ledger(NamedTuple):
    """A case's money and parcels: refunds, (staff) warehouse receipts, the exchange."""

    refunds: list[Refund]
    receipts: list[Receipt]
    exchange: Exchange | None


def refunds_and_receipts(
    uow_factory: UnitOfWorkFactory, principal: Principal, case_id: str
) -> Ledger:
    """For a case the principal already read: its refunds, (staff) warehouse receipts, and
    its exchange."""
    with uow_factory() as uow:
        refunds = uow.logistics.refunds(case_id)
        receipts = [] if principal.role is Role.buyer else uow.logistics.receipts(case_id)
        return Ledger(refunds, receipts, uow.logistics.exchange(case_id))


def list_refunds(
    uow_factory: UnitOfWorkFactory, principal: Principal, case_id: str
) -> list[Refund]:
    principal.require(Permission.case_read)
    with uow_factory() as uow:
        load_case(uow, principal, case_id)
        return uow.logistics.refunds(case_id)


def request_refund(
    uow_factory: UnitOfWorkFactory,
    clock: Clock,
    principal: Principal,
    providers: Mapping[str, PaymentProvider],
    command: RequestRefund,
) -> RefundResult:
    principal.require(Permission.refund_write)
    if not _KEY.match(command.key):
        raise ValidationFailed(
            "the Idempotency-Key is 1-200 visible ASCII characters", code="invalid_idempotency_key"
        )
    if len(command.note) > MAX_NOTE:
        raise ValidationFailed("the note is too long", code="note_too_long")
    with uow_factory(write=True) as uow:
        case = load_case(uow, principal, command.case_id)
        refund = uow.logistics.refund_by_key(case.id, command.key, for_update=True)
        if refund is not None:
            _same_request(refund, command)
            if refund.status is RefundStatus.succeeded:
                return RefundResult(refund, replayed=True)
            _check_refundable(case)  # a failed one is retried only while money may still go
            uow.commit()
        else:
            refund = _new_refund(uow, case, principal, providers, command, clock)
            if refund.provider == MANUAL:
                _succeeded(uow, case, refund, command.reference.strip(), command, principal, clock)
                uow.commit()
                return RefundResult(refund, replayed=False)
            uow.commit()
    return _execute(uow_factory, clock, principal, providers, refund, command)


def retry_refund(
    uow_factory: UnitOfWorkFactory,
    clock: Clock,
    principal: Principal,
    providers: Mapping[str, PaymentProvider],
    case_id: str,
    refund_id: str,
) -> RefundResult:
    """Try a failed (or interrupted) refund again: the same refund, the same provider key."""
    principal.require(Permission.refund_write)
    with uow_factory() as uow:
        load_case(uow, principal, case_id)
        refund = uow.logistics.refund(refund_id)
    if refund is None or refund.case_id != case_id:
        raise NotFound("refund not found", code="refund_not_found")
    command = RequestRefund(case_id, refund.provider, refund.key, refund.amount, refund.currency)
    return request_refund(uow_factory, clock, principal, providers, command)


def _same_request(refund: Refund, command: RequestRefund) -> None:
    differs = refund.provider != command.provider.strip().lower() or (
        command.amount is not None and command.amount != refund.amount
    )
    if differs or (command.currency is not None and command.currency != refund.currency):
        raise Conflict(
            "this Idempotency-Key was used for a different refund", code="idempotency_key_reused"
        )


def _check_refundable(case: ReturnCase) -> None:
    if case.status is CaseStatus.escalated:
        raise Conflict(
            "the refund is held while a person reviews this return",
            code="refund_held",
            case_status=case.status.value,
        )
    if case.status not in REFUNDABLE:
        raise Conflict(
            f"a {case.status.value} return takes no refund",
            code="refund_not_allowed",
            case_status=case.status.value,
        )


def _new_refund(
    uow: UnitOfWork,
    case: ReturnCase,
    principal: Principal,
    providers: Mapping[str, PaymentProvider],
    command: RequestRefund,
    clock: Clock,
) -> Refund:
    _check_refundable(case)
    exchange = uow.logistics.exchange(case.id)
    if exchange is not None and exchange.status is not ExchangeStatus.failed:
        raise Conflict(
            "this return is being exchanged: a replacement is ordered or under way",
            code="exchange_under_way",
            exchange_status=exchange.status.value,
        )
    provider = command.provider.strip().lower()
    if provider != MANUAL and provider not in providers:
        raise ValidationFailed(
            f"refunds through {provider!r} are not set up here",
            code="provider_not_configured",
            available=[MANUAL, *sorted(providers)],
        )
    kind = "store_credit" if case.preferred_resolution is Resolution.store_credit else "refund"
    if provider == MANUAL and not command.reference.strip():
        raise ValidationFailed(
            "a manual refund names what was paid (a transfer or platform reference)",
            code="reference_required",
        )
    if len(command.reference) > 200:
        raise ValidationFailed("the reference is too long", code="reference_too_long")
    if kind == "store_credit" and provider != MANUAL:
        raise ValidationFailed(
            "store credit is issued in the store and recorded here (manual)",
            code="store_credit_is_manual",
        )
    currency = command.currency or case.currency
    if currency != case.currency:
        raise ValidationFailed(
            f"refunds go back in the order's currency, {case.currency}",
            code="currency_mismatch",
            currency=case.currency,
        )
    remaining = refundable_remaining(case, uow.logistics.refunds(case.id))
    amount = remaining if command.amount is None else command.amount
    if not 1 <= amount <= remaining:
        raise ValidationFailed(
            f"a refund is 1 to {remaining} {case.currency} (paid for the returned units, less "
            "what was already refunded)",
            code="refund_exceeds_paid",
            maximum=remaining,
            requested=amount,
        )
    if provider != MANUAL:
        order = uow.orders.get(case.order_id)
        if order is None or not order.payment_reference:
            raise Conflict(
                "the order has no payment to refund against: record a manual refund",
                code="no_payment_reference",
            )
        if order.payment_provider and order.payment_provider != provider:
            raise ValidationFailed(
                f"the order was paid through {order.payment_provider}, not {provider}",
                code="provider_mismatch",
                paid_through=order.payment_provider,
            )
    now = clock()
    refund = Refund(
        id=new_id(),
        store_id=case.store_id,
        case_id=case.id,
        provider=provider,
        kind=kind,
        amount=amount,
        currency=currency,
        key=command.key,
        status=RefundStatus.pending,
        created_by=principal.actor().name[:200],
        created_at=now,
        updated_at=now,
        final=command.final,
    )
    uow.logistics.add_refund(refund)
    # A new version of the case: two refunds written at once cannot both pass the bound
    # above (the second one's save finds the version moved and is refused).
    uow.cases.save(case, case.version)
    return refund


def _execute(
    uow_factory: UnitOfWorkFactory,
    clock: Clock,
    principal: Principal,
    providers: Mapping[str, PaymentProvider],
    refund: Refund,
    command: RequestRefund,
) -> RefundResult:
    gateway = providers.get(refund.provider)
    with uow_factory() as uow:
        case = uow.cases.get(refund.case_id)
        order = uow.orders.get(case.order_id) if case else None
    if case is None or order is None:  # pragma: no cover - cases and orders are never deleted
        raise NotFound("case not found", code="case_not_found")
    failure: PaymentFailed | None = None
    reference = ""
    if gateway is None:
        failure = PaymentFailed(
            "provider_not_configured", f"{refund.provider} is not set up", retryable=True
        )
    else:
        try:
            answer = gateway.refund(
                PaymentRefund(
                    payment_reference=order.payment_reference,
                    amount=refund.amount,
                    currency=refund.currency,
                    idempotency_key=f"returndesk-refund-{refund.id}",
                    metadata={"rma": case.rma, "case_id": case.id, "refund_id": refund.id},
                )
            )
            reference = answer.reference
        except PaymentFailed as exc:
            failure = exc
    with uow_factory(write=True) as uow:
        current = uow.logistics.refund_by_key(refund.case_id, refund.key, for_update=True)
        case = uow.cases.get(refund.case_id)
        if current is None or case is None:  # pragma: no cover - never deleted
            raise NotFound("refund not found", code="refund_not_found")
        if current.status is RefundStatus.succeeded:  # a concurrent retry finished it
            return RefundResult(current, replayed=True)
        current.attempts += 1
        if failure is None:
            _succeeded(uow, case, current, reference, command, principal, clock)
        else:
            current.status = RefundStatus.failed
            current.error_code = failure.code[:60]
            current.error = failure.message[:2000]
            current.updated_at = clock()
            case.record_refund_failure(
                {
                    "refund_id": current.id,
                    "provider": current.provider,
                    "amount": current.amount,
                    "currency": current.currency,
                    "code": current.error_code,
                    "error": current.error,
                    "retryable": failure.retryable,
                },
                Actor.system(),
                current.updated_at,
            )
            uow.logistics.save_refund(current)
            keep_up(uow, case)
            uow.cases.save(case, case.version)
        uow.commit()
    if failure is not None:
        raise ProviderFailed(
            f"the refund did not go through: {failure.message}",
            code="refund_failed",
            refund_id=current.id,
            provider_code=failure.code,
            retryable=failure.retryable,
        )
    return RefundResult(current, replayed=False)


def _succeeded(
    uow: UnitOfWork,
    case: ReturnCase,
    refund: Refund,
    reference: str,
    command: RequestRefund,
    principal: Principal,
    clock: Clock,
) -> None:
    now = clock()
    version = case.version
    refund.status = RefundStatus.succeeded
    refund.reference = reference
    refund.error_code = refund.error = ""
    refund.updated_at = now
    actor = principal.actor()
    case.record_refund(
        refund.amount,
        {
            "refund_id": refund.id,
            "provider": refund.provider,
            "kind": refund.kind,
            "reference": reference,
            "note": command.note.strip(),
        },
        actor,
        now,
    )
    if refund.provider != MANUAL:
        case.book_payment_fee(refund.amount * _payment_fee_bp(uow, case) // 10_000)
    if refund.final and case.preferred_resolution in (Resolution.refund, Resolution.store_credit):
        _settle(case, refund.provider, now)
    uow.logistics.save_refund(refund)
    keep_up(uow, case)
    uow.cases.save(case, version)


def _payment_fee_bp(uow: UnitOfWork, case: ReturnCase) -> int:
    """The store policy's `economics.payment_fee_percent`, in basis points."""
    policy = store_policy(uow, case.store_id)
    return policy.payment_fee_bp if policy else 0


def _settle(case: ReturnCase, provider: str, now: datetime) -> None:
    """After the last refund: a decided case moves to refunded (its parcel, if any, is in)."""
    system = Actor.system("Payments")
    refunded = case.refunded_amount or 0
    if case.status in (CaseStatus.approved, CaseStatus.inspected):
        amount = min(refunded, case.refund_bound())
        move = TransitionRequest(
            CaseStatus.refund_pending, None, f"Refunded ({provider}).", refund_amount=amount
        )
        case.transition(system, move, now)
    if case.status is CaseStatus.refund_pending:
        case.transition(system, TransitionRequest(CaseStatus.refunded, None), now)


# --- refunds the policy says are due ------------------------------------------------------

# The case statuses at which each refund timing is due (the parcel has reached that point).
_DUE_AT = {
    RefundTiming.at_drop_off: frozenset(
        {CaseStatus.in_transit, CaseStatus.received, CaseStatus.inspected}
    ),
    RefundTiming.in_transit: frozenset(
        {CaseStatus.in_transit, CaseStatus.received, CaseStatus.inspected}
    ),
    RefundTiming.on_receipt: frozenset({CaseStatus.received, CaseStatus.inspected}),
    RefundTiming.after_inspection: frozenset({CaseStatus.inspected}),
}
AUTOMATIC = "Automatic refund"


def refund_if_due(
    uow_factory: UnitOfWorkFactory,
    clock: Clock,
    providers: Mapping[str, PaymentProvider],
    case_id: str,
) -> Refund | None:
    """Refund through the order's payment provider when the decision's timing is reached.

    Only a clean case goes by itself: a refund resolution, no refund yet, every unit in the
    condition it should be (a partial or damaged receipt waits for a person, who chooses the
    amount), not held. The key `auto-<case>` makes a second trigger a no-op."""
    with uow_factory() as uow:
        case = uow.cases.get(case_id)
        order = uow.orders.get(case.order_id) if case else None
        earlier = uow.logistics.refunds(case_id) if case else []
    if case is None or order is None or case.preferred_resolution is not Resolution.refund:
        return None
    decision = case.decision or {}
    if not (decision.get("refund") or {}).get("automatic"):
        return None  # the store's policy leaves refunds to people
    returnless = decision.get("outcome") == "approve_returnless"
    if returnless:
        due = case.status is CaseStatus.approved
    else:
        try:
            timing = RefundTiming(str((decision.get("refund") or {}).get("timing")))
        except ValueError:
            return None
        due = case.status in _DUE_AT[timing]
    if earlier:
        _settle_paid(uow_factory, clock, case, earlier)
        return None
    if not due or case.has_receipt_problem():
        return None
    if order.payment_provider not in providers or not order.payment_reference:
        return None
    principal = Principal("system", "refunds", Role.admin, case.store_id, AUTOMATIC)
    command = RequestRefund(
        case_id=case.id,
        provider=order.payment_provider,
        key=f"auto-{case.id}",
        final=returnless or case.status is CaseStatus.inspected,
        note="Refunded automatically when the return policy says.",
    )
    try:
        return request_refund(uow_factory, clock, principal, providers, command).refund
    except (ProviderFailed, DomainError):  # recorded on the case (refund_failed) for people
        return None


def _settle_paid(
    uow_factory: UnitOfWorkFactory, clock: Clock, case: ReturnCase, refunds: list[Refund]
) -> None:
    """Refunded at drop-off or in transit, then inspected clean: the case is settled."""
    paid = sum(r.amount for r in refunds if r.status is RefundStatus.succeeded)
    if (
        case.status is not CaseStatus.inspected
        or case.has_receipt_problem()
        or any(r.status is not RefundStatus.succeeded for r in refunds)
        or paid < case.refund_bound()
    ):
        return
    with uow_factory(write=True) as uow:
        current = uow.cases.get(case.id)
        if current is None or current.version != case.version:
            return  # moved meanwhile: the next trigger or sweep looks again
        _settle(current, refunds[-1].provider, clock())
        keep_up(uow, current)
        uow.cases.save(current, case.version)
        uow.commit()


@dataclass(slots=True)
class RefundSweep:
    checked: int = 0
    refunded: int = 0


def sweep_due_refunds(
    uow_factory: UnitOfWorkFactory,
    clock: Clock,
    providers: Mapping[str, PaymentProvider],
    limit: int = 200,
) -> RefundSweep:
    """The refunds a trigger missed (the process stopped before its job ran): cases received,
    inspected or kept, paid through a configured provider, with no refund yet."""
    result = RefundSweep()
    if not providers:
        return result
    with uow_factory() as uow:
        candidates = uow.cases.refund_candidates(sorted(providers), limit)
    for case_id in candidates:
        result.checked += 1
        if refund_if_due(uow_factory, clock, providers, case_id) is not None:
            result.refunded += 1
    return result
