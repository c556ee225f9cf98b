"""The dashboard's figures, computed in SQL from the same tables the API reads.

Periods are half-open, [start, end), on the case's creation time. Money is summed per currency
(never converted). Queries are plain SQL that SQLite and PostgreSQL both run.
"""

from __future__ import annotations

import statistics
from collections import defaultdict
from datetime import datetime
from typing import Any

from sqlalchemy import Connection, and_, case, distinct, func, literal, select
from sqlalchemy.sql.elements import ColumnElement
from sqlalchemy.sql.expression import FromClause

from returndesk.adapters.db.tables import (
    case_events,
    case_work,
    order_lines,
    orders,
    return_case_lines,
    return_cases,
    shipments,
    teams,
)
from returndesk.domain.cases.status import TERMINAL
from returndesk.services.ports import STAT_DIMENSIONS, Group, PeriodTotals, QueueNow, SkuRate

rc, rcl, cw = return_cases.c, return_case_lines.c, case_work.c
LINE_DIMENSIONS = frozenset({"reason", "sku"})
CASE_DIMENSIONS = frozenset(STAT_DIMENSIONS) - LINE_DIMENSIONS


def _dimension(name: str) -> ColumnElement[Any]:
    match name:
        case "reason":
            return rcl.reason
        case "sku":
            return rcl.sku
        case "market":
            return rc.market
        case "language":
            return rc.language
        case "status":
            return rc.status
        case "outcome":
            return func.coalesce(rc.decision_outcome, literal("none"))
        case "resolution":
            return rc.preferred_resolution
        case "day":
            return func.date(rc.created_at)
        case "carrier":
            first = (
                select(func.min(shipments.c.carrier))
                .where(shipments.c.order_id == rc.order_id)
                .scalar_subquery()
            )
            return func.coalesce(first, literal("none"))
        case "team":
            return func.coalesce(teams.c.name, literal("unassigned"))
    raise ValueError(name)


class SqlStatsRepository:
    def __init__(self, conn: Connection) -> None:
        self._conn = conn

    def _period(self, store_id: str, start: datetime, end: datetime) -> ColumnElement[bool]:
        return and_(rc.store_id == store_id, rc.created_at >= start, rc.created_at < end)

    def groups(self, store_id: str, start: datetime, end: datetime, by: str) -> list[Group]:
        """Cases, units, value of the returned items and refunds per value of `by`."""
        key = _dimension(by).label("key")
        joined = return_cases.join(return_case_lines, rcl.case_id == rc.id)
        if by == "team":
            joined = joined.outerjoin(case_work, cw.case_id == rc.id).outerjoin(
                teams, teams.c.id == cw.team_id
            )
        rows = self._conn.execute(
            select(
                key,
                rc.currency,
                func.count(distinct(rc.id)),
                func.sum(rcl.quantity),
                func.sum(rcl.refundable_amount),
            )
            .select_from(joined)
            .where(self._period(store_id, start, end))
            .group_by(key, rc.currency)
        )
        found: dict[str, Group] = {}
        for value, currency, cases, units, amount in rows:
            group = found.setdefault(str(value), Group(str(value)))
            group.cases += int(cases)
            group.units += int(units or 0)
            group.value[currency] = group.value.get(currency, 0) + int(amount or 0)
        if by in CASE_DIMENSIONS:  # refunds are per case: not split by line
            cases_only: FromClause = return_cases
            if by == "team":
                cases_only = return_cases.outerjoin(case_work, cw.case_id == rc.id).outerjoin(
                    teams, teams.c.id == cw.team_id
                )
            refunds = self._conn.execute(
                select(key, rc.currency, func.sum(rc.refunded_amount))
                .select_from(cases_only)
                .where(self._period(store_id, start, end), rc.refunded_amount.is_not(None))
                .group_by(key, rc.currency)
            )
            for value, currency, amount in refunds:
                group = found.setdefault(str(value), Group(str(value)))
                group.refunded[currency] = int(amount or 0)
        return sorted(found.values(), key=lambda g: (-g.cases, g.key))

    def totals(self, store_id: str, start: datetime, end: datetime) -> PeriodTotals:
        period = self._period(store_id, start, end)
        totals = PeriodTotals()
        for currency, cases, decided, refunded, returnless, costs, recovered in self._conn.execute(
            select(
                rc.currency,
                func.count(),
                func.sum(case((rc.decision_outcome.is_not(None), 1), else_=0)),
                func.sum(rc.refunded_amount),
                func.sum(
                    case((rc.decision_outcome == "approve_returnless", rc.refunded_amount), else_=0)
                ),
                func.sum(
                    func.coalesce(rc.return_shipping_cost, 0)
                    + func.coalesce(rc.handling_cost, 0)
                    + func.coalesce(rc.payment_fees, 0)
                ),
                func.sum(rc.recovered_value),
            )
            .where(period)
            .group_by(rc.currency)
        ):
            totals.cases += int(cases)
            totals.decided += int(decided or 0)
            if refunded is not None:
                totals.refunded[currency] = int(refunded)
                totals.returnless_refunded[currency] = int(returnless or 0)
            if recovered is not None:  # some of it was graded
                totals.return_costs[currency] = int(costs or 0)
                totals.recovered[currency] = int(recovered)
        totals.units = int(
            self._conn.execute(
                select(func.coalesce(func.sum(rcl.quantity), 0))
                .select_from(return_cases.join(return_case_lines, rcl.case_id == rc.id))
                .where(period)
            ).scalar_one()
        )
        # Decided automatically: the decision moved the case with nobody's hand on it.
        totals.automatic = int(
            self._conn.execute(
                select(func.count(distinct(case_events.c.case_id)))
                .select_from(case_events.join(return_cases, rc.id == case_events.c.case_id))
                .where(
                    period,
                    case_events.c.kind == "status_changed",
                    case_events.c.actor_kind == "system",
                )
            ).scalar_one()
        )
        work = case_work.join(return_cases, rc.id == cw.case_id)
        row = self._conn.execute(
            select(
                func.count(),
                func.sum(case((cw.breached.is_(True), 1), else_=0)),
                func.count(cw.resolved_at),
            )
            .select_from(work)
            .where(period)
        ).one()
        totals.with_sla, totals.breached = int(row[0]), int(row[1] or 0)
        totals.resolved = int(row[2])
        if totals.resolved:
            totals.median_hours_to_resolution = self._median_hours(work, period)
        return totals

    def _median_hours(self, work: FromClause, period: ColumnElement[bool]) -> float | None:
        resolved = and_(period, cw.resolved_at.is_not(None))
        if self._conn.dialect.name == "postgresql":  # the median in the database
            hours = func.extract("epoch", cw.resolved_at - rc.created_at) / 3600
            median = self._conn.execute(
                select(func.percentile_cont(0.5).within_group(hours))
                .select_from(work)
                .where(resolved)
            ).scalar_one()
            return round(float(median), 2) if median is not None else None
        durations = [
            (done - opened).total_seconds() / 3600
            for opened, done in self._conn.execute(
                select(rc.created_at, cw.resolved_at).select_from(work).where(resolved)
            )
        ]
        return round(statistics.median(durations), 2) if durations else None

    def sku_rates(
        self, store_id: str, start: datetime, end: datetime, limit: int = 20
    ) -> list[SkuRate]:
        """Units returned (cases opened in the period) against units sold (orders placed in
        it), for the skus returned most."""
        returned = dict(
            self._conn.execute(
                select(rcl.sku, func.sum(rcl.quantity))
                .select_from(return_cases.join(return_case_lines, rcl.case_id == rc.id))
                .where(self._period(store_id, start, end))
                .group_by(rcl.sku)
                .order_by(func.sum(rcl.quantity).desc(), rcl.sku)
                .limit(limit)
            ).all()
        )
        if not returned:
            return []
        sold = dict(
            self._conn.execute(
                select(order_lines.c.sku, func.sum(order_lines.c.quantity))
                .select_from(orders.join(order_lines, order_lines.c.order_id == orders.c.id))
                .where(
                    orders.c.store_id == store_id,
                    orders.c.placed_at >= start,
                    orders.c.placed_at < end,
                    order_lines.c.sku.in_(list(returned)),
                )
                .group_by(order_lines.c.sku)
            ).all()
        )
        return [
            SkuRate(sku, int(units), int(sold.get(sku) or 0))
            for sku, units in sorted(returned.items(), key=lambda kv: (-int(kv[1]), kv[0]))
        ]

    def queue_now(self, store_id: str) -> QueueNow:
        """Open cases right now, by status, by team and by language."""
        now = QueueNow()
        open_cases = and_(rc.store_id == store_id, rc.status.not_in([s.value for s in TERMINAL]))
        for status, language, n in self._conn.execute(
            select(rc.status, rc.language, func.count())
            .where(open_cases)
            .group_by(rc.status, rc.language)
        ):
            now.by_status[status] = now.by_status.get(status, 0) + int(n)
            now.by_language[language] = now.by_language.get(language, 0) + int(n)
        team_key = func.coalesce(teams.c.name, literal("unassigned"))
        breached: dict[str, int] = defaultdict(int)
        for team, n, late in self._conn.execute(
            select(team_key, func.count(), func.sum(case((cw.breached.is_(True), 1), else_=0)))
            .select_from(
                return_cases.outerjoin(case_work, cw.case_id == rc.id).outerjoin(
                    teams, teams.c.id == cw.team_id
                )
            )
            .where(open_cases)
            .group_by(team_key)
        ):
            now.by_team[team] = int(n)
            breached[team] = int(late or 0)
        now.breached_by_team = dict(breached)
        return now
