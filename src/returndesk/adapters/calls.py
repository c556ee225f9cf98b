"""Video calls in SQL: one row per call, its seats as JSON, saved with a version check."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import Connection, insert, select, update
from sqlalchemy.engine import Row

from returndesk.adapters.db.tables import calls
from returndesk.domain.calls import Call, CallStatus, Consent, Participant
from returndesk.domain.errors import StaleVersion

_OPEN = [CallStatus.waiting.value, CallStatus.active.value]


def _call(row: Row[Any]) -> Call:
    return Call(
        id=row.id,
        store_id=row.store_id,
        case_id=row.case_id,
        started_by=row.started_by,
        started_by_name=row.started_by_name,
        created_at=row.created_at,
        expires_at=row.expires_at,
        status=CallStatus(row.status),
        started_at=row.started_at,
        ended_at=row.ended_at,
        consent=Consent(row.consent) if row.consent else None,
        consent_at=row.consent_at,
        participants=[Participant.from_dict(p) for p in row.participants],
        recording_ids=list(row.recording_ids),
        still_ids=list(row.still_ids),
        version=row.version,
    )


def _values(call: Call) -> dict[str, Any]:
    return {
        "status": call.status.value,
        "expires_at": call.expires_at,
        "started_at": call.started_at,
        "ended_at": call.ended_at,
        "consent": call.consent.value if call.consent else None,
        "consent_at": call.consent_at,
        "participants": [p.to_dict() for p in call.participants],
        "recording_ids": list(call.recording_ids),
        "still_ids": list(call.still_ids),
    }


class SqlCallRepository:
    def __init__(self, conn: Connection) -> None:
        self._conn = conn

    def get(self, call_id: str, *, for_update: bool = False) -> Call | None:
        query = select(calls).where(calls.c.id == call_id)
        if for_update and self._conn.dialect.name == "postgresql":
            query = query.with_for_update()
        row = self._conn.execute(query).first()
        return _call(row) if row else None

    def for_case(self, case_id: str) -> list[Call]:
        rows = self._conn.execute(
            select(calls).where(calls.c.case_id == case_id).order_by(calls.c.created_at)
        )
        return [_call(r) for r in rows]

    def add(self, call: Call) -> None:
        self._conn.execute(
            insert(calls).values(
                id=call.id,
                store_id=call.store_id,
                case_id=call.case_id,
                started_by=call.started_by,
                started_by_name=call.started_by_name,
                created_at=call.created_at,
                version=1,
                **_values(call),
            )
        )
        call.version = 1

    def save(self, call: Call) -> None:
        version = call.version
        done = self._conn.execute(
            update(calls)
            .where(calls.c.id == call.id, calls.c.version == version)
            .values(version=version + 1, **_values(call))
        )
        if done.rowcount != 1:
            raise StaleVersion("the call changed meanwhile", code="call_busy")
        call.version = version + 1

    def open_calls(self, now: datetime, limit: int = 100) -> list[Call]:
        rows = self._conn.execute(
            select(calls)
            .where(calls.c.status.in_(_OPEN), calls.c.expires_at <= now)
            .order_by(calls.c.expires_at)
            .limit(limit)
        )
        return [_call(r) for r in rows]

    def ended_since(self, since: datetime, limit: int = 100) -> list[Call]:
        rows = self._conn.execute(
            select(calls)
            .where(calls.c.status == CallStatus.ended.value, calls.c.ended_at >= since)
            .order_by(calls.c.ended_at.desc())
            .limit(limit)
        )
        return [_call(r) for r in rows]
