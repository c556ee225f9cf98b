"""A chat with the assistant: its messages, what it waits for, and the hand-off to people."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from enum import StrEnum
from typing import Any

from returndesk.domain.sla import AnswerClock


class ConversationStatus(StrEnum):
    open = "open"  # the assistant answers
    handed_off = "handed_off"  # in the agents' queue: a person answers next
    closed = "closed"


class HandoffReason(StrEnum):
    requested = "requested"  # "talk to a human"
    not_understood = "not_understood"  # low confidence, twice in a row
    repeated_failure = "repeated_failure"  # the same step failed again and again
    upset = "upset"  # a complaint or an angry message
    human_review = "human_review"  # the decision engine wants a person
    order_change = "order_change"  # cancel / change order / change address: staff do it
    delivery_problem = "delivery_problem"  # marked delivered, buyer says it is not there
    product_help = "product_help"  # how-to the knowledge base could not answer


@dataclass(slots=True)
class DialogueState:
    """What the assistant needs next; kept on the conversation between messages."""

    awaiting: str | None = None  # "order" | "email" | "item" | None
    pending_intent: str | None = None  # what the buyer asked before we needed the order
    request_text: str | None = None  # the buyer's words of that request (a return's comment)
    order_number: str | None = None  # named, not yet proved with the email
    not_understood: int = 0  # low-confidence messages in a row
    failed_checks: int = 0  # wrong order/email pairs
    tried: list[str] = field(default_factory=list)  # steps taken, for the hand-off summary

    def to_dict(self) -> dict[str, Any]:
        return {
            "awaiting": self.awaiting,
            "pending_intent": self.pending_intent,
            "request_text": self.request_text,
            "order_number": self.order_number,
            "not_understood": self.not_understood,
            "failed_checks": self.failed_checks,
            "tried": self.tried[-20:],
        }

    @classmethod
    def from_dict(cls, data: dict[str, Any] | None) -> DialogueState:
        data = data or {}
        return cls(
            awaiting=data.get("awaiting"),
            pending_intent=data.get("pending_intent"),
            request_text=data.get("request_text"),
            order_number=data.get("order_number"),
            not_understood=int(data.get("not_understood") or 0),
            failed_checks=int(data.get("failed_checks") or 0),
            tried=list(data.get("tried") or []),
        )


@dataclass(frozen=True, slots=True)
class ChatMessage:
    id: str
    seq: int
    author: str  # buyer | assistant | agent
    author_name: str
    text: str
    language: str
    created_at: datetime
    intent: str | None = None
    confidence: float | None = None
    actions: tuple[dict[str, Any], ...] = ()


@dataclass(slots=True)
class Conversation:
    id: str
    store_id: str
    channel: str
    language: str
    created_at: datetime
    updated_at: datetime
    order_id: str | None = None
    case_id: str | None = None
    status: ConversationStatus = ConversationStatus.open
    handoff_reason: HandoffReason | None = None
    summary: dict[str, Any] | None = None
    state: DialogueState = field(default_factory=DialogueState)
    messages: list[ChatMessage] = field(default_factory=list)  # only those added or loaded
    answer: AnswerClock = field(default_factory=AnswerClock)  # handed over about no case

    @property
    def next_seq(self) -> int:
        return (self.messages[-1].seq + 1) if self.messages else 1


@dataclass(frozen=True, slots=True)
class Say:
    """One paragraph of a reply: a message-catalogue key and its values (dates, money,
    labels are formatted for the buyer by the writer)."""

    key: str
    params: dict[str, Any] = field(default_factory=dict)
