"""Server-Sent Events: a case's timeline as it happens, and a store's queue changes.

One stream per case (buyers: only their own; the same checks as GET /returns/{id}) and one
per store for the queue. A stream first sends what the client missed (everything after its
Last-Event-ID), then waits for the live hub to say the case changed and sends the new
timeline entries, always read back from the database in timeline order. Comments keep idle
connections open through proxies.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator
from typing import Any

from fastapi import Request
from fastapi.responses import StreamingResponse
from starlette.concurrency import run_in_threadpool

from returndesk.bootstrap import Container
from returndesk.domain.access import Permission, Role
from returndesk.domain.cases.model import STAFF_ONLY_EVENTS, TimelineEvent
from returndesk.services.principal import Principal
from returndesk.services.returns import get_case
from returndesk.services.stores import resolve_store
from returndesk.web.schemas import event_out

KEEP_ALIVE_SECONDS = 15.0
HEADERS = {"Cache-Control": "no-cache", "X-Accel-Buffering": "no"}


def _frame(event: TimelineEvent, principal: Principal, case_status: str) -> str:
    data: dict[str, Any] = event_out(event, principal.role)
    data["case_status"] = case_status
    body = json.dumps(data, separators=(",", ":"), ensure_ascii=False)
    return f"id: {event.id}\nevent: timeline\ndata: {body}\n\n"


def _after(events: list[TimelineEvent], cursor: str | None) -> list[TimelineEvent]:
    if cursor is None:
        return events
    for i, event in enumerate(events):
        if event.id == cursor:
            return events[i + 1 :]
    return events  # an unknown cursor: send it all, the client deduplicates on id


Snapshot = tuple[list[TimelineEvent], str]
# In-flight shared reads, per event loop (a server), case and change.
_reads: dict[tuple[int, str, int], asyncio.Future[Snapshot]] = {}


def _read(container: Container, case_id: str) -> Snapshot:
    """The case's whole timeline and status, read as the system: each stream filters what its
    principal may see (event_out) and checked access when it connected."""
    with container.uow() as uow:
        case = uow.cases.get(case_id)
        events = uow.cases.timeline(case_id)
    return events, case.status.value if case else ""


async def _shared_read(container: Container, case_id: str, seq: int) -> Snapshot:
    key = (id(asyncio.get_running_loop()), case_id, seq)
    found = _reads.get(key)
    if found is None:
        found = asyncio.ensure_future(run_in_threadpool(_read, container, case_id))
        _reads[key] = found
        found.add_done_callback(
            lambda _: asyncio.get_running_loop().call_later(5.0, _reads.pop, key, None)
        )
    return await asyncio.shield(found)


async def case_stream(
    request: Request, container: Container, principal: Principal, case_id: str
) -> StreamingResponse:
    """Check access now (errors become problems), then stream; the cursor is Last-Event-ID."""
    case = await run_in_threadpool(get_case, container.uow, principal, case_id)
    cursor = request.headers.get("last-event-id") or request.query_params.get("after")
    subscription = container.live.subscribe(case.store_id, case.id)

    async def frames() -> AsyncIterator[str]:
        nonlocal cursor
        try:
            yield "retry: 2000\n\n"
            # What this client missed: read for it alone (its access was checked above).
            snapshot = await run_in_threadpool(_read, container, case_id)
            while True:
                events, status = snapshot
                for event in _after(events, cursor):
                    if not (principal.role is Role.buyer and event.kind in STAFF_ONLY_EVENTS):
                        yield _frame(event, principal, status)
                    cursor = event.id
                change = await subscription.next(KEEP_ALIVE_SECONDS)
                if change is None:
                    if await request.is_disconnected():
                        return
                    yield ": keep-alive\n\n"
                    snapshot = ([], status)
                    continue
                # Every stream of this case woken by this change shares one read.
                snapshot = await _shared_read(container, case_id, change.seq)
        finally:
            container.live.unsubscribe(subscription)

    return StreamingResponse(frames(), media_type="text/event-stream", headers=HEADERS)


async def queue_stream(
    request: Request, container: Container, principal: Principal
) -> StreamingResponse:
    """Which cases of the store changed, as they change (the queue page refreshes from it)."""
    principal.require(Permission.case_list)
    store_id = principal.store_id
    if store_id is None:  # a platform admin has no single store to watch: the default one

        def default_store() -> str:
            with container.uow() as uow:
                return resolve_store(uow, principal, None).id

        store_id = await run_in_threadpool(default_store)
    subscription = container.live.subscribe(store_id, None)

    async def frames() -> AsyncIterator[str]:
        try:
            yield "retry: 2000\n\n"
            while True:
                change = await subscription.next(KEEP_ALIVE_SECONDS)
                if change is None:
                    if await request.is_disconnected():
                        return
                    yield ": keep-alive\n\n"
                    continue
                body = json.dumps({"case_id": change.case_id})
                yield f"event: case_changed\ndata: {body}\n\n"
        finally:
            container.live.unsubscribe(subscription)

    return StreamingResponse(frames(), media_type="text/event-stream", headers=HEADERS)
