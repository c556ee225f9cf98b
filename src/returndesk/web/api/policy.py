"""The return policy: versions, evaluation without a case, what-if simulation, overrides."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Header, Query, Response
from pydantic import Field, StrictInt

from returndesk.domain.cases.model import LineRequest
from returndesk.domain.cases.reasons import ReasonCode
from returndesk.domain.cases.status import Resolution
from returndesk.domain.policy.decision import EvidenceKind, Outcome
from returndesk.services.policies import (
    Evaluate,
    diff_versions,
    evaluate,
    get_active,
    get_version,
    list_versions,
    save_policy,
    simulate,
)
from returndesk.services.ports import PolicyVersion
from returndesk.services.returns import (
    OverrideDecision,
    Redecide,
    override_decision,
    redecide,
    replay_decision,
)
from returndesk.web.api.orders import order_input
from returndesk.web.api.returns import CaseId, etag, parse_if_match
from returndesk.web.deps import ContainerDep, PrincipalDep
from returndesk.web.schemas import (
    Body,
    Note,
    OrderIn,
    OrderNumber,
    ReturnLineIn,
    Slug,
    Timestamp,
    case_out,
    event_out,
)

router = APIRouter(prefix="/api/v1", tags=["policy"])
StoreQuery = Annotated[str | None, Query(max_length=63, pattern=r"^[a-z0-9-]+$")]
Finding = Annotated[str, Field(pattern=r"^[a-z_]{1,40}$")]


def version_out(v: PolicyVersion, *, document: bool = True) -> dict[str, Any]:
    out: dict[str, Any] = {
        "version": v.version,
        "created_at": v.created_at.isoformat() if v.created_at else None,
        "created_by": v.created_by,
        "note": v.note,
    }
    if document:
        out["document"] = v.document
    return out


class PolicyDocumentIn(Body):
    document: dict[str, Any]
    note: Note = ""
    expected_version: Annotated[StrictInt, Field(ge=0, le=10**9)] | None = None
    store: Slug | None = None


class EvaluateIn(Body):
    order_number: OrderNumber | None = None
    order: OrderIn | None = None
    lines: list[ReturnLineIn] = Field(min_length=1, max_length=500)
    requested_at: Timestamp
    preferred_resolution: Resolution = Resolution.refund
    evidence: list[EvidenceKind] = Field(default_factory=list, max_length=3)
    findings: list[Finding] = Field(default_factory=list, max_length=20)
    store: Slug | None = None


class SimulateIn(Body):
    document: dict[str, Any]
    since: Timestamp
    store: Slug | None = None


class RedecideIn(Body):
    evidence: list[EvidenceKind] = Field(default_factory=list, max_length=3)
    findings: list[Finding] = Field(default_factory=list, max_length=20)


class OverrideIn(Body):
    outcome: Outcome
    note: Note


@router.get("/policy")
def read_policy(
    principal: PrincipalDep, container: ContainerDep, store: StoreQuery = None
) -> dict[str, Any]:
    return version_out(get_active(container.uow, principal, store))


@router.put("/policy")
def write_policy(
    body: PolicyDocumentIn, principal: PrincipalDep, container: ContainerDep
) -> dict[str, Any]:
    saved = save_policy(
        container.uow,
        container.clock,
        principal,
        body.store,
        body.document,
        note=body.note,
        expected_version=body.expected_version,
    )
    return version_out(saved)


@router.get("/policy/versions")
def versions(
    principal: PrincipalDep, container: ContainerDep, store: StoreQuery = None
) -> dict[str, Any]:
    return {
        "items": [
            version_out(v, document=False) for v in list_versions(container.uow, principal, store)
        ]
    }


@router.get("/policy/versions/{number}")
def version(
    number: Annotated[int, Field(ge=1, le=10**9)],
    principal: PrincipalDep,
    container: ContainerDep,
    store: StoreQuery = None,
    against: Annotated[int | None, Query(ge=1, le=10**9)] = None,
) -> dict[str, Any]:
    found = get_version(container.uow, principal, store, number)
    out = version_out(found)
    if against is not None:
        other = get_version(container.uow, principal, store, against)
        out["diff"] = diff_versions(other, found)
    return out


@router.post("/policy/evaluate")
def evaluate_policy(
    body: EvaluateIn, principal: PrincipalDep, container: ContainerDep
) -> dict[str, Any]:
    command = Evaluate(
        lines=tuple(
            LineRequest(ln.sku, ln.quantity, ReasonCode(ln.reason), ln.comment) for ln in body.lines
        ),
        requested_at=body.requested_at,
        order_number=body.order_number,
        order=order_input(body.order) if body.order is not None else None,
        preferred_resolution=body.preferred_resolution,
        evidence=frozenset(body.evidence),
        findings=frozenset(body.findings),
        store_slug=body.store,
    )
    return evaluate(container.uow, principal, command).to_dict()


@router.post("/policy/simulate")
def simulate_policy(
    body: SimulateIn, principal: PrincipalDep, container: ContainerDep
) -> dict[str, Any]:
    report = simulate(container.uow, principal, body.store, body.document, body.since)
    return report.to_dict()


@router.post("/returns/{case_id}/decision/override")
def override(
    case_id: CaseId,
    body: OverrideIn,
    response: Response,
    principal: PrincipalDep,
    container: ContainerDep,
    if_match: Annotated[str | None, Header(max_length=64)] = None,
) -> dict[str, Any]:
    command = OverrideDecision(case_id, body.outcome, body.note, parse_if_match(if_match))
    case, event = override_decision(container.uow, container.clock, principal, command)
    response.headers["ETag"] = etag(case.version)
    return {**case_out(case, principal.role), "event": event_out(event, principal.role)}


@router.get("/returns/{case_id}/decision/replay")
def replay(case_id: CaseId, principal: PrincipalDep, container: ContainerDep) -> dict[str, Any]:
    """Decide again from the stored inputs and policy version; `matches` proves it."""
    result = replay_decision(container.uow, principal, case_id)
    return {"matches": result.matches, "stored": result.stored, "replayed": result.replayed}


@router.post("/returns/{case_id}/decision")
def decide_again(
    case_id: CaseId,
    body: RedecideIn,
    response: Response,
    principal: PrincipalDep,
    container: ContainerDep,
    if_match: Annotated[str | None, Header(max_length=64)] = None,
) -> dict[str, Any]:
    """Decide again with the evidence and findings that came in since (active policy)."""
    command = Redecide(
        case_id,
        parse_if_match(if_match),
        frozenset(body.evidence),
        frozenset(body.findings),
    )
    case = redecide(container.uow, container.clock, principal, command)
    response.headers["ETag"] = etag(case.version)
    return case_out(case, principal.role)
