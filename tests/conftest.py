"""Shared fixtures: real SQLite and PostgreSQL databases, a controllable clock, a live server."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from returndesk.adapters.auth.passwords import Argon2Hasher
from returndesk.adapters.db.migrate import upgrade
from returndesk.bootstrap import Container, bootstrap
from returndesk.config import Settings
from returndesk.services.stores import ensure_default_store
from returndesk.web.app import create_app
from servers import ThrowawayPostgres
from servers.live import LiveServer

SECRET = "test-secret-key-that-is-long-enough-0123456789"


class FakeClock:
    """Time that only moves when a test says so (starts near real time: tokens check `exp`)."""

    def __init__(self, start: datetime | None = None) -> None:
        self.now = start or datetime.now(UTC).replace(microsecond=0)

    def __call__(self) -> datetime:
        return self.now

    def advance(self, **delta: float) -> datetime:
        self.now += timedelta(**delta)
        return self.now


@pytest.fixture(scope="session")
def postgres() -> Iterator[ThrowawayPostgres]:
    with ThrowawayPostgres() as pg:
        yield pg


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock()


def make_settings(home: Path, database_url: str, **overrides: object) -> Settings:
    values: dict[str, object] = {
        "home": home,
        "database_url": database_url,
        "secret_key": SECRET,
        "buyer_session_rate": "10000/minute",
        "assistant_message_rate": "10000/minute",
        "webhook_allow_private": True,  # receivers in tests listen on loopback
        "quiet_hours": "",  # tests run at any hour; quiet hours have tests of their own
        **overrides,
    }
    return Settings(**values)  # type: ignore[arg-type]


def make_container(settings: Settings, clock: FakeClock) -> Container:
    container = bootstrap(settings, clock=clock, hasher=Argon2Hasher(fast=True))
    upgrade(container.engine)
    ensure_default_store(container.uow, clock)
    return container


@pytest.fixture(params=["sqlite", "postgresql"])
def database_url(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    """A fresh, empty database on each backend."""
    if request.param == "sqlite":
        yield f"sqlite:///{tmp_path / 'returndesk.sqlite3'}"
        return
    pg: ThrowawayPostgres = request.getfixturevalue("postgres")
    name = f"t_{uuid.uuid4().hex[:16]}"
    yield pg.create_database(name)
    pg.drop_database(name)


@pytest.fixture
def sqlite_url(tmp_path: Path) -> str:
    return f"sqlite:///{tmp_path / 'returndesk.sqlite3'}"


@pytest.fixture
def settings_overrides() -> dict[str, object]:
    """Settings a test module changes for its `container` (override this fixture)."""
    return {}


@pytest.fixture
def container(
    database_url: str, tmp_path: Path, clock: FakeClock, settings_overrides: dict[str, object]
) -> Iterator[Container]:
    """A migrated database with its default store, on SQLite and on PostgreSQL."""
    built = make_container(
        make_settings(tmp_path / "home", database_url, **settings_overrides), clock
    )
    yield built
    built.close()


@pytest.fixture
def sqlite_container(sqlite_url: str, tmp_path: Path, clock: FakeClock) -> Iterator[Container]:
    """The embedded default only (for tests that need no second backend)."""
    built = make_container(make_settings(tmp_path / "home", sqlite_url), clock)
    yield built
    built.close()


@pytest.fixture
def live_server(container: Container) -> Iterator[LiveServer]:
    """The real app over real HTTP, on each backend."""
    with LiveServer(create_app(container)) as server:
        yield server
