"""The console's notification inbox: what a member of staff was told about cases (a missed
service level, a video call booked with them...), in their language and time zone, newest
first. Opening one marks it read and goes to the case; the header shows how many are unread."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Path, Request
from fastapi.responses import RedirectResponse, Response

from returndesk.domain.errors import DomainError
from returndesk.services.staff_inbox import inbox, mark_read, open_notification
from returndesk.web.pages.console import (
    can_open_settings,
    console_page,
    remember_language,
    signed_in_staff,
    staff_form,
    to_login,
)
from returndesk.web.pages.emails import staff_notice_text
from returndesk.web.pages.rendering import csrf_token
from returndesk.web.pages.sessions import container_of

router = APIRouter(prefix="/console/notifications")
NotificationId = Annotated[str, Path(pattern=r"^nt_[0-9a-zA-Z_-]{1,61}$")]
PAGE = 50


@router.get("")
def notifications_page(request: Request) -> Response:
    staff = signed_in_staff(request)
    if staff is None:
        return to_login()
    principal, token = staff
    container = container_of(request)
    unread_only = request.query_params.get("unread") == "1"
    before = request.query_params.get("before") or None
    page = console_page(request)
    try:
        found = inbox(container.uow, principal, unread_only=unread_only, limit=PAGE, before=before)
    except DomainError:  # a `before` that is none of theirs: the first page
        target = "/console/notifications" if before is not None else "/console"
        return RedirectResponse(target, status_code=303)
    items: list[dict[str, Any]] = []
    for n in found.items:
        line, text = staff_notice_text(
            n.notice, n.data, n.case_number, page.language, str(page.tz.key)
        )
        items.append({"n": n, "line": line, "text": text})
    response = page.render(
        request,
        "console/notifications.html",
        principal=principal,
        can_settings=can_open_settings(principal),
        items=items,
        unread=found.unread,
        unread_only=unread_only,
        next_before=found.next_before,
        csrf=csrf_token(container.settings.secret_key, token),
    )
    return remember_language(request, response)


@router.post("/read")
async def read_all(request: Request) -> Response:
    posted = await staff_form(request)
    if posted is None:
        return to_login()
    if posted.csrf_ok:
        mark_read(posted.container.uow, posted.container.clock, posted.principal, None)
    return RedirectResponse("/console/notifications", status_code=303)


@router.post("/{notification_id}/open")
async def open_one(request: Request, notification_id: NotificationId) -> Response:
    """Mark it read and go to its case (or its chat)."""
    posted = await staff_form(request)
    if posted is None:
        return to_login()
    if not posted.csrf_ok:
        return RedirectResponse("/console/notifications", status_code=303)
    principal, container = posted.principal, posted.container
    try:
        found = open_notification(container.uow, container.clock, principal, notification_id)
    except DomainError:  # not theirs, or gone
        return RedirectResponse("/console/notifications", status_code=303)
    if found.case_id is None:  # about a chat handed to people
        return RedirectResponse(f"/console/conversations/{found.conversation_id}", status_code=303)
    return RedirectResponse(f"/console/cases/{found.case_id}", status_code=303)
