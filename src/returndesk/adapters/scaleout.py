"""Scale-out over Redis (`RETURNDESK_REDIS_URL`): live wake-ups and delivery jobs shared by
every app process.

- `RedisLive` publishes each commit's touched cases on a pub/sub channel; every process wakes
  its own subscribers (SSE streams) for changes made in any process. A wake-up carries no data
  a stream needs (it re-reads the database after its cursor), so a lost one only delays; after
  a reconnect to Redis every local stream is woken once to catch up.
- `DramatiqQueue` carries `(channel, delivery id, lease)` jobs through Dramatiq's Redis broker
  to worker threads in any process: the dispatcher that leased a delivery need not be the one
  that sends it, and unacknowledged jobs of a dead worker are redelivered by Dramatiq (the lease
  check makes a second run a no-op).
"""

from __future__ import annotations

import json
import logging
import threading
import uuid
from collections.abc import Sequence
from typing import Any

import dramatiq
import redis
from dramatiq.brokers.redis import RedisBroker

from returndesk.adapters.dispatch import Execute
from returndesk.adapters.live import LiveHub
from returndesk.services.ports import OutboxMessage

log = logging.getLogger(__name__)


class RedisLive:
    """Wraps a LiveHub: local subscribers as before, plus every other process through Redis."""

    def __init__(self, hub: LiveHub, url: str, namespace: str = "returndesk") -> None:
        self.hub = hub
        self._url = url
        self._channel = f"{namespace}:live"
        self._origin = uuid.uuid4().hex
        self._client = redis.Redis.from_url(url, socket_timeout=5, socket_connect_timeout=5)
        self._stop = threading.Event()
        self._ready = threading.Event()
        self._thread = threading.Thread(target=self._listen, name="redis-live", daemon=True)

    def start(self) -> RedisLive:
        self._thread.start()
        self._ready.wait(5)
        return self

    def publish(self, messages: Sequence[OutboxMessage]) -> None:
        """After a commit (any thread): wake local subscribers, then tell the other processes."""
        self.hub.publish(messages)
        touched = sorted(self.hub.touched(messages))
        if not touched:
            return
        body = json.dumps({"origin": self._origin, "changes": touched})
        try:
            self._client.publish(self._channel, body)
        except redis.RedisError:  # the other processes catch up after their reconnect
            log.warning("could not publish a live change to Redis", exc_info=True)

    def _listen(self) -> None:
        backoff = 0.2
        first = True
        while not self._stop.is_set():
            client = redis.Redis.from_url(self._url, socket_connect_timeout=5)
            pubsub = client.pubsub(ignore_subscribe_messages=True)  # type: ignore[no-untyped-call]
            try:
                pubsub.subscribe(self._channel)
                self._ready.set()
                if not first:
                    self.hub.wake_all()  # changes may have been published while we were away
                first = False
                backoff = 0.2
                while not self._stop.is_set():
                    message = pubsub.get_message(timeout=0.5)
                    if message is not None:
                        self._deliver(message.get("data"))
            except redis.RedisError:
                log.warning("Redis live channel lost; reconnecting", exc_info=True)
                self._stop.wait(backoff)
                backoff = min(backoff * 2, 5.0)
            finally:
                pubsub.close()
                client.close()

    def _deliver(self, data: Any) -> None:
        try:
            body = json.loads(data)
            if body.get("origin") == self._origin:
                return  # ours: local subscribers were woken at publish
            for store_id, case_id in body.get("changes", []):
                self.hub.wake(str(store_id), str(case_id))
        except (ValueError, TypeError, AttributeError):
            log.warning("ignored a malformed live message from Redis")

    def close(self) -> None:
        self._stop.set()
        self._thread.join(timeout=5)
        self._client.close()


class DramatiqQueue:
    """Delivery jobs through Dramatiq's Redis broker, run by worker threads of this process
    (and of every other process on the same Redis and namespace)."""

    def __init__(self, url: str, namespace: str = "returndesk", workers: int = 8) -> None:
        self._broker = RedisBroker(url=url, namespace=f"{namespace}-dramatiq")  # type: ignore[no-untyped-call]
        self._workers = workers
        self._worker: dramatiq.Worker | None = None
        self._execute: Execute | None = None
        self._actor: Any = dramatiq.actor(
            broker=self._broker,
            actor_name="returndesk_deliver",
            queue_name="deliveries",
            max_retries=0,  # the dispatcher's own schedule retries (with the same id)
            time_limit=120_000,
        )(self._run)

    def _run(self, channel: str, delivery_id: str, lease: str) -> None:
        if self._execute is not None:
            self._execute(channel, delivery_id, lease)

    def start(self, execute: Execute) -> None:
        self._execute = execute
        if self._worker is None:
            self._worker = dramatiq.Worker(self._broker, worker_threads=self._workers)
            self._worker.start()

    def submit(self, channel: str, delivery_id: str, lease: str) -> None:
        self._actor.send(channel, delivery_id, lease)

    def busy(self) -> set[str]:
        return set()  # leases keep a delivery from being queued twice

    def close(self) -> None:
        if self._worker is not None:
            self._worker.stop(timeout=10_000)
            self._worker = None
        self._broker.close()
