"""The lifecycle as an explicit table: from -> to -> (who may, guards). Nothing else moves cases."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING

from returndesk.domain.access import Role
from returndesk.domain.cases.status import CaseStatus as S
from returndesk.domain.cases.status import Resolution
from returndesk.domain.errors import ValidationFailed

if TYPE_CHECKING:
    from returndesk.domain.cases.model import ReturnCase, TransitionRequest

Guard = Callable[["ReturnCase", "TransitionRequest"], None]

DECIDERS = frozenset({Role.agent, Role.supervisor, Role.admin, Role.platform_admin})
SENIORS = frozenset({Role.supervisor, Role.admin, Role.platform_admin})
RECEIVERS = frozenset({Role.warehouse}) | DECIDERS
BUYER_OR_DECIDERS = frozenset({Role.buyer}) | DECIDERS


def note_required(case: ReturnCase, req: TransitionRequest) -> None:
    if not req.note.strip():
        raise ValidationFailed(
            f"moving to {req.to} needs a note saying why", code="note_required", to=req.to
        )


def staff_note_required(case: ReturnCase, req: TransitionRequest) -> None:
    """Buyers may withdraw without explaining; staff canceling for them must say why."""
    if req.actor_role is not Role.buyer:
        note_required(case, req)


def no_receipt_lines(case: ReturnCase, req: TransitionRequest) -> None:
    if req.receipt:
        raise ValidationFailed(
            "received items are recorded only when moving to received or partially_received",
            code="unexpected_receipt",
        )


def receipt_completes(case: ReturnCase, req: TransitionRequest) -> None:
    outstanding = case.outstanding_after(req.receipt)
    if outstanding:
        raise ValidationFailed(
            "not every unit has arrived: record a partial receipt instead",
            code="receipt_incomplete",
            outstanding=outstanding,
        )


def receipt_partial(case: ReturnCase, req: TransitionRequest) -> None:
    if not req.receipt:
        raise ValidationFailed(
            "a partial receipt lists the units that arrived", code="receipt_required"
        )
    if not case.outstanding_after(req.receipt):
        raise ValidationFailed(
            "every unit has arrived: move to received instead", code="receipt_complete"
        )


def something_received(case: ReturnCase, req: TransitionRequest) -> None:
    if not any(line.received_quantity for line in case.lines):
        raise ValidationFailed("nothing has arrived to inspect", code="nothing_received")


def refund_resolution(case: ReturnCase, req: TransitionRequest) -> None:
    if case.preferred_resolution not in (Resolution.refund, Resolution.store_credit):
        raise ValidationFailed(
            f"the buyer asked for {case.preferred_resolution}, not a refund",
            code="resolution_mismatch",
        )


def exchange_resolution(case: ReturnCase, req: TransitionRequest) -> None:
    if case.preferred_resolution is not Resolution.exchange:
        raise ValidationFailed(
            f"the buyer asked for {case.preferred_resolution}, not an exchange",
            code="resolution_mismatch",
        )


def refund_within_bound(case: ReturnCase, req: TransitionRequest) -> None:
    bound = case.refund_bound()
    amount = bound if req.refund_amount is None else req.refund_amount
    if amount < 0 or amount > bound:
        raise ValidationFailed(
            "the refund must be between 0 and what was paid for the returned units",
            code="refund_exceeds_paid",
            maximum=bound,
            requested=amount,
        )
    if case.has_receipt_problem() and amount == bound:
        note_required(case, req)


def no_refund_amount(case: ReturnCase, req: TransitionRequest) -> None:
    if req.refund_amount is not None:
        raise ValidationFailed(
            "a refund amount is set only when moving to refund_pending", code="unexpected_refund"
        )


@dataclass(frozen=True, slots=True)
class Move:
    roles: frozenset[Role]
    guards: tuple[Guard, ...] = ()


def _m(roles: frozenset[Role], *guards: Guard) -> Move:
    return Move(roles, guards)


_CANCEL = _m(BUYER_OR_DECIDERS, staff_note_required)

TRANSITIONS: dict[S, dict[S, Move]] = {
    S.requested: {
        S.under_review: _m(DECIDERS),
        S.needs_evidence: _m(DECIDERS, note_required),
        S.approved: _m(DECIDERS),
        S.declined: _m(DECIDERS, note_required),
        S.escalated: _m(DECIDERS, note_required),
        S.resolved_without_return: _m(DECIDERS, note_required),
        S.canceled: _CANCEL,
    },
    S.under_review: {
        S.needs_evidence: _m(DECIDERS, note_required),
        S.approved: _m(DECIDERS),
        S.declined: _m(DECIDERS, note_required),
        S.escalated: _m(DECIDERS, note_required),
        S.resolved_without_return: _m(DECIDERS, note_required),
        S.canceled: _CANCEL,
    },
    S.needs_evidence: {
        S.under_review: _m(BUYER_OR_DECIDERS),
        S.declined: _m(DECIDERS, note_required),
        S.escalated: _m(DECIDERS, note_required),
        S.canceled: _CANCEL,
    },
    S.escalated: {
        S.under_review: _m(SENIORS),
        S.approved: _m(SENIORS),
        S.declined: _m(SENIORS, note_required),
        S.resolved_without_return: _m(SENIORS, note_required),
        S.canceled: _m(SENIORS, note_required),
    },
    S.approved: {
        S.awaiting_return: _m(DECIDERS),
        S.refund_pending: _m(DECIDERS, refund_resolution, refund_within_bound),
        S.exchange_shipped: _m(DECIDERS, exchange_resolution),
        S.resolved_without_return: _m(DECIDERS, note_required),
        S.canceled: _CANCEL,
    },
    S.awaiting_return: {
        S.in_transit: _m(RECEIVERS),
        S.partially_received: _m(RECEIVERS, receipt_partial),
        S.received: _m(RECEIVERS, receipt_completes),
        S.canceled: _CANCEL,
    },
    S.in_transit: {
        S.partially_received: _m(RECEIVERS, receipt_partial),
        S.received: _m(RECEIVERS, receipt_completes),
    },
    S.partially_received: {
        S.partially_received: _m(RECEIVERS, receipt_partial),
        S.received: _m(RECEIVERS, receipt_completes),
        S.inspected: _m(RECEIVERS, note_required, something_received),
    },
    S.received: {S.inspected: _m(RECEIVERS, something_received)},
    S.inspected: {
        S.refund_pending: _m(DECIDERS, refund_resolution, refund_within_bound),
        S.exchange_shipped: _m(DECIDERS, exchange_resolution),
        S.declined: _m(DECIDERS, note_required),
        S.escalated: _m(DECIDERS, note_required),
    },
    S.refund_pending: {S.refunded: _m(DECIDERS)},
    S.refunded: {S.closed: _m(DECIDERS)},
    S.exchange_shipped: {S.closed: _m(DECIDERS)},
    S.resolved_without_return: {S.closed: _m(DECIDERS)},
    S.declined: {S.closed: _m(DECIDERS)},
    S.closed: {},
    S.canceled: {},
}

_RECEIPT_TARGETS = frozenset({S.partially_received, S.received})


def guards_for(source: S, target: S) -> tuple[Guard, ...]:
    """The table's guards plus the rules every move shares (receipt and refund fields)."""
    move = TRANSITIONS[source][target]
    shared: list[Guard] = []
    if target not in _RECEIPT_TARGETS:
        shared.append(no_receipt_lines)
    if target is not S.refund_pending:
        shared.append(no_refund_amount)
    return (*shared, *move.guards)


def allowed_targets(source: S, role: Role | None) -> list[S]:
    """Where a case may go next for this role (None: the system, which may make any move)."""
    return [t for t, move in TRANSITIONS[source].items() if role is None or role in move.roles]
