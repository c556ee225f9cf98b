"""Webhook endpoints and deliveries in the database, and the dispatcher that sends them.

The dispatcher is the outbox's consumer: it fans each undispatched outbox message out into one
delivery per endpoint that wants its topic (in one transaction with marking the message
dispatched, so a crash either did both or neither), then sends due deliveries, signed per
Standard Webhooks, and records every attempt. A failed attempt is retried with exponential
backoff and jitter for about a day, then the delivery is dead-lettered. Deliveries of one
case to one endpoint go out in order: only the oldest pending one of each is sent.
"""

from __future__ import annotations

import ipaddress
import json
import logging
import random
import socket
import threading
import time
from collections.abc import Iterator
from concurrent.futures import Future, ThreadPoolExecutor
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any
from urllib.parse import urlsplit

import httpx
from sqlalchemy import Connection, Engine, Row, func, insert, select, update
from standardwebhooks import Webhook

from returndesk.adapters.db.tables import (
    outbox,
    webhook_attempts,
    webhook_deliveries,
    webhook_endpoints,
)
from returndesk.domain.errors import ValidationFailed
from returndesk.domain.ids import new_id
from returndesk.domain.webhooks import (
    AttemptView,
    DeliveryView,
    Secret,
    WebhookEndpoint,
    next_attempt,
)
from returndesk.services.ports import Clock

log = logging.getLogger(__name__)
MAX_RESPONSE_BYTES = 64 * 1024
TIMEOUT_SECONDS = 10.0
LEASE_SECONDS = 60  # longer than an attempt can take


def check_destination(url: str, allow_private: bool) -> None:
    """Refuse loopback, private, link-local and other non-public addresses (SSRF)."""
    if allow_private:
        return
    host = urlsplit(url).hostname or ""
    try:
        infos = socket.getaddrinfo(host, None, proto=socket.IPPROTO_TCP)
    except (OSError, UnicodeError):
        raise ValidationFailed(f"{host} does not resolve", code="invalid_webhook_url") from None
    for info in infos:
        address = ipaddress.ip_address(str(info[4][0]).split("%")[0])
        if not address.is_global:
            raise ValidationFailed(
                f"{host} points at a private or local address", code="invalid_webhook_url"
            )


def endpoint_from_row(row: Row[Any]) -> WebhookEndpoint:
    return WebhookEndpoint(
        id=row.id,
        store_id=row.store_id,
        url=row.url,
        events=frozenset(row.events),
        secrets=secrets_from_json(row.secrets),
        created_at=row.created_at,
        active=row.active,
    )


def secrets_from_json(raw: list[dict[str, Any]]) -> tuple[Secret, ...]:
    return tuple(
        Secret(
            s["value"],
            datetime.fromisoformat(s["created_at"]),
            datetime.fromisoformat(s["expires_at"]) if s.get("expires_at") else None,
        )
        for s in raw
    )


def secrets_json(endpoint: WebhookEndpoint) -> list[dict[str, Any]]:
    return [
        {
            "value": s.value,
            "created_at": s.created_at.isoformat(),
            "expires_at": s.expires_at.isoformat() if s.expires_at else None,
        }
        for s in endpoint.secrets
    ]


def sign(endpoint: WebhookEndpoint, msg_id: str, at: datetime, body: str) -> str:
    """The webhook-signature header: one v1 signature per secret valid now."""
    return " ".join(
        Webhook(secret).sign(msg_id, at, body) for secret in endpoint.signing_secrets(at)
    )


@dataclass(frozen=True, slots=True)
class _Due:
    delivery_id: str
    endpoint: WebhookEndpoint
    topic: str
    payload: dict[str, Any]
    attempts: int


class WebhookDispatcher:
    def __init__(
        self,
        engine: Engine,
        clock: Clock,
        *,
        allow_private: bool = False,
        interval: float = 0.25,
        workers: int = 8,
    ) -> None:
        self._engine = engine
        self._clock = clock
        self._allow_private = allow_private
        self._interval = interval
        self._pool = ThreadPoolExecutor(max_workers=workers, thread_name_prefix="webhook")
        self._in_flight: dict[str, Future[None]] = {}
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self._http = httpx.Client(timeout=TIMEOUT_SECONDS, follow_redirects=False)

    # --- lifecycle ---------------------------------------------------------------------------

    def start(self) -> WebhookDispatcher:
        if self._thread is None:
            self._thread = threading.Thread(target=self._run, name="dispatcher", daemon=True)
            self._thread.start()
        return self

    def stop(self) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout=15)
        self._pool.shutdown(wait=True, cancel_futures=True)
        self._http.close()

    def _run(self) -> None:
        while not self._stop.is_set():
            try:
                self.run_once()
            except Exception:  # a database hiccup: try again on the next tick
                log.exception("dispatcher tick failed")
            self._stop.wait(self._interval)

    # --- one tick ----------------------------------------------------------------------------

    def run_once(self) -> None:
        self.fan_out()
        for due in self._due():
            self._in_flight[due.delivery_id] = self._pool.submit(self._send, due)

    @contextmanager
    def _writing(self) -> Iterator[Connection]:
        """A write transaction that takes SQLite's write lock first (as units of work do), so
        concurrent writers wait for each other instead of failing to upgrade a read lock."""
        with self._engine.connect() as conn:
            if self._engine.dialect.name == "sqlite":
                conn.info["sqlite_begin"] = "BEGIN IMMEDIATE"
            with conn.begin():
                yield conn

    def fan_out(self, limit: int = 500) -> int:
        """Turn undispatched outbox messages into deliveries; returns how many messages."""
        with self._writing() as conn:
            if conn.execute(select(func.count()).select_from(webhook_endpoints)).scalar_one() == 0:
                return 0  # nobody listens yet: keep the messages for the first endpoint's date
            rows = conn.execute(
                select(outbox)
                .where(outbox.c.dispatched_at.is_(None))
                .order_by(outbox.c.created_at, outbox.c.id)
                .limit(limit)
            ).all()
            if not rows:
                return 0
            endpoints = [
                endpoint_from_row(r)
                for r in conn.execute(
                    select(webhook_endpoints).where(webhook_endpoints.c.active.is_(True))
                )
            ]
            now = self._clock()
            deliveries = [
                {
                    "id": f"msg_{row.id}_{endpoint.id[-12:]}",
                    "endpoint_id": endpoint.id,
                    "outbox_id": row.id,
                    "case_id": row.payload.get("case_id"),
                    "topic": row.topic,
                    "payload": row.payload,
                    "status": "pending",
                    "attempts": 0,
                    "next_attempt_at": now,
                    "created_at": row.created_at,
                }
                for row in rows
                for endpoint in endpoints
                if endpoint.store_id == row.store_id
                and endpoint.wants(row.topic)
                and endpoint.created_at <= row.created_at
            ]
            if deliveries:
                conn.execute(insert(webhook_deliveries), deliveries)
            conn.execute(
                update(outbox)
                .where(outbox.c.id.in_([r.id for r in rows]))
                .values(dispatched_at=now)
            )
            return len(rows)

    def _due(self) -> list[_Due]:
        self._in_flight = {k: f for k, f in self._in_flight.items() if not f.done()}
        now = self._clock()
        with self._engine.connect() as conn:
            d, e = webhook_deliveries.c, webhook_endpoints.c
            pending = conn.execute(
                select(
                    d.id, d.endpoint_id, d.case_id, d.topic, d.payload, d.attempts,
                    d.next_attempt_at, e.store_id, e.url, e.events, e.secrets,
                    e.active, e.created_at.label("endpoint_created_at"),
                )
                .join(webhook_endpoints, e.id == d.endpoint_id)
                .where(d.status == "pending")
                .order_by(d.created_at, d.id)
                .limit(2000)
            ).all()  # fmt: skip
        busy = set(self._in_flight)
        heads: set[tuple[str, str]] = set()
        due: list[_Due] = []
        for row in pending:
            key = (row.endpoint_id, row.case_id or row.id)
            if key in heads:
                continue  # an older delivery of this case to this endpoint goes first
            heads.add(key)
            if row.id in busy or row.next_attempt_at is None or row.next_attempt_at > now:
                continue
            endpoint = WebhookEndpoint(
                id=row.endpoint_id,
                store_id=row.store_id,
                url=row.url,
                events=frozenset(row.events),
                secrets=secrets_from_json(row.secrets),
                created_at=row.endpoint_created_at,
                active=row.active,
            )
            due.append(_Due(row.id, endpoint, row.topic, row.payload, row.attempts))
        return self._claim(due, now)

    def _claim(self, due: list[_Due], now: datetime) -> list[_Due]:
        """Lease each delivery before sending it: a conditional update that only one
        dispatcher (of several processes) can win. A dispatcher that dies while sending lets
        the lease run out, and the delivery is sent again with the same webhook-id."""
        if not due:
            return due
        claimed: list[_Due] = []
        lease = now + timedelta(seconds=LEASE_SECONDS)
        d = webhook_deliveries.c
        with self._writing() as conn:
            for item in due:
                won = conn.execute(
                    update(webhook_deliveries)
                    .where(
                        d.id == item.delivery_id, d.status == "pending", d.next_attempt_at <= now
                    )
                    .values(next_attempt_at=lease)
                ).rowcount
                if won == 1:
                    claimed.append(item)
        return claimed

    def _send(self, due: _Due) -> None:
        at = self._clock()
        body = json.dumps(
            {"type": due.topic, "timestamp": at.isoformat(), "data": due.payload},
            separators=(",", ":"),
            ensure_ascii=False,
        )
        started = time.monotonic()
        status: int | None = None
        error: str | None = None
        try:
            check_destination(due.endpoint.url, self._allow_private)
            headers = {
                "content-type": "application/json",
                "webhook-id": due.delivery_id,
                "webhook-timestamp": str(int(at.timestamp())),
                "webhook-signature": sign(due.endpoint, due.delivery_id, at, body),
                "user-agent": "ReturnDesk-Webhooks/1",
            }
            with self._http.stream(
                "POST", due.endpoint.url, content=body.encode(), headers=headers
            ) as response:
                status = response.status_code
                read = 0
                for chunk in response.iter_bytes():
                    read += len(chunk)
                    if read > MAX_RESPONSE_BYTES:
                        break  # a receiver's body is not ours to keep
        except ValidationFailed as exc:
            error = exc.detail
        except httpx.HTTPError as exc:
            error = f"{type(exc).__name__}: {exc}"[:300]
        duration = int((time.monotonic() - started) * 1000)
        self._record(due, at, status, error, duration)

    def _record(
        self, due: _Due, at: datetime, status: int | None, error: str | None, ms: int
    ) -> None:
        ok = status is not None and 200 <= status < 300
        attempts = due.attempts + 1
        retry = None if ok else next_attempt(attempts, at, random.random())  # noqa: S311
        values: dict[str, Any] = {
            "attempts": attempts,
            "last_status": status,
            "last_error": error,
            "status": "succeeded" if ok else ("pending" if retry else "dead"),
            "next_attempt_at": retry,
            "delivered_at": at if ok else None,
        }
        with self._writing() as conn:
            conn.execute(
                insert(webhook_attempts).values(
                    id=new_id(), delivery_id=due.delivery_id, at=at, status=status,
                    error=error, duration_ms=ms,
                )
            )  # fmt: skip
            conn.execute(
                update(webhook_deliveries)
                .where(webhook_deliveries.c.id == due.delivery_id)
                .values(**values)
            )


class SqlWebhookRepository:
    def __init__(self, conn: Any) -> None:
        self._conn = conn

    def add(self, endpoint: WebhookEndpoint) -> None:
        self._conn.execute(
            insert(webhook_endpoints).values(
                id=endpoint.id, store_id=endpoint.store_id, url=endpoint.url,
                events=sorted(endpoint.events), secrets=secrets_json(endpoint),
                active=endpoint.active, created_at=endpoint.created_at,
            )
        )  # fmt: skip

    def save(self, endpoint: WebhookEndpoint) -> None:
        self._conn.execute(
            update(webhook_endpoints)
            .where(webhook_endpoints.c.id == endpoint.id)
            .values(secrets=secrets_json(endpoint), active=endpoint.active)
        )

    def get(self, endpoint_id: str) -> WebhookEndpoint | None:
        row = self._conn.execute(
            select(webhook_endpoints).where(webhook_endpoints.c.id == endpoint_id)
        ).first()
        return endpoint_from_row(row) if row else None

    def for_store(self, store_id: str) -> list[WebhookEndpoint]:
        rows = self._conn.execute(
            select(webhook_endpoints)
            .where(webhook_endpoints.c.store_id == store_id)
            .order_by(webhook_endpoints.c.created_at)
        )
        return [endpoint_from_row(r) for r in rows]

    def deliveries(self, endpoint_id: str, limit: int = 100) -> list[DeliveryView]:
        d = webhook_deliveries.c
        rows = self._conn.execute(
            select(webhook_deliveries)
            .where(d.endpoint_id == endpoint_id)
            .order_by(d.created_at.desc(), d.id.desc())
            .limit(limit)
        ).all()
        history: dict[str, list[AttemptView]] = {r.id: [] for r in rows}
        if rows:
            for a in self._conn.execute(
                select(webhook_attempts)
                .where(webhook_attempts.c.delivery_id.in_(list(history)))
                .order_by(webhook_attempts.c.at, webhook_attempts.c.id)
            ):
                history[a.delivery_id].append(AttemptView(a.at, a.status, a.error, a.duration_ms))
        return [
            DeliveryView(
                r.id,
                r.topic,
                r.case_id,
                r.status,
                r.attempts,
                r.next_attempt_at,
                r.last_status,
                r.last_error,
                r.created_at,
                r.delivered_at,
                tuple(history[r.id]),
            )
            for r in rows
        ]

    def replay(self, endpoint_id: str, delivery_id: str, now: datetime) -> bool:
        """Send a delivery again (whatever its state): it becomes pending and due now."""
        result = self._conn.execute(
            update(webhook_deliveries)
            .where(
                webhook_deliveries.c.id == delivery_id,
                webhook_deliveries.c.endpoint_id == endpoint_id,
            )
            .values(status="pending", next_attempt_at=now)
        )
        return bool(result.rowcount == 1)
