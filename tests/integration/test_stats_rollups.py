"""The dashboard's per-day rollups against the same figures counted afresh from the case tables,
on SQLite and PostgreSQL: random histories, random periods (whole days, parts of days, across
midnight), then random writes of every kind a figure depends on, recounted by the triggers' notes.
"""

from __future__ import annotations

import threading
from collections.abc import Iterator
from datetime import UTC, date, datetime, timedelta
from random import Random
from typing import Any

import pytest
from sqlalchemy import Connection, delete, distinct, func, insert, select, update

from returndesk.adapters.db.tables import (
    case_events,
    case_work,
    order_lines,
    orders,
    return_case_lines,
    return_cases,
    shipments,
    stats_day_totals,
    stats_dirty,
    teams,
)
from returndesk.adapters.stats import SqlStatsRepository, bucket, median_hours, split
from returndesk.bootstrap import Container
from returndesk.domain.ids import new_id
from returndesk.services.ports import STAT_DIMENSIONS
from returndesk.services.stats import refresh_stats
from returndesk.services.stores import ensure_default_store

START = datetime(2026, 3, 1, tzinfo=UTC)
DAYS = 6
STATUSES = ("requested", "under_review", "approved", "refunded", "rejected", "closed")
OUTCOMES = (None, "approve_refund", "approve_returnless", "reject", "needs_evidence")
MARKETS = (("US", "en", "USD"), ("DE", "de", "EUR"), ("JP", "ja", "JPY"), ("BR", "pt", "BRL"))
CARRIERS = ("UPS", "DHL", "Correios")
REASONS = ("defective", "wrong_size", "changed_mind")
SKUS = ("SKU-1", "SKU-2", "SKU-3", "SKU-4")


class History:
    def __init__(self, conn: Connection, store_id: str, rng: Random) -> None:
        self.conn, self.store_id, self.rng = conn, store_id, rng
        self.teams = [self._team(name) for name in ("Americas", "Europe")]
        self.orders: list[tuple[str, list[str]]] = []  # (order id, its line ids)
        self.cases: list[str] = []
        self.number = 0

    def _team(self, name: str) -> str:
        team_id = new_id()
        self.conn.execute(
            insert(teams).values(
                id=team_id, store_id=self.store_id, name=name, timezone="UTC", hours=[],
                closed_dates=[], languages=[], markets=[], created_at=START,
            )
        )  # fmt: skip
        return team_id

    def at(self) -> datetime:
        return START + timedelta(seconds=self.rng.randrange(DAYS * 86400))

    def order(self) -> tuple[str, list[str], tuple[str, str, str]]:
        rng, self.number = self.rng, self.number + 1
        order_id, market = new_id(), rng.choice(MARKETS)
        self.conn.execute(
            insert(orders).values(
                id=order_id, store_id=self.store_id, number=f"N{self.number}",
                email=f"b{self.number}@example.com", buyer_name="", market=market[0],
                currency=market[2], language=market[1], placed_at=self.at(), lock_version=0,
            )
        )  # fmt: skip
        line_ids = []
        for position, sku in enumerate(rng.sample(SKUS, rng.randint(1, 3))):
            line_id = new_id()
            line_ids.append(line_id)
            self.conn.execute(
                insert(order_lines).values(
                    id=line_id, order_id=order_id, position=position, sku=sku, title=sku,
                    quantity=rng.randint(1, 5), unit_price=1000, paid_amount=1000,
                    category="general", serial_numbers=[],
                )
            )  # fmt: skip
        for _ in range(rng.randint(0, 2)):
            self.conn.execute(
                insert(shipments).values(
                    id=new_id(), order_id=order_id, carrier=rng.choice(CARRIERS),
                    tracking_number=new_id()[:12],
                )
            )  # fmt: skip
        self.orders.append((order_id, line_ids))
        return order_id, line_ids, market

    def case(self) -> None:
        rng = self.rng
        if self.orders and rng.random() < 0.3:
            order_id, line_ids = rng.choice(self.orders)
            market = MARKETS[0]
        else:
            order_id, line_ids, market = self.order()
        case_id, created = new_id(), self.at()
        outcome = rng.choice(OUTCOMES)
        refunded = rng.choice((None, None, 0, rng.randint(1, 9000)))
        graded = rng.random() < 0.3
        self.number += 1
        self.conn.execute(
            insert(return_cases).values(
                id=case_id, store_id=self.store_id, number=f"R{self.number}", order_id=order_id,
                order_number="N", buyer_email="b@example.com", market=market[0],
                language=market[1], currency=market[2], status=rng.choice(STATUSES),
                preferred_resolution=rng.choice(("refund", "exchange")), version=1,
                holds_quantity=True, refund_amount=None, refunded_amount=refunded,
                line_count=1, refundable_total=0, created_at=created, updated_at=created,
                decision_outcome=outcome,
                return_shipping_cost=rng.randint(0, 900) if graded else None,
                handling_cost=rng.randint(0, 300) if rng.random() < 0.5 else None,
                payment_fees=None, recovered_value=rng.randint(0, 5000) if graded else None,
            )
        )  # fmt: skip
        for position, line_id in enumerate(line_ids[: rng.randint(1, len(line_ids))]):
            self.conn.execute(
                insert(return_case_lines).values(
                    case_id=case_id, position=position, order_line_id=line_id,
                    sku=rng.choice(SKUS), title="", quantity=rng.randint(1, 3),
                    reason=rng.choice(REASONS), comment="",
                    refundable_amount=rng.randint(100, 5000), received_quantity=0,
                )
            )  # fmt: skip
        if rng.random() < 0.8:
            resolved = created + timedelta(minutes=rng.randint(1, 20000))
            self.conn.execute(
                insert(case_work).values(
                    case_id=case_id, store_id=self.store_id,
                    team_id=rng.choice([None, *self.teams]), open=True,
                    breached=rng.random() < 0.3, sla={},
                    resolved_at=resolved if rng.random() < 0.5 else None,
                )
            )  # fmt: skip
        if rng.random() < 0.4:
            self.event(case_id, created)
        self.cases.append(case_id)

    def event(self, case_id: str, at: datetime) -> None:
        self.conn.execute(
            insert(case_events).values(
                id=new_id(), case_id=case_id, at=at, kind="status_changed",
                actor_kind=self.rng.choice(("system", "staff")), actor_id="x", actor_name="x",
                note="", data={},
            )
        )  # fmt: skip

    def change(self) -> str:
        """One random write of a kind a figure depends on; what it was."""
        rng = self.rng
        case_id = rng.choice(self.cases)
        kind = rng.choice((
            "status", "refund", "outcome", "costs", "breach", "reassign", "resolve", "line",
            "line_removed", "carrier", "event", "new_case", "sold", "team_renamed",
        ))  # fmt: skip
        c = return_cases.c
        match kind:
            case "status":
                values: dict[str, Any] = {"status": rng.choice(STATUSES)}
                self.conn.execute(update(return_cases).where(c.id == case_id).values(values))
            case "refund":
                self.conn.execute(
                    update(return_cases)
                    .where(c.id == case_id)
                    .values(refunded_amount=rng.randint(1, 9000))
                )
            case "outcome":
                self.conn.execute(
                    update(return_cases)
                    .where(c.id == case_id)
                    .values(decision_outcome=rng.choice(OUTCOMES))
                )
            case "costs":
                self.conn.execute(
                    update(return_cases)
                    .where(c.id == case_id)
                    .values(return_shipping_cost=rng.randint(0, 900), recovered_value=100)
                )
            case "breach" | "reassign" | "resolve":
                values = {
                    "breach": {"breached": True},
                    "reassign": {"team_id": rng.choice([None, *self.teams])},
                    "resolve": {"resolved_at": START + timedelta(days=DAYS + 1)},
                }[kind]
                self.conn.execute(
                    update(case_work).where(case_work.c.case_id == case_id).values(values)
                )
            case "line":
                self.conn.execute(
                    update(return_case_lines)
                    .where(return_case_lines.c.case_id == case_id)
                    .values(quantity=rng.randint(1, 9), reason=rng.choice(REASONS))
                )
            case "line_removed":
                self.conn.execute(
                    delete(return_case_lines).where(
                        return_case_lines.c.case_id == case_id, return_case_lines.c.position > 0
                    )
                )
            case "carrier":
                order_id = self.conn.execute(select(c.order_id).where(c.id == case_id)).scalar_one()
                self.conn.execute(delete(shipments).where(shipments.c.order_id == order_id))
                self.conn.execute(
                    insert(shipments).values(
                        id=new_id(), order_id=order_id, carrier=rng.choice(CARRIERS),
                        tracking_number="T",
                    )
                )  # fmt: skip
            case "event":
                self.event(case_id, START)
            case "new_case":
                self.case()
            case "sold":
                order_id, _ = rng.choice(self.orders)
                self.conn.execute(
                    update(order_lines)
                    .where(order_lines.c.order_id == order_id)
                    .values(quantity=rng.randint(1, 9))
                )
            case "team_renamed":  # names are read with the figures, never kept in the rollups
                team_id = rng.choice(self.teams)
                self.conn.execute(
                    update(teams).where(teams.c.id == team_id).values(name=f"Team {new_id()[-8:]}")
                )
        return kind


def periods(rng: Random) -> Iterator[tuple[datetime, datetime]]:
    yield START - timedelta(days=1), START + timedelta(days=DAYS + 1)  # whole days, all of it
    yield START + timedelta(days=2), START + timedelta(days=3)  # exactly one day
    yield START + timedelta(hours=30), START + timedelta(hours=40)  # inside a day
    for _ in range(4):
        a = START + timedelta(minutes=rng.randrange(-600, (DAYS + 1) * 1440))
        yield a, a + timedelta(minutes=rng.randrange(1, 5 * 1440))


def figures(
    repository: SqlStatsRepository, store_id: str, period: tuple[datetime, datetime]
) -> dict[str, Any]:
    start, end = period
    return {
        "totals": repository.totals(store_id, start, end),
        "rates": repository.sku_rates(store_id, start, end),
        **{by: repository.groups(store_id, start, end, by) for by in STAT_DIMENSIONS},
    }


def noted_days(container: Container) -> int:
    with container.engine.connect() as conn:
        return int(conn.execute(select(func.count(distinct(stats_dirty.c.day)))).scalar_one())


def assert_same(container: Container, store_id: str, rng: Random) -> None:
    with container.engine.connect() as conn:
        rollups, tables = SqlStatsRepository(conn), SqlStatsRepository(conn, rollups=False)
        for period in periods(rng):
            assert figures(rollups, store_id, period) == figures(tables, store_id, period), period
        assert rollups.queue_now(store_id) == tables.queue_now(store_id)


@pytest.mark.parametrize("seed", [1, 2])
def test_rollups_equal_the_figures_counted_from_the_cases(container: Container, seed: int) -> None:
    rng = Random(seed)
    store = ensure_default_store(container.uow, container.clock)
    with container.engine.begin() as conn:
        history = History(conn, store.id, rng)
        for _ in range(120):
            history.case()
    assert noted_days(container) >= DAYS
    assert_same(container, store.id, rng)  # nothing recounted yet: every day counted afresh
    assert refresh_stats(container.uow) >= DAYS
    assert noted_days(container) == 0
    with container.engine.connect() as conn:
        totals = conn.execute(select(func.sum(stats_day_totals.c.cases))).scalar_one()
    assert totals == 120
    assert_same(container, store.id, rng)  # every day from the rollups

    for _ in range(6):  # rounds of writes: their days counted afresh, then recounted
        with container.engine.begin() as conn:
            history.conn = conn
            kinds = {history.change() for _ in range(12)}
        assert noted_days(container) > 0 or kinds <= {"team_renamed"}
        assert_same(container, store.id, rng)
        refresh_stats(container.uow, store.id)
        assert noted_days(container) == 0
        assert_same(container, store.id, rng)


def test_only_changes_that_move_a_figure_leave_a_note(container: Container) -> None:
    store = ensure_default_store(container.uow, container.clock)
    with container.engine.begin() as conn:
        history = History(conn, store.id, Random(3))
        history.case()
    refresh_stats(container.uow)
    case_id = history.cases[0]
    with container.engine.begin() as conn:
        conn.execute(
            update(return_cases).where(return_cases.c.id == case_id).values(version=7)
        )  # the optimistic lock's counter: no figure moves
        conn.execute(
            update(case_work)
            .where(case_work.c.case_id == case_id)
            .values(next_check_at=START)  # the SLA sweep's bookkeeping
        )
        assert conn.execute(select(func.count()).select_from(stats_dirty)).scalar_one() == 0
        conn.execute(
            update(return_cases)
            .where(return_cases.c.id == case_id)
            .values(refunded_amount=123_456)  # a refund: the day's figures move
        )
        day = conn.execute(select(stats_dirty.c.day)).scalars().all()
    with container.engine.connect() as conn:
        opened = conn.execute(
            select(return_cases.c.created_at).where(return_cases.c.id == case_id)
        ).scalar_one()
    assert [str(d) for d in day] == [opened.date().isoformat()] * len(day) and day


def test_two_refreshes_at_once_do_not_trip_over_each_other(container: Container) -> None:
    store = ensure_default_store(container.uow, container.clock)
    with container.engine.begin() as conn:
        history = History(conn, store.id, Random(4))
        for _ in range(60):
            history.case()
    errors: list[BaseException] = []

    def refresh() -> None:
        try:
            refresh_stats(container.uow, store.id)
        except BaseException as exc:
            errors.append(exc)

    threads = [threading.Thread(target=refresh) for _ in range(3)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert errors == []
    assert_same(container, store.id, Random(5))


@pytest.mark.parametrize(
    ("minutes", "expected"),
    [(0, 0), (59.9, 59), (2879, 2879), (2880, 2880), (2889, 2880), (20159, 20150),
     (20160, 20160), (20219, 20160), (20220, 20220)],
)  # fmt: skip
def test_resolution_time_buckets(minutes: float, expected: int) -> None:
    assert bucket(minutes) == expected


def test_median_of_a_histogram() -> None:
    from collections import Counter

    assert median_hours(Counter()) is None
    assert median_hours(Counter({60: 1})) == 1.0
    assert median_hours(Counter({60: 1, 120: 1})) == 1.5  # the mean of the middle two
    assert median_hours(Counter({60: 2, 600: 1})) == 1.0
    assert median_hours(Counter({30: 1, 60: 1, 600: 2})) == 5.5


def test_a_period_splits_into_whole_utc_days_and_the_parts_around_them() -> None:
    berlin_midnight = datetime(2026, 3, 1, 23, 0, tzinfo=UTC)  # 00:00 in Berlin (UTC+1)
    edges, days = split(berlin_midnight, berlin_midnight + timedelta(days=2))
    assert days == (date(2026, 3, 2), date(2026, 3, 3))
    assert edges == [
        (berlin_midnight, datetime(2026, 3, 2, tzinfo=UTC)),
        (datetime(2026, 3, 3, tzinfo=UTC), datetime(2026, 3, 3, 23, 0, tzinfo=UTC)),
    ]
    aligned = datetime(2026, 3, 2, tzinfo=UTC)
    assert split(aligned, aligned + timedelta(days=1)) == ([], (date(2026, 3, 2), date(2026, 3, 3)))
    short = (aligned + timedelta(hours=1), aligned + timedelta(hours=5))
    assert split(*short) == ([short], None)
    across = (aligned - timedelta(hours=1), aligned + timedelta(hours=5))  # no whole day
    assert split(*across) == ([across], None)
