"""Booked video calls in SQL: one row per booking, saved with a version check; and staff's
time off, when no call is booked with them."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import Connection, delete, insert, or_, select, update
from sqlalchemy.engine import Row

from returndesk.adapters.db.tables import call_bookings, return_cases, staff_time_off, staff_users
from returndesk.domain.cases.status import TERMINAL
from returndesk.domain.errors import StaleVersion
from returndesk.domain.scheduling import BookingStatus, CallBooking, TimeOff

cb, to = call_bookings.c, staff_time_off.c
_BOOKED = BookingStatus.booked.value
_LONGEST = timedelta(hours=2)  # no booking is longer (slots are SLOT_MINUTES)


def _booking(row: Row[Any]) -> CallBooking:
    return CallBooking(
        id=row.id,
        store_id=row.store_id,
        case_id=row.case_id,
        team_id=row.team_id,
        agent_id=row.agent_id,
        agent_name=row.agent_name,
        starts_at=row.starts_at,
        minutes=row.minutes,
        timezone=row.timezone,
        booked_by=row.booked_by,
        created_at=row.created_at,
        status=BookingStatus(row.status),
        reminders=tuple(row.reminders),
        call_id=row.call_id,
        ended_at=row.ended_at,
        version=row.version,
    )


def _time_off(row: Row[Any]) -> TimeOff:
    return TimeOff(
        id=row.id, store_id=row.store_id, staff_id=row.staff_id, starts_at=row.starts_at,
        ends_at=row.ends_at, note=row.note, created_by=row.created_by, created_at=row.created_at,
    )  # fmt: skip


def _values(booking: CallBooking) -> dict[str, Any]:
    return {
        "status": booking.status.value,
        "reminders": list(booking.reminders),
        "next_check_at": booking.next_reminder_at(),
        "call_id": booking.call_id,
        "ended_at": booking.ended_at,
    }


class SqlBookingRepository:
    def __init__(self, conn: Connection) -> None:
        self._conn = conn

    def add(self, booking: CallBooking) -> None:
        self._conn.execute(
            insert(call_bookings).values(
                id=booking.id,
                store_id=booking.store_id,
                case_id=booking.case_id,
                team_id=booking.team_id,
                agent_id=booking.agent_id,
                agent_name=booking.agent_name,
                starts_at=booking.starts_at,
                minutes=booking.minutes,
                timezone=booking.timezone,
                booked_by=booking.booked_by,
                created_at=booking.created_at,
                version=1,
                **_values(booking),
            )
        )
        booking.version = 1

    def save(self, booking: CallBooking) -> None:
        version = booking.version
        done = self._conn.execute(
            update(call_bookings)
            .where(cb.id == booking.id, cb.version == version)
            .values(version=version + 1, **_values(booking))
        )
        if done.rowcount != 1:
            raise StaleVersion("the booking changed meanwhile", code="booking_busy")
        booking.version = version + 1

    def get(self, booking_id: str) -> CallBooking | None:
        row = self._conn.execute(select(call_bookings).where(cb.id == booking_id)).first()
        return _booking(row) if row else None

    def active_for_case(self, case_id: str) -> CallBooking | None:
        row = self._conn.execute(
            select(call_bookings).where(cb.case_id == case_id, cb.status == _BOOKED)
        ).first()
        return _booking(row) if row else None

    def for_case(self, case_id: str) -> list[CallBooking]:
        rows = self._conn.execute(
            select(call_bookings).where(cb.case_id == case_id).order_by(cb.created_at, cb.id)
        )
        return [_booking(r) for r in rows]

    def booked_between(
        self, agent_ids: list[str], start: datetime, end: datetime
    ) -> list[CallBooking]:
        """The agents' booked calls that start before `end` and could still run at `start`."""
        if not agent_ids:
            return []
        rows = self._conn.execute(
            select(call_bookings).where(
                cb.agent_id.in_(agent_ids),
                cb.status == _BOOKED,
                cb.starts_at < end,
                cb.starts_at > start - _LONGEST,
            )
        )
        return [_booking(r) for r in rows]

    def add_time_off(self, time_off: TimeOff) -> None:
        self._conn.execute(
            insert(staff_time_off).values(
                id=time_off.id, store_id=time_off.store_id, staff_id=time_off.staff_id,
                starts_at=time_off.starts_at, ends_at=time_off.ends_at, note=time_off.note,
                created_by=time_off.created_by, created_at=time_off.created_at,
            )
        )  # fmt: skip

    def time_off_between(
        self, staff_ids: list[str], start: datetime, end: datetime
    ) -> list[TimeOff]:
        """The staff members' time off that overlaps [start, end)."""
        if not staff_ids:
            return []
        rows = self._conn.execute(
            select(staff_time_off).where(
                to.staff_id.in_(staff_ids), to.starts_at < end, to.ends_at > start
            )
        )
        return [_time_off(r) for r in rows]

    def time_off(self, store_id: str, staff_id: str | None, since: datetime) -> list[TimeOff]:
        """Time off not over at `since` (one person's, or the store's), soonest first."""
        query = select(staff_time_off).where(to.store_id == store_id, to.ends_at > since)
        if staff_id is not None:
            query = query.where(to.staff_id == staff_id)
        rows = self._conn.execute(query.order_by(to.starts_at, to.id).limit(500))
        return [_time_off(r) for r in rows]

    def get_time_off(self, time_off_id: str) -> TimeOff | None:
        row = self._conn.execute(select(staff_time_off).where(to.id == time_off_id)).first()
        return _time_off(row) if row is not None else None

    def remove_time_off(self, time_off_id: str) -> None:
        self._conn.execute(delete(staff_time_off).where(to.id == time_off_id))

    def lock_agent(self, agent_id: str) -> None:
        """Hold the agent's row until commit (PostgreSQL): bookings of one agent are made one
        at a time, so two overlapping calls with different starts cannot both be written.
        SQLite needs none: a write transaction already holds the database."""
        self._conn.execute(
            select(staff_users.c.id).where(staff_users.c.id == agent_id).with_for_update()
        )

    def upcoming(
        self, store_id: str, now: datetime, agent_id: str | None = None, limit: int = 100
    ) -> list[CallBooking]:
        """Booked calls that have not ended yet, soonest first (an agent's own, or all)."""
        query = select(call_bookings).where(
            cb.store_id == store_id, cb.status == _BOOKED, cb.starts_at > now - _LONGEST
        )
        if agent_id is not None:
            query = query.where(cb.agent_id == agent_id)
        rows = self._conn.execute(query.order_by(cb.starts_at, cb.id).limit(limit))
        return [b for b in (_booking(r) for r in rows) if b.ends_at > now]

    def due(self, now: datetime, limit: int = 200) -> list[CallBooking]:
        """Bookings that need a look now: a reminder to send, a call nobody started, or a
        return that closed (its booking is cancelled)."""
        closed = (
            select(return_cases.c.id)
            .where(
                return_cases.c.id == cb.case_id,
                return_cases.c.status.in_([s.value for s in TERMINAL]),
            )
            .exists()
        )
        rows = self._conn.execute(
            select(call_bookings)
            .where(cb.status == _BOOKED, or_(cb.next_check_at <= now, closed))
            .order_by(cb.next_check_at, cb.id)
            .limit(limit)
        )
        return [_booking(r) for r in rows]
