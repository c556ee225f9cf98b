"""Live fan-out inside one process: after a commit, wake the subscribers of what changed.

Subscribers (Server-Sent Events streams) wait on an asyncio queue; a commit happens in a
worker thread, so publishing hops onto each subscriber's event loop. A wake-up carries no data
a subscriber must not miss: it re-reads the timeline from the database after its own cursor,
so a dropped or merged wake-up loses nothing, and a reconnecting client (Last-Event-ID) gets
everything since its last event, in order.
"""

from __future__ import annotations

import asyncio
import itertools
import threading
from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass, field

from returndesk.services.ports import OutboxMessage


@dataclass(frozen=True, slots=True)
class Change:
    store_id: str
    case_id: str
    seq: int = 0  # one number per published change: streams of a case share one read of it


@dataclass(eq=False, slots=True)
class Subscription:
    store_id: str
    case_id: str | None  # None: every case of the store (the queue)
    loop: asyncio.AbstractEventLoop
    queue: asyncio.Queue[Change] = field(default_factory=lambda: asyncio.Queue(maxsize=1000))

    async def next(self, wait_seconds: float) -> Change | None:
        try:
            return await asyncio.wait_for(self.queue.get(), wait_seconds)
        except TimeoutError:
            return None

    def _offer(self, change: Change) -> None:
        if self.queue.full():  # the reader is behind: it re-reads from the database anyway
            return
        self.queue.put_nowait(change)


class LiveHub:
    def __init__(self) -> None:
        self._by_case: dict[str, set[Subscription]] = defaultdict(set)
        self._by_store: dict[str, set[Subscription]] = defaultdict(set)
        self._lock = threading.Lock()
        self._seq = itertools.count(1)

    def subscribe(self, store_id: str, case_id: str | None) -> Subscription:
        sub = Subscription(store_id, case_id, asyncio.get_running_loop())
        with self._lock:
            if case_id is None:
                self._by_store[store_id].add(sub)
            else:
                self._by_case[case_id].add(sub)
        return sub

    def unsubscribe(self, sub: Subscription) -> None:
        with self._lock:
            table = self._by_store if sub.case_id is None else self._by_case
            key = sub.store_id if sub.case_id is None else sub.case_id
            subs = table.get(key)
            if subs is not None:
                subs.discard(sub)
                if not subs:
                    del table[key]

    def subscribers(self) -> int:
        with self._lock:
            return sum(len(s) for s in self._by_case.values()) + sum(
                len(s) for s in self._by_store.values()
            )

    @staticmethod
    def touched(messages: Sequence[OutboxMessage]) -> set[tuple[str, str]]:
        """The (store, case) pairs a commit's outbox messages are about."""
        return {
            (m.store_id, str(m.payload.get("case_id", "")))
            for m in messages
            if m.payload.get("case_id")
        }

    def publish(self, messages: Sequence[OutboxMessage]) -> None:
        """Called after a commit with the outbox messages it wrote (any thread)."""
        for store_id, case_id in self.touched(messages):
            self.wake(store_id, case_id)

    def wake(self, store_id: str, case_id: str) -> None:
        """Wake the subscribers of one case and of its store's queue (any thread)."""
        change = Change(store_id, case_id, next(self._seq))
        with self._lock:
            targets = [
                *self._by_case.get(change.case_id, ()),
                *self._by_store.get(change.store_id, ()),
            ]
        self._offer(targets, change)

    def wake_all(self) -> None:
        """Wake every case stream once (after missing changes, e.g. a lost Redis link)."""
        with self._lock:
            cases = [
                (next(iter(subs)).store_id, case_id)
                for case_id, subs in self._by_case.items()
                if subs
            ]
        for store_id, case_id in cases:
            self.wake(store_id, case_id)

    def _offer(self, targets: list[Subscription], change: Change) -> None:
        for sub in targets:
            try:
                sub.loop.call_soon_threadsafe(sub._offer, change)
            except RuntimeError:  # its loop is closed: the stream is gone
                self.unsubscribe(sub)
