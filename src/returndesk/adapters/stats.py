"""The dashboard's figures, from the same tables the API reads, kept per day in rollups.

Periods are half-open, [start, end), on the case's creation time (an order's placing for units
sold). Money is summed per currency (never converted). Each figure is a sum over the period's
cases, so it is kept per store and UTC day in the stats_day_* tables, and a period is read as:
its whole UTC days from the rollups (a few hundred rows for a year), and from the case tables
the parts of a day at either end plus the days that writes touched since they were last
recounted. Database triggers (migration 0015) note those days in stats_dirty; `refresh` (a
minute's chore) recounts them with the same queries that answer a period's ends, so a day read
from the rollups and a day counted afresh agree, and an answer is never behind the data.
The median time to resolution is not a sum: it comes from a histogram of minutes (to the minute
under two days, within five minutes under fourteen, within half an hour beyond).
Queries are plain SQL that SQLite and PostgreSQL both run.
"""

from __future__ import annotations

from collections import Counter, defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from typing import Any, TypeVar

from sqlalchemy import (
    Connection,
    Table,
    and_,
    case,
    delete,
    distinct,
    false,
    func,
    insert,
    literal,
    select,
    text,
)
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
    stats_day_groups,
    stats_day_open,
    stats_day_resolutions,
    stats_day_sold,
    stats_day_totals,
    stats_dirty,
    teams,
)
from returndesk.domain.cases.status import TERMINAL
from returndesk.services.ports import STAT_DIMENSIONS, Group, PeriodTotals, QueueNow, SkuRate

rc, rcl, cw = return_cases.c, return_case_lines.c, case_work.c
LINE_DIMENSIONS = frozenset({"reason", "sku"})
CASE_DIMENSIONS = frozenset(STAT_DIMENSIONS) - LINE_DIMENSIONS
ROLLUPS: tuple[Table, ...] = (
    stats_day_totals,
    stats_day_groups,
    stats_day_resolutions,
    stats_day_open,
    stats_day_sold,
)
# stats_day_totals' figures, in this order everywhere below.
TOTALS = (
    "cases", "units", "decided", "automatic", "refunded", "refunded_cases", "returnless", "costs",
    "recovered", "graded_cases", "with_sla", "breached", "resolved",
)  # fmt: skip
# stats_day_groups' figures.
GROUP_FIGURES = ("cases", "units", "value", "refunded", "refunded_cases")
NO_TEAM = ""
DAY = timedelta(days=1)
REFRESH_LOCK = 7_310_001  # PostgreSQL advisory lock: one refresh at a time

K = TypeVar("K")
Period = tuple[datetime, datetime]
Figures = dict[tuple[str, str], list[int]]  # (key, currency) -> GROUP_FIGURES
# Beyond this many noted days in a period, counting the whole period afresh is quicker.
MOST_NOTED_DAYS = 15


@dataclass(frozen=True, slots=True)
class Plan:
    """Where a period's figures come from: `afresh` from the case tables (the period's ends,
    and its days with writes not recounted yet), the rest of `days` from the rollups."""

    afresh: list[Period]
    days: tuple[date, date] | None = None
    noted: frozenset[date] = frozenset()


def bucket(minutes: float) -> int:
    """A duration's histogram bucket, in whole minutes: its lower bound."""
    m = max(0, int(minutes))
    if m < 2 * 24 * 60:
        return m
    if m < 14 * 24 * 60:
        return m - m % 10
    return m - m % 60


def bucket_middle(lower: int) -> float:
    """What a bucket stands for in the median: the minute itself under two days (durations
    in whole minutes come out exact), else the middle of the 10- or 60-minute bucket."""
    if lower < 2 * 24 * 60:
        return lower
    return lower + (5 if lower < 14 * 24 * 60 else 30)


def median_hours(histogram: Counter[int]) -> float | None:
    """The median of the bucketed durations (the mean of the middle two for an even count)."""
    count = sum(histogram.values())
    if not count:
        return None
    wanted = {(count - 1) // 2, count // 2}
    found: list[float] = []
    seen = 0
    for minutes in sorted(histogram):
        n = histogram[minutes]
        found.extend(bucket_middle(minutes) for i in sorted(wanted) if seen <= i < seen + n)
        seen += n
    return round(sum(found) / len(found) / 60, 2)


def split(start: datetime, end: datetime) -> tuple[list[Period], tuple[date, date] | None]:
    """The period's whole UTC days [first, last), and the parts before and after them."""
    start, end = start.astimezone(UTC), end.astimezone(UTC)
    first = datetime.combine(start.date(), time(), UTC)
    if first < start:
        first += DAY
    last = datetime.combine(end.date(), time(), UTC)
    if first >= last:
        return [(start, end)], None
    edges = [(a, b) for a, b in ((start, first), (last, end)) if a < b]
    return edges, (first.date(), last.date())


def day_period(day: date) -> Period:
    start = datetime.combine(day, time(), UTC)
    return start, start + DAY


class SqlStatsRepository:
    """`rollups=False` answers everything from the case tables: what the rollups must equal."""

    def __init__(self, conn: Connection, *, rollups: bool = True) -> None:
        self._conn = conn
        self._rollups = rollups
        self._pg = conn.dialect.name == "postgresql"
        self._told_planner = False
        # The noted days read once per transaction: every figure of one answer is planned alike.
        self._noted_days: dict[tuple[str, tuple[date, date] | None], frozenset[date]] = {}

    # ---- the figures of a period --------------------------------------------------------------

    def groups(self, store_id: str, start: datetime, end: datetime, by: str) -> list[Group]:
        """Cases, units, value of the returned items and refunds per value of `by`."""
        figures: Figures = {}
        plan = self._plan(store_id, start, end)
        for period in plan.afresh:
            _add(figures, self._source_groups(store_id, period, by))
        if plan.days:
            _add(figures, self._rollup_groups(store_id, plan, by))
        names = self._team_names(store_id) if by == "team" else {}
        found: dict[str, Group] = {}
        for (key, currency), (cases, units, value, refunded, refunded_cases) in figures.items():
            name = names.get(key, "unassigned") if by == "team" else key
            group = found.setdefault(name, Group(name))
            group.cases += cases
            group.units += units
            if cases:  # the case has lines in this currency
                group.value[currency] = group.value.get(currency, 0) + value
            if refunded_cases:
                group.refunded[currency] = group.refunded.get(currency, 0) + refunded
        return sorted(found.values(), key=lambda g: (-g.cases, g.key))

    def totals(self, store_id: str, start: datetime, end: datetime) -> PeriodTotals:
        rows: dict[str, list[int]] = {}
        histogram: Counter[int] = Counter()
        plan = self._plan(store_id, start, end)
        for period in plan.afresh:
            _add(rows, self._source_totals(store_id, period))
            histogram.update(self._source_resolutions(store_id, period))
        if plan.days:
            _add(rows, self._rollup_totals(store_id, plan))
            histogram.update(self._rollup_resolutions(store_id, plan))
        totals = PeriodTotals()
        for currency, row in sorted(rows.items()):
            figures = dict(zip(TOTALS, row, strict=True))
            totals.cases += figures["cases"]
            totals.units += figures["units"]
            totals.decided += figures["decided"]
            totals.automatic += figures["automatic"]
            totals.with_sla += figures["with_sla"]
            totals.breached += figures["breached"]
            totals.resolved += figures["resolved"]
            if figures["refunded_cases"]:
                totals.refunded[currency] = figures["refunded"]
                totals.returnless_refunded[currency] = figures["returnless"]
            if figures["graded_cases"]:  # some of it was graded
                totals.return_costs[currency] = figures["costs"]
                totals.recovered[currency] = figures["recovered"]
        totals.median_hours_to_resolution = median_hours(histogram)
        return totals

    def sku_rates(
        self, store_id: str, start: datetime, end: datetime, limit: int = 20
    ) -> list[SkuRate]:
        """Units returned (cases opened in the period) against units sold (orders placed in
        it), for the skus returned most."""
        returned: Counter[str] = Counter()
        for group in self.groups(store_id, start, end, "sku"):
            returned[group.key] += group.units
        top = sorted(returned.items(), key=lambda kv: (-kv[1], kv[0]))[:limit]
        if not top:
            return []
        skus = [sku for sku, _ in top]
        sold: Counter[str] = Counter()
        plan = self._plan(store_id, start, end)
        for period in plan.afresh:
            sold.update(self._source_sold(store_id, period, skus))
        if plan.days:
            sold.update(self._rollup_sold(store_id, plan, skus))
        return [SkuRate(sku, units, sold[sku]) for sku, units in top]

    def queue_now(self, store_id: str) -> QueueNow:
        """Open cases right now, by status, by team and by language."""
        noted = self._noted(store_id, None) if self._rollups else None
        if noted is None or len(noted) > MOST_NOTED_DAYS:
            rows = self._source_open(store_id, None)
        else:
            rows = self._rollup_open(store_id, noted)
            for day in sorted(noted):
                rows += self._source_open(store_id, day_period(day))
        names = self._team_names(store_id)
        now = QueueNow()
        breached: dict[str, int] = defaultdict(int)
        for status, language, team_id, late, n in rows:
            team = names.get(team_id, "unassigned")
            now.by_status[status] = now.by_status.get(status, 0) + n
            now.by_language[language] = now.by_language.get(language, 0) + n
            now.by_team[team] = now.by_team.get(team, 0) + n
            breached[team] += n if late else 0
        now.breached_by_team = {team: breached[team] for team in now.by_team}
        return now

    def _plan(self, store_id: str, start: datetime, end: datetime) -> Plan:
        if not self._rollups:
            return Plan([(start, end)])
        edges, days = split(start, end)
        if days is None:
            self._few_cases()
            return Plan(edges)
        noted = self._noted(store_id, days)
        if len(noted) > MOST_NOTED_DAYS:
            return Plan([(start, end)])
        self._few_cases()
        return Plan(edges + [day_period(day) for day in sorted(noted)], days, noted)

    def _few_cases(self) -> None:
        """PostgreSQL: what is counted afresh from here on is a day or so of cases, whose rows
        are in memory; tell the planner (for this transaction). With the default page cost,
        which assumes disk seeks, it scans the whole lines, work and timeline tables to join a
        day's cases: 3-5x slower at 200k cases, worse with more."""
        if self._pg and not self._told_planner:
            self._conn.execute(text("SET LOCAL random_page_cost = 1.1"))
            self._told_planner = True

    def _noted(self, store_id: str, days: tuple[date, date] | None) -> frozenset[date]:
        """The store's days (within `days`) that writes touched since they were recounted."""
        if (store_id, days) in self._noted_days:
            return self._noted_days[(store_id, days)]
        d = stats_dirty.c
        query = select(d.day).distinct().where(d.store_id == store_id)
        if days is not None:
            query = query.where(d.day >= days[0], d.day < days[1])
        found = frozenset(_as_date(day) for day in self._conn.execute(query).scalars())
        self._noted_days[(store_id, days)] = found
        return found

    def _team_names(self, store_id: str) -> dict[str, str]:
        rows = self._conn.execute(
            select(teams.c.id, teams.c.name).where(teams.c.store_id == store_id)
        )
        return {team_id: name for team_id, name in rows}

    # ---- keeping the rollups --------------------------------------------------------------------

    def refresh(self, store_id: str | None = None, days: int = 10) -> int:
        """Recount up to `days` of the days writes touched (one store's, or any); how many.

        The day's notes are deleted before it is recounted: a write that commits later leaves a
        new note (its own statement could not see it), one that committed before is counted."""
        if self._pg:
            self._conn.execute(select(func.pg_advisory_xact_lock(REFRESH_LOCK)))
        self._few_cases()  # a day at a time
        query = select(stats_dirty.c.store_id, stats_dirty.c.day).distinct().limit(days)
        if store_id is not None:
            query = query.where(stats_dirty.c.store_id == store_id)
        touched = [(store, _as_date(day)) for store, day in self._conn.execute(query)]
        for store, day in touched:
            self._conn.execute(
                delete(stats_dirty).where(stats_dirty.c.store_id == store, stats_dirty.c.day == day)
            )
            self._recount(store, day)
        return len(touched)

    def _recount(self, store_id: str, day: date) -> None:
        for table in ROLLUPS:
            self._conn.execute(
                delete(table).where(table.c.store_id == store_id, table.c.day == day)
            )
        period = day_period(day)
        at = {"store_id": store_id, "day": day}
        totals = self._source_totals(store_id, period)
        self._insert(
            stats_day_totals,
            [
                {**at, "currency": currency, **dict(zip(TOTALS, row, strict=True))}
                for currency, row in totals.items()
            ],
        )
        group_rows: list[dict[str, Any]] = []
        for dimension in STAT_DIMENSIONS:
            for (key, currency), row in self._source_groups(store_id, period, dimension).items():
                group_rows.append(
                    {**at, "dimension": dimension, "key": key, "currency": currency,
                     **dict(zip(GROUP_FIGURES, row, strict=True))}
                )  # fmt: skip
        self._insert(stats_day_groups, group_rows)
        self._insert(
            stats_day_resolutions,
            [
                {**at, "minutes": minutes, "cases": n}
                for minutes, n in self._source_resolutions(store_id, period).items()
            ],
        )
        self._insert(
            stats_day_open,
            [
                {**at, "status": status, "language": language, "team_id": team_id,
                 "breached": bool(late), "cases": n}
                for status, language, team_id, late, n in self._source_open(store_id, period)
            ],
        )  # fmt: skip
        self._insert(
            stats_day_sold,
            [
                {**at, "sku": sku, "units": units}
                for sku, units in self._source_sold(store_id, period, None).items()
            ],
        )

    def _insert(self, table: Table, rows: list[dict[str, Any]]) -> None:
        if rows:
            self._conn.execute(insert(table), rows)

    # ---- from the rollups -----------------------------------------------------------------------

    def _rollup_groups(self, store_id: str, plan: Plan, by: str) -> Figures:
        g = stats_day_groups.c
        rows = self._conn.execute(
            select(g.key, g.currency, *(func.sum(g[name]) for name in GROUP_FIGURES))
            .where(g.store_id == store_id, g.dimension == by, _within(g.day, plan))
            .group_by(g.key, g.currency)
        )
        return {(key, currency): [int(n) for n in row] for key, currency, *row in rows}

    def _rollup_totals(self, store_id: str, plan: Plan) -> dict[str, list[int]]:
        t = stats_day_totals.c
        rows = self._conn.execute(
            select(t.currency, *(func.sum(t[name]) for name in TOTALS))
            .where(t.store_id == store_id, _within(t.day, plan))
            .group_by(t.currency)
        )
        return {currency: [int(n) for n in row] for currency, *row in rows}

    def _rollup_resolutions(self, store_id: str, plan: Plan) -> Counter[int]:
        r = stats_day_resolutions.c
        rows = self._conn.execute(
            select(r.minutes, func.sum(r.cases))
            .where(r.store_id == store_id, _within(r.day, plan))
            .group_by(r.minutes)
        )
        return Counter({int(minutes): int(n) for minutes, n in rows})

    def _rollup_sold(self, store_id: str, plan: Plan, skus: Sequence[str]) -> Counter[str]:
        s = stats_day_sold.c
        rows = self._conn.execute(
            select(s.sku, func.sum(s.units))
            .where(s.store_id == store_id, _within(s.day, plan), s.sku.in_(list(skus)))
            .group_by(s.sku)
        )
        return Counter({sku: int(n) for sku, n in rows})

    def _rollup_open(
        self, store_id: str, noted: frozenset[date]
    ) -> list[tuple[str, str, str, bool, int]]:
        o = stats_day_open.c
        where = o.store_id == store_id
        if noted:
            where = and_(where, o.day.not_in(sorted(noted)))
        rows = self._conn.execute(
            select(o.status, o.language, o.team_id, o.breached, func.sum(o.cases))
            .where(where)
            .group_by(o.status, o.language, o.team_id, o.breached)
        )
        return [(s, lang, team, bool(late), int(n)) for s, lang, team, late, n in rows]

    # ---- from the case tables -------------------------------------------------------------------

    def _period(self, store_id: str, period: Period) -> ColumnElement[bool]:
        return and_(rc.store_id == store_id, rc.created_at >= period[0], rc.created_at < period[1])

    def _dimension(self, name: str) -> ColumnElement[Any]:
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
            case "day":  # the UTC day, whatever the database session's time zone
                return func.date(func.timezone("UTC", rc.created_at) if self._pg else rc.created_at)
            case "carrier":
                first = (
                    select(func.min(shipments.c.carrier))
                    .where(shipments.c.order_id == rc.order_id)
                    .scalar_subquery()
                )
                return func.coalesce(first, literal("none"))
            case "team":  # the team's id: its name is looked up when read
                return func.coalesce(cw.team_id, literal(NO_TEAM))
        raise ValueError(name)

    def _source_groups(self, store_id: str, period: Period, by: str) -> Figures:
        key = self._dimension(by).label("key")
        joined = return_cases.join(return_case_lines, rcl.case_id == rc.id)
        cases_only: FromClause = return_cases
        if by == "team":
            joined = joined.outerjoin(case_work, cw.case_id == rc.id)
            cases_only = return_cases.outerjoin(case_work, cw.case_id == rc.id)
        where = self._period(store_id, period)
        figures: Figures = {}
        for value, currency, cases, units, amount in self._conn.execute(
            select(
                key,
                rc.currency,
                func.count(distinct(rc.id)),
                func.sum(rcl.quantity),
                func.sum(rcl.refundable_amount),
            )
            .select_from(joined)
            .where(where)
            .group_by(key, rc.currency)
        ):
            figures[(str(value), currency)] = [int(cases), int(units or 0), int(amount or 0), 0, 0]
        if by in CASE_DIMENSIONS:  # refunds are per case: not split by line
            for value, currency, amount, n in self._conn.execute(
                select(key, rc.currency, func.sum(rc.refunded_amount), func.count())
                .select_from(cases_only)
                .where(where, rc.refunded_amount.is_not(None))
                .group_by(key, rc.currency)
            ):
                row = figures.setdefault((str(value), currency), [0, 0, 0, 0, 0])
                row[3] += int(amount or 0)
                row[4] += int(n)
        return figures

    def _source_totals(self, store_id: str, period: Period) -> dict[str, list[int]]:
        where = self._period(store_id, period)
        rows: dict[str, dict[str, int]] = defaultdict(lambda: dict.fromkeys(TOTALS, 0))
        for (
            currency,
            cases,
            decided,
            refunded,
            refunded_n,
            returnless,
            costs,
            recovered,
            n,
        ) in self._conn.execute(
            select(
                rc.currency,
                func.count(),
                func.sum(case((rc.decision_outcome.is_not(None), 1), else_=0)),
                func.sum(rc.refunded_amount),
                func.count(rc.refunded_amount),
                func.sum(
                    case(
                        (rc.decision_outcome == "approve_returnless", rc.refunded_amount),
                        else_=0,
                    )
                ),
                func.sum(
                    func.coalesce(rc.return_shipping_cost, 0)
                    + func.coalesce(rc.handling_cost, 0)
                    + func.coalesce(rc.payment_fees, 0)
                ),
                func.sum(rc.recovered_value),
                func.count(rc.recovered_value),
            )
            .where(where)
            .group_by(rc.currency)
        ):
            row = rows[currency]
            row.update(
                cases=int(cases), decided=int(decided or 0), refunded=int(refunded or 0),
                refunded_cases=int(refunded_n), returnless=int(returnless or 0),
                costs=int(costs or 0), recovered=int(recovered or 0), graded_cases=int(n),
            )  # fmt: skip
        for currency, units in self._conn.execute(
            select(rc.currency, func.sum(rcl.quantity))
            .select_from(return_cases.join(return_case_lines, rcl.case_id == rc.id))
            .where(where)
            .group_by(rc.currency)
        ):
            rows[currency]["units"] = int(units or 0)
        # Decided automatically: the decision moved the case with nobody's hand on it.
        for currency, automatic in self._conn.execute(
            select(rc.currency, func.count(distinct(case_events.c.case_id)))
            .select_from(case_events.join(return_cases, rc.id == case_events.c.case_id))
            .where(
                where, case_events.c.kind == "status_changed", case_events.c.actor_kind == "system"
            )
            .group_by(rc.currency)
        ):
            rows[currency]["automatic"] = int(automatic)
        for currency, with_sla, breached, resolved in self._conn.execute(
            select(
                rc.currency,
                func.count(),
                func.sum(case((cw.breached.is_(True), 1), else_=0)),
                func.count(cw.resolved_at),
            )
            .select_from(case_work.join(return_cases, rc.id == cw.case_id))
            .where(where)
            .group_by(rc.currency)
        ):
            rows[currency].update(
                with_sla=int(with_sla), breached=int(breached or 0), resolved=int(resolved)
            )
        return {currency: [row[name] for name in TOTALS] for currency, row in rows.items()}

    def _source_resolutions(self, store_id: str, period: Period) -> Counter[int]:
        return Counter(
            bucket((done - opened).total_seconds() / 60)
            for opened, done in self._conn.execute(
                select(rc.created_at, cw.resolved_at)
                .select_from(case_work.join(return_cases, rc.id == cw.case_id))
                .where(self._period(store_id, period), cw.resolved_at.is_not(None))
            )
        )

    def _source_sold(
        self, store_id: str, period: Period, skus: Iterable[str] | None
    ) -> Counter[str]:
        query = (
            select(order_lines.c.sku, func.sum(order_lines.c.quantity))
            .select_from(orders.join(order_lines, order_lines.c.order_id == orders.c.id))
            .where(
                orders.c.store_id == store_id,
                orders.c.placed_at >= period[0],
                orders.c.placed_at < period[1],
            )
            .group_by(order_lines.c.sku)
        )
        if skus is not None:
            query = query.where(order_lines.c.sku.in_(list(skus)))
        return Counter({sku: int(units or 0) for sku, units in self._conn.execute(query)})

    def _source_open(
        self, store_id: str, period: Period | None
    ) -> list[tuple[str, str, str, bool, int]]:
        where = and_(rc.store_id == store_id, rc.status.not_in([s.value for s in TERMINAL]))
        if period is not None:
            where = and_(where, self._period(store_id, period))
        team = func.coalesce(cw.team_id, literal(NO_TEAM))
        late = func.coalesce(cw.breached, false())
        rows = self._conn.execute(
            select(rc.status, rc.language, team, late, func.count())
            .select_from(return_cases.outerjoin(case_work, cw.case_id == rc.id))
            .where(where)
            .group_by(rc.status, rc.language, team, late)
        )
        return [(s, lang, team_id, bool(b), int(n)) for s, lang, team_id, b, n in rows]


def _within(day: ColumnElement[date], plan: Plan) -> ColumnElement[bool]:
    assert plan.days is not None
    within = and_(day >= plan.days[0], day < plan.days[1])
    return and_(within, day.not_in(sorted(plan.noted))) if plan.noted else within


def _add(into: dict[K, list[int]], more: dict[K, list[int]]) -> None:
    """Add rows of figures into others, key by key."""
    for key, row in more.items():
        into[key] = [a + b for a, b in zip(into.get(key, [0] * len(row)), row, strict=True)]


def _as_date(value: date | str) -> date:
    return value if isinstance(value, date) else date.fromisoformat(value)
