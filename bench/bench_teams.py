"""Routing and service-level clocks at 100k open cases (SQLite, as `make demo` runs).

Set-up: 100k open cases in the queue tables (bench_cases.bulk_load), three teams in three time
zones (one on a split shift, one at night), 60 agents with presence, 3,000 cases assigned to
them and the rest in team queues, each case with its clocks.

- routing: one decision as a new case makes it (teams, members, presence, the agents' loads
  from the database, then the rule). Baseline, side by side: reading one case's row by key.
- sweep: the periodic job when 1% of the 100k cases came due (a breach each, written to the
  case's timeline). Baseline: the same job when nothing is due (the index lookup alone).
- recompute: a team's hours changed, every one of its open cases gets new due times. Baseline:
  the same read and write of every row without the calendar work.

    .venv/bin/python bench/bench_teams.py [--cases 100000] [--decisions 500]
"""

from __future__ import annotations

import argparse
import json
import platform
import sys
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path
from random import Random

from sqlalchemy import insert, select

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "tests"))
sys.path.insert(0, str(ROOT / "bench"))

from bench_cases import bulk_load, percentile  # noqa: E402
from returndesk.adapters.auth.passwords import Argon2Hasher  # noqa: E402
from returndesk.adapters.db.migrate import upgrade  # noqa: E402
from returndesk.adapters.db.tables import (  # noqa: E402
    agent_presence,
    case_work,
    return_cases,
    staff_users,
    team_members,
)
from returndesk.adapters.teams import sla_to_data  # noqa: E402
from returndesk.bootstrap import Container, bootstrap  # noqa: E402
from returndesk.config import Settings  # noqa: E402
from returndesk.domain.ids import new_id  # noqa: E402
from returndesk.domain.sla import CaseSla, SlaTargets  # noqa: E402
from returndesk.domain.teams import Team  # noqa: E402
from returndesk.services.principal import SYSTEM  # noqa: E402
from returndesk.services.stores import ensure_default_store  # noqa: E402
from returndesk.services.teams import (  # noqa: E402
    HoursInput,
    TeamInput,
    create_team,
    recompute_team_clocks,
    sweep_sla,
)
from returndesk.services.work import route_for  # noqa: E402

WEEKDAYS = ("mon", "tue", "wed", "thu", "fri")
TEAMS = (
    TeamInput("Americas", "America/New_York", (HoursInput(WEEKDAYS, "08:00", "12:00"),
              HoursInput(WEEKDAYS, "13:00", "18:00")), "US", (), ("en", "es")),
    TeamInput("Shanghai nights", "Asia/Shanghai", (HoursInput(WEEKDAYS, "21:00", "05:00"),),
              "CN", (), ("en", "zh", "ja")),
    TeamInput("Europe", "Europe/Berlin", (HoursInput(WEEKDAYS, "08:00", "16:00"),), "DE", (),
              ("de", "fr", "es", "en", "pt-BR")),
)  # fmt: skip
AGENTS = 60
ASSIGNED = 3000


def summary(samples: list[float]) -> dict[str, float]:
    return {
        "p50_ms": round(percentile(samples, 0.5), 3),
        "p99_ms": round(percentile(samples, 0.99), 3),
        "max_ms": round(max(samples), 3),
    }


def load(container: Container, store_id: str, cases: int, now: datetime) -> list[Team]:
    teams = [create_team(container.uow, container.clock, SYSTEM, t) for t in TEAMS]
    calendars = {t.id: t.calendar(lambda _c, _d: False) for t in teams}
    rng = Random(5)
    with container.engine.begin() as conn:
        agent_ids = []
        for i in range(AGENTS):
            agent_id = new_id()
            agent_ids.append(agent_id)
            conn.execute(insert(staff_users).values(
                id=agent_id, store_id=store_id, email=f"agent{i}@bench.example",
                name=f"Agent {i}", role="agent", password_hash="x", language="en",
                timezone="UTC", created_at=now, active=True,
            ))  # fmt: skip
            team = teams[i % len(teams)]
            conn.execute(insert(team_members).values(
                team_id=team.id, staff_id=agent_id, languages=sorted(team.languages),
                markets=[], capacity=60, skills=[],
            ))  # fmt: skip
            conn.execute(insert(agent_presence).values(
                staff_id=agent_id, status="online" if i % 3 else "away",
                expires_at=now + timedelta(days=365),
            ))  # fmt: skip
        case_ids = list(conn.execute(select(return_cases.c.id)).scalars())
        rows = []
        for n, case_id in enumerate(case_ids):
            team = teams[n % len(teams)]
            started = now - timedelta(minutes=rng.randint(0, 60 * 24 * 20))
            sla = CaseSla(case_id, SlaTargets(), started_at=started)
            sla.recompute(calendars[team.id])
            # 1% are due now; the rest later (their clocks started recently enough)
            if n % 100 == 0:
                sla.due = {clock: now - timedelta(minutes=1) for clock in sla.due}
                sla.warn_at = dict(sla.due)
            else:
                sla.due = {clock: now + timedelta(days=30) for clock in sla.due}
                sla.warn_at = dict(sla.due)
            assignee = agent_ids[n % AGENTS] if n < ASSIGNED else None
            rows.append({
                "case_id": case_id, "store_id": store_id, "team_id": team.id,
                "assignee_id": assignee, "assigned_at": started if assignee else None,
                "open": True, "breached": False, "next_check_at": sla.next_check_at,
                "sla": sla_to_data(sla) | {"rule": "agent" if assignee else "team_queue"},
            })  # fmt: skip
            if len(rows) == 5000:
                conn.execute(insert(case_work), rows)
                rows = []
        if rows:
            conn.execute(insert(case_work), rows)
        conn.exec_driver_sql("ANALYZE")
    return teams


def bench_routing(container: Container, store_id: str, decisions: int) -> dict[str, object]:
    rng = Random(9)
    languages = ("en", "es", "de", "fr", "pt-BR", "ja", "zh", "it")
    markets = ("US", "MX", "DE", "FR", "BR", "JP", "CN", "IT")
    now = container.clock()
    routed, keyed = [], []
    with container.engine.connect() as conn:
        some = list(conn.execute(select(case_work.c.case_id).limit(decisions)).scalars())
    rules: dict[str, int] = {}
    by_rule: dict[str, list[float]] = {}
    for i in range(decisions):
        lang, market = languages[i % len(languages)], markets[rng.randrange(len(markets))]
        start = time.perf_counter()
        with container.uow() as uow:
            got = route_for(uow, store_id, "UTC", lang, market, now)
        routed.append((time.perf_counter() - start) * 1000)
        rules[got.rule] = rules.get(got.rule, 0) + 1
        by_rule.setdefault(got.rule, []).append(routed[-1])
        start = time.perf_counter()
        with container.uow() as uow:
            uow.teams.work(some[i % len(some)])
        keyed.append((time.perf_counter() - start) * 1000)
    return {
        "decisions": decisions,
        "route": summary(routed),
        "baseline_read_one_row": summary(keyed),
        "rules": rules,
        "route_by_rule": {rule: summary(samples) for rule, samples in sorted(by_rule.items())},
    }


def bench_sweep(container: Container) -> dict[str, object]:
    start = time.perf_counter()
    result = sweep_sla(container.uow, container.clock)
    due_s = time.perf_counter() - start
    start = time.perf_counter()
    idle = sweep_sla(container.uow, container.clock)
    idle_s = time.perf_counter() - start
    return {
        "due_cases": result.checked,
        "breaches": result.breaches,
        "sweep_s": round(due_s, 2),
        "per_due_case_ms": round(due_s * 1000 / max(result.checked, 1), 3),
        "baseline_nothing_due_ms": round(idle_s * 1000, 2),
        "baseline_checked": idle.checked,
    }


def bench_recompute(container: Container, teams: list[Team]) -> dict[str, object]:
    start = time.perf_counter()
    moved = sum(recompute_team_clocks(container.uow, team.id) for team in teams)
    recompute_s = time.perf_counter() - start
    # Baseline: the same pages read and written back unchanged (no calendar work).
    start = time.perf_counter()
    rewritten = 0
    for team in teams:
        after = None
        while True:
            with container.uow(write=True) as uow:
                works = uow.teams.open_works_of_team(team.id, after, 2000)
                uow.teams.save_clocks(works)
                uow.commit()
            rewritten += len(works)
            if len(works) < 2000:
                break
            after = works[-1].case_id
    baseline_s = time.perf_counter() - start
    return {
        "cases": moved,
        "recompute_s": round(recompute_s, 2),
        "baseline_rewrite_s": round(baseline_s, 2),
        "baseline_cases": rewritten,
        "calendar_work": bench_calendar_work(container, teams),
    }


def bench_calendar_work(
    container: Container, teams: list[Team], cases: int = 20_000
) -> dict[str, float]:
    """A case's four moments (warning and due time of two clocks), for `cases` of the open
    cases: by the calendar's index (binary search, what recomputing uses) against walking the
    working time from the start for each moment (the reference answer), same starts, same
    fresh calendars."""
    with container.uow() as uow:
        works = uow.teams.open_works_of_team(teams[0].id, None, cases)
        calendars = [teams[0].calendar(uow.teams.public_holiday) for _ in range(2)]
    targets = SlaTargets()
    minutes = [
        targets.first_response_minutes, targets.first_response_minutes * 0.8,
        targets.resolution_minutes, targets.resolution_minutes * 0.8,
    ]  # fmt: skip
    start = time.perf_counter()
    indexed = [calendars[0].add_minutes_each(w.sla.started_at, minutes) for w in works]
    index_s = time.perf_counter() - start
    start = time.perf_counter()
    walked = [[calendars[1].add_minutes(w.sla.started_at, m) for m in minutes] for w in works]
    walk_s = time.perf_counter() - start
    assert indexed == walked
    return {
        "cases": len(works),
        "index_us_per_case": round(index_s / len(works) * 1e6, 1),
        "baseline_walk_us_per_case": round(walk_s / len(works) * 1e6, 1),
    }


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--cases", type=int, default=100_000)
    parser.add_argument("--decisions", type=int, default=500)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        settings = Settings(
            home=Path(tmp), database_url=f"sqlite:///{Path(tmp) / 'b.sqlite3'}",
            secret_key="bench-" + "x" * 40,
        )  # fmt: skip
        container = bootstrap(settings, hasher=Argon2Hasher(fast=True))
        upgrade(container.engine)
        store = ensure_default_store(container.uow, container.clock)
        now = datetime.now(UTC)
        container.clock = lambda: now  # type: ignore[method-assign]
        start = time.perf_counter()
        bulk_load(container, store.id, args.cases)
        teams = load(container, store.id, args.cases, now)
        load_s = time.perf_counter() - start
        out = {
            "benchmark": "teams_routing_sla",
            "machine": f"{platform.machine()} {platform.processor() or ''}".strip(),
            "database": "sqlite",
            "open_cases": args.cases,
            "load_s": round(load_s, 1),
            "routing": bench_routing(container, store.id, args.decisions),
            "sweep": bench_sweep(container),
            "recompute": bench_recompute(container, teams),
        }
        container.close()
    print(json.dumps(out, indent=2))


if __name__ == "__main__":
    main()
