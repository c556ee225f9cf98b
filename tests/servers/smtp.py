"""A real SMTP server on loopback (aiosmtpd) that keeps what it is sent, like a mailbox that
deduplicates on Message-ID (as the issue's "receiver that deduplicates by id")."""

from __future__ import annotations

import email
import email.policy
import socket
import threading
import time
from dataclasses import dataclass, field
from email.message import EmailMessage
from types import TracebackType
from typing import Any

from aiosmtpd.controller import Controller
from aiosmtpd.smtp import SMTP, Envelope, Session


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@dataclass
class SmtpSink:
    refuse_first: int = 0  # answer 451 (try later) to this many messages first
    reject_all: bool = False  # answer 550 (permanent) to every message
    messages: list[EmailMessage] = field(default_factory=list)  # everything accepted
    refused: int = 0

    def __post_init__(self) -> None:
        self._lock = threading.Lock()
        self.port = free_port()
        self._controller = Controller(self, hostname="127.0.0.1", port=self.port)

    @property
    def url(self) -> str:
        return f"smtp://127.0.0.1:{self.port}"

    async def handle_DATA(self, server: SMTP, session: Session, envelope: Envelope) -> str:  # noqa: N802
        with self._lock:
            if self.reject_all:
                return "550 mailbox unavailable"
            if self.refused < self.refuse_first:
                self.refused += 1
                return "451 try again later"
            raw = envelope.original_content or envelope.content or b""
            assert isinstance(raw, bytes)
            message = email.message_from_bytes(raw, policy=email.policy.default)
            assert isinstance(message, EmailMessage)
            self.messages.append(message)
        return "250 OK"

    def unique(self) -> dict[str, EmailMessage]:
        """The mailbox after deduplication by Message-ID."""
        with self._lock:
            return {str(m["Message-ID"]): m for m in self.messages}

    def wait_for(self, count: int, timeout: float = 15.0) -> list[EmailMessage]:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            with self._lock:
                if len(self.messages) >= count:
                    return list(self.messages)
            time.sleep(0.05)
        with self._lock:
            raise AssertionError(f"expected {count} emails, got {len(self.messages)}")

    def __enter__(self) -> SmtpSink:
        self._controller.start()
        return self

    def __exit__(
        self, kind: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self._controller.stop()


def body(message: EmailMessage, subtype: str) -> str:
    part: Any = message.get_body(preferencelist=(subtype,))
    assert part is not None, f"no {subtype} part"
    return str(part.get_content())
