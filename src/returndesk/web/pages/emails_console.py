"""The console's view of buyer emails: the outbox (demo mode's mailbox too), one email as the
buyer sees it, and a retry for one that was given up."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Path, Request
from fastapi.responses import RedirectResponse, Response

from returndesk.domain.errors import DomainError
from returndesk.services.emails import STATUSES, get_email, list_emails, retry_email
from returndesk.web.pages.console import (
    can_open_settings,
    console_page,
    remember_language,
    signed_in_staff,
    staff_form,
    to_login,
)
from returndesk.web.pages.rendering import csrf_token
from returndesk.web.pages.sessions import container_of

router = APIRouter(prefix="/console/emails")
EmailId = Annotated[str, Path(pattern=r"^em_[0-9a-f-]{36}$")]


@router.get("")
def emails_page(request: Request) -> Response:
    staff = signed_in_staff(request)
    if staff is None:
        return to_login()
    principal, _ = staff
    container = container_of(request)
    status = request.query_params.get("status") or None
    try:
        emails = list_emails(container.uow, principal, status)
    except DomainError:
        return RedirectResponse("/console", status_code=303)
    response = console_page(request).render(
        request,
        "console/emails.html",
        principal=principal,
        can_settings=can_open_settings(principal),
        emails=emails,
        statuses=STATUSES,
        status=status if status in STATUSES else "",
        folder=str(container.settings.home / "outbox") if not container.settings.smtp_url else "",
    )
    return remember_language(request, response)


def _email_page(request: Request, email_id: str, error: str | None = None) -> Response:
    staff = signed_in_staff(request)
    if staff is None:
        return to_login()
    principal, token = staff
    container = container_of(request)
    try:
        email = get_email(container.uow, principal, email_id)
    except DomainError:
        return RedirectResponse("/console/emails", status_code=303)
    response = console_page(request).render(
        request,
        "console/email.html",
        principal=principal,
        can_settings=can_open_settings(principal),
        email=email,
        csrf=csrf_token(container.settings.secret_key, token),
        error=error,
    )
    return remember_language(request, response)


@router.get("/{email_id}")
def email_page(request: Request, email_id: EmailId) -> Response:
    return _email_page(request, email_id)


@router.post("/{email_id}/retry")
async def email_retry(request: Request, email_id: EmailId) -> Response:
    posted = await staff_form(request)
    if posted is None:
        return to_login()
    if not posted.csrf_ok:
        return _email_page(request, email_id, error="generic")
    principal, container = posted.principal, posted.container
    try:
        retry_email(container.uow, container.clock, principal, email_id)
    except DomainError as exc:
        return _email_page(request, email_id, error=exc.code)
    return RedirectResponse(f"/console/emails/{email_id}", status_code=303)
