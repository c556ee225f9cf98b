"""A local stand-in for a hosted chat model that speaks the OpenAI Chat Completions wire
protocol (`POST /v1/chat/completions`, streamed as server-sent `chat.completion.chunk` events
ending with `data: [DONE]`, tool calls as deltas). What it answers is up to the test: a
`Script` gets each request body and returns text, a tool name, or a delay."""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from types import TracebackType
from typing import Any


@dataclass
class Answer:
    text: str = ""
    tool: str | None = None
    delay: float = 0.0
    status: int = 200


Script = Callable[[dict[str, Any]], Answer]


@dataclass
class FakeChatModel:
    script: Script = field(default=lambda body: Answer(text="OK"))
    requests: list[dict[str, Any]] = field(default_factory=list)
    headers: list[dict[str, str]] = field(default_factory=list)

    def __post_init__(self) -> None:
        model = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def do_POST(self) -> None:
                if self.path.rstrip("/") != "/v1/chat/completions":
                    self.send_error(404)
                    return
                body = json.loads(self.rfile.read(int(self.headers.get("content-length", "0"))))
                with model._lock:
                    model.requests.append(body)
                    model.headers.append({k.lower(): v for k, v in self.headers.items()})
                answer = model.script(body)
                if answer.delay:
                    time.sleep(answer.delay)
                try:
                    self._answer(body, answer)
                except (BrokenPipeError, ConnectionResetError):
                    return  # the client gave up waiting (a timeout test)

            def _answer(self, body: dict[str, Any], answer: Answer) -> None:
                if answer.status != 200:
                    error = json.dumps({"error": {"message": "boom", "type": "server_error"}})
                    self._send(answer.status, "application/json", error.encode())
                    return
                if body.get("stream"):
                    self._stream(body, answer)
                else:
                    self._send(
                        200, "application/json", json.dumps(self._whole(body, answer)).encode()
                    )

            def _send(self, status: int, kind: str, data: bytes) -> None:
                self.send_response(status)
                self.send_header("content-type", kind)
                self.send_header("content-length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            def _chunk(
                self, body: dict[str, Any], delta: dict[str, Any], finish: str | None
            ) -> bytes:
                event = {
                    "id": "chatcmpl-fake",
                    "object": "chat.completion.chunk",
                    "created": int(time.time()),
                    "model": body.get("model", ""),
                    "choices": [{"index": 0, "delta": delta, "finish_reason": finish}],
                }
                return f"data: {json.dumps(event)}\n\n".encode()

            def _stream(self, body: dict[str, Any], answer: Answer) -> None:
                parts = [self._chunk(body, {"role": "assistant", "content": ""}, None)]
                if answer.tool:
                    parts.append(
                        self._chunk(
                            body,
                            {
                                "tool_calls": [
                                    {
                                        "index": 0,
                                        "id": "call_1",
                                        "type": "function",
                                        "function": {"name": answer.tool, "arguments": ""},
                                    }
                                ]
                            },
                            None,
                        )
                    )
                    parts.append(
                        self._chunk(
                            body,
                            {"tool_calls": [{"index": 0, "function": {"arguments": "{}"}}]},
                            None,
                        )
                    )
                    parts.append(self._chunk(body, {}, "tool_calls"))
                else:
                    words = answer.text.split(" ")
                    for i, word in enumerate(words):
                        piece = word if i == 0 else " " + word
                        parts.append(self._chunk(body, {"content": piece}, None))
                    parts.append(self._chunk(body, {}, "stop"))
                parts.append(b"data: [DONE]\n\n")
                self.send_response(200)
                self.send_header("content-type", "text/event-stream")
                self.send_header("transfer-encoding", "chunked")
                self.end_headers()
                for part in parts:
                    self.wfile.write(f"{len(part):x}\r\n".encode() + part + b"\r\n")
                self.wfile.write(b"0\r\n\r\n")

            def _whole(self, body: dict[str, Any], answer: Answer) -> dict[str, Any]:
                message: dict[str, Any] = {"role": "assistant", "content": answer.text or None}
                if answer.tool:
                    message["tool_calls"] = [
                        {
                            "id": "call_1",
                            "type": "function",
                            "function": {"name": answer.tool, "arguments": "{}"},
                        }
                    ]
                return {
                    "id": "chatcmpl-fake",
                    "object": "chat.completion",
                    "created": 0,
                    "model": body.get("model", ""),
                    "choices": [
                        {
                            "index": 0,
                            "message": message,
                            "finish_reason": "tool_calls" if answer.tool else "stop",
                        }
                    ],
                }

            def log_message(self, *args: object) -> None:
                return

        self._lock = threading.Lock()
        self._server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self._server.daemon_threads = True
        self.base_url = f"http://127.0.0.1:{self._server.server_address[1]}/v1"
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)

    def __enter__(self) -> FakeChatModel:
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
        self._thread.join(timeout=5)
