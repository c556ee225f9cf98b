"""Webhook delivery throughput to a local receiver, through the whole outbox path.

Outbox rows (as commits write them) are fanned out into deliveries, signed and posted by the
dispatcher (8 workers) to a receiver on loopback. Two shapes: many cases (deliveries go out
in parallel) and one case (strictly in order, one at a time). Baseline, side by side in the
same run: the same number of plain POSTs to the same receiver from 8 threads, no database,
no signing, so the cost of the outbox path shows.

    .venv/bin/python bench/bench_webhooks.py [--events 2000]
"""

from __future__ import annotations

import argparse
import json
import platform
import sys
import tempfile
import time
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime, timedelta
from pathlib import Path

import httpx
from sqlalchemy import insert

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "tests"))

from returndesk.adapters.auth.passwords import Argon2Hasher  # noqa: E402
from returndesk.adapters.db.migrate import upgrade  # noqa: E402
from returndesk.adapters.db.tables import outbox  # noqa: E402
from returndesk.adapters.dispatch import Dispatcher  # noqa: E402
from returndesk.adapters.webhooks import WebhookChannel  # noqa: E402
from returndesk.bootstrap import bootstrap  # noqa: E402
from returndesk.config import Settings  # noqa: E402
from returndesk.domain.ids import new_id  # noqa: E402
from returndesk.services.principal import SYSTEM  # noqa: E402
from returndesk.services.stores import ensure_default_store  # noqa: E402
from returndesk.services.webhooks import register_endpoint  # noqa: E402
from servers.receiver import Receiver  # noqa: E402


def through_outbox(events: int, cases: int) -> dict[str, float]:
    with tempfile.TemporaryDirectory() as tmp, Receiver() as receiver:
        settings = Settings(
            home=Path(tmp), database_url=f"sqlite:///{Path(tmp) / 'b.sqlite3'}",
            secret_key="bench-" + "x" * 40, webhook_allow_private=True,
        )  # fmt: skip
        container = bootstrap(settings, hasher=Argon2Hasher(fast=True))
        upgrade(container.engine)
        store = ensure_default_store(container.uow, container.clock)
        register_endpoint(container.uow, container.clock, SYSTEM, receiver.url, ["*"])
        start = datetime.now(UTC) + timedelta(seconds=1)
        rows = [
            {
                "id": new_id(),
                "store_id": store.id,
                "topic": "case.status_changed",
                "payload": {"case_id": f"case-{i % cases}", "kind": "status_changed", "n": i},
                "created_at": start + timedelta(microseconds=i),
                "dispatched_at": None,
                "attempts": 0,
            }
            for i in range(events)
        ]
        with container.engine.begin() as conn:
            conn.execute(insert(outbox), rows)
        channel = WebhookChannel(container.engine, container.clock, allow_private=True)
        dispatcher = Dispatcher(container.engine, container.clock, [channel], interval=0.01)
        began = time.perf_counter()
        dispatcher.start()
        receiver.wait_for(events, timeout=600)
        elapsed = time.perf_counter() - began
        dispatcher.stop()
        container.close()
        order = [json.loads(r.body)["data"]["n"] for r in receiver.received]
        per_case_in_order = all(
            [n for n in order if n % cases == c] == sorted(n for n in order if n % cases == c)
            for c in range(cases)
        )
        return {
            "events": events,
            "cases": cases,
            "seconds": round(elapsed, 2),
            "deliveries_per_second": round(events / elapsed),
            "in_order_per_case": per_case_in_order,
        }


def plain_posts(events: int) -> dict[str, float]:
    with Receiver() as receiver, httpx.Client() as client:
        began = time.perf_counter()
        with ThreadPoolExecutor(8) as pool:
            list(pool.map(lambda i: client.post(receiver.url, content=b"{}"), range(events)))
        elapsed = time.perf_counter() - began
        return {"events": events, "seconds": round(elapsed, 2),
                "posts_per_second": round(events / elapsed)}  # fmt: skip


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--events", type=int, default=2000)
    args = parser.parse_args()
    print(json.dumps({
        "benchmark": "webhooks",
        "python": platform.python_version(),
        "many_cases": through_outbox(args.events, cases=args.events),
        "one_case_in_order": through_outbox(min(args.events, 500), cases=1),
        "baseline_plain_posts_8_threads": plain_posts(args.events),
    }, indent=2))  # fmt: skip


if __name__ == "__main__":
    main()
