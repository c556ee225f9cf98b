"""The supervisor's dashboard in the console: the figures of GET /api/v1/stats/returns (the same
service), drawn with Chart.js, with tables of the same numbers and a CSV export."""

from __future__ import annotations

import json
from datetime import UTC, date, datetime, time, timedelta
from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import RedirectResponse, Response

from returndesk.domain.access import Permission, has_permission
from returndesk.domain.errors import DomainError
from returndesk.services.ports import STAT_DIMENSIONS
from returndesk.services.principal import Principal
from returndesk.services.stats import ReturnStats, return_stats
from returndesk.web.api.stats import share, stats_csv
from returndesk.web.pages.console import (
    can_open_settings,
    console_page,
    remember_language,
    signed_in_staff,
    to_login,
)
from returndesk.web.pages.rendering import Page
from returndesk.web.pages.sessions import container_of

router = APIRouter(prefix="/console")
DEFAULT_DAYS = 30


def _day(raw: str | None) -> date | None:
    try:
        return date.fromisoformat(raw) if raw and len(raw) == 10 else None
    except ValueError:
        return None


def _period(request: Request, page: Page, today: date) -> tuple[date, date, datetime, datetime]:
    """From and to as days in the viewer's time zone (both included), and the UTC bounds."""
    params = request.query_params
    last = _day(params.get("to")) or today
    first = _day(params.get("from")) or last - timedelta(days=DEFAULT_DAYS - 1)
    if first > last:
        first, last = last, first
    start = datetime.combine(first, time(0), page.tz)
    end = datetime.combine(last + timedelta(days=1), time(0), page.tz)
    return first, last, start, end


def _figures(
    request: Request, principal: Principal, *, per_day: bool = True
) -> tuple[Page, ReturnStats | None, ReturnStats | None, dict[str, object]]:
    container = container_of(request)
    page = console_page(request)
    today = container.clock().astimezone(page.tz).date()
    first, last, start, end = _period(request, page, today)
    group_by = request.query_params.get("group_by") or "reason"
    if group_by not in STAT_DIMENSIONS:
        group_by = "reason"
    chosen: dict[str, object] = {"first": first, "last": last, "group_by": group_by}
    try:
        found = return_stats(container.uow, principal, start, end, group_by)
        daily = return_stats(container.uow, principal, start, end, "day") if per_day else None
    except DomainError as exc:
        chosen["error"] = exc.code
        return page, None, None, chosen
    return page, found, daily, chosen


def _reader(request: Request) -> Principal | Response:
    """A signed-in member of staff who may read the figures, or where to send the others."""
    staff = signed_in_staff(request)
    if staff is None:
        return to_login()
    if not has_permission(staff[0].role, Permission.stats_read):
        return RedirectResponse("/console", status_code=303)
    return staff[0]


@router.get("/dashboard")
def dashboard(request: Request) -> Response:
    principal = _reader(request)
    if isinstance(principal, Response):
        return principal
    page, found, daily, chosen = _figures(request, principal)
    chart: dict[str, object] = {}
    if found is not None and daily is not None:
        chart = {
            "groups": {
                "labels": [_label(page, found.group_by, g.key) for g in found.groups[:15]],
                "cases": [g.cases for g in found.groups[:15]],
                "title": page.gettext("Returns"),
            },
            "days": {**_every_day(daily), "title": page.gettext("Returns per day")},
        }
    response = page.render(
        request,
        "console/dashboard.html",
        principal=principal,
        can_settings=can_open_settings(principal),
        stats=found,
        dimensions=STAT_DIMENSIONS,
        chart_json=json.dumps(chart, ensure_ascii=False).replace("</", "<\\/"),
        label=lambda key: _label(page, chosen["group_by"], key),
        share=share,
        first=chosen["first"],
        last=chosen["last"],
        group_by=chosen["group_by"],
        error=chosen.get("error"),
    )
    return remember_language(request, response)


@router.get("/dashboard.csv")
def dashboard_csv(request: Request) -> Response:
    principal = _reader(request)
    if isinstance(principal, Response):
        return principal
    _page, found, _daily, chosen = _figures(request, principal, per_day=False)
    if found is None:
        return Response(status_code=422)
    name = f"returns-by-{found.group_by}-{chosen['first']}-{chosen['last']}.csv"
    return Response(
        stats_csv(found),
        media_type="text/csv; charset=utf-8",
        headers={"Content-Disposition": f'attachment; filename="{name}"'},
    )


_LABEL_TABLES = {
    "reason": "REASONS",
    "status": "STAFF_STATUS",
    "outcome": "OUTCOMES",
    "resolution": "RESOLUTIONS",
}


def _label(page: Page, dimension: object, key: str) -> str:
    table = _LABEL_TABLES.get(str(dimension))
    if table is not None:
        return page.label(table, key)
    if dimension == "team" and key == "unassigned":
        return page.gettext("Unassigned")
    return key


def _every_day(daily: ReturnStats) -> dict[str, list[Any]]:
    """Cases per UTC day over the whole period, days without returns included (as 0)."""
    counts = {g.key: g.cases for g in daily.groups}
    day = daily.start.astimezone(UTC).date()
    last = (daily.end - timedelta(microseconds=1)).astimezone(UTC).date()
    labels, cases = [], []
    while day <= last:
        labels.append(day.isoformat())
        cases.append(counts.get(day.isoformat(), 0))
        day += timedelta(days=1)
    return {"labels": labels, "cases": cases}
