"""Integration tokens in SQL."""

from __future__ import annotations

from typing import Any

from sqlalchemy import Connection, Row, insert, select, update

from returndesk.adapters.db.tables import integration_tokens
from returndesk.domain.integrations import IntegrationToken


def _token(row: Row[Any]) -> IntegrationToken:
    return IntegrationToken(
        id=row.id,
        store_id=row.store_id,
        name=row.name,
        scopes=frozenset(row.scopes),
        secret_hash=row.secret_hash,
        created_by=row.created_by,
        created_at=row.created_at,
        last_used_at=row.last_used_at,
        revoked_at=row.revoked_at,
    )


class SqlIntegrationRepository:
    def __init__(self, conn: Connection) -> None:
        self._conn = conn

    def add(self, token: IntegrationToken) -> None:
        self._conn.execute(
            insert(integration_tokens).values(
                id=token.id,
                store_id=token.store_id,
                name=token.name,
                scopes=sorted(token.scopes),
                secret_hash=token.secret_hash,
                created_by=token.created_by,
                created_at=token.created_at,
                last_used_at=token.last_used_at,
                revoked_at=token.revoked_at,
            )
        )

    def get(self, token_id: str) -> IntegrationToken | None:
        row = self._conn.execute(
            select(integration_tokens).where(integration_tokens.c.id == token_id)
        ).first()
        return _token(row) if row else None

    def for_store(self, store_id: str) -> list[IntegrationToken]:
        rows = self._conn.execute(
            select(integration_tokens)
            .where(integration_tokens.c.store_id == store_id)
            .order_by(integration_tokens.c.created_at.desc(), integration_tokens.c.id)
        )
        return [_token(r) for r in rows]

    def save(self, token: IntegrationToken) -> None:
        self._conn.execute(
            update(integration_tokens)
            .where(integration_tokens.c.id == token.id)
            .values(last_used_at=token.last_used_at, revoked_at=token.revoked_at)
        )
