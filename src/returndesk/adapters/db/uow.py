"""The unit of work: one connection, one transaction, rolled back unless committed."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from types import TracebackType
from typing import Self

from sqlalchemy import Connection, Engine
from sqlalchemy.exc import IntegrityError, OperationalError

from returndesk.adapters.bookings import SqlBookingRepository
from returndesk.adapters.calls import SqlCallRepository
from returndesk.adapters.conversations import SqlConversationRepository
from returndesk.adapters.db.repositories import (
    SqlCaseRepository,
    SqlIdempotencyRepository,
    SqlOrderRepository,
    SqlOutbox,
    SqlPolicyRepository,
    SqlStaffRepository,
    SqlStoreRepository,
)
from returndesk.adapters.evidence import SqlEvidenceRepository
from returndesk.adapters.help import SqlHelpRepository
from returndesk.adapters.integrations import SqlIntegrationRepository
from returndesk.adapters.logistics import SqlLogisticsRepository
from returndesk.adapters.mail import SqlEmailRepository
from returndesk.adapters.rules.compiler import PolicyCompiler
from returndesk.adapters.staff_inbox import SqlStaffInbox
from returndesk.adapters.stats import SqlStatsRepository
from returndesk.adapters.teams import SqlTeamRepository
from returndesk.adapters.webhooks import SqlWebhookRepository
from returndesk.domain.errors import Busy, Conflict
from returndesk.services.ports import OutboxMessage

AfterCommit = Callable[[Sequence[OutboxMessage]], None]


class SqlUnitOfWork:
    stores: SqlStoreRepository
    staff: SqlStaffRepository
    orders: SqlOrderRepository
    cases: SqlCaseRepository
    idempotency: SqlIdempotencyRepository
    outbox: SqlOutbox
    policies: SqlPolicyRepository
    webhooks: SqlWebhookRepository
    emails: SqlEmailRepository
    evidence: SqlEvidenceRepository
    conversations: SqlConversationRepository
    help: SqlHelpRepository
    teams: SqlTeamRepository
    stats: SqlStatsRepository
    calls: SqlCallRepository
    bookings: SqlBookingRepository
    logistics: SqlLogisticsRepository
    integrations: SqlIntegrationRepository
    inbox: SqlStaffInbox

    def __init__(
        self,
        engine: Engine,
        compiler: PolicyCompiler,
        *,
        write: bool = False,
        after_commit: AfterCommit | None = None,
    ) -> None:
        self._engine = engine
        self._compiler = compiler
        self._after_commit = after_commit
        self._write = write
        self._conn: Connection | None = None

    def __enter__(self) -> Self:
        conn = self._engine.connect()
        if self._engine.dialect.name == "sqlite" and self._write:
            # Take the write lock first, so reads inside see the latest committed data.
            conn.info["sqlite_begin"] = "BEGIN IMMEDIATE"
        conn.begin()
        self._conn = conn
        self.stores = SqlStoreRepository(conn)
        self.staff = SqlStaffRepository(conn)
        self.orders = SqlOrderRepository(conn)
        self.outbox = SqlOutbox(conn)
        self.cases = SqlCaseRepository(conn, self.outbox)
        self.idempotency = SqlIdempotencyRepository(conn)
        self.policies = SqlPolicyRepository(conn, self._compiler)
        self.webhooks = SqlWebhookRepository(conn)
        self.emails = SqlEmailRepository(conn)
        self.evidence = SqlEvidenceRepository(conn)
        self.conversations = SqlConversationRepository(conn)
        self.help = SqlHelpRepository(conn)
        self.teams = SqlTeamRepository(conn, self._compiler.holidays)
        self.stats = SqlStatsRepository(conn)
        self.calls = SqlCallRepository(conn)
        self.bookings = SqlBookingRepository(conn)
        self.logistics = SqlLogisticsRepository(conn)
        self.integrations = SqlIntegrationRepository(conn)
        self.inbox = SqlStaffInbox(conn)
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        conn = self._conn
        if conn is None:
            return
        try:
            if conn.in_transaction():
                conn.rollback()
        finally:
            conn.close()
            self._conn = None
        if isinstance(exc, IntegrityError) and _is_unique_violation(exc):
            # Two writers raced for the same unique row (an order number, an email): the loser
            # rolled back; tell the caller to retry rather than failing with a server error.
            raise Conflict(
                "someone else changed this at the same time: try again", code="concurrent_write"
            ) from exc
        if isinstance(exc, OperationalError) and "locked" in str(exc.orig).lower():
            raise Busy("the database is busy: try again in a moment") from exc

    def commit(self) -> None:
        assert self._conn is not None
        self._conn.commit()
        written, self.outbox.written = self.outbox.written, []
        if written and self._after_commit is not None:
            self._after_commit(written)

    def rollback(self) -> None:
        assert self._conn is not None
        self._conn.rollback()


class SqlUnitOfWorkFactory:
    def __init__(
        self,
        engine: Engine,
        compiler: PolicyCompiler | None = None,
        after_commit: AfterCommit | None = None,
    ) -> None:
        self.engine = engine
        self.compiler = compiler or PolicyCompiler()
        self.after_commit = after_commit  # e.g. the live hub: wake subscribers of what changed

    def __call__(self, *, write: bool = False) -> SqlUnitOfWork:
        return SqlUnitOfWork(
            self.engine, self.compiler, write=write, after_commit=self.after_commit
        )


def _is_unique_violation(exc: IntegrityError) -> bool:
    sqlstate = getattr(exc.orig, "sqlstate", None)  # psycopg
    if sqlstate is not None:
        return bool(sqlstate == "23505")
    return "UNIQUE constraint failed" in str(exc.orig)  # sqlite3
