"""Alembic migrations on SQLite and PostgreSQL: idempotent, equal to tables.py, reversible."""

from __future__ import annotations

import pytest
from alembic import command
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from alembic.script import ScriptDirectory
from builders import add_order, count_rows, open_case
from sqlalchemy import Engine, delete, insert, inspect, select, text
from sqlalchemy.exc import DBAPIError

from returndesk.adapters.db.engine import build_engine
from returndesk.adapters.db.migrate import alembic_config, upgrade
from returndesk.adapters.db.tables import case_events, metadata, policy_versions, stores
from returndesk.adapters.db.uow import SqlUnitOfWorkFactory
from returndesk.bootstrap import Container
from returndesk.services.policies import get_active
from returndesk.services.ports import Clock
from returndesk.services.principal import SYSTEM
from returndesk.services.returns import get_case
from returndesk.services.stores import ensure_default_store

HEAD = ScriptDirectory.from_config(alembic_config()).get_current_head()
TABLES = {table.name for table in metadata.sorted_tables}


def _diffs(engine: Engine) -> list[object]:
    with engine.connect() as conn:
        context = MigrationContext.configure(
            conn,
            opts={"compare_type": True, "compare_server_default": True},
        )
        return list(compare_metadata(context, metadata))


def _revision(engine: Engine) -> str | None:
    with engine.connect() as conn:
        return MigrationContext.configure(conn).get_current_revision()


def _alembic(engine: Engine, action: str, revision: str) -> None:
    config = alembic_config()
    with engine.begin() as conn:
        config.attributes["connection"] = conn
        getattr(command, action)(config, revision)


def _snapshot(engine: Engine) -> dict[str, object]:
    inspector = inspect(engine)
    return {
        name: (
            [c["name"] for c in inspector.get_columns(name)],
            sorted(i["name"] for i in inspector.get_indexes(name)),
        )
        for name in inspector.get_table_names()
    }


def test_upgrade_twice_is_a_no_op(container: Container, clock) -> None:
    engine = container.engine
    add_order(container, "1001")
    opened = open_case(container, "1001")
    schema, rows = _snapshot(engine), count_rows(engine)
    assert _revision(engine) == HEAD

    upgrade(engine)
    upgrade(engine)

    assert _revision(engine) == HEAD
    assert _snapshot(engine) == schema
    assert count_rows(engine) == rows
    assert get_case(container.uow, SYSTEM, opened.case.id).version == 1
    with engine.connect() as conn:
        assert conn.execute(select(stores.c.slug)).scalars().all() == ["default"]
        versions = conn.execute(text("SELECT version_num FROM alembic_version")).all()
    assert [v[0] for v in versions] == [HEAD]


def test_migrated_schema_matches_tables_py(container: Container) -> None:
    assert set(inspect(container.engine).get_table_names()) == TABLES | {"alembic_version"}
    assert _diffs(container.engine) == []


STATS_TABLES = (
    "return_cases", "return_case_lines", "case_work", "case_events", "orders", "order_lines",
    "shipments",
)  # fmt: skip


def _stats_triggers(engine: Engine) -> set[tuple[str, str]]:
    """(table, trigger) of the triggers that note the dashboard's touched days."""
    with engine.connect() as conn:
        if engine.dialect.name == "postgresql":
            rows = conn.execute(
                text(
                    "SELECT c.relname, t.tgname FROM pg_trigger t JOIN pg_class c "
                    "ON c.oid = t.tgrelid WHERE t.tgname LIKE 'stats_%' AND NOT t.tgisinternal"
                )
            )
        else:
            rows = conn.execute(
                text(
                    "SELECT tbl_name, name FROM sqlite_master "
                    "WHERE type = 'trigger' AND name LIKE 'stats_%'"
                )
            )
        return {(table, name) for table, name in rows}


def test_every_table_a_dashboard_figure_reads_has_its_triggers(container: Container) -> None:
    """A later migration that rebuilds one of these tables (SQLite's batch mode copies a table
    and drops the old one, triggers and all) must recreate them: the rollups would drift."""
    found = _stats_triggers(container.engine)
    per_table = {table: sum(1 for t, _ in found if t == table) for table in STATS_TABLES}
    if container.engine.dialect.name == "postgresql":  # insert-or-delete, and update
        assert per_table == {**dict.fromkeys(STATS_TABLES, 2), "case_events": 1}
    else:  # insert, update, delete
        assert per_table == {**dict.fromkeys(STATS_TABLES, 3), "case_events": 1}


def test_downgrade_to_base_and_up_again(container: Container, clock) -> None:
    engine = container.engine
    add_order(container, "1001")
    open_case(container, "1001", key="k")  # downgrading works with data in every table

    _alembic(engine, "downgrade", "base")
    assert _revision(engine) is None
    assert set(inspect(engine).get_table_names()) <= {"alembic_version"}
    if engine.dialect.name == "postgresql":
        with engine.connect() as conn:
            leftovers = conn.execute(
                text(
                    "SELECT count(*) FROM pg_proc WHERE proname = 'case_events_append_only' "
                    "OR proname LIKE 'stats_note_%'"
                )
            ).scalar_one()
        assert leftovers == 0

    _alembic(engine, "upgrade", "head")
    assert _revision(engine) == HEAD
    assert set(inspect(engine).get_table_names()) == TABLES | {"alembic_version"}
    assert _diffs(engine) == []
    assert count_rows(engine) == dict.fromkeys(count_rows(engine), 0)

    # The rebuilt schema works, append-only trigger included.
    ensure_default_store(container.uow, clock)
    add_order(container, "1001")
    open_case(container, "1001")
    with pytest.raises(DBAPIError), engine.begin() as conn:
        conn.execute(delete(case_events))
    assert count_rows(engine)["case_events"] == 2  # case_opened, decision_made

    # And down and up once more, by the project's own helper this time.
    _alembic(engine, "downgrade", "base")
    upgrade(engine)
    assert _revision(engine) == HEAD
    assert _diffs(engine) == []


def test_0002_turns_each_stores_basic_policy_into_version_1(
    database_url: str, clock: Clock
) -> None:
    engine = build_engine(database_url)
    try:
        upgrade(engine, "0001")
        old = {
            "return_window_days": 14,
            "fault_window_days": 60,
            "non_returnable_categories": ["hygiene", "custom"],
        }
        with engine.begin() as conn:  # stores as 0001 left them: the basic policy as JSON
            for slug, policy in (("old", old), ("empty", {})):
                conn.execute(
                    insert(stores).values(
                        id=f"store-{slug}",
                        slug=slug,
                        name=slug,
                        default_currency="EUR",
                        timezone="UTC",
                        policy=policy,
                        created_at=clock(),
                    )
                )

        upgrade(engine)

        assert _revision(engine) == HEAD
        assert _diffs(engine) == []
        with engine.connect() as conn:
            saved = {row.store_id: row for row in conn.execute(select(policy_versions)).all()}
            active = dict(conn.execute(select(stores.c.id, stores.c.policy_version)).all())
        assert sorted(saved) == ["store-empty", "store-old"]
        assert active == {"store-empty": 1, "store-old": 1}
        converted = saved["store-old"]
        assert converted.version == 1
        assert converted.created_by == "migration 0002"
        assert converted.document["windows"] == {"change_of_mind_days": 14, "fault_days": 60}
        assert converted.document["categories"] == {
            "final_sale": ["custom", "hygiene"],
            "non_returnable": [],
        }
        defaults = saved["store-empty"].document
        assert defaults["windows"] == {"change_of_mind_days": 30, "fault_days": 365}
        assert defaults["categories"] == {"final_sale": [], "non_returnable": []}

        # The converted document is a valid policy and is what the store now uses.
        uow = SqlUnitOfWorkFactory(engine)
        version = get_active(uow, SYSTEM, "old")
        assert (version.version, version.document) == (1, converted.document)
        with uow() as work:
            store = work.stores.get_by_slug("old")
            assert store is not None
            _, policy = work.policies.active(store)
        assert (policy.change_of_mind_days, policy.fault_days) == (14, 60)
        assert policy.final_sale_categories == frozenset({"hygiene", "custom"})
    finally:
        engine.dispose()
