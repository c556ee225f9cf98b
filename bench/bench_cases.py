"""Case creation and transition throughput, and queue-query latency at 100k cases.

Runs on SQLite (embedded default) and PostgreSQL (a throwaway cluster on loopback) in one run
and prints one JSON document. The baseline, measured side by side in the same run: OFFSET
pagination to the same deep page that the keyset cursor reaches.

    .venv/bin/python bench/bench_cases.py [--cases 100000] [--ops 500] [--queries 200]
"""

from __future__ import annotations

import argparse
import json
import platform
import statistics
import sys
import tempfile
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta
from pathlib import Path
from random import Random

from sqlalchemy import insert, literal, select, tuple_

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "tests"))

from returndesk.adapters.auth.passwords import Argon2Hasher  # noqa: E402
from returndesk.adapters.db.migrate import upgrade  # noqa: E402
from returndesk.adapters.db.tables import (  # noqa: E402
    case_events,
    case_work,
    order_lines,
    orders,
    return_case_lines,
    return_cases,
    shipments,
    teams,
)
from returndesk.adapters.db.types import UTCDateTime  # noqa: E402
from returndesk.bootstrap import Container, bootstrap  # noqa: E402
from returndesk.config import Settings  # noqa: E402
from returndesk.domain.cases.model import LineRequest  # noqa: E402
from returndesk.domain.cases.reasons import ReasonCode  # noqa: E402
from returndesk.domain.cases.status import CaseStatus, Resolution  # noqa: E402
from returndesk.domain.ids import new_id  # noqa: E402
from returndesk.services.orders import (  # noqa: E402
    LineInput,
    OrderInput,
    ShipmentInput,
    upsert_order,
)
from returndesk.services.ports import CaseQuery  # noqa: E402
from returndesk.services.principal import SYSTEM  # noqa: E402
from returndesk.services.returns import (  # noqa: E402
    MoveCase,
    OpenReturn,
    list_cases,
    open_return,
    transition_case,
)
from returndesk.services.stores import ensure_default_store  # noqa: E402
from servers import ThrowawayPostgres  # noqa: E402

MARKETS = ("US", "GB", "BR", "JP", "DE", "FR", "ES")
LANGUAGES = ("en", "en", "pt-BR", "ja", "de", "fr", "es")
STATUSES = tuple(CaseStatus)
DEEP = 1000  # pages of 50 walked before the deep-page comparison


def percentile(samples: list[float], q: float) -> float:
    ordered = sorted(samples)
    return ordered[min(len(ordered) - 1, round(q * (len(ordered) - 1)))]


def timed(fn: Callable[[], object], repeat: int) -> dict[str, float]:
    samples = []
    for _ in range(repeat):
        start = time.perf_counter()
        fn()
        samples.append((time.perf_counter() - start) * 1000)
    return {
        "p50_ms": round(statistics.median(samples), 3),
        "p95_ms": round(percentile(samples, 0.95), 3),
        "max_ms": round(max(samples), 3),
    }


def bulk_load(container: Container, store_id: str, cases: int, *, dashboard: bool = False) -> None:
    """Insert `cases` cases (4 per order) straight into the tables: the queue's data volume.
    `dashboard`: also what the dashboard counts beyond the cases: each order's shipment (one
    of three carriers) and each case's work row (one of three teams or none, 10 % breached,
    closed ones resolved 1-200 h after opening), a third decided by the software (a system
    status change on the timeline), and orders placed over the cases' span."""
    rng = Random(7)
    start = datetime(2026, 1, 1, tzinfo=UTC)
    batch = 5000
    per_order = 4
    team_ids: list[str | None] = [None]
    if dashboard:
        with container.engine.begin() as conn:
            for name in ("Americas", "Europe", "Asia"):
                team_ids.append(new_id())
                conn.execute(
                    insert(teams).values(
                        id=team_ids[-1], store_id=store_id, name=name, timezone="UTC",
                        hours=[{"days": ["mon", "tue", "wed", "thu", "fri", "sat", "sun"],
                                "start": "00:00", "end": "00:00"}],
                        closed_dates=[], languages=[], markets=[], created_at=start,
                    )
                )  # fmt: skip
    closed = {CaseStatus.closed.value, CaseStatus.refunded.value, CaseStatus.canceled.value}
    with container.engine.begin() as conn:
        for offset in range(0, cases, batch):
            order_rows, line_rows, case_rows, case_line_rows = [], [], [], []
            work_rows: list[dict[str, object]] = []
            shipment_rows: list[dict[str, object]] = []
            event_rows: list[dict[str, object]] = []
            for i in range(offset, min(offset + batch, cases)):
                if i % per_order == 0:
                    order_id, line_id = new_id(), new_id()
                    market = MARKETS[(i // per_order) % len(MARKETS)]
                    email = f"buyer{i // per_order}@example.com"
                    placed = start + timedelta(minutes=i) if dashboard else start
                    order_rows.append({
                        "id": order_id, "store_id": store_id, "number": f"B{i // per_order}",
                        "email": email, "buyer_name": "", "market": market, "currency": "EUR",
                        "language": "en", "placed_at": placed, "lock_version": 0,
                    })  # fmt: skip
                    if dashboard:
                        shipment_rows.append({
                            "id": new_id(), "order_id": order_id,
                            "carrier": ("DHL", "UPS", "Correios")[rng.randrange(3)],
                            "tracking_number": f"T{i}",
                        })  # fmt: skip
                    line_rows.append({
                        "id": line_id, "order_id": order_id, "position": 0, "sku": "SKU-1",
                        "title": "Item", "quantity": 8, "unit_price": 1000, "paid_amount": 8000,
                        "category": "general", "serial_numbers": [],
                    })  # fmt: skip
                created = start + timedelta(seconds=i * 60 + rng.randint(0, 59))
                case_id = new_id()
                case_rows.append({
                    "id": case_id, "store_id": store_id, "number": f"R-B{i:08d}",
                    "order_id": order_id, "order_number": f"B{i // per_order}",
                    "buyer_email": email, "market": market,
                    "language": LANGUAGES[MARKETS.index(market)],
                    "currency": "EUR", "status": STATUSES[rng.randrange(len(STATUSES))].value,
                    "preferred_resolution": "refund", "version": 1, "holds_quantity": True,
                    "refund_amount": None, "refunded_amount": None, "line_count": 1,
                    "refundable_total": 2000, "created_at": created, "updated_at": created,
                })  # fmt: skip
                case_line_rows.append({
                    "case_id": case_id, "position": 0, "order_line_id": line_id, "sku": "SKU-1",
                    "title": "Item", "quantity": 2, "reason": "changed_mind", "comment": "",
                    "refundable_amount": 2000, "received_quantity": 0, "condition": None,
                })  # fmt: skip
                if dashboard:
                    status = case_rows[-1]["status"]
                    work_rows.append({
                        "case_id": case_id, "store_id": store_id,
                        "team_id": team_ids[rng.randrange(len(team_ids))],
                        "open": status not in closed, "breached": rng.random() < 0.1, "sla": {},
                        "resolved_at": created + timedelta(hours=rng.randint(1, 200))
                        if status in closed else None,
                    })  # fmt: skip
                    if rng.random() < 0.33:
                        event_rows.append({
                            "id": new_id(), "case_id": case_id, "at": created,
                            "kind": "status_changed", "actor_kind": "system",
                            "actor_id": "engine", "actor_name": "ReturnDesk", "note": "",
                            "data": {},
                        })  # fmt: skip
            if order_rows:
                conn.execute(insert(orders), order_rows)
                conn.execute(insert(order_lines), line_rows)
            conn.execute(insert(return_cases), case_rows)
            conn.execute(insert(return_case_lines), case_line_rows)
            for table, rows in ((shipments, shipment_rows), (case_work, work_rows),
                                (case_events, event_rows)):  # fmt: skip
                if rows:
                    conn.execute(insert(table), rows)
    if container.engine.dialect.name == "postgresql":
        with container.engine.connect() as conn:
            conn.exec_driver_sql("ANALYZE")
            conn.commit()
    else:
        with container.engine.connect() as conn:
            conn.exec_driver_sql("ANALYZE")


def bench_writes(container: Container, ops: int, prefix: str = "W") -> dict[str, float]:
    """Through the real handlers: each return on a fresh order, then one transition each."""
    now = container.clock()
    for i in range(ops):
        upsert_order(
            container.uow, SYSTEM,
            OrderInput(
                number=f"{prefix}{i}", email=f"w{i}@example.com", market="DE", currency="EUR",
                placed_at=now - timedelta(days=3),
                lines=(LineInput("SKU-W", "Widget", 2, 1500, 3000),),
                shipments=(ShipmentInput("DHL", f"{prefix}{i}", now - timedelta(days=2),
                                         now - timedelta(days=1)),),
            ),
        )  # fmt: skip
    start = time.perf_counter()
    ids = []
    for i in range(ops):
        opened = open_return(
            container.uow, container.clock, SYSTEM,
            OpenReturn(f"{prefix}{i}", (LineRequest("SKU-W", 1, ReasonCode.changed_mind),),
                       Resolution.refund),
            idempotency_key=f"bench-{prefix}-{i}",
        )  # fmt: skip
        ids.append(opened.case.id)
    create_s = time.perf_counter() - start
    start = time.perf_counter()
    for case_id in ids:
        transition_case(
            container.uow, container.clock, SYSTEM,
            MoveCase(case_id, CaseStatus.under_review, expected_version=1),
        )  # fmt: skip
    move_s = time.perf_counter() - start
    return {
        "operations": ops,
        "case_creations_per_s": round(ops / create_s, 1),
        "transitions_per_s": round(ops / move_s, 1),
    }


def bench_queue(container: Container, store_id: str, repeat: int) -> dict[str, object]:
    rng = Random(11)
    page = 50

    def query(**kw: object) -> Callable[[], object]:
        base = {"store_id": store_id, "limit": page}
        return lambda: list_cases(container.uow, SYSTEM, CaseQuery(**{**base, **kw}))  # type: ignore[arg-type]

    def random_filter() -> object:
        kw: dict[str, object] = {"sort": rng.choice(("-created_at", "created_at", "-updated_at"))}
        if rng.random() < 0.7:
            kw["statuses"] = (rng.choice(STATUSES),)
        if rng.random() < 0.5:
            kw["market"] = rng.choice(MARKETS)
        return query(**kw)()

    # Walk DEEP pages by cursor, then compare reaching that page by OFFSET (the baseline).
    cursor = None
    for _ in range(DEEP):
        result = list_cases(
            container.uow, SYSTEM, CaseQuery(store_id=store_id, limit=page, cursor=cursor)
        )
        cursor = result.next_cursor
    deep_cursor = cursor

    assert deep_cursor is not None
    deep_at, deep_id = datetime.fromisoformat(deep_cursor[0]), deep_cursor[1]
    newest_first = (return_cases.c.created_at.desc(), return_cases.c.id.desc())

    # The same page two ways, both as plain SQL so only the database's work differs.
    def keyset_page() -> object:
        with container.engine.connect() as conn:
            return conn.execute(
                select(return_cases)
                .where(
                    return_cases.c.store_id == store_id,
                    tuple_(return_cases.c.created_at, return_cases.c.id)
                    < tuple_(literal(deep_at, UTCDateTime), literal(deep_id)),
                )
                .order_by(*newest_first)
                .limit(page)
            ).all()

    def offset_page() -> object:
        with container.engine.connect() as conn:
            return conn.execute(
                select(return_cases)
                .where(return_cases.c.store_id == store_id)
                .order_by(*newest_first)
                .offset(DEEP * page)
                .limit(page)
            ).all()

    assert keyset_page() == offset_page()

    return {
        "queue_default": timed(query(), repeat),
        "queue_by_status": timed(query(statuses=(CaseStatus.under_review,)), repeat),
        "queue_by_status_and_market": timed(
            query(statuses=(CaseStatus.requested,), market="BR"), repeat
        ),
        "queue_search_email": timed(query(q="buyer4242@example.com"), repeat),
        "queue_random_filters": timed(random_filter, repeat),
        f"queue_page_{DEEP + 1}_via_handler": timed(query(cursor=deep_cursor), repeat),
        f"sql_page_{DEEP + 1}_keyset": timed(keyset_page, repeat),
        f"baseline_sql_page_{DEEP + 1}_offset": timed(offset_page, repeat),
    }


@contextmanager
def backend(name: str, cases: int, *, dashboard: bool = False) -> Iterator[tuple[Container, str]]:
    with tempfile.TemporaryDirectory() as tmp:
        pg = ThrowawayPostgres().start() if name == "postgresql" else None
        try:
            url = (
                pg.create_database("bench")
                if pg is not None
                else f"sqlite:///{Path(tmp) / 'bench.sqlite3'}"
            )
            settings = Settings(
                home=Path(tmp), database_url=url, secret_key="bench-" + "x" * 40, demo=False
            )
            container = bootstrap(settings, hasher=Argon2Hasher(fast=True))
            upgrade(container.engine)
            store = ensure_default_store(container.uow, container.clock)
            bulk_load(container, store.id, cases, dashboard=dashboard)
            yield container, store.id
            container.close()
        finally:
            if pg is not None:
                pg.stop()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--cases", type=int, default=100_000)
    parser.add_argument("--ops", type=int, default=500)
    parser.add_argument("--queries", type=int, default=200)
    parser.add_argument("--backends", default="sqlite,postgresql")
    args = parser.parse_args()
    report: dict[str, object] = {
        "benchmark": "cases",
        "cases": args.cases,
        "machine": {"python": platform.python_version(), "cpu_count": __import__("os").cpu_count()},
        "results": {},
    }
    results: dict[str, object] = {}
    for name in args.backends.split(","):
        load_start = time.perf_counter()
        with backend(name, args.cases) as (container, store_id):
            loaded = round(time.perf_counter() - load_start, 1)
            queue = bench_queue(container, store_id, args.queries)
            writes = bench_writes(container, args.ops)
            results[name] = {"bulk_load_s": loaded, **writes, **queue}
    report["results"] = results
    print(json.dumps(report, indent=2))


if __name__ == "__main__":
    main()
