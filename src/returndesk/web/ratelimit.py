"""Rate limits on the endpoints that can be used to guess (buyer sessions)."""

from __future__ import annotations

from fastapi import Request
from limits import parse
from limits.storage import MemoryStorage
from limits.strategies import MovingWindowRateLimiter

from returndesk.web.problems import HttpProblem


def client_address(request: Request) -> str:
    return request.client.host if request.client else "unknown"


class GuessLimiter:
    """Limits attempts per client address and per target, so neither can be brute-forced."""

    def __init__(self, rate: str) -> None:
        self._limit = parse(rate)
        self._storage = MemoryStorage()
        self._limiter = MovingWindowRateLimiter(self._storage)

    def check(self, request: Request, scope: str, target: str) -> None:
        for key, value in ((f"{scope}-ip", client_address(request)), (f"{scope}-target", target)):
            if not self._limiter.hit(self._limit, key, value):
                raise HttpProblem(
                    429,
                    "rate_limited",
                    "too many attempts: wait a minute and try again",
                    headers={"Retry-After": "60"},
                )


def limiter(request: Request) -> GuessLimiter:
    found: GuessLimiter = request.app.state.limiter
    return found


def chat_limiter(request: Request) -> GuessLimiter:
    """Chat messages and photos: per client address and per conversation."""
    found: GuessLimiter = request.app.state.chat_limiter
    return found
