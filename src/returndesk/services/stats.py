"""The supervisor's dashboard: returns by reason, sku, market, carrier..., refunds and their
cost, service levels, time to resolution, automation, and the queue right now."""

from __future__ import annotations

import time
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from returndesk.domain.access import Permission
from returndesk.domain.errors import ValidationFailed
from returndesk.services.ports import (
    STAT_DIMENSIONS,
    Group,
    PeriodTotals,
    QueueNow,
    SkuRate,
    UnitOfWorkFactory,
)
from returndesk.services.principal import Principal
from returndesk.services.stores import resolve_store

MAX_PERIOD = timedelta(days=731)
EARLIEST = datetime(1970, 1, 1, tzinfo=UTC)
LATEST = datetime(2200, 1, 1, tzinfo=UTC)
REFRESH_BATCH = 10  # days recounted per transaction (SQLite: a short hold on the write lock)


@dataclass(frozen=True, slots=True)
class ReturnStats:
    start: datetime
    end: datetime
    group_by: str
    totals: PeriodTotals
    groups: list[Group]
    sku_rates: list[SkuRate]
    queue: QueueNow


def return_stats(
    uow_factory: UnitOfWorkFactory,
    principal: Principal,
    start: datetime,
    end: datetime,
    group_by: str,
    store_slug: str | None = None,
) -> ReturnStats:
    principal.require(Permission.stats_read)
    if group_by not in STAT_DIMENSIONS:
        raise ValidationFailed(
            f"group_by is one of {', '.join(STAT_DIMENSIONS)}",
            code="invalid_group_by",
            allowed=list(STAT_DIMENSIONS),
        )
    if start.utcoffset() is None or end.utcoffset() is None:
        raise ValidationFailed("from and to need a UTC offset", code="invalid_period")
    if not (EARLIEST <= start < end <= LATEST) or end - start > MAX_PERIOD:
        raise ValidationFailed("the period runs forward, at most two years", code="invalid_period")
    with uow_factory() as uow:
        store = resolve_store(uow, principal, store_slug)
        return ReturnStats(
            start,
            end,
            group_by,
            uow.stats.totals(store.id, start, end),
            uow.stats.groups(store.id, start, end, group_by),
            uow.stats.sku_rates(store.id, start, end),
            uow.stats.queue_now(store.id),
        )


def refresh_stats(
    uow_factory: UnitOfWorkFactory,
    store_id: str | None = None,
    most: int | None = None,
    seconds: float | None = None,
) -> int:
    """Recount the days writes touched since they were last counted (one store's, or every
    store's), a batch of days per transaction; at most `most` days, and no new batch after
    `seconds` (the server's chore shares its thread with email and webhook delivery). How
    many were recounted. Answers are exact without it (those days are counted afresh from the
    case tables); it keeps them quick."""
    done = 0
    deadline = None if seconds is None else time.monotonic() + seconds
    while most is None or done < most:
        batch = REFRESH_BATCH if most is None else min(REFRESH_BATCH, most - done)
        with uow_factory(write=True) as uow:
            counted = uow.stats.refresh(store_id, batch)
            uow.commit()
        done += counted
        if counted < batch or (deadline is not None and time.monotonic() >= deadline):
            break
    return done
