"""Refuse oversized request bodies before anything reads them (declared or streamed)."""

from __future__ import annotations

import json
import re

from starlette.types import ASGIApp, Message, Receive, Scope, Send


class BodyLimitMiddleware:
    """`max_bytes` for every path, except the exact paths in `larger` (e.g. file uploads) and
    paths under `streamed` prefixes, whose handlers read the body as a stream and enforce
    their own limit (resumable uploads: a chunk may be gigabytes, never held in memory)."""

    def __init__(
        self,
        app: ASGIApp,
        max_bytes: int,
        larger: dict[str, int] | None = None,
        streamed: tuple[str, ...] = (),
        patterns: tuple[tuple[str, int], ...] = (),
    ) -> None:
        self.app = app
        self.max_bytes = max_bytes
        self.larger = larger or {}
        self.streamed = streamed
        self.patterns = tuple((re.compile(p), limit) for p, limit in patterns)

    def _limit(self, path: str) -> int:
        for pattern, limit in self.patterns:
            if pattern.fullmatch(path):
                return limit
        return self.larger.get(path, self.max_bytes)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or str(scope["path"]).startswith(self.streamed):
            await self.app(scope, receive, send)
            return
        limit = self._limit(str(scope["path"]))
        declared = dict(scope["headers"]).get(b"content-length")
        if declared is not None:
            try:
                too_big = int(declared) > limit
            except ValueError:
                too_big = True
            if too_big:
                await self._refuse(send, limit)
                return
        chunks: list[bytes] = []
        size = 0
        while True:
            message = await receive()
            if message["type"] == "http.disconnect":
                return
            body = message.get("body", b"")
            size += len(body)
            if size > limit:
                await self._refuse(send, limit)
                return
            chunks.append(body)
            if not message.get("more_body", False):
                break
        replayed = False

        async def replay() -> Message:
            nonlocal replayed
            if not replayed:
                replayed = True
                return {"type": "http.request", "body": b"".join(chunks), "more_body": False}
            return await receive()

        await self.app(scope, replay, send)

    async def _refuse(self, send: Send, limit: int) -> None:
        body = json.dumps(
            {
                "type": "https://returndesk.dev/problems/payload_too_large",
                "title": "Content Too Large",
                "status": 413,
                "detail": f"the body is larger than {limit} bytes",
                "code": "payload_too_large",
            }
        ).encode()
        await send(
            {
                "type": "http.response.start",
                "status": 413,
                "headers": [
                    (b"content-type", b"application/problem+json"),
                    (b"content-length", str(len(body)).encode()),
                    (b"connection", b"close"),
                ],
            }
        )
        await send({"type": "http.response.body", "body": body})
