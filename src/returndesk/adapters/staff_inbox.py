"""A member of staff's notification inbox in SQL: newest first, read or not."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import Connection, Row, func, insert, select, update

from returndesk.adapters.db.tables import staff_notifications
from returndesk.domain.notifications import StaffNotice, StaffNotification

n = staff_notifications.c


def _notification(row: Row[Any]) -> StaffNotification:
    return StaffNotification(
        id=row.id,
        notice=StaffNotice(row.kind),
        case_id=row.case_id,
        case_number=row.case_number,
        data=dict(row.data or {}),
        created_at=row.created_at,
        read_at=row.read_at,
        conversation_id=row.conversation_id,
    )


class SqlStaffInbox:
    def __init__(self, conn: Connection) -> None:
        self._conn = conn

    def list(
        self, staff_id: str, *, unread_only: bool, limit: int, before: str | None = None
    ) -> list[StaffNotification]:
        query = select(staff_notifications).where(n.staff_id == staff_id)
        if unread_only:
            query = query.where(n.read_at.is_(None))
        if before is not None:  # the page after the one that ended with this notification
            anchor = (
                select(n.created_at).where(n.id == before, n.staff_id == staff_id).scalar_subquery()
            )
            query = query.where(
                (n.created_at < anchor) | ((n.created_at == anchor) & (n.id < before))
            )
        rows = self._conn.execute(query.order_by(n.created_at.desc(), n.id.desc()).limit(limit))
        return [_notification(row) for row in rows]

    def get(self, staff_id: str, notification_id: str) -> StaffNotification | None:
        """The staff member's notification (another person's is None)."""
        row = self._conn.execute(
            select(staff_notifications).where(n.id == notification_id, n.staff_id == staff_id)
        ).first()
        return _notification(row) if row is not None else None

    def unread(self, staff_id: str) -> int:
        return int(
            self._conn.execute(
                select(func.count()).where(n.staff_id == staff_id, n.read_at.is_(None))
            ).scalar_one()
        )

    def add(self, store_id: str, staff_id: str, notification: StaffNotification) -> None:
        self._conn.execute(
            insert(staff_notifications).values(
                id=notification.id,
                store_id=store_id,
                staff_id=staff_id,
                case_id=notification.case_id,
                case_number=notification.case_number,
                conversation_id=notification.conversation_id,
                kind=notification.notice.value,
                data=dict(notification.data),
                created_at=notification.created_at,
                read_at=None,
            )
        )

    def mark_read(self, staff_id: str, ids: Sequence[str] | None, at: datetime) -> int:
        """Mark these (all when None) of the staff member's unread notifications read."""
        query = update(staff_notifications).where(n.staff_id == staff_id, n.read_at.is_(None))
        if ids is not None:
            query = query.where(n.id.in_(list(ids)))
        return int(self._conn.execute(query.values(read_at=at)).rowcount)
