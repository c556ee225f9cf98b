"""Where the seats of a call are, and how a message reaches them: in one process, or across
every app process through Redis (`RETURNDESK_REDIS_URL`).

The signalling hub (web/call_signals.py) keeps the WebSocket connections of its own process.
The directory says which seats a call has right now (anywhere), and the bus carries a call's
messages to the other processes, each of which hands them to its own connections. Everything
runs on the server's event loop (redis.asyncio), so no thread touches a connection.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import uuid
from collections.abc import Awaitable, Callable
from typing import Any, Protocol

import redis.asyncio as aioredis
from redis.exceptions import RedisError

log = logging.getLogger(__name__)

Envelope = dict[str, Any]  # {call, message?, to?, skip?, close?, kick?}
Deliver = Callable[[Envelope], Awaitable[None]]
KEEP_SECONDS = 24 * 3600  # a call's directory outlives any call's links


class CallBus(Protocol):
    async def seats(self, call_id: str) -> dict[str, dict[str, str]]: ...
    async def take_seat(self, call_id: str, seat_id: str, person: dict[str, str]) -> str | None:
        """Note the seat as here (person includes its connection id); the connection id that
        held it before, if another one did."""
        ...

    async def leave_seat(self, call_id: str, seat_id: str, conn: str) -> bool:
        """Forget the seat if `conn` still holds it (a newer connection may have taken it)."""
        ...

    async def update_seat(self, call_id: str, seat_id: str, person: dict[str, str]) -> bool:
        """Replace what the directory says of the seat if `person["conn"]` still holds it."""
        ...

    async def recording(self, call_id: str) -> bool: ...
    async def set_recording(self, call_id: str, on: bool) -> None: ...
    async def forget(self, call_id: str) -> None: ...
    async def publish(self, envelope: Envelope) -> None:
        """To the other processes (this one delivers to its own connections itself)."""
        ...

    async def start(self, deliver: Deliver) -> None: ...


class LocalBus:
    """One process: the directory in memory, nobody else to tell."""

    def __init__(self) -> None:
        self._seats: dict[str, dict[str, dict[str, str]]] = {}
        self._recording: set[str] = set()

    async def seats(self, call_id: str) -> dict[str, dict[str, str]]:
        return dict(self._seats.get(call_id, {}))

    async def take_seat(self, call_id: str, seat_id: str, person: dict[str, str]) -> str | None:
        room = self._seats.setdefault(call_id, {})
        before = room.get(seat_id)
        room[seat_id] = person
        return before["conn"] if before else None

    async def leave_seat(self, call_id: str, seat_id: str, conn: str) -> bool:
        room = self._seats.get(call_id, {})
        if room.get(seat_id, {}).get("conn") != conn:
            return False
        del room[seat_id]
        if not room:
            self._seats.pop(call_id, None)
        return True

    async def update_seat(self, call_id: str, seat_id: str, person: dict[str, str]) -> bool:
        room = self._seats.get(call_id, {})
        if room.get(seat_id, {}).get("conn") != person["conn"]:
            return False
        room[seat_id] = person
        return True

    async def recording(self, call_id: str) -> bool:
        return call_id in self._recording

    async def set_recording(self, call_id: str, on: bool) -> None:
        if on:
            self._recording.add(call_id)
        else:
            self._recording.discard(call_id)

    async def forget(self, call_id: str) -> None:
        self._seats.pop(call_id, None)
        self._recording.discard(call_id)

    async def publish(self, envelope: Envelope) -> None:
        return None

    async def start(self, deliver: Deliver) -> None:
        return None


# Taking a seat and reading who held it, in one step on the Redis server.
_TAKE = """
local before = redis.call('HGET', KEYS[1], ARGV[1])
redis.call('HSET', KEYS[1], ARGV[1], ARGV[2])
redis.call('EXPIRE', KEYS[1], ARGV[3])
return before
"""
# Forgetting a seat only if the given connection still holds it.
_LEAVE = """
local now = redis.call('HGET', KEYS[1], ARGV[1])
if not now then return 0 end
if cjson.decode(now)['conn'] ~= ARGV[2] then return 0 end
redis.call('HDEL', KEYS[1], ARGV[1])
return 1
"""
# Rewriting a seat only if the same connection still holds it.
_UPDATE = """
local now = redis.call('HGET', KEYS[1], ARGV[1])
if not now then return 0 end
if cjson.decode(now)['conn'] ~= ARGV[3] then return 0 end
redis.call('HSET', KEYS[1], ARGV[1], ARGV[2])
return 1
"""


class RedisBus:
    """Every app process on the same Redis and namespace: seats in a hash per call, messages
    on one pub/sub channel (each process skips its own)."""

    def __init__(self, url: str, namespace: str = "returndesk") -> None:
        self._url = url
        self._ns = namespace
        self._channel = f"{namespace}:calls"
        self._origin = uuid.uuid4().hex
        self._client: aioredis.Redis | None = None
        self._listener: asyncio.Task[None] | None = None

    def _redis(self) -> aioredis.Redis:
        if self._client is None:
            self._client = aioredis.Redis.from_url(
                self._url, socket_timeout=5, socket_connect_timeout=5, decode_responses=True
            )
        return self._client

    def _key(self, call_id: str, what: str) -> str:
        return f"{self._ns}:call:{call_id}:{what}"

    # Redis unreachable for a moment: the directory answers "nobody" and forgets nothing it
    # cannot write; the call's pages reconnect and take their seats again.

    async def seats(self, call_id: str) -> dict[str, dict[str, str]]:
        try:
            raw = await self._redis().hgetall(self._key(call_id, "seats"))
        except RedisError:
            log.warning("could not read a call's seats from Redis", exc_info=True)
            return {}
        return {str(seat): json.loads(value) for seat, value in raw.items()}

    async def take_seat(self, call_id: str, seat_id: str, person: dict[str, str]) -> str | None:
        try:
            before = await self._redis().eval(
                _TAKE, 1, self._key(call_id, "seats"), seat_id, json.dumps(person), KEEP_SECONDS
            )
        except RedisError:
            log.warning("could not note a call's seat in Redis", exc_info=True)
            return None
        return str(json.loads(before)["conn"]) if before else None

    async def leave_seat(self, call_id: str, seat_id: str, conn: str) -> bool:
        try:
            done = await self._redis().eval(_LEAVE, 1, self._key(call_id, "seats"), seat_id, conn)
        except RedisError:
            log.warning("could not free a call's seat in Redis", exc_info=True)
            return True  # tell the others it left: it did
        return bool(done)

    async def update_seat(self, call_id: str, seat_id: str, person: dict[str, str]) -> bool:
        try:
            done = await self._redis().eval(
                _UPDATE, 1, self._key(call_id, "seats"), seat_id, json.dumps(person),
                person["conn"],
            )  # fmt: skip
        except RedisError:
            log.warning("could not update a call's seat in Redis", exc_info=True)
            return False
        return bool(done)

    async def recording(self, call_id: str) -> bool:
        try:
            return bool(await self._redis().exists(self._key(call_id, "recording")))
        except RedisError:
            return False

    async def set_recording(self, call_id: str, on: bool) -> None:
        key = self._key(call_id, "recording")
        try:
            if on:
                await self._redis().set(key, "1", ex=KEEP_SECONDS)
            else:
                await self._redis().delete(key)
        except RedisError:
            log.warning("could not note a call's recording in Redis", exc_info=True)

    async def forget(self, call_id: str) -> None:
        with contextlib.suppress(RedisError):
            await self._redis().delete(self._key(call_id, "seats"), self._key(call_id, "recording"))

    async def publish(self, envelope: Envelope) -> None:
        body = json.dumps({**envelope, "origin": self._origin}, separators=(",", ":"))
        try:
            await self._redis().publish(self._channel, body)
        except RedisError:
            log.warning("could not publish a call message to Redis", exc_info=True)

    async def start(self, deliver: Deliver) -> None:
        """Listen on this loop for the other processes' messages (once)."""
        if self._listener is None:
            ready = asyncio.Event()
            self._listener = asyncio.get_running_loop().create_task(self._listen(deliver, ready))
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(ready.wait(), 5)

    async def _listen(self, deliver: Deliver, ready: asyncio.Event) -> None:
        backoff = 0.2
        while True:
            pubsub = self._redis().pubsub(ignore_subscribe_messages=True)
            try:
                await pubsub.subscribe(self._channel)
                ready.set()
                backoff = 0.2
                async for message in pubsub.listen():
                    await self._handle(message.get("data"), deliver)
            except RedisError:
                log.warning("Redis call channel lost; reconnecting", exc_info=True)
                await asyncio.sleep(backoff)
                backoff = min(backoff * 2, 5.0)
            finally:
                with contextlib.suppress(RedisError):
                    await pubsub.aclose()  # type: ignore[no-untyped-call]

    async def _handle(self, data: Any, deliver: Deliver) -> None:
        try:
            envelope = json.loads(data)
        except (TypeError, ValueError):
            return
        if not isinstance(envelope, dict) or envelope.get("origin") == self._origin:
            return
        try:
            await deliver(envelope)
        except Exception:  # one bad message must not stop the listener
            log.exception("could not deliver a call message")
