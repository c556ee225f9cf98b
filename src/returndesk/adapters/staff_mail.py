"""Emails to staff, made at the same fan-out as the buyer's: the agent of a booked call hears
of the booking, its reminders and its cancellation; the agent who has a case hears that a
service level is about to run out (at 80 % of its target; the supervisors of the case's team
hear it when nobody has the case); the supervisors of the case's team (the store's, when the
team has none) hear of a missed service level. Each in the recipient's
console language and time zone; sent at once (no quiet hours: these are work). Each email has
its twin in the recipient's console inbox (`inbox`, rows of staff_notifications)."""

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
# What of an event's data a notification keeps: what its text shows.
NOTICE_FACTS = frozenset({"clock", "starts_at", "due_at", "booking_id", "team_id"})
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
        self.inbox: list[dict[str, Any]] = []  # the console notifications of the emails made

    def emails(
        self, case: Row[Any], payloads: Sequence[Mapping[str, Any]], outbox_id: str, now: datetime
    ) -> list[dict[str, Any]]:
        """The email rows for one transaction's events of one case (one per recipient and
        notice)."""
        found: list[dict[str, Any]] = []
        seen: set[tuple[str, str, str]] = set()
        for notice, data, people in self._notices(case, payloads):
            # Two clocks breached, or two bookings in one transaction: an email each.
            topic = f"{notice.value}:{data.get('clock') or ''}:{data.get('booking_id') or ''}"
            for person in people:
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
                self.inbox.append(
                    {
                        "id": "nt" + _email_id(outbox_id, person.id, topic)[2:],
                        "store_id": case.store_id,
                        "staff_id": person.id,
                        "case_id": case.id,
                        "case_number": case.number,
                        "kind": notice.value,
                        "data": {k: v for k, v in data.items() if k in NOTICE_FACTS},
                        "created_at": now,
                        "read_at": None,
                    }
                )
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

    def _notices(
        self, case: Row[Any], payloads: Sequence[Mapping[str, Any]]
    ) -> list[tuple[StaffNotice, Mapping[str, Any], list[Row[Any]]]]:
        """What each event tells whom. A call moved to another agent also tells the agent who
        had it that it is off their calendar."""
        found: list[tuple[StaffNotice, Mapping[str, Any], list[Row[Any]]]] = []
        for payload in payloads:
            notice = STAFF_NOTICES.get(str(payload.get("kind")))
            if notice is None:
                continue
            data: Mapping[str, Any] = payload.get("data") or {}
            if notice in (StaffNotice.sla_warning, StaffNotice.sla_breached):
                agent = self._staff(data.get("assignee_id"))
                if notice is StaffNotice.sla_warning and agent is not None:
                    found.append((notice, data, [agent]))
                    continue
                team_id = data.get("team_id")
                people = self._supervisors_of(case.store_id, str(team_id) if team_id else None)
                found.append((notice, data, people))
                continue
            agent = self._agent_of(data.get("booking_id"))
            found.append((notice, data, [agent] if agent is not None else []))
            previous = self._agent_of(data.get("previous_booking_id"))
            if (
                notice is StaffNotice.call_booked
                and previous is not None
                and (agent is None or previous.id != agent.id)
            ):
                moved = {
                    **data,
                    "booking_id": data["previous_booking_id"],
                    "starts_at": data.get("rescheduled_from"),
                }
                found.append((StaffNotice.call_cancelled, moved, [previous]))
        return found

    def _staff(self, staff_id: object) -> Row[Any] | None:
        """An active staff account by its id."""
        if not staff_id:
            return None
        return self._conn.execute(
            select(staff_users).where(
                staff_users.c.id == str(staff_id), staff_users.c.active.is_(True)
            )
        ).first()

    def _agent_of(self, booking_id: object) -> Row[Any] | None:
        """The active staff account a booking is with."""
        if not booking_id:
            return None
        return self._conn.execute(
            select(staff_users)
            .join(call_bookings, call_bookings.c.agent_id == staff_users.c.id)
            .where(call_bookings.c.id == str(booking_id), staff_users.c.active.is_(True))
        ).first()

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
