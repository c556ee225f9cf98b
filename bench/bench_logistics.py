"""Warehouse receiving and refund throughput, over real HTTP (uvicorn on loopback).

Receiving: one POST /api/v1/warehouse/receipts per parcel (the scan of an RMA, graded lines,
received -> inspected, the receipt, restock counts), one after another as a scanner gun sends
them: scans per second and latency from the scan's request to the case's answer (goal: p95
under 100 ms). Baseline side by side in the same run: the plain status change a scan replaces
(POST /transitions to received, no grading, receipt or restock).

Refunds: POST /api/v1/returns/{id}/refunds through the Stripe adapter (the official `stripe`
client) and the Shopify adapter (the official `ShopifyAPI` client: it lists the order's refunds
for our key, reads the sale, then refunds: three calls) against the local servers of the tests,
against the baseline of refunds recorded by hand (mode manual: no provider call) on the same
server.

    .venv/bin/python bench/bench_logistics.py [--scans 300] [--refunds 200]
        [--backends sqlite,postgresql]
"""

from __future__ import annotations

import argparse
import itertools
import json
import os
import platform
import statistics
import sys
import tempfile
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import timedelta
from pathlib import Path
from typing import Any

import httpx

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "tests"))

from returndesk.adapters.auth.passwords import Argon2Hasher  # noqa: E402
from returndesk.adapters.db.migrate import upgrade  # noqa: E402
from returndesk.bootstrap import Container, bootstrap  # noqa: E402
from returndesk.config import Settings  # noqa: E402
from returndesk.demo import demo_policy_document  # noqa: E402
from returndesk.domain.access import Role  # noqa: E402
from returndesk.domain.cases.model import LineRequest  # noqa: E402
from returndesk.domain.cases.reasons import ReasonCode  # noqa: E402
from returndesk.domain.cases.status import Resolution  # noqa: E402
from returndesk.services.buyers import start_buyer_session  # noqa: E402
from returndesk.services.orders import (  # noqa: E402
    LineInput,
    OrderInput,
    ShipmentInput,
    upsert_order,
)
from returndesk.services.policies import save_policy  # noqa: E402
from returndesk.services.principal import SYSTEM  # noqa: E402
from returndesk.services.returns import OpenReturn, open_return  # noqa: E402
from returndesk.services.staff import create_staff_user  # noqa: E402
from returndesk.services.stores import ensure_default_store  # noqa: E402
from returndesk.web.app import create_app  # noqa: E402
from servers import ThrowawayPostgres  # noqa: E402
from servers.live import LiveServer  # noqa: E402
from servers.shopify import ACCESS_TOKEN, API_VERSION, SHOP, LocalShopify  # noqa: E402
from servers.stripe import API_KEY, LocalStripe  # noqa: E402

PASSWORD = "bench-password-0123456789"
PER_ORDER = 50
_ORDERS = itertools.count(1)


def percentile(samples: list[float], q: float) -> float:
    ordered = sorted(samples)
    return ordered[min(len(ordered) - 1, round(q * (len(ordered) - 1)))]


def summary(samples: list[float], wall_s: float) -> dict[str, float]:
    return {
        "per_second": round(len(samples) / wall_s, 1),
        "p50_ms": round(statistics.median(samples), 2),
        "p95_ms": round(percentile(samples, 0.95), 2),
        "p99_ms": round(percentile(samples, 0.99), 2),
        "max_ms": round(max(samples), 2),
    }


Payer = Callable[[], tuple[str, str]]  # a new paid order's (provider, payment reference)


def unpaid() -> tuple[str, str]:
    return "", ""


def cases(container: Container, count: int, payer: Payer = unpaid) -> list[dict[str, str]]:
    """`count` approved US returns waiting for their parcel (one shirt each)."""
    now = container.clock()
    made: list[dict[str, str]] = []
    for start in range(0, count, PER_ORDER):
        number = f"B-{next(_ORDERS)}"
        email = f"bench{start}@example.com"
        provider, reference = payer()
        upsert_order(
            container.uow,
            SYSTEM,
            OrderInput(
                number=number, email=email, market="US", currency="USD",
                placed_at=now - timedelta(days=5),
                lines=(LineInput("SHIRT", "Linen shirt", PER_ORDER, 4000, 4000 * PER_ORDER),),
                shipments=(ShipmentInput("UPS", f"1Z{number}", now - timedelta(days=4),
                                         now - timedelta(days=2)),),
                payment_provider=provider,
                payment_reference=reference,
            ),
        )  # fmt: skip
        buyer = start_buyer_session(container.uow, number, email)
        for _ in range(min(PER_ORDER, count - start)):
            opened = open_return(
                container.uow, container.clock, buyer,
                OpenReturn(number, (LineRequest("SHIRT", 1, ReasonCode.wrong_size),),
                           Resolution.refund),
            )  # fmt: skip
            case = opened.case
            assert case.status.value == "awaiting_return", (case.status, case.decision)
            made.append({"id": case.id, "rma": case.rma, "version": str(case.version)})
    return made


def token(client: httpx.Client, email: str) -> dict[str, str]:
    answer = client.post("/api/v1/auth/token", json={"email": email, "password": PASSWORD})
    answer.raise_for_status()
    return {"Authorization": f"Bearer {answer.json()['access_token']}"}


def bench_receiving(container: Container, client: httpx.Client, scans: int) -> dict[str, Any]:
    warehouse = token(client, "warehouse@bench.example")
    scanned, plain = cases(container, scans), cases(container, scans)
    out: dict[str, Any] = {}
    samples: list[float] = []
    began = time.perf_counter()
    for i, case in enumerate(scanned):
        body: dict[str, Any] = {"code": case["rma"], "warehouse": "bench"}
        if i % 2:
            body["lines"] = [{"sku": "SHIRT", "quantity": 1, "grade": "open_box"}]
        start = time.perf_counter()
        answer = client.post("/api/v1/warehouse/receipts", json=body, headers=warehouse)
        samples.append((time.perf_counter() - start) * 1000)
        assert answer.status_code == 201, answer.text
        assert answer.json()["case"]["status"] == "inspected"
    out["scan_to_inspected"] = summary(samples, time.perf_counter() - began)
    samples = []
    began = time.perf_counter()
    for case in plain:
        start = time.perf_counter()
        answer = client.post(
            f"/api/v1/returns/{case['id']}/transitions",
            json={"to": "received"},
            headers={**warehouse, "If-Match": f'"{case["version"]}"'},
        )
        samples.append((time.perf_counter() - start) * 1000)
        assert answer.status_code == 200, answer.text
    out["baseline_plain_move_to_received"] = summary(samples, time.perf_counter() - began)
    return out


def bench_refunds(
    container: Container,
    client: httpx.Client,
    stripe: LocalStripe,
    shopify: LocalShopify,
    count: int,
) -> dict[str, Any]:
    agent = token(client, "agent@bench.example")
    warehouse = token(client, "warehouse@bench.example")
    out: dict[str, Any] = {}
    before = len(stripe.refunds_made()), len(shopify.refunds_made())
    payers: dict[str, Payer] = {
        "stripe": lambda: ("stripe", stripe.pay(10**9, "USD")),
        "shopify": lambda: ("shopify", shopify.paid_order(10**9, "USD")),
        "manual": unpaid,
    }
    for mode, payer in payers.items():
        batch = cases(container, count, payer)
        for case in batch:  # received and inspected first: the refund settles the case
            got = client.post(
                "/api/v1/warehouse/receipts", json={"code": case["rma"]}, headers=warehouse
            )
            assert got.status_code == 201, got.text
        samples: list[float] = []
        began = time.perf_counter()
        for i, case in enumerate(batch):
            body = {"mode": mode, "reference": "bench"} if mode == "manual" else {"mode": mode}
            start = time.perf_counter()
            answer = client.post(
                f"/api/v1/returns/{case['id']}/refunds",
                json=body,
                headers={**agent, "Idempotency-Key": f"bench-{mode}-{i}"},
            )
            samples.append((time.perf_counter() - start) * 1000)
            assert answer.status_code == 201, answer.text
        name = "baseline_manual_refunds" if mode == "manual" else f"{mode}_refunds"
        out[name] = summary(samples, time.perf_counter() - began)
    # one per request at each provider
    out["stripe_refunds_made"] = len(stripe.refunds_made()) - before[0]
    out["shopify_refunds_made"] = len(shopify.refunds_made()) - before[1]
    return out


@contextmanager
def backend(
    name: str, stripe: LocalStripe, shopify: LocalShopify
) -> Iterator[tuple[Container, LiveServer]]:
    with tempfile.TemporaryDirectory() as tmp:
        pg = ThrowawayPostgres().start() if name == "postgresql" else None
        try:
            url = (
                pg.create_database("bench")
                if pg is not None
                else f"sqlite:///{Path(tmp) / 'bench.sqlite3'}"
            )
            settings = Settings(
                home=Path(tmp), database_url=url, secret_key="bench-" + "x" * 40, demo=False,
                stripe_api_key=API_KEY, stripe_api_base=stripe.base_url,
                shopify_shop=SHOP, shopify_access_token=ACCESS_TOKEN,
                shopify_api_version=API_VERSION, shopify_api_base=shopify.base_url,
            )  # fmt: skip
            container = bootstrap(settings, hasher=Argon2Hasher(fast=True))
            upgrade(container.engine)
            ensure_default_store(container.uow, container.clock)
            document = demo_policy_document()
            document["economics"] = {
                **document["economics"], "returnless_below": {}, "return_cost": {}
            }  # fmt: skip
            document["rules"] = []
            document["fraud"] = {**document["fraud"], "max_returns": 100_000}  # one buyer
            save_policy(container.uow, container.clock, SYSTEM, None, document)
            for role in (Role.warehouse, Role.agent):
                create_staff_user(
                    container.uow, container.hasher, container.clock, SYSTEM,
                    email=f"{role.value}@bench.example", role=role, password=PASSWORD,
                    name=f"Bench {role.value}",
                )  # fmt: skip
            with LiveServer(create_app(container)) as server:
                yield container, server
            container.close()
        finally:
            if pg is not None:
                pg.stop()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--scans", type=int, default=300)
    parser.add_argument("--refunds", type=int, default=200)
    parser.add_argument("--backends", default="sqlite,postgresql")
    args = parser.parse_args()
    results: dict[str, Any] = {}
    with LocalStripe() as stripe, LocalShopify() as shopify:
        for name in args.backends.split(","):
            with (
                backend(name, stripe, shopify) as (container, server),
                httpx.Client(base_url=server.url, timeout=30) as client,
            ):
                results[name] = {
                    **bench_receiving(container, client, args.scans),
                    **bench_refunds(container, client, stripe, shopify, args.refunds),
                }
    report = {
        "benchmark": "logistics",
        "scans": args.scans,
        "refunds": args.refunds,
        "machine": {"python": platform.python_version(), "cpu_count": os.cpu_count()},
        "goal": "scan_to_inspected p95 < 100 ms",
        "results": results,
    }
    print(json.dumps(report, indent=2))


if __name__ == "__main__":
    main()
