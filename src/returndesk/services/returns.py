"""Return cases: open (idempotently), read, list, and move through the lifecycle."""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass, replace
from datetime import datetime
from typing import Any

from returndesk.domain.access import Permission, Role
from returndesk.domain.cases.model import (
    STAFF_ONLY_EVENTS,
    Actor,
    LineRequest,
    LineUsage,
    ReceiptLine,
    ReturnCase,
    TimelineEvent,
    TransitionRequest,
)
from returndesk.domain.cases.status import CaseStatus, Resolution
from returndesk.domain.errors import (
    Conflict,
    InvalidTransition,
    NotFound,
    StaleVersion,
    ValidationFailed,
)
from returndesk.domain.orders import Order
from returndesk.domain.policy.decision import (
    BuyerHistory,
    Decision,
    DecisionRequest,
    DeclineReason,
    EvidenceKind,
    Outcome,
)
from returndesk.domain.policy.document import Policy
from returndesk.domain.policy.engine import decide, replay
from returndesk.domain.stores import Store
from returndesk.services.policies import case_claims, claim_lines, history, whole_order
from returndesk.services.ports import (
    CasePage,
    CaseQuery,
    Clock,
    IdempotencyRecord,
    UnitOfWork,
    UnitOfWorkFactory,
)
from returndesk.services.principal import Principal
from returndesk.services.return_address import fill_return_address
from returndesk.services.stores import resolve_store
from returndesk.services.work import keep_up, start_work


@dataclass(frozen=True, slots=True)
class OpenReturn:
    order_number: str
    lines: tuple[LineRequest, ...]
    preferred_resolution: Resolution
    store_slug: str | None = None
    # Staff only: file it even if the policy declines it, with this outcome and why (goodwill).
    exception: tuple[Outcome, str] | None = None

    def fingerprint(self) -> str:
        body = {
            "order_number": self.order_number,
            "lines": [[ln.sku, ln.quantity, ln.reason.value, ln.comment] for ln in self.lines],
            "preferred_resolution": self.preferred_resolution.value,
            "store": self.store_slug,
            "exception": [self.exception[0].value, self.exception[1]] if self.exception else None,
        }
        return hashlib.sha256(json.dumps(body, sort_keys=True).encode()).hexdigest()


@dataclass(frozen=True, slots=True)
class Opened:
    case: ReturnCase
    replayed: bool  # True when an Idempotency-Key matched an earlier identical request


def open_return(
    uow_factory: UnitOfWorkFactory,
    clock: Clock,
    principal: Principal,
    command: OpenReturn,
    idempotency_key: str | None = None,
) -> Opened:
    principal.require(Permission.case_create)
    principal_key = f"{principal.kind}:{principal.id}"
    with uow_factory(write=True) as uow:
        store = resolve_store(uow, principal, command.store_slug)
        order = uow.orders.get_by_number(store.id, command.order_number)
        if order is None:
            raise NotFound(f"order {command.order_number} not found", code="order_not_found")
        principal.check_order(order.store_id, order.id)
        # Lock first: a concurrent request with the same key waits here, then sees its case.
        uow.orders.lock(order.id)
        if idempotency_key is not None:
            previous = uow.idempotency.get(store.id, principal_key, idempotency_key)
            if previous is not None:
                return _replay(uow, previous, command)
        usage = uow.orders.line_usage(order.id)
        now = clock()
        case = ReturnCase.open(
            order=order,
            requests=list(command.lines),
            preferred_resolution=command.preferred_resolution,
            usage=usage,
            actor=principal.actor(),
            now=now,
        )
        decision, policy = _decide(uow, store, order, command, usage, now)
        if command.exception is not None:
            principal.require(Permission.decision_override)
        elif decision.outcome is Outcome.decline:
            raise _declined(decision)
        case.record_decision(decision.to_dict(), Actor.system(), now)
        if command.exception is not None:
            outcome, why = command.exception
            if outcome is not decision.outcome:
                case.override_decision(outcome.value, why, principal.actor(), now)
        elif policy.auto_apply:
            _move_on(case, decision, now)
        fill_return_address(uow, case)
        work = start_work(uow, case, store.timezone, now)
        uow.cases.add(case)
        uow.teams.save_work(work, new=True)
        if idempotency_key is not None:
            uow.idempotency.add(
                IdempotencyRecord(
                    store.id,
                    principal_key,
                    idempotency_key,
                    command.fingerprint(),
                    case.id,
                    clock(),
                )
            )
        uow.commit()
        return Opened(case, replayed=False)


def _decide(
    uow: UnitOfWork,
    store: Store,
    order: Order,
    command: OpenReturn,
    usage: dict[str, LineUsage],
    now: datetime,
) -> tuple[Decision, Policy]:
    version, policy = uow.policies.active(store)
    request = DecisionRequest(
        order=order,
        lines=claim_lines(order, command.lines, usage),
        requested_at=now,
        preferred_resolution=command.preferred_resolution,
        history=history(uow, policy, order, now),
        whole_order=whole_order(order, command.lines, usage),
    )
    return decide(request, policy, version.version), policy


def preview_return(
    uow_factory: UnitOfWorkFactory, clock: Clock, principal: Principal, command: OpenReturn
) -> Decision:
    """What filing this return would decide right now; nothing is written. The same checks
    as open_return run first (lines, quantities), so a preview never promises the impossible."""
    principal.require(Permission.case_create)
    with uow_factory() as uow:
        store = resolve_store(uow, principal, command.store_slug)
        order = uow.orders.get_by_number(store.id, command.order_number)
        if order is None:
            raise NotFound(f"order {command.order_number} not found", code="order_not_found")
        principal.check_order(order.store_id, order.id)
        usage = uow.orders.line_usage(order.id)
        now = clock()
        ReturnCase.open(
            order=order,
            requests=list(command.lines),
            preferred_resolution=command.preferred_resolution,
            usage=usage,
            actor=principal.actor(),
            now=now,
        )
        decision, _ = _decide(uow, store, order, command, usage, now)
        return decision


def _declined(decision: Decision) -> ValidationFailed:
    """A return the policy refuses is not filed: the buyer sees why, nothing is written."""
    code = decision.decline_reason.value if decision.decline_reason else "declined"
    reason = next((r for r in decision.reasons if r.code == code), None)
    if reason is None:
        reason = next((r for r in decision.reasons if r.sku), None)
    data: dict[str, object] = {"legal_basis": list(decision.legal_basis)}
    if reason is not None and reason.sku:
        data["sku"] = reason.sku
    detail = _DECLINE_TEXT.get(code, "the return policy does not allow this return")
    if reason is not None and reason.sku:
        detail = f"{reason.sku}: {detail}"
    return ValidationFailed(detail, code=code, **data)


_DECLINE_TEXT = {
    DeclineReason.window_ended.value: "the return period has ended",
    DeclineReason.final_sale.value: "final sale: it can be returned only if it is faulty",
    DeclineReason.non_returnable.value: "this kind of item cannot be returned",
    DeclineReason.blocked.value: "returns are not available for this order: contact the store",
    DeclineReason.not_delivered.value: "nothing has been delivered yet",
    DeclineReason.store_rule.value: "the store's return policy does not allow this return",
}


def _move_on(case: ReturnCase, decision: Decision, now: datetime) -> None:
    """Move a case on where the decision allows; anything else waits for a person."""
    system = Actor.system()
    note = f"Decided automatically (policy version {decision.policy_version})."
    outcome = decision.outcome
    if case.status is CaseStatus.needs_evidence:
        if outcome is Outcome.request_evidence:
            return  # still waiting for (other) evidence
        case.transition(system, TransitionRequest(CaseStatus.under_review, None), now)
    if outcome in (Outcome.approve_return, Outcome.offer_exchange):
        case.transition(system, TransitionRequest(CaseStatus.approved, None, note), now)
        case.transition(system, TransitionRequest(CaseStatus.awaiting_return, None), now)
    elif outcome is Outcome.approve_returnless:
        case.transition(system, TransitionRequest(CaseStatus.approved, None, note), now)
    elif outcome is Outcome.request_evidence:
        kind = decision.evidence_requested.value if decision.evidence_requested else "evidence"
        request = TransitionRequest(CaseStatus.needs_evidence, None, f"{note} Needed: {kind}.")
        case.transition(system, request, now)


def _replay(uow: UnitOfWork, previous: IdempotencyRecord, command: OpenReturn) -> Opened:
    if previous.request_hash != command.fingerprint():
        raise Conflict(
            "this Idempotency-Key was used with a different request",
            code="idempotency_key_reused",
        )
    case = uow.cases.get(previous.case_id)
    if case is None:  # pragma: no cover - cases are never deleted
        raise NotFound("case not found", code="case_not_found")
    return Opened(case, replayed=True)


def load_case(uow: UnitOfWork, principal: Principal, case_id: str) -> ReturnCase:
    """The case, if this principal may see it (another store's or order's: not found)."""
    case = uow.cases.get(case_id)
    if case is None:
        raise NotFound("case not found", code="case_not_found")
    try:
        principal.check_order(case.store_id, case.order_id)
    except NotFound:
        raise NotFound("case not found", code="case_not_found") from None
    return case


def _load_version(
    uow: UnitOfWork, principal: Principal, case_id: str, expected_version: int
) -> ReturnCase:
    """The case, if it is still the version the caller last saw (optimistic concurrency)."""
    case = load_case(uow, principal, case_id)
    if case.version != expected_version:
        raise StaleVersion(
            "the case changed since you loaded it: reload and try again",
            current_version=case.version,
        )
    return case


def get_case(uow_factory: UnitOfWorkFactory, principal: Principal, case_id: str) -> ReturnCase:
    principal.require(Permission.case_read)
    with uow_factory() as uow:
        return load_case(uow, principal, case_id)


def get_timeline(
    uow_factory: UnitOfWorkFactory, principal: Principal, case_id: str
) -> list[TimelineEvent]:
    principal.require(Permission.case_read)
    with uow_factory() as uow:
        load_case(uow, principal, case_id)
        events = uow.cases.timeline(case_id)
    if principal.role is Role.buyer:
        return [event for event in events if event.kind not in STAFF_ONLY_EVENTS]
    return events


def list_cases(uow_factory: UnitOfWorkFactory, principal: Principal, query: CaseQuery) -> CasePage:
    principal.require(Permission.case_list)
    query = replace(query, limit=max(1, min(query.limit, 500)))
    if not principal.is_platform:
        query = replace(query, store_id=principal.store_id)
    with uow_factory() as uow:
        return uow.cases.query(query)


def count_by_status(uow_factory: UnitOfWorkFactory, principal: Principal) -> dict[CaseStatus, int]:
    principal.require(Permission.case_list)
    with uow_factory() as uow:
        return uow.cases.count_by_status(principal.store_id)


@dataclass(frozen=True, slots=True)
class MoveCase:
    case_id: str
    to: CaseStatus
    expected_version: int
    note: str = ""
    refund_amount: int | None = None
    receipt: tuple[ReceiptLine, ...] = ()


def transition_case(
    uow_factory: UnitOfWorkFactory, clock: Clock, principal: Principal, command: MoveCase
) -> tuple[ReturnCase, TimelineEvent]:
    """Check the version, let the aggregate apply the table and guards, save or roll back."""
    principal.require(Permission.case_transition)
    with uow_factory(write=True) as uow:
        case = _load_version(uow, principal, command.case_id, command.expected_version)
        role: Role | None = principal.role if principal.kind != "system" else None
        event = case.transition(
            principal.actor(),
            TransitionRequest(
                to=command.to,
                actor_role=role,
                note=command.note,
                refund_amount=command.refund_amount,
                receipt=command.receipt,
            ),
            clock(),
        )
        fill_return_address(uow, case)
        keep_up(uow, case)
        uow.cases.save(case, command.expected_version)
        uow.commit()
        return case, event


@dataclass(frozen=True, slots=True)
class OverrideDecision:
    case_id: str
    outcome: Outcome
    note: str
    expected_version: int


def override_decision(
    uow_factory: UnitOfWorkFactory, clock: Clock, principal: Principal, command: OverrideDecision
) -> tuple[ReturnCase, TimelineEvent]:
    """An agent replaces the engine's outcome with a note; both stay on the timeline."""
    principal.require(Permission.decision_override)
    with uow_factory(write=True) as uow:
        case = _load_version(uow, principal, command.case_id, command.expected_version)
        event = case.override_decision(
            command.outcome.value, command.note, principal.actor(), clock()
        )
        fill_return_address(uow, case)
        keep_up(uow, case)
        uow.cases.save(case, command.expected_version)
        uow.commit()
        return case, event


@dataclass(frozen=True, slots=True)
class Replay:
    stored: dict[str, Any]  # the engine's decision as made (before any override)
    replayed: dict[str, Any]
    matches: bool


def replay_decision(uow_factory: UnitOfWorkFactory, principal: Principal, case_id: str) -> Replay:
    """Decide again from the inputs stored with the case's decision and the same policy
    version: the proof that the decision is reproducible (or where it is not)."""
    principal.require(Permission.policy_read)
    with uow_factory() as uow:
        case = load_case(uow, principal, case_id)
        made = [e for e in uow.cases.timeline(case.id) if e.kind == "decision_made"]
        if not made or "inputs" not in made[-1].data:
            raise NotFound("this case has no decision to replay", code="no_decision")
        stored = made[-1].data
        policy = uow.policies.compiled(case.store_id, int(stored["policy_version"]))
        if policy is None:
            raise NotFound("that policy version is gone", code="policy_version_not_found")
    replayed = replay(stored, policy)
    return Replay(stored, replayed, replayed == stored)


@dataclass(frozen=True, slots=True)
class Redecide:
    case_id: str
    expected_version: int
    evidence: frozenset[EvidenceKind] = frozenset()
    findings: frozenset[str] = frozenset()


REDECIDABLE = frozenset({CaseStatus.requested, CaseStatus.under_review, CaseStatus.needs_evidence})


def redecide(
    uow_factory: UnitOfWorkFactory, clock: Clock, principal: Principal, command: Redecide
) -> ReturnCase:
    """Decide again once evidence or findings came in, with the active policy.

    The periods still count from when the return was filed (the buyer was in time then), and
    the buyer history is the one seen at filing; evidence and findings add to what was known.
    The new decision goes on the timeline; with automation on, the case moves on from there.
    """
    principal.require(Permission.decision_override)
    with uow_factory(write=True) as uow:
        case = _load_version(uow, principal, command.case_id, command.expected_version)
        if case.status not in REDECIDABLE:
            raise InvalidTransition(
                f"a case that is {case.status} is past deciding", code="decision_final"
            )
        order = uow.orders.get(case.order_id)
        store = uow.stores.get(case.store_id)
        if order is None or store is None or case.decision is None:
            raise NotFound("this case has no decision to redo", code="no_decision")
        before = case.decision.get("inputs") or {}
        version, policy = uow.policies.active(store)
        known_evidence = {EvidenceKind(k) for k in before.get("evidence", [])}
        history_before = before.get("history", {})
        request = DecisionRequest(
            order=order,
            lines=case_claims(order, case.lines),
            requested_at=case.created_at,
            preferred_resolution=case.preferred_resolution,
            history=BuyerHistory(
                int(history_before.get("returns", 0)), int(history_before.get("refunded", 0))
            ),
            evidence=frozenset(known_evidence | command.evidence),
            findings=frozenset(set(before.get("findings", [])) | command.findings),
            whole_order=bool(before.get("whole_order", False)),
        )
        decision = decide(request, policy, version.version)
        now = clock()
        case.record_decision(decision.to_dict(), principal.actor(), now)
        if policy.auto_apply:
            _move_on(case, decision, now)
        fill_return_address(uow, case)
        keep_up(uow, case)
        uow.cases.save(case, command.expected_version)
        uow.commit()
        return case
