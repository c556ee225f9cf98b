"""Buyer emails: the store's outbox, a case's emails, one email with its bodies, a retry."""

from __future__ import annotations

from typing import Annotated, Any, Literal

from fastapi import APIRouter, Path, Query

from returndesk.domain.notifications import EmailView
from returndesk.services.emails import case_emails, get_email, list_emails, retry_email
from returndesk.web.deps import ContainerDep, PrincipalDep
from returndesk.web.schemas import iso

router = APIRouter(prefix="/api/v1", tags=["emails"])
CaseId = Annotated[str, Path(pattern=r"^[0-9a-f-]{36}$")]
EmailId = Annotated[str, Path(pattern=r"^em_[0-9a-f-]{36}$")]


def email_out(e: EmailView, *, bodies: bool = False) -> dict[str, Any]:
    out: dict[str, Any] = {
        "id": e.id,
        "case_id": e.case_id,
        "case_number": e.case_number,
        "kind": e.kind,
        "sections": list(e.sections),
        "urgent": e.urgent,
        "to": e.to_address,
        "language": e.language,
        "subject": e.subject,
        "status": e.status,
        "attempts": e.attempts,
        "not_before": iso(e.not_before),
        "next_attempt_at": iso(e.next_attempt_at),
        "last_error": e.last_error,
        "created_at": iso(e.created_at),
        "sent_at": iso(e.sent_at),
    }
    if bodies:
        out["text"] = e.text_body
        out["html"] = e.html_body
    return out


@router.get("/emails")
def emails(
    principal: PrincipalDep,
    container: ContainerDep,
    status: Annotated[Literal["pending", "sent", "dead"] | None, Query()] = None,
) -> dict[str, Any]:
    """The store's buyer emails, newest first (staff)."""
    return {"items": [email_out(e) for e in list_emails(container.uow, principal, status)]}


@router.get("/emails/{email_id}")
def email(email_id: EmailId, principal: PrincipalDep, container: ContainerDep) -> dict[str, Any]:
    return email_out(get_email(container.uow, principal, email_id), bodies=True)


@router.post("/emails/{email_id}/retry", status_code=202)
def retry(email_id: EmailId, principal: PrincipalDep, container: ContainerDep) -> dict[str, Any]:
    """Try a given-up email again (same Message-ID)."""
    return email_out(retry_email(container.uow, container.clock, principal, email_id))


@router.get("/returns/{case_id}/emails")
def emails_of_case(
    case_id: CaseId, principal: PrincipalDep, container: ContainerDep
) -> dict[str, Any]:
    """What was emailed to the buyer about this case (buyer or staff)."""
    return {"items": [email_out(e) for e in case_emails(container.uow, principal, case_id)]}
