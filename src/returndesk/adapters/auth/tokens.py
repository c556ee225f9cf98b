"""Signed bearer tokens for staff and buyer sessions (HS256 JWT)."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime, timedelta
from typing import Any

import jwt

from returndesk.domain.access import Role
from returndesk.domain.errors import AuthenticationFailed
from returndesk.services.principal import Principal

_ALGORITHM = "HS256"
_AUDIENCE = "returndesk"
_JOIN_AUDIENCE = "returndesk-call"
# Times are checked below against the app's clock, not by PyJWT against the wall clock.
_OPTIONS: Any = {"require": ["exp", "iat", "sub"], "verify_exp": False, "verify_iat": False}
_LEEWAY = 60  # seconds of clock skew tolerated between the servers of one deployment


class TokenIssuer:
    """Issues and reads tokens against the app's own clock (the same one that stamps them)."""

    def __init__(self, secret: str, clock: Callable[[], datetime]) -> None:
        self._secret = secret
        self._clock = clock

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
            claims = jwt.decode(
                token,
                self._secret,
                algorithms=[_ALGORITHM],
                audience=_AUDIENCE,
                options={
                    "require": ["exp", "iat", "sub"],
                    "verify_exp": False,
                    "verify_iat": False,
                },
            )
            now = self._clock().timestamp()
            if not int(claims["iat"]) - _LEEWAY <= now < int(claims["exp"]):
                raise ValueError("expired or not yet valid")
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

    def issue_join(self, call_id: str, seat_id: str, now: datetime, expires_at: datetime) -> str:
        """A link's token for one seat of one call (its own audience: never a session)."""
        claims: dict[str, object] = {
            "sub": seat_id,
            "call": call_id,
            "aud": _JOIN_AUDIENCE,
            "iat": int(now.timestamp()),
            "exp": int(expires_at.timestamp()),
        }
        return jwt.encode(claims, self._secret, algorithm=_ALGORITHM)

    def read_join(self, token: str) -> tuple[str, str]:
        """(call id, seat id) of a join token that is genuine and not expired."""
        try:
            claims = jwt.decode(
                token,
                self._secret,
                algorithms=[_ALGORITHM],
                audience=_JOIN_AUDIENCE,
                options=_OPTIONS,
            )
            now = self._clock().timestamp()
            if not int(claims["iat"]) - _LEEWAY <= now < int(claims["exp"]):
                raise ValueError("expired or not yet valid")
            return str(claims["call"]), str(claims["sub"])
        except (jwt.PyJWTError, KeyError, ValueError, TypeError):
            raise AuthenticationFailed(
                "the call link is invalid or expired", code="invalid_join_token"
            ) from None
