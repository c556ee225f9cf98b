"""Alembic migrations on SQLite and PostgreSQL: idempotent, equal to tables.py, reversible."""

from __future__ import annotations

import pytest
from alembic import command
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from alembic.script import ScriptDirectory
from builders import add_order, count_rows, open_case
from sqlalchemy import Engine, delete, inspect, select, text
from sqlalchemy.exc import DBAPIError

from returndesk.adapters.db.migrate import alembic_config, upgrade
from returndesk.adapters.db.tables import case_events, metadata, stores
from returndesk.bootstrap import Container
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
                text("SELECT count(*) FROM pg_proc WHERE proname = 'case_events_append_only'")
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
    assert count_rows(engine)["case_events"] == 1

    # And down and up once more, by the project's own helper this time.
    _alembic(engine, "downgrade", "base")
    upgrade(engine)
    assert _revision(engine) == HEAD
    assert _diffs(engine) == []
