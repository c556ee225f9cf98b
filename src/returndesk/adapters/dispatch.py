"""The outbox's consumer: fan each committed message out to the channels, then send.

A tick of the dispatcher does two things:

1. **Fan-out**, in one transaction: read the undispatched outbox messages, let every channel
   turn them into its own deliveries (webhook deliveries per endpoint, buyer emails), mark the
   messages dispatched. A crash either did all of it or none of it.
2. **Schedule**: every channel leases its due deliveries (a conditional update that only one
   dispatcher, of however many processes, can win; the lease carries a random token) and hands
   `(channel, id, token)` to the delivery queue. The queue runs the send in a worker: a thread
   pool of this process by default, or any process's worker through Redis (adapters/scaleout.py).

A worker first renews the lease with its token (if the lease ran out and the delivery was
leased again, the old job does nothing), sends, and records the attempt. A worker that dies
mid-send lets the lease run out; the delivery is then sent again with the same id, which
receivers deduplicate on. So each delivery reaches its receiver at least once, and exactly once
for a receiver that deduplicates by id.
"""

from __future__ import annotations

import logging
import secrets
import threading
import time
from collections.abc import Callable, Iterator, Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from contextlib import contextmanager
from datetime import datetime, timedelta
from typing import Any, Protocol

from sqlalchemy import Column, Connection, Engine, Row, Table, select, update

from returndesk.adapters.db.tables import outbox
from returndesk.services.ports import Clock

log = logging.getLogger(__name__)
LEASE_BATCH = 200  # deliveries leased by one statement
LEASE_SECONDS = 90  # longer than one send can take (HTTP 10 s, SMTP 30 s timeouts)

Execute = Callable[[str, str, str], None]  # (channel, delivery id, lease token)


@contextmanager
def writing(engine: Engine) -> Iterator[Connection]:
    """A write transaction that takes SQLite's write lock first (as units of work do), so
    concurrent writers wait for each other instead of failing to upgrade a read lock."""
    with engine.connect() as conn:
        if engine.dialect.name == "sqlite":
            conn.info["sqlite_begin"] = "BEGIN IMMEDIATE"
        with conn.begin():
            yield conn


def new_lease() -> str:
    return secrets.token_hex(12)


def lease_heads(
    engine: Engine,
    table: Table,
    queue: Sequence[Column[Any]],
    now: datetime,
    busy: set[str],
    seconds: int = LEASE_SECONDS,
) -> list[tuple[str, str]]:
    """Lease the oldest pending row of each queue (rows with the same `queue` column values:
    a case's emails, a case's deliveries to one endpoint; a missing value puts the row in a
    queue of its own) when it is due and not in flight, so each queue goes out in order: a
    later row waits while an older one is pending."""
    c = table.c
    with engine.connect() as conn:
        pending = conn.execute(
            select(c.id, c.next_attempt_at, *queue)
            .where(c.status == "pending")
            .order_by(c.created_at, c.id)
            .limit(2000)
        ).all()
    heads: set[tuple[Any, ...]] = set()
    due: list[str] = []
    for row in pending:
        key = tuple(row.id if v is None else v for v in row[2:])  # no value: its own queue
        if key in heads:
            continue  # an older row of this queue goes first
        heads.add(key)
        if row.id not in busy and row.next_attempt_at is not None and row.next_attempt_at <= now:
            due.append(row.id)
    return lease_due(engine, table, due, now, seconds)


def lease_due(
    engine: Engine, table: Table, due: Sequence[str], now: datetime, seconds: int = LEASE_SECONDS
) -> list[tuple[str, str]]:
    """Lease the due deliveries: one conditional update per batch, with one token for the
    batch, then a read of which rows carry it (only one dispatcher wins each row)."""
    if not due:
        return []
    won: list[tuple[str, str]] = []
    until = now + timedelta(seconds=seconds)
    c = table.c
    with writing(engine) as conn:
        for start in range(0, len(due), LEASE_BATCH):
            batch = list(due[start : start + LEASE_BATCH])
            lease = new_lease()
            conn.execute(
                update(table)
                .where(c.id.in_(batch), c.status == "pending", c.next_attempt_at <= now)
                .values(next_attempt_at=until, lease=lease)
            )
            taken = {
                row.id
                for row in conn.execute(select(c.id).where(c.id.in_(batch), c.lease == lease))
            }
            won.extend((delivery_id, lease) for delivery_id in batch if delivery_id in taken)
    return won


def renew_lease(
    engine: Engine,
    table: Table,
    delivery_id: str,
    lease: str,
    now: datetime,
    seconds: int = LEASE_SECONDS,
) -> bool:
    """A worker's first step: is the delivery still ours, for long enough to send it?

    A job run right after it was leased (the usual case) only reads; one that waited in a
    queue for half the lease or more takes the lease again with a conditional write."""
    c = table.c
    with engine.connect() as conn:
        row = conn.execute(
            select(c.lease, c.status, c.next_attempt_at).where(c.id == delivery_id)
        ).first()
    if row is None or row.lease != lease or row.status != "pending":
        return False
    if row.next_attempt_at is not None and row.next_attempt_at - now >= timedelta(
        seconds=seconds / 2
    ):
        return True
    with writing(engine) as conn:
        updated = conn.execute(
            update(table)
            .where(c.id == delivery_id, c.lease == lease, c.status == "pending")
            .values(next_attempt_at=now + timedelta(seconds=seconds))
        ).rowcount
    return bool(updated == 1)


class Channel(Protocol):
    name: str

    def fan_out(self, conn: Connection, rows: Sequence[Row[Any]], now: datetime) -> None:
        """Write this channel's deliveries for these outbox rows (inside the fan-out txn)."""
        ...

    def schedule(self, now: datetime, busy: set[str]) -> list[tuple[str, str]]:
        """Lease the due deliveries; `(id, lease token)` for each one won."""
        ...

    def execute(self, delivery_id: str, lease: str) -> None:
        """Send one leased delivery and record the attempt (no-op if the lease is gone)."""
        ...


class DeliveryQueue(Protocol):
    def start(self, execute: Execute) -> None: ...
    def submit(self, channel: str, delivery_id: str, lease: str) -> None: ...
    def busy(self) -> set[str]: ...
    def close(self) -> None: ...


class ThreadQueue:
    """The embedded default: sends run in a thread pool of this process."""

    def __init__(self, workers: int = 8) -> None:
        self._pool = ThreadPoolExecutor(max_workers=workers, thread_name_prefix="delivery")
        self._in_flight: dict[str, Future[None]] = {}
        self._execute: Execute | None = None
        self._lock = threading.Lock()

    def start(self, execute: Execute) -> None:
        self._execute = execute

    def submit(self, channel: str, delivery_id: str, lease: str) -> None:
        assert self._execute is not None, "start() the queue first"
        future = self._pool.submit(self._execute, channel, delivery_id, lease)
        with self._lock:
            self._in_flight[delivery_id] = future

    def busy(self) -> set[str]:
        with self._lock:
            self._in_flight = {k: f for k, f in self._in_flight.items() if not f.done()}
            return set(self._in_flight)

    def close(self) -> None:
        self._pool.shutdown(wait=True, cancel_futures=True)


class Dispatcher:
    def __init__(
        self,
        engine: Engine,
        clock: Clock,
        channels: Sequence[Channel],
        queue: DeliveryQueue | None = None,
        *,
        interval: float = 0.25,
        chores: Sequence[tuple[float, Callable[[], object]]] = (),
    ) -> None:
        """`chores`: (every so many seconds, what) to run from the dispatcher's thread too,
        e.g. retrying timestamps while the authority was unreachable."""
        self._chores = [(every, chore, [0.0]) for every, chore in chores]
        self._engine = engine
        self._clock = clock
        self.channels = {channel.name: channel for channel in channels}
        self.queue: DeliveryQueue = queue or ThreadQueue()
        self._interval = interval
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    def start(self) -> Dispatcher:
        self.queue.start(self.execute)
        if self._thread is None:
            self._thread = threading.Thread(target=self._run, name="dispatcher", daemon=True)
            self._thread.start()
        return self

    def stop(self) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout=15)
        self.queue.close()
        for channel in self.channels.values():
            close: Callable[[], None] | None = getattr(channel, "close", None)
            if close is not None:
                close()

    def _run(self) -> None:
        while not self._stop.is_set():
            try:
                self.run_once()
            except Exception:  # a database hiccup: try again on the next tick
                log.exception("dispatcher tick failed")
            self._stop.wait(self._interval)

    def run_once(self) -> None:
        now = time.monotonic()
        for every, chore, last in self._chores:
            if now - last[0] >= every:
                last[0] = now
                try:
                    chore()
                except Exception:
                    log.exception("dispatcher chore failed")
        self.fan_out()
        busy = self.queue.busy()
        for name, channel in self.channels.items():
            for delivery_id, lease in channel.schedule(self._clock(), busy):
                self.queue.submit(name, delivery_id, lease)

    def execute(self, channel: str, delivery_id: str, lease: str) -> None:
        try:
            self.channels[channel].execute(delivery_id, lease)
        except Exception:  # the lease runs out and the delivery is tried again
            log.exception("delivery %s on %s failed", delivery_id, channel)

    def fan_out(self, limit: int = 500) -> int:
        """Turn undispatched outbox messages into deliveries; returns how many messages."""
        with writing(self._engine) as conn:
            rows = conn.execute(
                select(outbox)
                .where(outbox.c.dispatched_at.is_(None))
                .order_by(outbox.c.created_at, outbox.c.id)
                .limit(limit)
            ).all()
            if len(rows) == limit:
                # Keep one transaction's messages together (an email covers all of them):
                # leave the last instant's messages for the next tick, unless that is all.
                kept = [r for r in rows if r.created_at != rows[-1].created_at]
                rows = kept or rows
            if not rows:
                return 0
            now = self._clock()
            for channel in self.channels.values():
                channel.fan_out(conn, rows, now)
            conn.execute(
                update(outbox)
                .where(outbox.c.id.in_([r.id for r in rows]))
                .values(dispatched_at=now)
            )
            return len(rows)
