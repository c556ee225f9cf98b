"""Domain errors carry a stable machine-readable code; the web edge maps them to RFC 9457."""

from __future__ import annotations

from typing import Any


class DomainError(Exception):
    """A rule of the domain was broken. `code` is stable and part of the public API."""

    code = "domain_error"
    title = "The request breaks a rule"

    def __init__(self, detail: str, *, code: str | None = None, **data: Any) -> None:
        super().__init__(detail)
        self.detail = detail
        if code is not None:
            self.code = code
        self.data: dict[str, Any] = data


class NotFound(DomainError):
    code = "not_found"
    title = "Not found"


class Gone(DomainError):
    """It existed and was deleted on purpose (e.g. erased evidence)."""

    code = "gone"
    title = "No longer available"


class ValidationFailed(DomainError):
    code = "validation_failed"
    title = "The input is not valid"


class Conflict(DomainError):
    code = "conflict"
    title = "The request conflicts with the current state"


class InvalidTransition(Conflict):
    code = "invalid_transition"
    title = "That status change is not allowed"


class StaleVersion(DomainError):
    code = "version_mismatch"
    title = "The case was changed by someone else"


class PermissionDenied(DomainError):
    code = "forbidden"
    title = "Not allowed"


class AuthenticationFailed(DomainError):
    code = "unauthenticated"
    title = "Authentication required"


class ProviderFailed(DomainError):
    """A payment or carrier provider refused or could not be reached; nothing was lost."""

    code = "provider_failed"
    title = "The provider did not do it"


class Busy(DomainError):
    code = "busy"
    title = "Busy: try again"
