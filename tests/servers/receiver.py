"""A real HTTP server on loopback that records what webhooks post to it."""

from __future__ import annotations

import threading
import time
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from types import TracebackType


@dataclass
class Received:
    path: str
    headers: dict[str, str]
    body: bytes


@dataclass
class Behaviour:
    status: int = 204
    fail_first: int = 0  # answer 503 to this many requests first
    delay: float = 0.0  # seconds to wait before answering
    reply_bytes: int = 0  # a reply body this large


@dataclass
class Receiver:
    behaviour: Behaviour = field(default_factory=Behaviour)
    received: list[Received] = field(default_factory=list)
    refused: int = 0

    def __post_init__(self) -> None:
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                length = int(self.headers.get("content-length", "0"))
                body = self.rfile.read(length)
                b = receiver.behaviour
                if b.delay:
                    time.sleep(b.delay)
                with receiver._lock:
                    failing = receiver.refused < b.fail_first
                    if failing:
                        receiver.refused += 1
                    else:
                        receiver.received.append(
                            Received(
                                self.path, {k.lower(): v for k, v in self.headers.items()}, body
                            )
                        )
                self.send_response(503 if failing else b.status)
                self.send_header("content-length", str(b.reply_bytes))
                self.end_headers()
                if b.reply_bytes:
                    self.wfile.write(b"x" * b.reply_bytes)

            def log_message(self, *args: object) -> None:
                return

        self._lock = threading.Lock()
        self._server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self._server.daemon_threads = True
        self.url = f"http://127.0.0.1:{self._server.server_address[1]}/hooks"
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)

    def __enter__(self) -> Receiver:
        self._thread.start()
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self._server.shutdown()
        self._server.server_close()

    def wait_for(self, count: int, timeout: float = 10.0) -> list[Received]:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            with self._lock:
                if len(self.received) >= count:
                    return list(self.received)
            time.sleep(0.05)
        with self._lock:
            raise AssertionError(f"expected {count} deliveries, got {len(self.received)}")
