"""The assistant over HTTP: a buyer's message in, the reply and what was done out; the
agents' queue of handed-over conversations, and their answers."""

from __future__ import annotations

import tempfile
from pathlib import Path as FilePath
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Path, Query, Request
from pydantic import BaseModel, ConfigDict, Field
from starlette.concurrency import run_in_threadpool

from returndesk.bootstrap import Container
from returndesk.domain.access import Role
from returndesk.domain.assistant.conversation import ChatMessage, Conversation
from returndesk.domain.errors import ValidationFailed
from returndesk.services.assistant import (
    MAX_PHOTO_BYTES,
    AgentReply,
    AssistantReply,
    BuyerMessage,
    answer_as_agent,
    get_conversation,
    list_conversations,
    send_message,
    send_photo,
)
from returndesk.services.principal import Principal
from returndesk.web.deps import ContainerDep, MaybePrincipal, PrincipalDep
from returndesk.web.problems import HttpProblem
from returndesk.web.ratelimit import chat_limiter, client_address, limiter
from returndesk.web.schemas import iso

router = APIRouter(prefix="/api/v1/assistant", tags=["assistant"])
ConversationId = Annotated[str, Path(pattern=r"^cv_[A-Za-z0-9_-]{20,36}$")]


class MessageIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    text: str = Field(min_length=1, max_length=2000)
    conversation_id: str | None = Field(default=None, max_length=40)
    order_number: str | None = Field(default=None, max_length=64)
    channel: Literal["portal", "widget", "api"] = "api"
    language: str | None = Field(default=None, max_length=8)
    timezone: str | None = Field(default=None, max_length=64)
    store: str | None = Field(default=None, max_length=64)


class AgentReplyIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    text: str = Field(default="", max_length=2000)
    close: bool = False
    back_to_assistant: bool = False
    translate: bool = False  # into the buyer's language (needs the chat model)


def message_out(m: ChatMessage) -> dict[str, Any]:
    return {
        "seq": m.seq,
        "author": m.author,
        "author_name": m.author_name,
        "text": m.text,
        "language": m.language,
        "intent": m.intent,
        "confidence": m.confidence,
        "actions": list(m.actions),
        "created_at": iso(m.created_at),
    }


def conversation_out(c: Conversation, *, messages: bool = True) -> dict[str, Any]:
    out: dict[str, Any] = {
        "id": c.id,
        "channel": c.channel,
        "language": c.language,
        "status": c.status.value,
        "handoff_reason": c.handoff_reason.value if c.handoff_reason else None,
        "summary": c.summary,
        "order_id": c.order_id,
        "case_id": c.case_id,
        "created_at": iso(c.created_at),
        "updated_at": iso(c.updated_at),
        # a chat handed to people about no case: when a person's answer is due (staff only)
        "answer": {
            "due_at": iso(c.answer.due_at),
            "warned": c.answer.warned,
            "breached": c.answer.alerted,
        },
    }
    if messages:
        out["messages"] = [message_out(m) for m in c.messages]
    return out


@router.post("/messages")
def post_message(
    body: MessageIn, request: Request, principal: MaybePrincipal, container: ContainerDep
) -> dict[str, Any]:
    """A buyer's message (signed in as a buyer, or anonymous) and the assistant's reply.
    A staff token does not lend its permissions: staff trying the assistant are anonymous."""
    limit_message(request, body.conversation_id, body.text)
    result = send_message(
        container.assistant(),
        principal if principal is not None and principal.role is Role.buyer else None,
        BuyerMessage(
            text=body.text,
            conversation_id=body.conversation_id,
            order_number=body.order_number,
            channel=body.channel,
            language=body.language,
            timezone=body.timezone,
            store_slug=body.store,
        ),
    )
    return reply_out(result)


def limit_message(request: Request, conversation_id: str | None, text: str) -> None:
    """Per client address and conversation; a message that may check an order number and
    email is limited like sign-in as well."""
    chat_limiter(request).check(request, "assistant", conversation_id or client_address(request))
    if "@" in text:
        limiter(request).check(request, "buyer-session", conversation_id or "assistant")


def buyer_reply(result: AssistantReply) -> dict[str, Any]:
    """The reply as the portal's chat gets it: without the model's confidence and version."""
    out = reply_out(result)
    out.pop("model", None)
    out.pop("confidence", None)
    return out


@router.post("/photos")
async def post_photo(
    request: Request,
    principal: MaybePrincipal,
    container: ContainerDep,
    conversation_id: Annotated[str | None, Query(max_length=40)] = None,
    filename: Annotated[str, Query(max_length=200)] = "photo.jpg",
    language: Annotated[str | None, Query(max_length=8)] = None,
) -> dict[str, Any]:
    """A photo from the buyer (the image bytes as the body, JPEG/PNG/WebP): evidence on the
    conversation's return, with the quality check in the reply."""
    return reply_out(
        await receive_photo(request, container, principal, conversation_id, filename, language)
    )


async def receive_photo(
    request: Request,
    container: Container,
    principal: Principal | None,
    conversation_id: str | None,
    filename: str,
    language: str | None,
) -> AssistantReply:
    """Shared by the API and the portal's chat: the body to a file, then the use case."""
    chat_limiter(request).check(request, "assistant", conversation_id or client_address(request))
    if not request.headers.get("content-type", "").startswith("image/"):
        raise HttpProblem(
            415, "unsupported_media_type", "send the photo as image/jpeg, image/png or image/webp"
        )
    data = await request.body()
    if not data:
        raise ValidationFailed("the photo is empty", code="empty_file")
    if len(data) > MAX_PHOTO_BYTES:
        raise ValidationFailed("the photo is too large", code="file_too_large")
    buyer = principal if principal is not None and principal.role is Role.buyer else None
    with tempfile.TemporaryDirectory(prefix="chat-photo-") as folder:
        source = FilePath(folder) / "photo"
        source.write_bytes(data)
        result = await run_in_threadpool(
            lambda: send_photo(
                container.assistant(),
                container.files,
                buyer,
                conversation_id,
                source,
                filename,
                language,
            )
        )
    return result


def reply_out(result: AssistantReply) -> dict[str, Any]:
    return {
        "conversation_id": result.conversation_id,
        "reply": result.reply,
        "lang": result.language,
        "intent": result.intent,
        "confidence": result.confidence,
        "actions": result.actions,
        "handoff": result.handoff,
        "status": result.status,
        "seq": result.seq,
        "model": result.model,
    }


@router.get("/conversations/{conversation_id}")
def conversation(
    conversation_id: ConversationId, principal: MaybePrincipal, container: ContainerDep
) -> dict[str, Any]:
    """The whole conversation: its buyer, staff of the store, or the holder of an anonymous
    chat's id. Staff also see the assistant's summary and what it understood."""
    out = conversation_out(get_conversation(container.uow, principal, conversation_id))
    if principal is None or principal.role is Role.buyer:
        return buyer_view(out)
    return out


def buyer_view(out: dict[str, Any]) -> dict[str, Any]:
    """A conversation as its buyer sees it: without the hand-off notes for staff and the
    model's reading of each message."""
    out.pop("summary", None)
    out.pop("answer", None)
    for message in out.get("messages", ()):
        message.pop("intent", None)
        message.pop("confidence", None)
    return out


@router.get("/conversations")
def conversations(
    principal: PrincipalDep,
    container: ContainerDep,
    status: Annotated[Literal["open", "handed_off", "closed"] | None, Query()] = None,
) -> dict[str, Any]:
    """The store's conversations, newest first; status=handed_off is the agents' queue."""
    found = list_conversations(container.uow, principal, status)
    return {"items": [conversation_out(c, messages=False) for c in found]}


@router.post("/conversations/{conversation_id}/replies")
def reply(
    conversation_id: ConversationId,
    body: AgentReplyIn,
    principal: PrincipalDep,
    container: ContainerDep,
) -> dict[str, Any]:
    """A person answers the buyer; close=true ends it, back_to_assistant=true hands it back."""
    command = AgentReply(body.text, body.close, body.back_to_assistant, body.translate)
    return conversation_out(
        answer_as_agent(
            container.uow,
            container.clock,
            principal,
            conversation_id,
            command,
            container.language_model(),
        )
    )
