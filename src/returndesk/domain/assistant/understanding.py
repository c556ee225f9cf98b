"""What the assistant understood of one message."""

from __future__ import annotations

from dataclasses import dataclass, field

from returndesk.domain.assistant.entities import Mentions


@dataclass(frozen=True, slots=True)
class Understanding:
    language: str
    language_confidence: float
    intent: str
    confidence: float
    ranking: tuple[tuple[str, float], ...] = ()  # the best few intents with their probability
    mentions: Mentions = field(default_factory=Mentions)
