"""Conversations with the assistant, in SQL."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import Connection, insert, select, update
from sqlalchemy.engine import Row

from returndesk.adapters.db.tables import conversation_messages, conversations
from returndesk.domain.assistant.conversation import (
    ChatMessage,
    Conversation,
    ConversationStatus,
    DialogueState,
    HandoffReason,
)
from returndesk.domain.errors import Conflict
from returndesk.domain.sla import AnswerClock


def _message(row: Row[Any]) -> ChatMessage:
    return ChatMessage(
        id=row.id,
        seq=row.seq,
        author=row.author,
        author_name=row.author_name,
        text=row.text,
        language=row.language,
        created_at=row.created_at,
        intent=row.intent,
        confidence=None if row.confidence is None else row.confidence / 1000,
        actions=tuple(row.actions or ()),
    )


def _conversation(row: Row[Any]) -> Conversation:
    return Conversation(
        id=row.id,
        store_id=row.store_id,
        channel=row.channel,
        language=row.language,
        created_at=row.created_at,
        updated_at=row.updated_at,
        order_id=row.order_id,
        case_id=row.case_id,
        status=ConversationStatus(row.status),
        handoff_reason=HandoffReason(row.handoff_reason) if row.handoff_reason else None,
        summary=row.summary,
        state=DialogueState.from_dict(row.state),
        answer=AnswerClock.from_data(row.answer_clock),
    )


class SqlConversationRepository:
    def __init__(self, conn: Connection) -> None:
        self._conn = conn

    def get(self, conversation_id: str) -> Conversation | None:
        row = self._conn.execute(
            select(conversations).where(conversations.c.id == conversation_id)
        ).first()
        if row is None:
            return None
        conversation = _conversation(row)
        m = conversation_messages.c
        rows = self._conn.execute(
            select(conversation_messages)
            .where(m.conversation_id == conversation_id)
            .order_by(m.seq)
        )
        conversation.messages = [_message(r) for r in rows]
        return conversation

    def _values(self, conversation: Conversation) -> dict[str, Any]:
        return {
            "order_id": conversation.order_id,
            "case_id": conversation.case_id,
            "language": conversation.language,
            "status": conversation.status.value,
            "handoff_reason": conversation.handoff_reason.value
            if conversation.handoff_reason
            else None,
            "summary": conversation.summary,
            "state": conversation.state.to_dict(),
            "updated_at": conversation.updated_at,
            "answer_clock": conversation.answer.to_data(),
            "next_check_at": conversation.answer.next_check_at,
        }

    def add(self, conversation: Conversation) -> None:
        self._conn.execute(
            insert(conversations).values(
                id=conversation.id,
                store_id=conversation.store_id,
                channel=conversation.channel,
                created_at=conversation.created_at,
                **self._values(conversation),
            )
        )

    def save(
        self,
        conversation: Conversation,
        new_messages: list[ChatMessage],
        expected_updated_at: Any = None,
    ) -> None:
        stored = self._conn.execute(
            select(conversations.c.answer_clock)
            .where(conversations.c.id == conversation.id)
            .with_for_update()
        ).first()
        if stored is not None:  # the sweep writes the clock without touching updated_at
            conversation.answer.keep_marks(AnswerClock.from_data(stored.answer_clock))
        query = update(conversations).where(conversations.c.id == conversation.id)
        if expected_updated_at is not None:
            query = query.where(conversations.c.updated_at == expected_updated_at)
        if self._conn.execute(query.values(**self._values(conversation))).rowcount != 1:
            raise Conflict(
                "the conversation changed at the same time: send the message again",
                code="conversation_changed",
            )
        self.add_messages(conversation.id, new_messages)

    def add_messages(self, conversation_id: str, messages: list[ChatMessage]) -> None:
        for message in messages:
            self._conn.execute(
                insert(conversation_messages).values(
                    id=message.id,
                    conversation_id=conversation_id,
                    seq=message.seq,
                    author=message.author,
                    author_name=message.author_name[:200],
                    text=message.text,
                    language=message.language,
                    intent=message.intent,
                    confidence=None
                    if message.confidence is None
                    else round(message.confidence * 1000),
                    actions=list(message.actions),
                    created_at=message.created_at,
                )
            )

    def queue(
        self, store_id: str, status: str | None = None, limit: int = 200
    ) -> list[Conversation]:
        """Newest first; headers only (no messages)."""
        c = conversations.c
        query = select(conversations).where(c.store_id == store_id)
        if status:
            query = query.where(c.status == status)
        rows = self._conn.execute(query.order_by(c.updated_at.desc(), c.id).limit(limit))
        return [_conversation(r) for r in rows]

    def due_for_check(self, now: datetime, limit: int = 500) -> list[Conversation]:
        """Chats whose answer clock warns or breaches by `now` (headers only), each held until
        the transaction ends (PostgreSQL: several sweepers take rows nobody else holds)."""
        c = conversations.c
        rows = self._conn.execute(
            select(conversations)
            .where(c.next_check_at.is_not(None), c.next_check_at <= now)
            .order_by(c.next_check_at)
            .limit(limit)
            .with_for_update(skip_locked=True)
        )
        return [_conversation(r) for r in rows]

    def save_clock(self, conversation: Conversation) -> None:
        """Write the answer clock alone (the sweep: no message, the chat's version unchanged)."""
        self._conn.execute(
            update(conversations)
            .where(conversations.c.id == conversation.id)
            .values(
                answer_clock=conversation.answer.to_data(),
                next_check_at=conversation.answer.next_check_at,
            )
        )

    def for_order(self, order_id: str) -> list[Conversation]:
        c = conversations.c
        rows = self._conn.execute(
            select(conversations).where(c.order_id == order_id).order_by(c.created_at)
        )
        return [_conversation(r) for r in rows]
