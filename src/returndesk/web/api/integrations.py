"""Integration tokens (store admins) and the carriers' scans they send (docs/logistics.md)."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Path, Query, Response

from returndesk.domain.integrations import IntegrationToken
from returndesk.services.carrier_events import Scan, declare_sent, list_scans, record_scan
from returndesk.services.integrations import create_token, list_tokens, revoke_token
from returndesk.web.api.returns import CaseId
from returndesk.web.deps import ContainerDep, PrincipalDep
from returndesk.web.schemas import (
    CarrierEventIn,
    IntegrationTokenIn,
    ParcelSentIn,
    carrier_event_out,
    case_out,
)

router = APIRouter(prefix="/api/v1", tags=["integrations"])

TokenId = Annotated[str, Path(pattern=r"^[0-9a-f-]{36}$")]


def token_out(token: IntegrationToken) -> dict[str, Any]:
    return {
        "id": token.id,
        "name": token.name,
        "scopes": sorted(token.scopes),
        "created_by": token.created_by,
        "created_at": token.created_at.isoformat(),
        "last_used_at": token.last_used_at.isoformat() if token.last_used_at else None,
        "revoked_at": token.revoked_at.isoformat() if token.revoked_at else None,
    }


@router.post("/integrations/tokens", status_code=201)
def new_token(
    body: IntegrationTokenIn, principal: PrincipalDep, container: ContainerDep
) -> dict[str, Any]:
    """The whole token is in this answer only; keep it in the other system's secrets."""
    made = create_token(
        container.uow, container.clock, principal, body.name, body.scopes, body.store
    )
    return {**token_out(made.token), "token": made.secret}


@router.get("/integrations/tokens")
def tokens(
    principal: PrincipalDep,
    container: ContainerDep,
    store: Annotated[str | None, Query(max_length=63)] = None,
) -> dict[str, Any]:
    return {"items": [token_out(t) for t in list_tokens(container.uow, principal, store)]}


@router.delete("/integrations/tokens/{token_id}")
def revoke(token_id: TokenId, principal: PrincipalDep, container: ContainerDep) -> dict[str, Any]:
    return token_out(revoke_token(container.uow, container.clock, principal, token_id))


@router.post("/carrier-events", status_code=201)
def carrier_event(
    body: CarrierEventIn, response: Response, principal: PrincipalDep, container: ContainerDep
) -> dict[str, Any]:
    """A carrier's scan of a return parcel; the same scan again changes nothing (200)."""
    scan = Scan(
        body.tracking_number,
        body.carrier,
        body.status,
        body.occurred_at,
        body.location,
        body.reference,
    )
    done = record_scan(container.uow, container.clock, principal, scan)
    if done.event is None:
        response.status_code = 200
    else:  # a new scan: a refund may be due, an exchange's card hold let go
        container.after_parcel_moved(done.case.id)
    return {
        "case_id": done.case.id,
        "rma": done.case.rma,
        "status": done.case.status.value,
        "moved_to": done.moved_to,
        "duplicate": done.event is None,
        "event": carrier_event_out(done.event) if done.event else None,
    }


@router.post("/returns/{case_id}/parcel")
def parcel_sent(
    case_id: CaseId, body: ParcelSentIn, principal: PrincipalDep, container: ContainerDep
) -> dict[str, Any]:
    """The buyer sent the parcel: its carrier and tracking number (the case goes in transit)."""
    case = declare_sent(
        container.uow, container.clock, principal, case_id, body.carrier, body.tracking_number
    )
    return case_out(case, principal.role)


@router.get("/returns/{case_id}/carrier-events")
def case_carrier_events(
    case_id: CaseId, principal: PrincipalDep, container: ContainerDep
) -> dict[str, Any]:
    events = list_scans(container.uow, principal, case_id)
    return {"items": [carrier_event_out(e) for e in events]}
