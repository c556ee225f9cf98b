"""Staff log-in and buyer sessions."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request

from returndesk.domain.errors import AuthenticationFailed
from returndesk.services.buyers import start_buyer_session
from returndesk.services.staff import authenticate, staff_principal
from returndesk.web.deps import ContainerDep, MaybePrincipal
from returndesk.web.ratelimit import limiter
from returndesk.web.schemas import BuyerSessionRequest, TokenRequest, TokenResponse

router = APIRouter(prefix="/api/v1", tags=["auth"])


@router.post("/auth/token", response_model=TokenResponse)
def staff_token(
    body: TokenRequest, request: Request, container: ContainerDep, _: MaybePrincipal
) -> TokenResponse:
    limiter(request).check(request, "staff-login", body.email.lower())
    user = authenticate(container.uow, container.hasher, body.email, body.password)
    ttl = container.settings.token_ttl_seconds
    token = container.tokens.issue(staff_principal(user), container.clock(), ttl)
    return TokenResponse(access_token=token, expires_in=ttl)


@router.post("/buyer/session", response_model=TokenResponse)
def buyer_session(
    body: BuyerSessionRequest, request: Request, container: ContainerDep, _: MaybePrincipal
) -> TokenResponse:
    limiter(request).check(request, "buyer-session", body.order_number.lower())
    principal = start_buyer_session(container.uow, body.order_number, body.email, body.store)
    ttl = container.settings.buyer_token_ttl_seconds
    token = container.tokens.issue(principal, container.clock(), ttl)
    return TokenResponse(access_token=token, expires_in=ttl)


@router.get("/me")
def me(principal: MaybePrincipal) -> dict[str, Any]:
    if principal is None:
        raise AuthenticationFailed("sign in first", code="unauthenticated")
    return {
        "kind": principal.kind,
        "id": principal.id,
        "role": principal.role.value,
        "store_id": principal.store_id,
        "name": principal.name,
        "order_id": principal.order_id,
    }
