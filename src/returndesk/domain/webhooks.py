"""Webhook endpoints of a store, their secrets, and the delivery schedule.

Deliveries follow the Standard Webhooks specification: `webhook-id` (stable per message, so a
receiver deduplicates retries), `webhook-timestamp`, `webhook-signature` (HMAC-SHA256, one
`v1,` signature per valid secret, so a rotated secret overlaps with the old one).
"""

from __future__ import annotations

import base64
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta
from urllib.parse import urlsplit

from returndesk.domain.errors import ValidationFailed

EVENT_TYPES = (
    "case.case_opened",
    "case.decision_made",
    "case.decision_overridden",
    "case.status_changed",
    "case.assigned",  # routed to a team or person, or reassigned
    "case.sla_warning",  # a service-level clock is at 80% of its target
    "case.sla_breached",  # a service-level clock ran out
)
ALL = "*"
MAX_URL = 2000
# About a day of retries: 5 s, 30 s, 2 min, 5 min, 15 min, 30 min, 1 h, 2 h, 4 h, 8 h, 8 h.
RETRY_SECONDS = (5, 30, 120, 300, 900, 1800, 3600, 7200, 14400, 28800, 28800)
SECRET_OVERLAP = timedelta(hours=24)


def new_secret() -> str:
    return "whsec_" + base64.b64encode(secrets.token_bytes(32)).decode()


@dataclass(frozen=True, slots=True)
class Secret:
    value: str
    created_at: datetime
    expires_at: datetime | None = None  # set when a newer secret replaced it

    def valid_at(self, now: datetime) -> bool:
        return self.expires_at is None or now < self.expires_at


@dataclass(frozen=True, slots=True)
class WebhookEndpoint:
    id: str
    store_id: str
    url: str
    events: frozenset[str]
    secrets: tuple[Secret, ...]
    created_at: datetime
    active: bool = True

    def wants(self, topic: str) -> bool:
        return self.active and (ALL in self.events or topic in self.events)

    def signing_secrets(self, now: datetime) -> list[str]:
        return [s.value for s in self.secrets if s.valid_at(now)]

    def rotated(self, now: datetime) -> WebhookEndpoint:
        """A new secret; the current ones stay valid for SECRET_OVERLAP."""
        kept = tuple(
            s if s.expires_at is not None else Secret(s.value, s.created_at, now + SECRET_OVERLAP)
            for s in self.secrets
            if s.valid_at(now)
        )
        return WebhookEndpoint(
            self.id, self.store_id, self.url, self.events,
            (*kept, Secret(new_secret(), now)), self.created_at, self.active,
        )  # fmt: skip


def check_events(events: list[str]) -> frozenset[str]:
    if not events:
        raise ValidationFailed("choose at least one event type (or *)", code="invalid_events")
    unknown = [e for e in events if e != ALL and e not in EVENT_TYPES]
    if unknown:
        raise ValidationFailed(
            f"{unknown[0]!r} is not an event type", code="invalid_events", allowed=list(EVENT_TYPES)
        )
    return frozenset(events)


def check_url_shape(url: str) -> str:
    """Scheme, host and length; where the host points is checked by the delivery adapter."""
    if len(url) > MAX_URL or any(c.isspace() for c in url):
        raise ValidationFailed("that is not a usable URL", code="invalid_webhook_url")
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise ValidationFailed(
            "a webhook URL is http:// or https:// with a host", code="invalid_webhook_url"
        )
    if parts.username or parts.password:
        raise ValidationFailed("no credentials in the URL", code="invalid_webhook_url")
    return url


def next_attempt(attempts: int, now: datetime, jitter: float) -> datetime | None:
    """When to try again after `attempts` failures (jitter in [0, 1)); None: give up."""
    if attempts > len(RETRY_SECONDS):
        return None
    base = RETRY_SECONDS[attempts - 1]
    return now + timedelta(seconds=base * (0.8 + 0.4 * jitter))


@dataclass(frozen=True, slots=True)
class AttemptView:
    at: datetime
    status: int | None
    error: str | None
    duration_ms: int


@dataclass(frozen=True, slots=True)
class DeliveryView:
    id: str
    topic: str
    case_id: str | None
    status: str
    attempts: int
    next_attempt_at: datetime | None
    last_status: int | None
    last_error: str | None
    created_at: datetime
    delivered_at: datetime | None
    history: tuple[AttemptView, ...]
