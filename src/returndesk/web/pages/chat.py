"""The assistant in the buyer portal: a chat page (signed in or not), and the same page in a
frame for the store's own site (`/widget.js`, one script tag)."""

from __future__ import annotations

import json
from typing import Annotated, Any

from fastapi import APIRouter, Path, Request
from fastapi.responses import JSONResponse, Response

from returndesk.domain.errors import ValidationFailed
from returndesk.services.assistant import BuyerMessage, get_conversation, send_message
from returndesk.services.principal import Principal
from returndesk.web.api.assistant import (
    buyer_reply,
    buyer_view,
    conversation_out,
    limit_message,
    receive_photo,
)
from returndesk.web.pages.i18n import BUYER_LANGUAGES, translations
from returndesk.web.pages.labels import N_
from returndesk.web.pages.portal import COOKIE, TZ_COOKIE, _page, _remember_language
from returndesk.web.pages.rendering import environment
from returndesk.web.pages.sessions import container_of, cookie_session
from returndesk.web.problems import HttpProblem

router = APIRouter()
CHAT_LABEL = N_("Chat with us")
ConversationId = Annotated[str, Path(pattern=r"^cv_[A-Za-z0-9_-]{20,36}$")]


def _principal(request: Request) -> Principal | None:
    buyer = cookie_session(request, COOKIE, "buyer")
    return buyer[0] if buyer else None


@router.get("/portal/chat")
def chat_page(request: Request) -> Response:
    container = container_of(request)
    principal = _principal(request)
    order = None
    if principal is not None:
        with container.uow() as uow:
            order = uow.orders.get(principal.order_id or "")
    page = _page(request, order.language if order else "en", order.market if order else None)
    embed = request.query_params.get("embed") == "1"
    response = page.render(
        request,
        "portal/chat.html",
        order=order,
        embed=embed,
        store=request.query_params.get("store", "")[:64],
        channel="widget" if embed else "portal",
    )
    if embed:  # the widget's frame may be shown on the store's own site
        response.headers["Content-Security-Policy"] = "frame-ancestors *"
    return _remember_language(request, response)


def _json_body(raw: bytes) -> dict[str, Any]:
    try:
        body = json.loads(raw or b"{}")
    except (ValueError, UnicodeDecodeError):
        raise ValidationFailed("send JSON", code="invalid_json") from None
    if not isinstance(body, dict):
        raise ValidationFailed("send a JSON object", code="invalid_json")
    return body


def _text(body: dict[str, Any], name: str, limit: int) -> str | None:
    value = body.get(name)
    if value is None:
        return None
    if not isinstance(value, str) or len(value) > limit:
        raise ValidationFailed(
            f"{name} is text of at most {limit} characters", code="invalid_message"
        )
    return value


@router.post("/portal/chat/messages")
async def chat_message(request: Request) -> Response:
    """JSON only (a form post from another site cannot send it): the buyer's message."""
    if not request.headers.get("content-type", "").startswith("application/json"):
        raise HttpProblem(415, "unsupported_media_type", "send application/json")
    container = container_of(request)
    body = _json_body(await request.body())
    text = _text(body, "text", 2000) or ""
    conversation_id = _text(body, "conversation_id", 40)
    channel = "widget" if body.get("channel") == "widget" else "portal"
    limit_message(request, conversation_id, text)
    result = send_message(
        container.assistant(),
        _principal(request),
        BuyerMessage(
            text=text,
            conversation_id=conversation_id or None,
            channel=channel,
            language=_text(body, "language", 8),
            timezone=_text(body, "timezone", 64) or request.cookies.get(TZ_COOKIE),
            store_slug=_text(body, "store", 64) or None,
        ),
    )
    return JSONResponse(buyer_reply(result), headers={"Cache-Control": "no-store"})


@router.post("/portal/chat/photos")
async def chat_photo(request: Request) -> Response:
    """A photo from the chat page (image bytes as the body: no form post can send that)."""
    container = container_of(request)
    params = request.query_params
    out = await receive_photo(
        request,
        container,
        _principal(request),
        params.get("conversation_id") or None,
        (params.get("filename") or "photo.jpg")[:200],
        params.get("language"),
    )
    return JSONResponse(buyer_reply(out), headers={"Cache-Control": "no-store"})


@router.get("/portal/chat/conversations/{conversation_id}")
def chat_conversation(request: Request, conversation_id: ConversationId) -> Response:
    """The conversation so far (the page polls it while a person is answering)."""
    container = container_of(request)
    found = get_conversation(container.uow, _principal(request), conversation_id)
    return JSONResponse(buyer_view(conversation_out(found)), headers={"Cache-Control": "no-store"})


@router.get("/widget.js")
def widget_script(request: Request) -> Response:
    """`<script src="https://returns.example/widget.js" data-lang="de" async></script>`"""
    container = container_of(request)
    base = container.settings.public_url.rstrip("/")
    labels = {lang: translations(lang).gettext(CHAT_LABEL) for lang in BUYER_LANGUAGES}
    source = environment().get_template("widget.js").render(base=base, labels=labels)
    return Response(
        source, media_type="text/javascript", headers={"Cache-Control": "public, max-age=300"}
    )
