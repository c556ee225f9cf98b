"""Return cases: open, read, list (the agent queue), timeline, transitions."""

from __future__ import annotations

import re
from datetime import timedelta
from typing import Annotated, Any

from fastapi import APIRouter, Header, Path, Query, Request, Response
from fastapi.responses import StreamingResponse

from returndesk.adapters.db.repositories import SORT_KEYS, decode_cursor, encode_cursor
from returndesk.domain.access import Role
from returndesk.domain.cases.model import LineRequest, ReceiptLine
from returndesk.domain.cases.status import CaseStatus
from returndesk.domain.errors import ValidationFailed
from returndesk.domain.policy.decision import Outcome
from returndesk.services.ports import CaseQuery
from returndesk.services.refunds import refunds_and_receipts
from returndesk.services.returns import (
    MoveCase,
    OpenReturn,
    count_by_status,
    get_case,
    get_timeline,
    list_cases,
    open_return,
    preview_return,
    transition_case,
)
from returndesk.services.teams import work_view
from returndesk.web.api.teams import work_out
from returndesk.web.deps import ContainerDep, PrincipalDep
from returndesk.web.live import case_stream, queue_stream
from returndesk.web.problems import HttpProblem
from returndesk.web.schemas import (
    ReturnIn,
    TransitionIn,
    case_out,
    decision_out,
    event_out,
    exchange_out,
    receipt_out,
    summary_out,
    visible_refunds,
)

router = APIRouter(prefix="/api/v1", tags=["returns"])

CaseId = Annotated[str, Path(pattern=r"^[0-9a-f-]{36}$")]
_IF_MATCH = re.compile(r'^\s*(?:W/)?"?(\d{1,9})"?\s*$')


def etag(version: int) -> str:
    return f'"{version}"'


@router.post("/returns", status_code=201)
def create_return(
    body: ReturnIn,
    response: Response,
    principal: PrincipalDep,
    container: ContainerDep,
    idempotency_key: Annotated[
        str | None, Header(max_length=255, pattern=r"^[\x21-\x7e]+$")
    ] = None,
) -> dict[str, Any]:
    command = OpenReturn(
        order_number=body.order_number,
        lines=tuple(LineRequest(ln.sku, ln.quantity, ln.reason, ln.comment) for ln in body.lines),
        preferred_resolution=body.preferred_resolution,
        store_slug=body.store,
        exception=(body.exception.outcome, body.exception.note) if body.exception else None,
    )
    opened = open_return(container.uow, container.clock, principal, command, idempotency_key)
    response.headers["ETag"] = etag(opened.case.version)
    response.headers["Location"] = f"/api/v1/returns/{opened.case.id}"
    if opened.replayed:
        response.headers["Idempotent-Replayed"] = "true"
    return case_out(opened.case, principal.role)


@router.post("/returns/preview")
def preview(body: ReturnIn, principal: PrincipalDep, container: ContainerDep) -> dict[str, Any]:
    """What filing this return would decide now (buyers see their view); nothing is saved."""
    command = OpenReturn(
        order_number=body.order_number,
        lines=tuple(LineRequest(ln.sku, ln.quantity, ln.reason, ln.comment) for ln in body.lines),
        preferred_resolution=body.preferred_resolution,
        store_slug=body.store,
    )
    decision = preview_return(container.uow, container.clock, principal, command)
    return decision_out(decision.to_dict(), principal.role) or {}


@router.get("/returns")
def list_returns(
    principal: PrincipalDep,
    container: ContainerDep,
    status: Annotated[list[CaseStatus] | None, Query()] = None,
    market: Annotated[str | None, Query(pattern=r"^[A-Za-z]{2}$")] = None,
    language: Annotated[str | None, Query(pattern=r"^[A-Za-z]{2}(-[A-Za-z]{2})?$")] = None,
    q: Annotated[str | None, Query(max_length=320, pattern=r"^[^\x00]*$")] = None,
    outcome: Annotated[Outcome | None, Query()] = None,
    min_age_days: Annotated[int | None, Query(ge=0, le=3650)] = None,
    max_age_days: Annotated[int | None, Query(ge=0, le=3650)] = None,
    sort: Annotated[str, Query(pattern="^(" + "|".join(re.escape(k) for k in SORT_KEYS) + ")$")] = (
        "-created_at"
    ),
    cursor: Annotated[str | None, Query(max_length=400)] = None,
    limit: Annotated[int, Query(ge=1, le=200)] = 50,
    assignee: Annotated[str | None, Query(max_length=36, pattern=r"^(me|none|[0-9a-f-]+)$")] = None,
    team: Annotated[str | None, Query(max_length=36, pattern=r"^[0-9a-f-]+$")] = None,
    breached: Annotated[bool | None, Query()] = None,
) -> dict[str, Any]:
    decoded = None
    if cursor:
        decoded = decode_cursor(cursor)
        if decoded is None:
            raise ValidationFailed("the cursor is not valid", code="invalid_cursor")
    now = container.clock()
    query = CaseQuery(
        store_id=principal.store_id,
        statuses=tuple(status or ()),
        market=market.upper() if market else None,
        language=language,
        outcome=outcome.value if outcome else None,
        q=q or None,
        created_before=now - timedelta(days=min_age_days) if min_age_days is not None else None,
        created_after=now - timedelta(days=max_age_days) if max_age_days is not None else None,
        assignee_id={"me": principal.id, "none": ""}.get(assignee or "", assignee),
        team_id=team,
        breached=breached,
        sort=sort,
        cursor=decoded,
        limit=limit,
    )
    page = list_cases(container.uow, principal, query)
    return {
        "items": [summary_out(item) for item in page.items],
        "next_cursor": encode_cursor(page.next_cursor) if page.next_cursor else None,
    }


@router.get("/returns/counts")
def status_counts(principal: PrincipalDep, container: ContainerDep) -> dict[str, Any]:
    counts = count_by_status(container.uow, principal)
    return {"counts": {s.value: counts.get(s, 0) for s in CaseStatus}}


@router.get("/returns/{case_id}")
def read_return(
    case_id: CaseId, response: Response, principal: PrincipalDep, container: ContainerDep
) -> dict[str, Any]:
    case = get_case(container.uow, principal, case_id)
    response.headers["ETag"] = etag(case.version)
    out = case_out(case, principal.role)
    refunds, receipts, exchange = refunds_and_receipts(container.uow, principal, case_id)
    out["refunds"] = visible_refunds(refunds, principal)
    out["exchange"] = exchange_out(exchange, principal.role) if exchange else None
    if principal.role is not Role.buyer:
        out["receipts"] = [receipt_out(r) for r in receipts]
        out |= work_out(work_view(container.uow, principal, case_id))
    return out


@router.get("/returns/{case_id}/events")
async def case_events(
    case_id: CaseId, request: Request, principal: PrincipalDep, container: ContainerDep
) -> StreamingResponse:
    """Server-Sent Events: the case's timeline entries as they happen (see docs/live.md)."""
    return await case_stream(request, container, principal, case_id)


@router.get("/events")
async def store_events(
    request: Request, principal: PrincipalDep, container: ContainerDep
) -> StreamingResponse:
    """Server-Sent Events: which cases of the store changed, as they change."""
    return await queue_stream(request, container, principal)


@router.get("/returns/{case_id}/timeline")
def read_timeline(
    case_id: CaseId, principal: PrincipalDep, container: ContainerDep
) -> dict[str, Any]:
    return {
        "items": [
            event_out(e, principal.role) for e in get_timeline(container.uow, principal, case_id)
        ]
    }


def parse_if_match(value: str | None) -> int:
    if value is None:
        raise HttpProblem(
            428,
            "precondition_required",
            'send If-Match: "<version>" with the version you last read',
        )
    match = _IF_MATCH.match(value)
    if match is None:
        raise HttpProblem(400, "invalid_if_match", 'If-Match must look like "3"')
    return int(match.group(1))


@router.post("/returns/{case_id}/transitions")
def move_return(
    case_id: CaseId,
    body: TransitionIn,
    response: Response,
    principal: PrincipalDep,
    container: ContainerDep,
    if_match: Annotated[str | None, Header(max_length=64)] = None,
) -> dict[str, Any]:
    command = MoveCase(
        case_id=case_id,
        to=body.to,
        expected_version=parse_if_match(if_match),
        note=body.note,
        refund_amount=body.refund_amount,
        receipt=tuple(ReceiptLine(ln.sku, ln.quantity, ln.condition) for ln in body.lines),
    )
    case, event = transition_case(container.uow, container.clock, principal, command)
    response.headers["ETag"] = etag(case.version)
    return {**case_out(case, principal.role), "event": event_out(event, principal.role)}
