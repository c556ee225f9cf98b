"""The supervisor's dashboard: returns by reason, sku, market, carrier..., refunds and their
cost, service levels, time to resolution, automation, and the queue right now."""

from __future__ import annotations

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
