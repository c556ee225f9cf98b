"""Policies: versions (read, save, diff), evaluation without a case, and what-if simulation."""

from __future__ import annotations

import difflib
import json
from collections import Counter, defaultdict, deque
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from returndesk.domain.access import Permission
from returndesk.domain.cases.model import (
    CaseLine,
    LineRequest,
    LineUsage,
    ReturnCase,
    refundable_share,
)
from returndesk.domain.cases.status import Resolution
from returndesk.domain.errors import NotFound, StaleVersion, ValidationFailed
from returndesk.domain.orders import Order
from returndesk.domain.policy.decision import (
    BuyerHistory,
    ClaimLine,
    Decision,
    DecisionRequest,
    EvidenceKind,
)
from returndesk.domain.policy.document import Policy
from returndesk.domain.policy.engine import decide
from returndesk.services.orders import OrderInput, build_order
from returndesk.services.ports import Clock, PolicyVersion, UnitOfWork, UnitOfWorkFactory
from returndesk.services.principal import Principal
from returndesk.services.stores import resolve_store

MAX_NOTE = 2000
MAX_DOCUMENT_BYTES = 1_000_000


def document_text(document: dict[str, Any]) -> str:
    """The canonical text of a document: what diffs and exports show."""
    return json.dumps(document, indent=2, sort_keys=True, ensure_ascii=False)


def get_active(
    uow_factory: UnitOfWorkFactory, principal: Principal, slug: str | None
) -> PolicyVersion:
    principal.require(Permission.policy_read)
    with uow_factory() as uow:
        store = resolve_store(uow, principal, slug)
        version, _ = uow.policies.active(store)
        saved = uow.policies.get(store.id, version.version) if version.version else None
        return saved or version


def store_policy(uow: UnitOfWork, store_id: str) -> Policy | None:
    """The store's active policy, inside a unit of work (None: no such store)."""
    store = uow.stores.get(store_id)
    return uow.policies.active(store)[1] if store is not None else None


def list_versions(
    uow_factory: UnitOfWorkFactory, principal: Principal, slug: str | None
) -> list[PolicyVersion]:
    principal.require(Permission.policy_read)
    with uow_factory() as uow:
        store = resolve_store(uow, principal, slug)
        return uow.policies.list(store.id)


def get_version(
    uow_factory: UnitOfWorkFactory, principal: Principal, slug: str | None, number: int
) -> PolicyVersion:
    principal.require(Permission.policy_read)
    with uow_factory() as uow:
        store = resolve_store(uow, principal, slug)
        found = uow.policies.get(store.id, number)
        if found is None:
            raise NotFound(f"policy version {number} not found", code="policy_version_not_found")
        return found


def diff_versions(old: PolicyVersion, new: PolicyVersion) -> list[str]:
    return list(
        difflib.unified_diff(
            document_text(old.document).splitlines(),
            document_text(new.document).splitlines(),
            f"version {old.version}",
            f"version {new.version}",
            lineterm="",
        )
    )


def check_document(uow_factory: UnitOfWorkFactory, document: object) -> Policy:
    """Validate a document without saving it; raises PolicyInvalid naming what is wrong."""
    if not isinstance(document, dict):
        raise ValidationFailed(
            "a policy document is a table (a JSON object)", code="invalid_policy"
        )
    text = json.dumps(document)
    if len(text) > MAX_DOCUMENT_BYTES:
        raise ValidationFailed("the policy document is too large", code="invalid_policy")
    if "\\u0000" in text:
        raise ValidationFailed(
            "the policy document contains a NUL character", code="invalid_policy"
        )
    with uow_factory() as uow:
        return uow.policies.compile(document)


def save_policy(
    uow_factory: UnitOfWorkFactory,
    clock: Clock,
    principal: Principal,
    slug: str | None,
    document: object,
    *,
    note: str = "",
    expected_version: int | None = None,
) -> PolicyVersion:
    """Check the whole document, then make it the next active version. A bad document
    changes nothing; a stale expected_version is refused (someone saved in between)."""
    principal.require(Permission.policy_write)
    if len(note) > MAX_NOTE:
        raise ValidationFailed("the note is too long", code="note_too_long")
    check_document(uow_factory, document)
    assert isinstance(document, dict)
    with uow_factory(write=True) as uow:
        store = resolve_store(uow, principal, slug)
        current, _ = uow.policies.active(store)
        if expected_version is not None and expected_version != current.version:
            raise StaleVersion(
                "the policy changed since you loaded it: reload and try again",
                current_version=current.version,
            )
        version = PolicyVersion(
            store_id=store.id,
            version=current.version + 1,
            document=document,
            created_at=clock(),
            created_by=principal.name or principal.id,
            note=note.strip(),
        )
        uow.policies.add(version)
        uow.commit()
        return version


# --- evaluation ----------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Evaluate:
    lines: tuple[LineRequest, ...]
    requested_at: datetime
    order_number: str | None = None
    order: OrderInput | None = None  # inline, as for POST /orders; nothing is saved
    preferred_resolution: Resolution = Resolution.refund
    evidence: frozenset[EvidenceKind] = frozenset()
    findings: frozenset[str] = frozenset()
    store_slug: str | None = None


def claim_lines(
    order: Order, lines: Iterable[LineRequest], usage: dict[str, LineUsage]
) -> tuple[ClaimLine, ...]:
    """The engine's view of requested lines: category and this return's paid share."""
    out: list[ClaimLine] = []
    for req in lines:
        line = order.line_by_sku(req.sku)
        used = usage.get(line.id, LineUsage())
        out.append(
            ClaimLine(
                sku=line.sku,
                category=line.category,
                quantity=req.quantity,
                amount=refundable_share(line, used, req.quantity),
                reason=req.reason,
            )
        )
    return tuple(out)


def case_claims(order: Order, lines: Iterable[CaseLine]) -> tuple[ClaimLine, ...]:
    """The engine's view of a filed case's lines (their paid share was fixed at filing)."""
    return tuple(
        ClaimLine(ln.sku, order.line_by_sku(ln.sku).category, ln.quantity,
                  ln.refundable_amount, ln.reason)
        for ln in lines
    )  # fmt: skip


def whole_order(order: Order, lines: Iterable[LineRequest], usage: dict[str, LineUsage]) -> bool:
    """Does this return take back every unit of the order not already returned?"""
    asked = {req.sku: req.quantity for req in lines}
    return all(
        asked.get(line.sku, 0) + usage.get(line.id, LineUsage()).quantity >= line.quantity
        for line in order.lines
    )


def history(uow: UnitOfWork, policy: Policy, order: Order, now: datetime) -> BuyerHistory:
    since = now - timedelta(days=policy.fraud_lookback_days)
    returns, refunded = uow.cases.buyer_history(order.store_id, order.email, since)
    return BuyerHistory(returns, refunded)


def evaluate(uow_factory: UnitOfWorkFactory, principal: Principal, command: Evaluate) -> Decision:
    """What the active policy would decide, without creating or changing anything."""
    principal.require(Permission.policy_read)
    if (command.order_number is None) == (command.order is None):
        raise ValidationFailed(
            "give either order_number or an inline order", code="order_or_number"
        )
    with uow_factory() as uow:
        store = resolve_store(uow, principal, command.store_slug)
        usage: dict[str, LineUsage] = {}
        if command.order is not None:
            order = build_order(store.id, command.order, None)
        else:
            assert command.order_number is not None
            found = uow.orders.get_by_number(store.id, command.order_number)
            if found is None:
                raise NotFound(f"order {command.order_number} not found", code="order_not_found")
            order = found
            usage = uow.orders.line_usage(order.id)
        # The same checks as filing it (lines, skus, quantities left); nothing is kept.
        ReturnCase.open(
            order=order,
            requests=list(command.lines),
            preferred_resolution=command.preferred_resolution,
            usage=usage,
            actor=principal.actor(),
            now=command.requested_at,
        )
        version, policy = uow.policies.active(store)
        request = DecisionRequest(
            order=order,
            lines=claim_lines(order, command.lines, usage),
            requested_at=command.requested_at,
            preferred_resolution=command.preferred_resolution,
            history=history(uow, policy, order, command.requested_at),
            evidence=command.evidence,
            findings=command.findings,
            whole_order=whole_order(order, command.lines, usage),
        )
        return decide(request, policy, version.version)


# --- what-if simulation --------------------------------------------------------------------


@dataclass(slots=True)
class Flip:
    case_id: str
    number: str
    before: str
    after: str
    refund_before: int
    refund_after: int
    currency: str


@dataclass(slots=True)
class SimulationReport:
    since: datetime
    policy_before: int  # the active version
    cases: int = 0
    outcomes_before: Counter[str] = field(default_factory=Counter)
    outcomes_after: Counter[str] = field(default_factory=Counter)
    refunds_before: dict[str, int] = field(default_factory=lambda: defaultdict(int))
    refunds_after: dict[str, int] = field(default_factory=lambda: defaultdict(int))
    flips: list[Flip] = field(default_factory=list)
    flips_total: int = 0
    errors: int = 0

    def to_dict(self) -> dict[str, Any]:
        outcomes = sorted(set(self.outcomes_before) | set(self.outcomes_after))
        currencies = sorted(set(self.refunds_before) | set(self.refunds_after))
        return {
            "since": self.since.isoformat(),
            "active_version": self.policy_before,
            "cases": self.cases,
            "outcomes": [
                {
                    "outcome": o,
                    "before": self.outcomes_before.get(o, 0),
                    "after": self.outcomes_after.get(o, 0),
                }
                for o in outcomes
            ],
            "refunds": [
                {
                    "currency": c,
                    "before": self.refunds_before.get(c, 0),
                    "after": self.refunds_after.get(c, 0),
                }
                for c in currencies
            ],
            "flips_total": self.flips_total,
            "flips": [
                {
                    "case_id": f.case_id,
                    "number": f.number,
                    "before": f.before,
                    "after": f.after,
                    "refund_before": f.refund_before,
                    "refund_after": f.refund_after,
                    "currency": f.currency,
                }
                for f in self.flips
            ],
            "errors": self.errors,
        }


MAX_FLIPS_LISTED = 500
_PAGE = 1000


def simulate(
    uow_factory: UnitOfWorkFactory,
    principal: Principal,
    slug: str | None,
    draft: object,
    since: datetime,
    *,
    progress: Callable[[int, int], None] | None = None,
) -> SimulationReport:
    """Replay the cases opened since a date against a draft policy; compare with what they got.

    Buyer history is rebuilt from the replayed cases themselves (oldest first), so a serial
    returner rule sees what it would have seen then. Nothing is written.
    """
    principal.require(Permission.policy_write)
    policy = check_document(uow_factory, draft)
    with uow_factory() as uow:
        store = resolve_store(uow, principal, slug)
        active, _ = uow.policies.active(store)
        total = uow.cases.count_since(store.id, since)
    report = SimulationReport(since=since, policy_before=active.version)
    if progress is not None:
        progress(0, total)
    recent: dict[str, deque[datetime]] = defaultdict(deque)
    window = timedelta(days=policy.fraud_lookback_days)
    after: tuple[datetime, str] | None = None
    while True:
        with uow_factory() as uow:
            page = uow.cases.replay(store.id, since, after, _PAGE)
        if not page:
            break
        for item in page:
            seen = recent[item.buyer_email]
            while seen and seen[0] < item.created_at - window:
                seen.popleft()
            requests = [LineRequest(ln.sku, ln.quantity, ln.reason) for ln in item.lines]
            report.cases += 1
            try:
                claims = case_claims(item.order, item.lines)
                decision = decide(
                    DecisionRequest(
                        order=item.order,
                        lines=claims,
                        requested_at=item.created_at,
                        preferred_resolution=item.preferred_resolution,
                        history=BuyerHistory(len(seen), 0),
                        whole_order=whole_order(item.order, requests, {}),
                    ),
                    policy,
                    0,
                )
            except ValidationFailed:
                report.errors += 1
                continue
            finally:
                seen.append(item.created_at)
            before = (item.decision or {}).get("outcome", "none")
            refund_before = int(((item.decision or {}).get("refund") or {}).get("amount", 0))
            after_outcome = decision.outcome.value
            report.outcomes_before[before] += 1
            report.outcomes_after[after_outcome] += 1
            report.refunds_before[decision.currency] += refund_before
            report.refunds_after[decision.currency] += decision.refund_amount
            if before != after_outcome:
                report.flips_total += 1
                if len(report.flips) < MAX_FLIPS_LISTED:
                    report.flips.append(
                        Flip(
                            item.case_id,
                            item.number,
                            before,
                            after_outcome,
                            refund_before,
                            decision.refund_amount,
                            decision.currency,
                        )
                    )
        if progress is not None:
            progress(report.cases, max(total, report.cases))
        last = page[-1]
        after = (last.created_at, last.case_id)
    return report
