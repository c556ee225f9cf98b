"""Live push: commit-to-receipt latency with many Server-Sent Event subscribers.

Starts `returndesk serve` (one process, SQLite) on loopback, opens N subscriber streams spread
over the cases (staff token), then moves cases one by one and measures, for every subscriber
of the moved case, the time from the commit (the API answered) to the frame arriving.
Baseline, side by side in the same run: the same moves with 100 subscribers.

    .venv/bin/python bench/bench_live.py [--subscribers 5000] [--cases 200] [--moves 200]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import platform
import statistics
import subprocess
import sys
import tempfile
import time
from collections import Counter
from pathlib import Path

import httpx

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "tests"))

from servers.live import free_port  # noqa: E402

STAFF = ("bench@shop.example", "bench-password-1")


def seed(env: dict[str, str], cases: int) -> None:
    """Orders and open cases through the handlers, plus an agent to listen with."""
    code = f"""
from datetime import UTC, datetime, timedelta
from returndesk.bootstrap import bootstrap
from returndesk.adapters.db.migrate import upgrade
from returndesk.domain.access import Role
from returndesk.domain.cases.model import LineRequest
from returndesk.domain.cases.reasons import ReasonCode
from returndesk.domain.cases.status import Resolution
from returndesk.services.orders import LineInput, OrderInput, ShipmentInput, upsert_order
from returndesk.services.principal import SYSTEM
from returndesk.services.returns import OpenReturn, open_return
from returndesk.services.staff import create_staff_user
from returndesk.services.stores import ensure_default_store
c = bootstrap()
upgrade(c.engine)
ensure_default_store(c.uow, c.clock)
create_staff_user(c.uow, c.hasher, c.clock, SYSTEM, email={STAFF[0]!r}, role=Role.agent,
                  password={STAFF[1]!r})
now = datetime.now(UTC)
for i in range({cases}):
    upsert_order(c.uow, SYSTEM, OrderInput(f"L{{i}}", f"b{{i}}@example.com", "US", "USD",
        now - timedelta(days=5), (LineInput("SKU", "Item", 1, 1000, 1000),),
        shipments=(ShipmentInput("UPS", f"T{{i}}", now - timedelta(days=4),
                                 now - timedelta(days=2)),)))
    open_return(c.uow, c.clock, SYSTEM, OpenReturn(f"L{{i}}",
        (LineRequest("SKU", 1, ReasonCode.changed_mind),), Resolution.refund))
"""
    subprocess.run([sys.executable, "-c", code], env=env, check=True)


async def run(
    base: str, token: str, case_ids: list[str], subscribers: int, moves: int
) -> dict[str, float]:
    headers = {"Authorization": f"Bearer {token}"}
    received: dict[str, list[float]] = {}
    ready = 0
    ready_all = asyncio.Event()
    limits = httpx.Limits(max_connections=None, max_keepalive_connections=None)
    async with httpx.AsyncClient(base_url=base, limits=limits, timeout=None) as client:

        async def listen(case_id: str) -> None:
            nonlocal ready
            async with client.stream("GET", f"/api/v1/returns/{case_id}/events",
                                     headers=headers) as response:  # fmt: skip
                cursor_sent = False
                async for line in response.aiter_lines():
                    if line.startswith("retry:") and not cursor_sent:
                        cursor_sent = True
                        ready += 1
                        if ready == subscribers:
                            ready_all.set()
                    elif line.startswith("id:"):
                        received.setdefault(line[3:].strip(), []).append(time.perf_counter())

        tasks = [asyncio.create_task(listen(case_ids[i % len(case_ids)]))
                 for i in range(subscribers)]  # fmt: skip
        await asyncio.wait_for(ready_all.wait(), timeout=600)
        await asyncio.sleep(1.0)  # let the opening backlog (each case's timeline) drain
        received.clear()
        committed: dict[str, tuple[float, int]] = {}
        listeners = Counter(case_ids[i % len(case_ids)] for i in range(subscribers))
        for n in range(moves):
            case_id = case_ids[n % len(case_ids)]
            current = await client.get(f"/api/v1/returns/{case_id}", headers=headers)
            version = current.json()["version"]
            # requested -> under_review -> needs_evidence -> under_review -> ...
            target = (
                "needs_evidence" if current.json()["status"] == "under_review" else "under_review"
            )
            body = {"to": target, "note": "bench"}
            answer = await client.post(f"/api/v1/returns/{case_id}/transitions", json=body,
                                       headers={**headers, "If-Match": f'"{version}"'})  # fmt: skip
            answer.raise_for_status()
            event_id = answer.json()["event"]["id"]
            committed[event_id] = (time.perf_counter(), listeners[case_id])
            await asyncio.sleep(0.02)
        await asyncio.sleep(3.0)
        for task in tasks:
            task.cancel()
    latencies: list[float] = []
    missed = 0
    for event_id, (at, expected) in committed.items():
        got = received.get(event_id, [])
        missed += max(0, expected - len(got))
        latencies.extend((t - at) * 1000 for t in got)
    latencies.sort()
    return {
        "subscribers": subscribers,
        "moves": moves,
        "frames": len(latencies),
        "missed": missed,
        "p50_ms": round(statistics.median(latencies), 1) if latencies else -1,
        "p99_ms": round(latencies[int(len(latencies) * 0.99) - 1], 1) if latencies else -1,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--subscribers", type=int, default=5000)
    parser.add_argument("--cases", type=int, default=200)
    parser.add_argument("--moves", type=int, default=200)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        env = {**os.environ, "RETURNDESK_HOME": tmp, "RETURNDESK_DEMO": "1",
               "RETURNDESK_DATABASE_URL": f"sqlite:///{tmp}/live.sqlite3"}  # fmt: skip
        seed(env, args.cases)
        port = free_port()
        server = subprocess.Popen(
            [sys.executable, "-m", "uvicorn", "--factory", "returndesk.web.app:create_app",
             "--port", str(port), "--log-level", "warning", "--timeout-graceful-shutdown", "2",
             "--limit-concurrency", "100000", "--backlog", "8192"],
            env=env,
        )  # fmt: skip
        base = f"http://127.0.0.1:{port}"
        try:
            for _ in range(100):
                try:
                    if httpx.get(f"{base}/healthz").status_code == 200:
                        break
                except httpx.HTTPError:
                    time.sleep(0.1)
            login = {"email": STAFF[0], "password": STAFF[1]}
            token = httpx.post(f"{base}/api/v1/auth/token", json=login).json()["access_token"]
            headers = {"Authorization": f"Bearer {token}"}
            ids = [
                c["id"]
                for c in httpx.get(f"{base}/api/v1/returns?limit=200", headers=headers).json()[
                    "items"
                ]
            ]
            baseline = asyncio.run(run(base, token, ids, 100, args.moves // 2))
            loaded = asyncio.run(run(base, token, ids, args.subscribers, args.moves))
        finally:
            server.terminate()
            server.wait(timeout=30)
    print(json.dumps({
        "benchmark": "live",
        "python": platform.python_version(),
        "cases": args.cases,
        "baseline_100_subscribers": baseline,
        "many_subscribers": loaded,
        "goal": {"p99_ms": 250, "missed": 0},
    }, indent=2))  # fmt: skip


if __name__ == "__main__":
    main()
