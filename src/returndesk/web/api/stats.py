"""The dashboard's figures over HTTP, as JSON or CSV (`format=csv`)."""

from __future__ import annotations

import csv
import io
from datetime import UTC, datetime, timedelta
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Query
from fastapi.responses import Response

from returndesk.services.stats import ReturnStats, return_stats
from returndesk.web.deps import ContainerDep, PrincipalDep
from returndesk.web.schemas import iso, money

router = APIRouter(prefix="/api/v1/stats", tags=["stats"])


def per_currency(amounts: dict[str, int]) -> list[dict[str, Any]]:
    return [m for c, a in sorted(amounts.items()) if (m := money(a, c)) is not None]


def share(part: int, whole: int) -> float | None:
    return round(part / whole, 4) if whole else None


def stats_out(found: ReturnStats) -> dict[str, Any]:
    t = found.totals
    return {
        "from": iso(found.start),
        "to": iso(found.end),
        "group_by": found.group_by,
        "totals": {
            "cases": t.cases,
            "units": t.units,
            "decided": t.decided,
            "decided_automatically": t.automatic,
            "automatic_share": share(t.automatic, t.cases),
            "refunded": per_currency(t.refunded),
            "returnless_refunded": per_currency(t.returnless_refunded),
            "return_costs": per_currency(t.return_costs),
            "recovered": per_currency(t.recovered),
            "resolved": t.resolved,
            "median_hours_to_resolution": t.median_hours_to_resolution,
        },
        "sla": {
            "cases": t.with_sla,
            "breached": t.breached,
            "attainment": share(t.with_sla - t.breached, t.with_sla),
        },
        "groups": [
            {
                "key": g.key,
                "cases": g.cases,
                "units": g.units,
                "value": per_currency(g.value),
                "refunded": per_currency(g.refunded),
            }
            for g in found.groups
        ],
        "return_rate_by_sku": [
            {"sku": r.sku, "returned": r.returned, "sold": r.sold, "rate": r.rate}
            for r in found.sku_rates
        ],
        "queue": {
            "by_status": found.queue.by_status,
            "by_team": found.queue.by_team,
            "breached_by_team": found.queue.breached_by_team,
            "by_language": found.queue.by_language,
        },
    }


def stats_csv(found: ReturnStats) -> str:
    """One row per group and currency: the figures a spreadsheet needs, amounts in minor units."""
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow([found.group_by, "cases", "units", "currency", "value_minor", "refunded_minor"])
    for g in found.groups:
        currencies = sorted(set(g.value) | set(g.refunded)) or [""]
        for currency in currencies:
            writer.writerow(
                [
                    csv_cell(g.key),
                    g.cases,
                    g.units,
                    currency,
                    g.value.get(currency, 0) if currency else 0,
                    g.refunded.get(currency, 0) if currency else 0,
                ]
            )
    return out.getvalue()


def csv_cell(value: str) -> str:
    """A spreadsheet must not run a cell as a formula (CSV injection)."""
    return "'" + value if value[:1] in ("=", "+", "-", "@", "\t", "\r") else value


def default_period(now: datetime) -> tuple[datetime, datetime]:
    end = now.astimezone(UTC).replace(hour=0, minute=0, second=0, microsecond=0)
    end += timedelta(days=1)
    return end - timedelta(days=30), end


@router.get("/returns", response_model=None)
def returns_stats(
    principal: PrincipalDep,
    container: ContainerDep,
    start: Annotated[datetime | None, Query(alias="from")] = None,
    end: Annotated[datetime | None, Query(alias="to")] = None,
    group_by: Annotated[str, Query(max_length=20, pattern=r"^[a-z_]+$")] = "reason",
    format: Annotated[Literal["json", "csv"], Query()] = "json",
    store: Annotated[str | None, Query(max_length=63, pattern=r"^[a-z0-9][a-z0-9-]{1,62}$")] = None,
) -> dict[str, Any] | Response:
    """Returns in a period (default: the last 30 days) grouped by a dimension, with totals,
    service levels, return rates per sku and the queue right now."""
    default_start, default_end = default_period(container.clock())
    found = return_stats(
        container.uow,
        principal,
        start or default_start,
        end or default_end,
        group_by,
        store,
    )
    if format == "csv":
        name = f"returns-by-{found.group_by}-{found.start.date()}-{found.end.date()}.csv"
        return Response(
            stats_csv(found),
            media_type="text/csv; charset=utf-8",
            headers={"Content-Disposition": f'attachment; filename="{name}"'},
        )
    return stats_out(found)
