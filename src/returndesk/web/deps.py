"""FastAPI dependencies, only at the edge: the container and the authorized principal."""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends, Request
from fastapi.routing import APIRoute

from returndesk.bootstrap import Container
from returndesk.domain.access import Permission
from returndesk.domain.errors import AuthenticationFailed
from returndesk.domain.integrations import PREFIX as INTEGRATION_PREFIX
from returndesk.services.integrations import authenticate as authenticate_integration
from returndesk.services.principal import Principal
from returndesk.web.access import ACCESS, CALL_LINK, PUBLIC


def get_container(request: Request) -> Container:
    container: Container = request.app.state.container
    return container


ContainerDep = Annotated[Container, Depends(get_container)]


def bearer_principal(request: Request, container: Container) -> Principal | None:
    header = request.headers.get("authorization", "")
    if not header:
        return None
    scheme, _, token = header.partition(" ")
    if scheme.lower() != "bearer" or not token.strip():
        raise AuthenticationFailed("use an Authorization: Bearer token", code="invalid_token")
    if token.strip().startswith(INTEGRATION_PREFIX):  # a store's integration token
        return authenticate_integration(container.uow, container.clock, token.strip())
    return container.tokens.read(token.strip())


def authorize(request: Request, container: ContainerDep) -> Principal | None:
    """Apply the access table entry of the matched route."""
    route = request.scope.get("route")
    assert isinstance(route, APIRoute)
    rule = ACCESS[(request.method, route.path_format)]
    if rule == CALL_LINK:
        return None  # the handler checks the join link's token
    principal = bearer_principal(request, container)
    if rule == PUBLIC:
        return principal
    if principal is None:
        raise AuthenticationFailed("sign in first", code="unauthenticated")
    principal.require(Permission(rule))
    return principal


def require_principal(principal: Annotated[Principal | None, Depends(authorize)]) -> Principal:
    if principal is None:
        raise AuthenticationFailed("sign in first", code="unauthenticated")
    return principal


MaybePrincipal = Annotated[Principal | None, Depends(authorize)]
PrincipalDep = Annotated[Principal, Depends(require_principal)]
