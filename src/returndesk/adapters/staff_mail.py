"""Emails to staff, made at the same fan-out as the buyer's: the agent of a booked call hears
of the booking, its reminders and its cancellation; the supervisors of the case's team (the
store's, when the team has none) hear of a missed service level. Each in the recipient's
console language and time zone; sent at once (no quiet hours: these are work)."""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Mapping, Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import Connection, Row, select

from returndesk.adapters.db.tables import call_bookings, staff_users, team_members
from returndesk.domain.access import Role
from returndesk.domain.notifications import (
    STAFF_NOTICES,
    RenderedEmail,
    StaffEmailFacts,
    StaffNotice,
)

StaffRenderer = Callable[[StaffEmailFacts], RenderedEmail]
SUPERVISORS = (Role.supervisor.value,)


def _email_id(outbox_id: str, staff_id: str, topic: str) -> str:
    """The same on every fan-out of the same events (a retried fan-out writes no twin)."""
    digest = hashlib.sha256(f"{staff_id}:{topic}".encode()).hexdigest()[:20]
    return f"em_{outbox_id}_{digest}"


class StaffMail:
    def __init__(self, conn: Connection, public_url: str, render: StaffRenderer) -> None:
        self._conn = conn
        self._public_url = public_url
        self._render = render
        self._supervisors: dict[tuple[str, str | None], list[Row[Any]]] = {}

    def emails(
        self, case: Row[Any], payloads: Sequence[Mapping[str, Any]], outbox_id: str, now: datetime
    ) -> list[dict[str, Any]]:
        """The email rows for one transaction's events of one case (one per recipient and
        notice)."""
        found: list[dict[str, Any]] = []
        seen: set[tuple[str, str, str]] = set()
        for payload in payloads:
            notice = STAFF_NOTICES.get(str(payload.get("kind")))
            if notice is None:
                continue
            data: Mapping[str, Any] = payload.get("data") or {}
            topic = f"{notice.value}:{data.get('clock') or ''}"  # two clocks: two emails
            for person in self._recipients(case, notice, data):
                if (person.id, notice.value, topic) in seen:
                    continue
                seen.add((person.id, notice.value, topic))
                facts = StaffEmailFacts(
                    notice=notice,
                    data=data,
                    store_name=case.store_name,
                    case_id=case.id,
                    case_number=case.number,
                    name=person.name,
                    language=person.language,
                    timezone=person.timezone,
                    link=f"{self._public_url}/console/cases/{case.id}",
                )
                rendered = self._render(facts)
                found.append(
                    {
                        "id": _email_id(outbox_id, person.id, topic),
                        "store_id": case.store_id,
                        "case_id": case.id,
                        "case_number": case.number,
                        "outbox_id": outbox_id,
                        "kind": notice.value,
                        "sections": [notice.value],
                        "urgent": True,
                        "to_address": person.email,
                        "language": person.language[:8],
                        "subject": rendered.subject[:300],
                        "text_body": rendered.text,
                        "html_body": rendered.html,
                        "status": "pending",
                        "attempts": 0,
                        "not_before": now,
                        "next_attempt_at": now,
                        "created_at": now,
                    }
                )
        return found

    def _recipients(
        self, case: Row[Any], notice: StaffNotice, data: Mapping[str, Any]
    ) -> list[Row[Any]]:
        if notice is StaffNotice.sla_breached:
            team_id = data.get("team_id")
            return self._supervisors_of(case.store_id, str(team_id) if team_id else None)
        booking_id = data.get("booking_id")
        if not booking_id:
            return []
        agent = self._conn.execute(
            select(staff_users)
            .join(call_bookings, call_bookings.c.agent_id == staff_users.c.id)
            .where(call_bookings.c.id == str(booking_id), staff_users.c.active.is_(True))
        ).first()
        return [agent] if agent is not None else []

    def _supervisors_of(self, store_id: str, team_id: str | None) -> list[Row[Any]]:
        key = (store_id, team_id)
        if key not in self._supervisors:
            people = select(staff_users).where(
                staff_users.c.store_id == store_id,
                staff_users.c.active.is_(True),
                staff_users.c.role.in_(SUPERVISORS),
            )
            found: list[Row[Any]] = []
            if team_id is not None:
                found = list(
                    self._conn.execute(
                        people.join(
                            team_members, team_members.c.staff_id == staff_users.c.id
                        ).where(team_members.c.team_id == team_id)
                    )
                )
            if not found:
                found = list(self._conn.execute(people.order_by(staff_users.c.email)))
            self._supervisors[key] = found
        return self._supervisors[key]
