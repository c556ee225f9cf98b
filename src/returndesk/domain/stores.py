"""Stores (tenants) and staff accounts. The return policy lives in domain/policy."""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime

from returndesk.domain.access import Role
from returndesk.domain.errors import ValidationFailed
from returndesk.domain.money import check_currency

_SLUG = re.compile(r"^[a-z0-9][a-z0-9-]{1,62}$")
_EMAIL = re.compile(r"^[^@\s]{1,64}@[^@\s]{1,255}\.[^@\s]{2,63}$")


def normalize_email(value: str) -> str:
    email = value.strip().lower()
    if len(email) > 320 or not _EMAIL.match(email):
        raise ValidationFailed(f"{value!r} is not an email address", code="invalid_email")
    return email


def check_slug(slug: str) -> str:
    if not _SLUG.match(slug):
        raise ValidationFailed(
            "a store slug is 2-63 lowercase letters, digits and dashes", code="invalid_slug"
        )
    return slug


@dataclass(slots=True)
class Store:
    id: str
    slug: str
    name: str
    default_currency: str
    timezone: str
    created_at: datetime
    policy_version: int = 0  # the active version of the store's policy document; 0: default

    def __post_init__(self) -> None:
        check_slug(self.slug)
        check_currency(self.default_currency)


@dataclass(slots=True)
class StaffUser:
    id: str
    store_id: str | None  # None only for a platform admin, who sees every store
    email: str
    name: str
    role: Role
    password_hash: str
    language: str
    timezone: str
    created_at: datetime
    active: bool = True

    def __post_init__(self) -> None:
        if self.role is Role.buyer:
            raise ValidationFailed("buyers are not staff", code="invalid_role")
        if (self.store_id is None) != (self.role is Role.platform_admin):
            raise ValidationFailed(
                "staff belong to a store; only a platform admin spans stores", code="invalid_role"
            )
