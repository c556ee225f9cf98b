"""The dashboard's figures over 1M cases on PostgreSQL (and SQLite), through the same service
as GET /api/v1/stats/returns.

Cases are bulk-loaded by bench_cases.bulk_load (one a minute from 2026-01-01, so 1M cases span
about two years; statuses and markets spread evenly; 4 cases per order), with what the
dashboard counts beyond them (`dashboard=True`: shipments, teams' work rows with breaches and
resolution times, decisions by the software, orders placed over the span). Each query runs the
whole dashboard (totals, groups, return rate per sku, the queue now) for a 30-day and a 365-day
period, through the per-day rollups (their first build from scratch is timed too). Side by side:
the same dashboard counted straight from the case tables (what the rollups replace), and one
plain count of the period's cases. Last, the dashboard right after writes touched some days
(counted afresh from the case tables until recounted), and the recount of those days.

    .venv/bin/python bench/bench_stats.py [--cases 1000000] [--backends postgresql,sqlite]
"""

from __future__ import annotations

import argparse
import json
import platform
import statistics
import sys
import time
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path

from sqlalchemy import func, select, text, update

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "tests"))
sys.path.insert(0, str(ROOT / "bench"))

from bench_cases import backend, bench_writes  # noqa: E402
from returndesk.adapters.db.tables import return_cases  # noqa: E402
from returndesk.adapters.stats import SqlStatsRepository  # noqa: E402
from returndesk.bootstrap import Container  # noqa: E402
from returndesk.services.principal import SYSTEM  # noqa: E402
from returndesk.services.stats import refresh_stats, return_stats  # noqa: E402

START = datetime(2026, 1, 1, tzinfo=UTC)


def timed(fn: Callable[[], object], repeat: int) -> dict[str, float]:
    fn()  # warm the caches once
    samples = []
    for _ in range(repeat):
        begin = time.perf_counter()
        fn()
        samples.append((time.perf_counter() - begin) * 1000)
    return {"p50_ms": round(statistics.median(samples), 1), "max_ms": round(max(samples), 1)}


def bench(container: Container, store_id: str, cases: int, repeat: int) -> dict[str, object]:
    span = timedelta(minutes=cases)  # bulk_load opens one case a minute
    out: dict[str, object] = {}
    for days in (30, 365):
        end = START + span / 2 + timedelta(days=days / 2)
        start = end - timedelta(days=days)

        def count(start: datetime = start, end: datetime = end) -> object:
            with container.engine.connect() as conn:
                return conn.execute(
                    select(func.count()).where(
                        return_cases.c.store_id == store_id,
                        return_cases.c.created_at >= start,
                        return_cases.c.created_at < end,
                    )
                ).scalar_one()

        in_period = count()
        figures: dict[str, object] = {"cases_in_period": in_period}
        for group_by in ("reason", "market", "carrier", "team", "day"):
            figures[f"dashboard_by_{group_by}"] = timed(
                lambda g=group_by, s=start, e=end: return_stats(container.uow, SYSTEM, s, e, g),
                repeat,
            )

        def from_tables(start: datetime = start, end: datetime = end) -> object:
            with container.engine.connect() as conn:
                tables = SqlStatsRepository(conn, rollups=False)
                return (
                    tables.totals(store_id, start, end),
                    tables.groups(store_id, start, end, "reason"),
                    tables.sku_rates(store_id, start, end),
                    tables.queue_now(store_id),
                )

        figures["baseline_dashboard_by_reason_from_the_case_tables"] = timed(
            from_tables, max(1, repeat // 2)
        )
        figures["baseline_count_of_the_period"] = timed(count, repeat)
        out[f"{days}_days"] = figures
    out["after_writes"] = after_writes(container, store_id, cases)
    return out


def after_writes(container: Container, store_id: str, cases: int) -> dict[str, object]:
    """100 cases, a third on each of the last 3 days, change status: the next dashboard counts
    those days afresh (the chore has not recounted them yet); then the recount is timed."""
    last = START + timedelta(minutes=cases)
    end, start = last, last - timedelta(days=30)
    noted, recount, touched = [], [], set()
    for round_ in range(3):
        with container.engine.begin() as conn:
            ids: list[str] = []
            for back in (1, 2, 3):
                day = (last - timedelta(days=back)).date()
                begin = datetime.combine(day, datetime.min.time(), UTC)
                ids += (
                    conn.execute(
                        select(return_cases.c.id)
                        .where(
                            return_cases.c.store_id == store_id,
                            return_cases.c.created_at >= begin,
                            return_cases.c.created_at < begin + timedelta(days=1),
                        )
                        .order_by(return_cases.c.created_at)
                        .offset(round_ * 34)
                        .limit(34)
                    )
                    .scalars()
                    .all()
                )
                touched.add(day)
            conn.execute(
                update(return_cases).where(return_cases.c.id.in_(ids)).values(status="closed")
            )
        began = time.perf_counter()
        return_stats(container.uow, SYSTEM, start, end, "reason")
        noted.append(round((time.perf_counter() - began) * 1000, 1))
        began = time.perf_counter()
        refresh_stats(container.uow)
        recount.append(round((time.perf_counter() - began) * 1000, 1))
    return {
        "writes_per_round": 102,
        "days_touched": len(touched),
        "dashboard_30_days_with_those_days_counted_afresh_ms": noted,
        "recount_of_those_days_ms": recount,
    }


def write_cost(container: Container, ops: int) -> dict[str, object]:
    """What the triggers' notes cost the writes: cases opened and moved through the handlers
    with the triggers, then with them dropped (this throwaway database only), same run."""
    bench_writes(container, 50, prefix="warm")
    noted = bench_writes(container, ops, prefix="N")
    with container.engine.begin() as conn:
        if container.engine.dialect.name == "postgresql":
            triggers = conn.execute(
                text(
                    "SELECT t.tgname, c.relname FROM pg_trigger t JOIN pg_class c"
                    " ON c.oid = t.tgrelid WHERE t.tgname LIKE 'stats_%'"
                )
            ).all()
            for name, table in triggers:
                conn.exec_driver_sql(f"DROP TRIGGER {name} ON {table}")
        else:
            names = conn.execute(
                text(
                    "SELECT name FROM sqlite_master WHERE type = 'trigger' AND name LIKE 'stats_%'"
                )
            ).scalars()
            for name in list(names):
                conn.exec_driver_sql(f"DROP TRIGGER {name}")
    plain = bench_writes(container, ops, prefix="P")
    return {"with_the_notes": noted, "baseline_without_triggers": plain}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--cases", type=int, default=1_000_000)
    parser.add_argument("--repeat", type=int, default=5)
    parser.add_argument("--ops", type=int, default=300, help="writes per side of write_cost")
    parser.add_argument("--backends", default="postgresql,sqlite")
    args = parser.parse_args()
    results: dict[str, object] = {}
    for name in args.backends.split(","):
        began = time.perf_counter()
        with backend(name, args.cases, dashboard=True) as (container, store_id):
            loaded = round(time.perf_counter() - began, 1)
            began = time.perf_counter()
            days = refresh_stats(container.uow)
            built = {"days": days, "seconds": round(time.perf_counter() - began, 1)}
            if name == "postgresql":  # as autovacuum would after a million notes were deleted
                with container.engine.connect() as conn:
                    conn.execution_options(isolation_level="AUTOCOMMIT").exec_driver_sql(
                        "VACUUM ANALYZE"
                    )
            results[name] = {"bulk_load_s": loaded, "rollups_built_from_scratch": built,
                             **bench(container, store_id, args.cases, args.repeat),
                             "write_cost": write_cost(container, args.ops)}  # fmt: skip
    print(json.dumps({
        "benchmark": "stats",
        "cases": args.cases,
        "machine": {"python": platform.python_version(), "cpu_count": __import__("os").cpu_count()},
        "results": results,
    }, indent=2))  # fmt: skip


if __name__ == "__main__":
    main()
