"""Decisions per second on one core and p99 latency, with a realistic policy.

The realistic policy is the demo store's (all seven markets, windows, economics, evidence,
fraud) plus generated store rules up to ~50, each with markets/reasons/categories filters and
a CEL condition. The baseline, measured side by side in the same run: the same requests
against the same policy without store rules (statutory floor + store settings only), so the
cost of the rules is visible.

    .venv/bin/python bench/bench_decisions.py [--decisions 20000] [--rules 50]
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import statistics
import time
from datetime import UTC, datetime, timedelta
from random import Random
from typing import Any

from returndesk.adapters.rules.compiler import PolicyCompiler
from returndesk.demo import demo_policy_document
from returndesk.domain.cases.reasons import ReasonCode
from returndesk.domain.cases.status import Resolution
from returndesk.domain.orders import Order, OrderLine, Shipment
from returndesk.domain.policy.decision import BuyerHistory, ClaimLine, DecisionRequest
from returndesk.domain.policy.document import Policy
from returndesk.domain.policy.engine import decide

MARKETS = {"US": "USD", "GB": "GBP", "DE": "EUR", "FR": "EUR", "ES": "EUR", "BR": "BRL",
           "JP": "JPY", "AU": "AUD", "IT": "EUR"}  # fmt: skip
CATEGORIES = ("apparel", "electronics", "home", "hygiene", "clearance", "shoes")
CONDITIONS = (
    "refund.amount > {n}",
    "buyer.returns >= {k} && refund.amount > {n}",
    "lines.exists(l, l.category == 'electronics' && l.amount > {n})",
    "days_since_delivery > {k} && preferred_resolution == 'refund'",
    "international && order.total > {n}",
    "!evidence.photo && refund.amount >= {n}",
)
OUTCOMES = (
    {"outcome": "human_review"},
    {"restocking_fee_percent": 5},
    {"return_shipping_paid_by": "store"},
    {"outcome": "request_evidence", "evidence": "photo"},
)


def realistic_document(rules: int, rng: Random) -> dict[str, Any]:
    document = demo_policy_document()
    extra: list[dict[str, Any]] = []
    reasons = [r.value for r in ReasonCode]
    for i in range(max(0, rules - len(document.get("rules", [])))):
        rule: dict[str, Any] = {
            "id": f"generated-{i}",
            "description": f"generated rule {i}",
            "when": rng.choice(CONDITIONS).format(
                n=rng.randint(5_000, 90_000), k=rng.randint(2, 40)
            ),
            "then": dict(rng.choice(OUTCOMES)),
        }
        if rng.random() < 0.6:
            rule["markets"] = rng.sample(sorted(MARKETS), k=rng.randint(1, 3))
        if rng.random() < 0.5:
            rule["reasons"] = rng.sample(reasons, k=rng.randint(1, 3))
            if "restocking_fee_percent" in rule["then"]:
                rule["reasons"].append("changed_mind")  # no fee on faults only
        if rng.random() < 0.3:
            rule["categories"] = rng.sample(CATEGORIES, k=2)
        extra.append(rule)
    document["rules"] = [*document.get("rules", []), *extra]
    return document


def requests(count: int, rng: Random) -> list[DecisionRequest]:
    now = datetime(2026, 11, 1, tzinfo=UTC)
    out = []
    for i in range(count):
        market = rng.choice(sorted(MARKETS))
        currency = MARKETS[market]
        placed = now - timedelta(days=rng.randint(5, 400))
        delivered = placed + timedelta(days=rng.randint(2, 20)) if rng.random() < 0.95 else None
        lines = []
        claims = []
        for j in range(rng.randint(1, 3)):
            qty = rng.randint(1, 3)
            unit = rng.randint(500, 40_000)
            category = rng.choice(CATEGORIES)
            lines.append(OrderLine(f"l{j}", f"SKU-{j}", "item", qty, unit, unit * qty, category))
            claims.append(
                ClaimLine(f"SKU-{j}", category, qty, unit * qty, rng.choice(list(ReasonCode)))
            )
        order = Order(f"o{i}", "s", f"N{i}", f"b{rng.randint(1, 500)}@example.com", market,
                      currency, "en", placed, lines,
                      [Shipment("s1", "dhl", f"T{i}", placed, delivered)],
                      shipping_paid=rng.choice((0, 499, 990)))  # fmt: skip
        out.append(
            DecisionRequest(
                order=order,
                lines=tuple(claims),
                requested_at=(delivered or placed) + timedelta(days=rng.randint(0, 60)),
                preferred_resolution=rng.choice(list(Resolution)),
                history=BuyerHistory(rng.choice((0, 0, 0, 1, 2, 6)), 0),
                whole_order=rng.random() < 0.5,
            )
        )
    return out


def run(policy: Policy, batch: list[DecisionRequest]) -> dict[str, float]:
    for request in batch[:500]:  # warm up
        decide(request, policy, 1)
    latencies = []
    start = time.perf_counter()
    for request in batch:
        t0 = time.perf_counter_ns()
        decide(request, policy, 1)
        latencies.append(time.perf_counter_ns() - t0)
    elapsed = time.perf_counter() - start
    latencies.sort()
    return {
        "decisions": len(batch),
        "decisions_per_second": round(len(batch) / elapsed),
        "p50_ms": round(statistics.median(latencies) / 1e6, 4),
        "p99_ms": round(latencies[int(len(latencies) * 0.99) - 1] / 1e6, 4),
        "max_ms": round(latencies[-1] / 1e6, 4),
    }


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--decisions", type=int, default=20_000)
    parser.add_argument("--rules", type=int, default=50)
    args = parser.parse_args()
    if hasattr(os, "sched_setaffinity"):
        os.sched_setaffinity(0, {min(os.sched_getaffinity(0))})  # one core
    rng = Random(7)
    document = realistic_document(args.rules, rng)
    compiler = PolicyCompiler()
    policy = compiler.compile(document)
    baseline = compiler.compile({**document, "rules": []})
    batch = requests(args.decisions, rng)
    result = {
        "benchmark": "decisions",
        "python": platform.python_version(),
        "machine": platform.machine(),
        "cores_used": 1,
        "store_rules": len(policy.rules),
        "realistic_policy": run(policy, batch),
        "baseline_no_store_rules": run(baseline, batch),
        "goal": {"decisions_per_second": 5000, "p99_ms": 2.0},
    }
    print(json.dumps(result, indent=2))


if __name__ == "__main__":
    main()
