"""The console's side of the assistant: conversations waiting for a person (with the
assistant's summary), the transcript, and answers, canned ones in the buyer's language."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Path, Request
from fastapi.responses import RedirectResponse, Response

from returndesk.domain.access import Permission, has_permission
from returndesk.domain.assistant.conversation import ConversationStatus
from returndesk.domain.errors import DomainError, NotFound
from returndesk.services.assistant import (
    AgentReply,
    answer_as_agent,
    get_conversation,
    list_conversations,
)
from returndesk.services.calls import start_call
from returndesk.services.teams import list_teams
from returndesk.web.api.calls import call_url
from returndesk.web.pages.assistant_replies import canned_answers
from returndesk.web.pages.console import (
    can_open_settings,
    console_page,
    remember_language,
    signed_in_staff,
    staff_form,
    to_login,
)
from returndesk.web.pages.forms import field
from returndesk.web.pages.rendering import Page, csrf_token
from returndesk.web.pages.sessions import container_of

router = APIRouter(prefix="/console/conversations")
ConversationId = Annotated[str, Path(pattern=r"^cv_[A-Za-z0-9_-]{20,36}$")]
STATUSES = tuple(s.value for s in ConversationStatus)


@router.get("")
def conversations_page(request: Request) -> Response:
    staff = signed_in_staff(request)
    if staff is None:
        return to_login()
    principal, _ = staff
    container = container_of(request)
    status = request.query_params.get("status", "handed_off")
    status = status if status in STATUSES else ""
    mine = request.query_params.get("mine") == "1"
    try:
        conversations = list_conversations(container.uow, principal, status or None)
    except DomainError:
        return RedirectResponse("/console", status_code=303)
    if mine:  # handed to me when the assistant handed the buyer over
        conversations = [
            c for c in conversations if (c.summary or {}).get("assignee_id") == principal.id
        ]
    names = {
        m.user.id: m.user.name
        for view in list_teams(container.uow, container.clock, principal, None)
        for m in view.members
    }
    orders = {}
    with container.uow() as uow:
        for c in conversations:
            if c.order_id and c.order_id not in orders:
                found = uow.orders.get(c.order_id)
                if found is not None:
                    orders[c.order_id] = found.number
    response = console_page(request).render(
        request,
        "console/conversations.html",
        principal=principal,
        can_settings=can_open_settings(principal),
        conversations=conversations,
        order_numbers=orders,
        statuses=STATUSES,
        status=status,
        mine=mine,
        names=names,
    )
    return remember_language(request, response)


def _conversation_page(
    request: Request, conversation_id: str, error: str | None = None, status_code: int = 200
) -> Response:
    staff = signed_in_staff(request)
    if staff is None:
        return to_login()
    principal, token = staff
    container = container_of(request)
    try:
        conversation = get_conversation(container.uow, principal, conversation_id)
    except DomainError:
        return RedirectResponse("/console/conversations", status_code=303)
    order = None
    if conversation.order_id:
        with container.uow() as uow:
            order = uow.orders.get(conversation.order_id)
    response = console_page(request).render(
        request,
        "console/conversation.html",
        status_code=status_code,
        principal=principal,
        can_settings=can_open_settings(principal),
        conversation=conversation,
        order=order,
        canned=canned_answers(conversation.language),
        can_call=bool(conversation.case_id)
        and has_permission(principal.role, Permission.call_start),
        can_translate=container.language_model() is not None,
        csrf=csrf_token(container.settings.secret_key, token),
        error=error,
    )
    return remember_language(request, response)


@router.get("/{conversation_id}")
def conversation_page(request: Request, conversation_id: ConversationId) -> Response:
    return _conversation_page(request, conversation_id)


@router.post("/{conversation_id}/call")
async def conversation_call(request: Request, conversation_id: ConversationId) -> Response:
    """Invite the buyer of a handed-over chat to a video call about its return: the call is
    started, the chat gets a message in the buyer's language with their link, and the agent
    goes to the call page."""
    posted = await staff_form(request)
    if posted is None:
        return to_login()
    if not posted.csrf_ok:
        return _conversation_page(request, conversation_id, "generic", 400)
    principal, container = posted.principal, posted.container
    try:
        conversation = get_conversation(container.uow, principal, conversation_id)
        if conversation.case_id is None:
            raise NotFound("this conversation has no return", code="case_not_found")
        started = start_call(
            container.uow, container.clock, container.tokens, principal,
            case_id=conversation.case_id, link_minutes=container.settings.call_link_minutes,
        )  # fmt: skip
        buyer_url = call_url(container, started.call.id, started.tokens["buyer"])
        words = Page(conversation.language, None)
        invite = words.gettext(
            "%(name)s invites you to a video call about this return.", name=principal.name
        )
        action = {"type": "video_call", "call_id": started.call.id, "url": buyer_url}
        answer_as_agent(
            container.uow, container.clock, principal, conversation_id,
            AgentReply(invite, actions=(action,)),
        )  # fmt: skip
    except DomainError as exc:
        return _conversation_page(request, conversation_id, exc.code, 422)
    agent_url = f"/calls/{started.call.id}?token={started.tokens['agent']}"
    return RedirectResponse(agent_url, status_code=303)


@router.post("/{conversation_id}/reply")
async def conversation_reply(request: Request, conversation_id: ConversationId) -> Response:
    posted = await staff_form(request)
    if posted is None:
        return to_login()
    if not posted.csrf_ok:
        return _conversation_page(request, conversation_id, "generic", 400)
    principal, container, form = posted.principal, posted.container, posted.form
    then = field(form, "then", 20)
    command = AgentReply(
        field(form, "text", 2001),
        close=then == "close",
        back_to_assistant=then == "assistant",
        translate=field(form, "translate", 4) == "1",
    )
    try:
        answer_as_agent(
            container.uow,
            container.clock,
            principal,
            conversation_id,
            command,
            container.language_model(),
        )
    except DomainError as exc:
        return _conversation_page(request, conversation_id, exc.code, 422)
    return RedirectResponse(f"/console/conversations/{conversation_id}", status_code=303)
