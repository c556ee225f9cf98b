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
from returndesk.domain.cases.status import TERMINAL
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
    def __init__(self, conn: Connection, store_id: str, rng: Random, days: int = DAYS) -> None:
        self.conn, self.store_id, self.rng, self.days = conn, store_id, rng, days
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
        return START + timedelta(seconds=self.rng.randrange(self.days * 86400))

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
            "case_facts", "fees", "line_facts", "sold_sku", "work_added", "work_removed",
            "case_moved", "order_moved",
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
            case "case_facts":
                market = rng.choice(MARKETS)
                self.conn.execute(
                    update(return_cases)
                    .where(c.id == case_id)
                    .values(
                        market=market[0], language=market[1], currency=market[2],
                        preferred_resolution=rng.choice(("refund", "exchange", "store_credit")),
                    )
                )  # fmt: skip
            case "fees":
                self.conn.execute(
                    update(return_cases)
                    .where(c.id == case_id)
                    .values(handling_cost=rng.randint(0, 500), payment_fees=rng.randint(0, 90))
                )
            case "line_facts":
                self.conn.execute(
                    update(return_case_lines)
                    .where(return_case_lines.c.case_id == case_id)
                    .values(sku=rng.choice(SKUS), refundable_amount=rng.randint(100, 9000))
                )
            case "sold_sku":
                order_id, _ = rng.choice(self.orders)
                self.conn.execute(
                    update(order_lines)
                    .where(order_lines.c.order_id == order_id, order_lines.c.position == 0)
                    .values(sku=rng.choice(SKUS))
                )
            case "work_added" | "work_removed":
                self.conn.execute(delete(case_work).where(case_work.c.case_id == case_id))
                if kind == "work_added":
                    self.conn.execute(
                        insert(case_work).values(
                            case_id=case_id, store_id=self.store_id, team_id=self.teams[0],
                            open=True, breached=True, sla={},
                        )
                    )  # fmt: skip
            case "case_moved":  # a fix by hand: its old day and its new one both change
                self.conn.execute(
                    update(return_cases)
                    .where(c.id == case_id)
                    .values(created_at=self.at() + timedelta(days=rng.choice((-2, 2))))
                )
            case "order_moved":
                order_id, _ = rng.choice(self.orders)
                self.conn.execute(
                    update(orders).where(orders.c.id == order_id).values(placed_at=self.at())
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


# One column at a time, each watched by a trigger: a change of it alone must be recounted.
SINGLE_CHANGES: list[tuple[str, Any, dict[str, Any]]] = [
    ("return_cases", "market", {"market": "FR"}),
    ("return_cases", "language", {"language": "fr"}),
    ("return_cases", "currency", {"currency": "CHF"}),
    ("return_cases", "status", {"status": "escalated"}),
    ("return_cases", "preferred_resolution", {"preferred_resolution": "store_credit"}),
    ("return_cases", "refunded_amount", {"refunded_amount": 123_457}),
    ("return_cases", "decision_outcome", {"decision_outcome": "human_review"}),
    ("return_cases", "return_shipping_cost", {"return_shipping_cost": 777}),
    ("return_cases", "handling_cost", {"handling_cost": 778}),
    ("return_cases", "payment_fees", {"payment_fees": 779}),
    ("return_cases", "recovered_value", {"recovered_value": 780}),
    ("return_cases", "created_at", {"created_at": START + timedelta(days=3, hours=1)}),
    ("return_case_lines", "sku", {"sku": "SKU-9"}),
    ("return_case_lines", "quantity", {"quantity": 17}),
    ("return_case_lines", "reason", {"reason": "damaged"}),
    ("return_case_lines", "refundable_amount", {"refundable_amount": 98_765}),
    ("case_work", "team_id", {"team_id": "third"}),  # (a team made for the test)
    ("case_work", "breached", {"breached": ~case_work.c.breached}),
    ("case_work", "resolved_at", {"resolved_at": START + timedelta(days=9)}),
    ("order_lines", "sku", {"sku": "SKU-8"}),
    ("order_lines", "quantity", {"quantity": 42}),
    ("orders", "placed_at", {"placed_at": START + timedelta(days=4, hours=2)}),
    ("shipments", "carrier", {"carrier": "Yamato"}),
]  # fmt: skip


def test_a_change_of_any_one_watched_column_is_recounted(container: Container) -> None:
    """Each change alone, on the first day's case (or its order), then recounted: the old and
    the new day of a case or an order moved by hand included."""
    store = ensure_default_store(container.uow, container.clock)
    with container.engine.begin() as conn:
        history = History(conn, store.id, Random(7))
        for _ in range(40):
            history.case()
        third = history._team("Asia")
    refresh_stats(container.uow)
    period = (START - timedelta(days=1), START + timedelta(days=DAYS + 5))
    tables_by_name = {
        t.name: t
        for t in (return_cases, return_case_lines, case_work, order_lines, orders, shipments)
    }
    for table_name, column, values in SINGLE_CHANGES:
        table = tables_by_name[table_name]
        values = {k: third if v == "third" else v for k, v in values.items()}
        with container.engine.begin() as conn:
            case_id, order_id = conn.execute(
                select(return_cases.c.id, return_cases.c.order_id)
                .join(case_work, case_work.c.case_id == return_cases.c.id)
                .where(return_cases.c.created_at < START + timedelta(days=1))
                .order_by(return_cases.c.created_at)
                .limit(1)
            ).one()
            key = {
                "return_cases": table.c.get("id"),
                "orders": table.c.get("id"),
                "order_lines": table.c.get("order_id"),
                "shipments": table.c.get("order_id"),
            }.get(table_name, table.c.get("case_id"))
            target = order_id if table_name in ("orders", "order_lines", "shipments") else case_id
            if table_name == "shipments":  # the order has one to change
                conn.execute(
                    insert(shipments).values(
                        id=new_id(), order_id=order_id, carrier="AAA", tracking_number="T"
                    )
                )
            changed = conn.execute(update(table).where(key == target).values(values)).rowcount
            assert changed, (table_name, column)
        assert noted_days(container) > 0, (table_name, column)
        refresh_stats(container.uow)
        with container.engine.connect() as conn:
            rollups, tables = SqlStatsRepository(conn), SqlStatsRepository(conn, rollups=False)
            assert figures(rollups, store.id, period) == figures(tables, store.id, period), column
            assert rollups.queue_now(store.id) == tables.queue_now(store.id), column


def test_past_fifteen_noted_days_the_whole_period_is_counted_afresh(
    container: Container,
) -> None:
    store = ensure_default_store(container.uow, container.clock)
    with container.engine.begin() as conn:
        history = History(conn, store.id, Random(6), days=20)
        for _ in range(80):
            history.case()
    assert noted_days(container) > 15
    period = (START, START + timedelta(days=20))
    with container.engine.connect() as conn:
        rollups, tables = SqlStatsRepository(conn), SqlStatsRepository(conn, rollups=False)
        assert figures(rollups, store.id, period) == figures(tables, store.id, period)
        assert rollups.queue_now(store.id) == tables.queue_now(store.id)
        assert rollups.totals(store.id, *period).cases == 80
    refresh_stats(container.uow)
    with container.engine.connect() as conn:
        rollups, tables = SqlStatsRepository(conn), SqlStatsRepository(conn, rollups=False)
        assert figures(rollups, store.id, period) == figures(tables, store.id, period)


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
    assert median_hours(Counter({3000: 1})) == 50.08  # 2 days and more: the bucket's middle
    assert median_hours(Counter({20160: 1})) == 336.5


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


def test_what_the_rollups_hold_is_pinned() -> None:
    """The stored rollups were counted with these definitions. Changing one (a new grouping,
    another set of closed statuses, other buckets) leaves every stored day counted the old
    way: ship a migration that notes every day (INSERT INTO stats_dirty SELECT DISTINCT
    store_id, <its day> FROM return_cases / orders, as 0015 does), then update this pin."""
    assert STAT_DIMENSIONS == (
        "reason", "sku", "market", "language", "status", "carrier", "team", "outcome",
        "resolution", "day",
    )  # fmt: skip
    assert sorted(s.value for s in TERMINAL) == ["canceled", "closed"]
    assert [bucket(m) for m in (2879, 2880, 20159, 20160)] == [2879, 2880, 20150, 20160]
