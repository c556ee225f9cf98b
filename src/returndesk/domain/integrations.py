"""Integration tokens: long-lived credentials a store gives a system (a carrier's webhook, a
3PL's importer) for exactly the scopes it needs. Only a hash of the secret is kept."""

from __future__ import annotations

import hashlib
import hmac
import secrets
from dataclasses import dataclass
from datetime import datetime

from returndesk.domain.errors import ValidationFailed

PREFIX = "rdi_"
SCOPES = frozenset({"carrier_events"})  # what a token may do (each maps to one permission)


def secret_hash(secret: str) -> str:
    """Secrets are 32 random bytes: a plain SHA-256 is enough (nothing to brute-force)."""
    return hashlib.sha256(secret.encode()).hexdigest()


def new_secret() -> str:
    return secrets.token_urlsafe(32)


def compose(token_id: str, secret: str) -> str:
    return f"{PREFIX}{token_id}_{secret}"


def split(token: str) -> tuple[str, str] | None:
    """(id, secret) of a presented token, or None when it is not one of ours."""
    if not token.startswith(PREFIX):
        return None
    token_id, sep, secret = token[len(PREFIX) :].partition("_")
    if not sep or len(token_id) != 36 or not secret:
        return None
    return token_id, secret


def check_scopes(scopes: list[str]) -> frozenset[str]:
    chosen = frozenset(scopes)
    if not chosen or not chosen <= SCOPES:
        raise ValidationFailed(
            f"scopes are some of {', '.join(sorted(SCOPES))}", code="invalid_scopes"
        )
    return chosen


@dataclass(slots=True)
class IntegrationToken:
    id: str
    store_id: str
    name: str
    scopes: frozenset[str]
    secret_hash: str
    created_by: str
    created_at: datetime
    last_used_at: datetime | None = None
    revoked_at: datetime | None = None

    def __post_init__(self) -> None:
        if not 1 <= len(self.name.strip()) <= 100:
            raise ValidationFailed("name the token (up to 100 characters)", code="invalid_name")

    def matches(self, secret: str) -> bool:
        return hmac.compare_digest(self.secret_hash, secret_hash(secret))
