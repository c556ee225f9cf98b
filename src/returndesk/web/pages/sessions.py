"""Page sessions: the signed token kept in an HttpOnly cookie, read back into a principal."""

from __future__ import annotations

from fastapi import Request

from returndesk.bootstrap import Container
from returndesk.domain.errors import AuthenticationFailed
from returndesk.services.principal import Principal


def container_of(request: Request) -> Container:
    container: Container = request.app.state.container
    return container


def cookie_session(request: Request, cookie: str, kind: str) -> tuple[Principal, str] | None:
    """The principal and token of a valid session of this kind ("buyer" or "staff"), or None."""
    token = request.cookies.get(cookie)
    if not token:
        return None
    try:
        principal = container_of(request).tokens.read(token)
    except AuthenticationFailed:
        return None
    if principal.kind != kind:
        return None
    return principal, token
