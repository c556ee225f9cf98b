"""Wire once: build adapters from settings and hand them to the edges (web, CLI, tests)."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, datetime

from sqlalchemy import Engine

from returndesk.adapters.auth.passwords import Argon2Hasher
from returndesk.adapters.auth.tokens import TokenIssuer
from returndesk.adapters.db.engine import build_engine
from returndesk.adapters.db.uow import SqlUnitOfWorkFactory
from returndesk.adapters.jobs import InProcessJobs
from returndesk.adapters.live import LiveHub
from returndesk.adapters.webhooks import WebhookDispatcher
from returndesk.config import Settings
from returndesk.services.ports import Clock, PasswordHasher


def utc_now() -> datetime:
    return datetime.now(UTC)


@dataclass(slots=True)
class Container:
    settings: Settings
    engine: Engine
    uow: SqlUnitOfWorkFactory
    hasher: PasswordHasher
    tokens: TokenIssuer
    clock: Clock
    jobs: InProcessJobs = field(default_factory=InProcessJobs)
    live: LiveHub = field(default_factory=LiveHub)
    dispatcher: WebhookDispatcher | None = None

    def start_dispatcher(self) -> None:
        """Deliver the outbox (webhooks) from a background thread of this process."""
        if self.dispatcher is None:
            self.dispatcher = WebhookDispatcher(
                self.engine, self.clock, allow_private=self.settings.webhook_allow_private
            ).start()

    def close(self) -> None:
        if self.dispatcher is not None:
            self.dispatcher.stop()
            self.dispatcher = None
        self.engine.dispose()


def bootstrap(
    settings: Settings | None = None,
    *,
    clock: Clock = utc_now,
    hasher: PasswordHasher | None = None,
) -> Container:
    settings = settings or Settings()
    settings.home.mkdir(parents=True, exist_ok=True)
    engine = build_engine(settings.database_url)
    live = LiveHub()
    return Container(
        settings=settings,
        engine=engine,
        uow=SqlUnitOfWorkFactory(engine, after_commit=live.publish),
        live=live,
        hasher=hasher or Argon2Hasher(),
        tokens=TokenIssuer(settings.secret_key, clock),
        clock=clock,
    )
