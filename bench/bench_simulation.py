"""What-if simulation: replaying 100k past cases against a draft policy.

Loads 100k cases (as bench_cases.py does, plus a delivered shipment per order) into SQLite and
PostgreSQL, then runs `simulate()` with the realistic draft policy of bench_decisions.py (~50
CEL rules). Baseline, side by side in the same run: the same replay with the draft's store
rules removed, so that the time spent in the rules shows apart from reading the cases.

    .venv/bin/python bench/bench_simulation.py [--cases 100000] [--backends sqlite,postgresql]
"""

from __future__ import annotations

import argparse
import json
import platform
import sys
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path
from random import Random

from sqlalchemy import insert, select

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "bench"))
sys.path.insert(0, str(ROOT / "tests"))

from bench_cases import backend  # noqa: E402
from bench_decisions import realistic_document  # noqa: E402
from returndesk.adapters.db.tables import orders, shipments  # noqa: E402
from returndesk.bootstrap import Container  # noqa: E402
from returndesk.services.policies import simulate  # noqa: E402
from returndesk.services.principal import SYSTEM  # noqa: E402


def deliver_all(container: Container) -> None:
    """Give every bulk-loaded order a shipment delivered three days after it was placed."""
    with container.engine.begin() as conn:
        rows = conn.execute(select(orders.c.id, orders.c.placed_at)).all()
        for offset in range(0, len(rows), 5000):
            conn.execute(
                insert(shipments),
                [
                    {
                        "id": order_id,
                        "order_id": order_id,
                        "carrier": "DHL",
                        "tracking_number": f"T{order_id}",
                        "shipped_at": placed,
                        "delivered_at": placed + timedelta(days=3),
                    }
                    for order_id, placed in rows[offset : offset + 5000]
                ],
            )


def replay(container: Container, document: dict[str, object]) -> dict[str, object]:
    start = time.perf_counter()
    report = simulate(container.uow, SYSTEM, None, document, datetime(2025, 1, 1, tzinfo=UTC))
    elapsed = time.perf_counter() - start
    return {
        "cases": report.cases,
        "seconds": round(elapsed, 2),
        "cases_per_second": round(report.cases / elapsed),
        "flips": report.flips_total,
        "outcomes_after": dict(report.outcomes_after),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--cases", type=int, default=100_000)
    parser.add_argument("--backends", default="sqlite,postgresql")
    args = parser.parse_args()
    draft = realistic_document(50, Random(7))
    results: dict[str, object] = {}
    for name in args.backends.split(","):
        with backend(name, args.cases) as (container, _store_id):
            deliver_all(container)
            results[name] = {
                "realistic_draft": replay(container, draft),
                "baseline_no_store_rules": replay(container, {**draft, "rules": []}),
            }
    print(json.dumps({
        "benchmark": "simulation",
        "cases": args.cases,
        "python": platform.python_version(),
        "goal_seconds": 60,
        "results": results,
    }, indent=2))  # fmt: skip


if __name__ == "__main__":
    main()
