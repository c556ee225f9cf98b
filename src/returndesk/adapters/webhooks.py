"""Webhook endpoints and deliveries in the database, and the channel that sends them.

The dispatcher (adapters/dispatch.py) fans each outbox message out into one delivery per
endpoint that wants its topic, then this channel sends due deliveries, signed per Standard
Webhooks, and records every attempt. A failed attempt is retried with exponential
backoff and jitter for about a day, then the delivery is dead-lettered. Deliveries of one
case to one endpoint go out in order: only the oldest pending one of each is sent.
"""

from __future__ import annotations

import ipaddress
import json
import logging
import random
import socket
import time
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any
from urllib.parse import urlsplit

import httpx
from sqlalchemy import Connection, Engine, Row, insert, select, update
from standardwebhooks import Webhook

from returndesk.adapters.db.tables import (
    webhook_attempts,
    webhook_deliveries,
    webhook_endpoints,
)
from returndesk.adapters.dispatch import LEASE_SECONDS, lease_heads, renew_lease, writing
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
_jitter = random.Random()  # noqa: S311 - retry jitter; its own state, not the global one
MAX_RESPONSE_BYTES = 64 * 1024
TIMEOUT_SECONDS = 10.0


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


class WebhookChannel:
    """Webhook deliveries: one per outbox message and endpoint that wants its topic."""

    name = "webhook"

    def __init__(
        self,
        engine: Engine,
        clock: Clock,
        *,
        allow_private: bool = False,
        lease_seconds: int = LEASE_SECONDS,
    ) -> None:
        self.lease_seconds = lease_seconds
        self._engine = engine
        self._clock = clock
        self._allow_private = allow_private
        self._http = httpx.Client(timeout=TIMEOUT_SECONDS, follow_redirects=False)

    def close(self) -> None:
        self._http.close()

    def fan_out(self, conn: Connection, rows: Sequence[Row[Any]], now: datetime) -> None:
        endpoints = [
            endpoint_from_row(r)
            for r in conn.execute(
                select(webhook_endpoints).where(webhook_endpoints.c.active.is_(True))
            )
        ]
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

    def schedule(self, now: datetime, busy: set[str]) -> list[tuple[str, str]]:
        """Lease the oldest pending delivery of each (endpoint, case) that is due: deliveries
        of one case to one endpoint go out in order."""
        d = webhook_deliveries.c
        queue = (d.endpoint_id, d.case_id)
        return lease_heads(self._engine, webhook_deliveries, queue, now, busy, self.lease_seconds)

    def execute(self, delivery_id: str, lease: str) -> None:
        if not renew_lease(
            self._engine, webhook_deliveries, delivery_id, lease, self._clock(), self.lease_seconds
        ):
            return
        d, e = webhook_deliveries.c, webhook_endpoints.c
        with self._engine.connect() as conn:
            row = conn.execute(
                select(
                    d.id, d.topic, d.payload, d.attempts, e.id.label("endpoint_id"), e.store_id,
                    e.url, e.events, e.secrets, e.active, e.created_at,
                )
                .join(webhook_endpoints, e.id == d.endpoint_id)
                .where(d.id == delivery_id)
            ).one()  # fmt: skip
        endpoint = WebhookEndpoint(
            id=row.endpoint_id,
            store_id=row.store_id,
            url=row.url,
            events=frozenset(row.events),
            secrets=secrets_from_json(row.secrets),
            created_at=row.created_at,
            active=row.active,
        )
        self._send(_Due(row.id, endpoint, row.topic, row.payload, row.attempts), lease)

    def _send(self, due: _Due, lease: str) -> None:
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
        self._record(due, lease, at, status, error, duration)

    def _record(
        self, due: _Due, lease: str, at: datetime, status: int | None, error: str | None, ms: int
    ) -> None:
        ok = status is not None and 200 <= status < 300
        attempts = due.attempts + 1
        retry = None if ok else next_attempt(attempts, at, _jitter.random())
        values: dict[str, Any] = {
            "attempts": attempts,
            "last_status": status,
            "last_error": error,
            "status": "succeeded" if ok else ("pending" if retry else "dead"),
            "next_attempt_at": retry,
            "delivered_at": at if ok else None,
            "lease": None,
        }
        with writing(self._engine) as conn:
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
