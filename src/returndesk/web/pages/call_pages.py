"""The video call page (anyone with a join link), and starting or joining a call from the
console and the portal case pages."""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Annotated

from fastapi import APIRouter, Path, Request
from fastapi.responses import RedirectResponse, Response

from returndesk.domain.calls import CallRole
from returndesk.domain.errors import DomainError
from returndesk.services import calls as call_service
from returndesk.services import scheduling
from returndesk.web.pages.console import case_form_post, case_page_with_error
from returndesk.web.pages.i18n import BUYER_LANGUAGES, CONSOLE_LANGUAGES, negotiate
from returndesk.web.pages.portal import COOKIE as BUYER_COOKIE
from returndesk.web.pages.rendering import Page
from returndesk.web.pages.sessions import container_of, cookie_session

router = APIRouter()
CaseId = Annotated[str, Path(pattern=r"^[0-9a-f-]{36}$")]
CallId = Annotated[str, Path(pattern=r"^[0-9a-f-]{36}$")]
EVERY_LANGUAGE = (*BUYER_LANGUAGES, "zh")
_STATUS = {"invalid_join_token": 404, "call_expired": 410, "call_ended": 410}


def _languages(role: CallRole | None) -> tuple[str, ...]:
    if role is CallRole.agent:
        return (*CONSOLE_LANGUAGES, *(lang for lang in BUYER_LANGUAGES if lang != "en"))
    if role is CallRole.buyer:
        return BUYER_LANGUAGES
    return EVERY_LANGUAGE


@router.get("/calls/{call_id}")
def call_page(request: Request, call_id: CallId) -> Response:
    """Both sides' call page: the join link's token says who this is."""
    container = container_of(request)
    token = request.query_params.get("token", "")[:2000]
    asked = request.query_params.get("lang")
    accept = request.headers.get("accept-language", "")
    try:
        seat = call_service.access(
            container.uow, container.clock, container.tokens, token, call_id=call_id
        )
    except DomainError as exc:
        page = Page(negotiate(asked, accept, EVERY_LANGUAGE), None)
        return page.render(
            request, "call.html", _STATUS.get(exc.code, 400), problem=exc.code, config=None
        )
    languages = _languages(seat.seat.role)
    language = asked if asked in languages else negotiate(seat.language, accept, languages)
    page = Page(language, None)
    others = [p for p in seat.call.participants if p.id != seat.seat.id]
    config = {
        "call_id": seat.call.id,
        "case_id": seat.call.case_id,
        "token": token,
        "role": seat.seat.role.value,
        "name": seat.seat.name,
        "consent": seat.call.consent.value if seat.call.consent else None,
        "messages": page.labels("CALL_MESSAGES"),
        "buttons": page.labels("CALL_BUTTONS"),
        "roles": page.labels("CALL_ROLES"),
    }
    response = page.render(
        request,
        "call.html",
        problem=None,
        seat=seat,
        others=others,
        config=json.dumps(config, ensure_ascii=False).replace("</", "<\\/"),
    )
    response.headers["Referrer-Policy"] = "no-referrer"  # the link's token stays on this page
    return response


@router.post("/console/cases/{case_id}/calls")
async def start_from_console(request: Request, case_id: CaseId) -> Response:
    """The case page's "Start a video call": the agent goes straight to the call page."""
    posted = await case_form_post(request, case_id)
    if isinstance(posted, Response):
        return posted
    principal, token, container, _form = posted
    try:
        started = call_service.start_call(
            container.uow, container.clock, container.tokens, principal,
            case_id=case_id, link_minutes=container.settings.call_link_minutes,
        )  # fmt: skip
    except DomainError as exc:
        return case_page_with_error(request, principal, token, case_id, exc.code, 409)
    url = f"/calls/{started.call.id}?token={started.tokens['agent']}"
    return RedirectResponse(url, status_code=303)


@router.get("/portal/returns/{case_id}/calls/{call_id}")
def join_from_portal(request: Request, case_id: CaseId, call_id: CallId) -> Response:
    """The buyer's "Join the video call" on their case page: their seat's link, fresh."""
    buyer = cookie_session(request, BUYER_COOKIE, "buyer")
    if buyer is None:
        return RedirectResponse(f"/?next=/portal/returns/{case_id}", status_code=303)
    container = container_of(request)
    try:
        token = call_service.buyer_link(
            container.uow, container.clock, container.tokens, buyer[0],
            case_id=case_id, call_id=call_id,
        )  # fmt: skip
    except DomainError:
        return RedirectResponse(f"/portal/returns/{case_id}", status_code=303)
    return RedirectResponse(f"/calls/{call_id}?token={token}", status_code=303)


async def _booking_action(
    request: Request, case_id: str, action: Callable[..., object]
) -> Response:
    """A booking form on the console's case page: checked, run, back to the case (a refusal
    shows the page with its reason)."""
    posted = await case_form_post(request, case_id)
    if isinstance(posted, Response):
        return posted
    principal, token, container, _form = posted
    try:
        action(container.uow, container.clock, principal, case_id)
    except DomainError as exc:
        return case_page_with_error(request, principal, token, case_id, exc.code, 409)
    return RedirectResponse(f"/console/cases/{case_id}", status_code=303)


@router.post("/console/cases/{case_id}/call-booking/offer")
async def offer_from_console(request: Request, case_id: CaseId) -> Response:
    """ "Ask the buyer to book a time": their return page offers the slots; they get an email."""
    return await _booking_action(request, case_id, scheduling.offer_booking)


@router.post("/console/cases/{case_id}/call-booking/cancel")
async def cancel_from_console(request: Request, case_id: CaseId) -> Response:
    return await _booking_action(request, case_id, scheduling.cancel_booking)
