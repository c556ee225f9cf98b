"""How long evidence is kept: legal holds, erasure requests (GDPR Art. 17, LGPD Art. 18) and
the retention period after a case ends.

Erasing deletes the bytes and keeps the chain: each erased item's link (its hash, size, who
and when) stays, marked erased with the reason, and the timeline records who erased it and
why, so `verify` still checks everything that remains and knows the gaps are deliberate.
A legal hold blocks both erasure and retention until it is released.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta

from returndesk.domain.access import Permission
from returndesk.domain.cases.status import CaseStatus
from returndesk.domain.errors import Conflict, NotFound, ValidationFailed
from returndesk.domain.evidence import Hold
from returndesk.services.ports import Clock, EvidenceFiles, UnitOfWorkFactory
from returndesk.services.principal import SYSTEM, Principal
from returndesk.services.returns import get_case

ENDED = (CaseStatus.closed.value, CaseStatus.canceled.value)
MAX_REASON = 500


def _reason(text: str) -> str:
    reason = text.strip()
    if not reason:
        raise ValidationFailed("say why", code="note_required")
    return reason[:MAX_REASON]


def get_hold(uow_factory: UnitOfWorkFactory, principal: Principal, case_id: str) -> Hold | None:
    get_case(uow_factory, principal, case_id)
    with uow_factory() as uow:
        return uow.evidence.hold(case_id)


def place_hold(
    uow_factory: UnitOfWorkFactory, clock: Clock, principal: Principal, case_id: str, reason: str
) -> Hold:
    principal.require(Permission.evidence_manage)
    why = _reason(reason)
    get_case(uow_factory, principal, case_id)
    now = clock()
    with uow_factory(write=True) as uow:
        case = uow.cases.get(case_id)
        if case is None:
            raise NotFound("case not found", code="case_not_found")
        existing = uow.evidence.hold(case_id)
        if existing is not None:
            return existing
        hold = Hold(case_id, why, principal.actor().name, now)
        uow.evidence.place_hold(hold)
        case.record_evidence_care("evidence_hold_placed", {"reason": why}, principal.actor(), now)
        uow.cases.save(case, case.version)
        uow.commit()
        return hold


def release_hold(
    uow_factory: UnitOfWorkFactory, clock: Clock, principal: Principal, case_id: str
) -> None:
    principal.require(Permission.evidence_manage)
    get_case(uow_factory, principal, case_id)
    now = clock()
    with uow_factory(write=True) as uow:
        case = uow.cases.get(case_id)
        if case is None or uow.evidence.hold(case_id) is None:
            return
        uow.evidence.release_hold(case_id)
        case.record_evidence_care("evidence_hold_released", {}, principal.actor(), now)
        uow.cases.save(case, case.version)
        uow.commit()


@dataclass(frozen=True, slots=True)
class Erasure:
    case_id: str
    erased: int  # items whose bytes were deleted now
    files_deleted: int  # stored files removed (files shared with kept items stay)


def erase_evidence(
    uow_factory: UnitOfWorkFactory,
    clock: Clock,
    files: EvidenceFiles,
    principal: Principal,
    case_id: str,
    reason: str,
) -> Erasure:
    """Delete the bytes of a case's evidence (an erasure request); refused under a legal hold."""
    principal.require(Permission.evidence_manage)
    get_case(uow_factory, principal, case_id)
    return _erase(uow_factory, clock, files, principal, case_id, _reason(reason))


def _erase(
    uow_factory: UnitOfWorkFactory,
    clock: Clock,
    files: EvidenceFiles,
    principal: Principal,
    case_id: str,
    reason: str,
) -> Erasure:
    now = clock()
    with uow_factory(write=True) as uow:
        case = uow.cases.get(case_id)
        if case is None:
            raise NotFound("case not found", code="case_not_found")
        hold = uow.evidence.hold(case_id)
        if hold is not None:
            raise Conflict(
                f"the evidence is under a legal hold ({hold.reason}): release it first",
                code="legal_hold",
            )
        items = [i for i in uow.evidence.for_case(case_id) if i.erased_at is None]
        if not items:
            return Erasure(case_id, 0, 0)
        uow.evidence.mark_erased([i.id for i in items], now, reason)
        case.record_evidence_care(
            "evidence_erased",
            {"reason": reason, "evidence_ids": [i.id for i in items]},
            principal.actor(),
            now,
        )
        uow.cases.save(case, case.version)
        uow.commit()
    # The bytes go after the commit (a crash in between leaves bytes that nothing refers to;
    # they are unreadable through the app, which serves only items not erased).
    deleted = 0
    with uow_factory() as uow:
        for item in items:
            shas = {item.sha256, str(item.details.get("display_sha256") or "")} - {""}
            for sha in shas:
                if not uow.evidence.still_used(sha):
                    files.remove(sha)
                    deleted += 1
    return Erasure(case_id, len(items), deleted)


def apply_retention(
    uow_factory: UnitOfWorkFactory,
    clock: Clock,
    files: EvidenceFiles,
    retention_days: int,
    limit: int = 100,
) -> int:
    """Erase the evidence of cases that ended more than `retention_days` ago (none held).
    0 keeps everything. Returns how many cases were erased."""
    if retention_days <= 0:
        return 0
    cutoff = clock() - timedelta(days=retention_days)
    with uow_factory() as uow:
        due = uow.evidence.retention_due(ENDED, cutoff, limit)
    for case_id in due:
        _erase(
            uow_factory, clock, files, SYSTEM, case_id,
            f"retention period ended ({retention_days} days after the case ended)",
        )  # fmt: skip
    return len(due)
