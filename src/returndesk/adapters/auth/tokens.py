"""Signed bearer tokens for staff and buyer sessions (HS256 JWT)."""

from __future__ import annotations

from datetime import datetime, timedelta

import jwt

from returndesk.domain.access import Role
from returndesk.domain.errors import AuthenticationFailed
from returndesk.services.principal import Principal

_ALGORITHM = "HS256"
_AUDIENCE = "returndesk"


class TokenIssuer:
    def __init__(self, secret: str) -> None:
        self._secret = secret

    def issue(self, principal: Principal, now: datetime, ttl_seconds: int) -> str:
        claims: dict[str, object] = {
            "sub": principal.id,
            "kind": principal.kind,
            "role": principal.role.value,
            "store": principal.store_id,
            "name": principal.name,
            "aud": _AUDIENCE,
            "iat": int(now.timestamp()),
            "exp": int((now + timedelta(seconds=ttl_seconds)).timestamp()),
        }
        if principal.order_id is not None:
            claims["order"] = principal.order_id
        return jwt.encode(claims, self._secret, algorithm=_ALGORITHM)

    def read(self, token: str) -> Principal:
        try:
            claims = jwt.decode(token, self._secret, algorithms=[_ALGORITHM], audience=_AUDIENCE)
            principal = Principal(
                kind=str(claims["kind"]),
                id=str(claims["sub"]),
                role=Role(claims["role"]),
                store_id=claims.get("store"),
                name=str(claims.get("name", "")),
                order_id=claims.get("order"),
            )
        except (jwt.PyJWTError, KeyError, ValueError, TypeError):
            raise AuthenticationFailed(
                "the token is invalid or expired", code="invalid_token"
            ) from None
        if principal.kind not in ("staff", "buyer") or (
            (principal.kind == "buyer") != (principal.role is Role.buyer)
        ):
            raise AuthenticationFailed("the token is invalid or expired", code="invalid_token")
        return principal
