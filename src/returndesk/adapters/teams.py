"""Teams, members, presence, service-level targets and case work (assignee + clocks), in SQL."""

from __future__ import annotations

import logging
from datetime import date, datetime
from typing import Any

from sqlalchemy import Connection, and_, bindparam, case, delete, func, insert, select, update
from sqlalchemy.engine import Row

from returndesk.adapters.db.tables import (
    agent_presence,
    case_work,
    routing_rules,
    sla_targets,
    staff_users,
    team_members,
    teams,
)
from returndesk.domain.business_time import WorkingBlock
from returndesk.domain.errors import ValidationFailed
from returndesk.domain.policy.document import HolidayCalendar
from returndesk.domain.routing_rules import RoutingRule
from returndesk.domain.sla import CaseSla, CaseWork, SlaClock, SlaTargets
from returndesk.domain.teams import Presence, PresenceStatus, Team, TeamMember

log = logging.getLogger(__name__)


def _team(row: Row[Any]) -> Team:
    return Team(
        id=row.id,
        store_id=row.store_id,
        name=row.name,
        timezone=row.timezone,
        hours=tuple(
            WorkingBlock.parse(block["days"], block["start"], block["end"]) for block in row.hours
        ),
        holiday_country=row.holiday_country,
        closed_dates=frozenset(date.fromisoformat(day) for day in row.closed_dates),
        languages=frozenset(row.languages),
        markets=frozenset(row.markets),
        created_at=row.created_at,
    )


def _member(row: Row[Any]) -> TeamMember:
    return TeamMember(
        team_id=row.team_id,
        staff_id=row.staff_id,
        languages=frozenset(row.languages),
        markets=frozenset(row.markets),
        capacity=row.capacity,
        skills=frozenset(row.skills),
    )


def _when(value: str | None) -> datetime | None:
    return datetime.fromisoformat(value) if value else None


def _iso(value: datetime | None) -> str | None:
    return value.isoformat() if value else None


def sla_to_data(sla: CaseSla) -> dict[str, Any]:
    t = sla.targets
    return {
        "targets": [t.first_response_minutes, t.next_response_minutes, t.resolution_minutes],
        "started_at": sla.started_at.isoformat(),
        "paused_minutes": sla.paused_minutes,
        "paused_since": _iso(sla.paused_since),
        "first_responded_at": _iso(sla.first_responded_at),
        "waiting_since": _iso(sla.waiting_since),
        "paused_at_wait": sla.paused_at_wait,
        "resolved_at": _iso(sla.resolved_at),
        "due": {clock.value: at.isoformat() for clock, at in sla.due.items()},
        "warn_at": {clock.value: at.isoformat() for clock, at in sla.warn_at.items()},
        "warned": sorted(sla.warned),
        "alerted": sorted(sla.alerted),
        "breached": sorted(sla.breached),
    }


# Reading 100k clocks: a dict lookup is several times faster than calling the enum.
_CLOCKS = {clock.value: clock for clock in SlaClock}


def sla_from_data(case_id: str, data: dict[str, Any]) -> CaseSla:
    started = _when(data["started_at"])
    assert started is not None
    return CaseSla(
        case_id=case_id,
        targets=SlaTargets(*data["targets"]),
        started_at=started,
        paused_minutes=float(data["paused_minutes"]),
        paused_since=_when(data["paused_since"]),
        first_responded_at=_when(data["first_responded_at"]),
        waiting_since=_when(data["waiting_since"]),
        paused_at_wait=float(data["paused_at_wait"]),
        resolved_at=_when(data["resolved_at"]),
        due={_CLOCKS[k]: datetime.fromisoformat(v) for k, v in data["due"].items()},
        warn_at={_CLOCKS[k]: datetime.fromisoformat(v) for k, v in data["warn_at"].items()},
        warned={_CLOCKS[k] for k in data["warned"]},
        alerted={_CLOCKS[k] for k in data["alerted"]},
        breached={_CLOCKS[k] for k in data["breached"]},
    )


def _work(row: Row[Any]) -> CaseWork:
    return CaseWork(
        case_id=row.case_id,
        store_id=row.store_id,
        sla=sla_from_data(row.case_id, row.sla),
        team_id=row.team_id,
        assignee_id=row.assignee_id,
        assigned_at=row.assigned_at,
        rule=row.sla.get("rule", "unassigned"),
    )


def _rule(data: dict[str, Any]) -> RoutingRule | None:
    """A saved rule; one a later release no longer accepts (a reason or skill renamed, a field
    it lacks) is left out and logged, so routing and the Teams page keep working."""
    try:
        return RoutingRule(
            name=str(data.get("name") or ""),
            languages=frozenset(data.get("languages") or ()),
            markets=frozenset(data.get("markets") or ()),
            reasons=frozenset(data.get("reasons") or ()),
            team_id=data.get("team_id"),
            skill=data.get("skill"),
        )
    except (ValidationFailed, TypeError) as exc:
        log.warning("routing rule %r left out: %s", data.get("name"), exc)
        return None


# Routing runs this for every new case: the statement is built once (its IN list expands). The
# load and the latest assignment are correlated subqueries on the (assignee, open, assigned_at)
# index: on SQLite a third of the time of a join grouped by agent.
_p, _w = agent_presence.c, case_work.c
_open_of_agent = and_(_w.assignee_id == _p.staff_id, _w.open.is_(True))
_ONLINE_LOADS = (
    select(
        _p.staff_id,
        select(func.count()).where(_open_of_agent).scalar_subquery(),
        select(func.max(_w.assigned_at)).where(_open_of_agent).scalar_subquery(),
    )
    .join(staff_users, staff_users.c.id == _p.staff_id)
    .where(
        _p.staff_id.in_(bindparam("ids", expanding=True)),
        staff_users.c.store_id == bindparam("store_id"),
        staff_users.c.active.is_(True),
        _p.status == PresenceStatus.online.value,
        _p.expires_at > bindparam("now", type_=agent_presence.c.expires_at.type),
    )
)


class SqlTeamRepository:
    def __init__(self, conn: Connection, holidays: HolidayCalendar) -> None:
        self._conn = conn
        self.public_holiday = holidays  # country, day -> closed for a public holiday

    # teams and members
    def add(self, team: Team) -> None:
        self._conn.execute(insert(teams).values(**self._team_values(team)))

    def update(self, team: Team) -> None:
        values = self._team_values(team)
        self._conn.execute(update(teams).where(teams.c.id == team.id).values(**values))

    @staticmethod
    def _team_values(team: Team) -> dict[str, Any]:
        return {
            "id": team.id,
            "store_id": team.store_id,
            "name": team.name,
            "timezone": team.timezone,
            **team.settings(),
            "created_at": team.created_at,
        }

    def get(self, team_id: str) -> Team | None:
        row = self._conn.execute(select(teams).where(teams.c.id == team_id)).first()
        return _team(row) if row else None

    def by_name(self, store_id: str, name: str) -> Team | None:
        row = self._conn.execute(
            select(teams).where(teams.c.store_id == store_id, teams.c.name == name)
        ).first()
        return _team(row) if row else None

    def for_store(self, store_id: str) -> list[Team]:
        rows = self._conn.execute(
            select(teams).where(teams.c.store_id == store_id).order_by(teams.c.name)
        )
        return [_team(row) for row in rows]

    def save_member(self, member: TeamMember) -> None:
        m = team_members.c
        self._conn.execute(
            delete(team_members).where(m.team_id == member.team_id, m.staff_id == member.staff_id)
        )
        self._conn.execute(
            insert(team_members).values(
                team_id=member.team_id,
                staff_id=member.staff_id,
                languages=sorted(member.languages),
                markets=sorted(member.markets),
                capacity=member.capacity,
                skills=sorted(member.skills),
            )
        )

    def remove_member(self, team_id: str, staff_id: str) -> bool:
        m = team_members.c
        done = self._conn.execute(
            delete(team_members).where(m.team_id == team_id, m.staff_id == staff_id)
        )
        return bool(done.rowcount)

    def members(self, store_id: str) -> list[TeamMember]:
        rows = self._conn.execute(
            select(team_members)
            .join(teams, teams.c.id == team_members.c.team_id)
            .where(teams.c.store_id == store_id)
            .order_by(team_members.c.team_id, team_members.c.staff_id)
        )
        return [_member(row) for row in rows]

    def memberships(self, staff_id: str) -> list[TeamMember]:
        rows = self._conn.execute(select(team_members).where(team_members.c.staff_id == staff_id))
        return [_member(row) for row in rows]

    # presence
    def set_presence(self, presence: Presence) -> None:
        self._conn.execute(
            delete(agent_presence).where(agent_presence.c.staff_id == presence.staff_id)
        )
        self._conn.execute(
            insert(agent_presence).values(
                staff_id=presence.staff_id,
                status=presence.status.value,
                expires_at=presence.expires_at,
            )
        )

    def presences(self, store_id: str) -> dict[str, Presence]:
        p = agent_presence.c
        rows = self._conn.execute(
            select(agent_presence)
            .join(staff_users, staff_users.c.id == p.staff_id)
            .where(staff_users.c.store_id == store_id)
        )
        return {
            row.staff_id: Presence(row.staff_id, PresenceStatus(row.status), row.expires_at)
            for row in rows
        }

    def online_loads(
        self, store_id: str, staff_ids: list[str], now: datetime
    ) -> dict[str, tuple[int, datetime | None]]:
        """Of these staff, those online now (presence set and not lapsed, account active),
        with their open cases and latest assignment: one query, the load counted from the
        (assignee, open, assigned_at) index alone."""
        if not staff_ids:
            return {}
        rows = self._conn.execute(
            _ONLINE_LOADS, {"store_id": store_id, "ids": staff_ids, "now": now}
        )
        return {row[0]: (int(row[1]), row[2]) for row in rows}

    def presence(self, staff_id: str) -> Presence | None:
        row = self._conn.execute(
            select(agent_presence).where(agent_presence.c.staff_id == staff_id)
        ).first()
        return Presence(row.staff_id, PresenceStatus(row.status), row.expires_at) if row else None

    # routing rules
    def routing_rules(self, store_id: str) -> list[RoutingRule]:
        row = self._conn.execute(
            select(routing_rules.c.rules).where(routing_rules.c.store_id == store_id)
        ).first()
        return [rule for data in (row.rules if row else []) if (rule := _rule(data))]

    def save_routing_rules(
        self, store_id: str, rules: list[RoutingRule], now: datetime, by: str
    ) -> None:
        values = {"rules": [rule.to_data() for rule in rules], "updated_at": now, "updated_by": by}
        done = self._conn.execute(
            update(routing_rules).where(routing_rules.c.store_id == store_id).values(**values)
        )
        if done.rowcount == 0:
            self._conn.execute(insert(routing_rules).values(store_id=store_id, **values))

    # service-level targets
    def targets(self, store_id: str) -> dict[str, SlaTargets]:
        rows = self._conn.execute(select(sla_targets).where(sla_targets.c.store_id == store_id))
        return {
            row.case_type: SlaTargets(
                row.first_response_minutes, row.next_response_minutes, row.resolution_minutes
            )
            for row in rows
        }

    def set_targets(self, store_id: str, case_type: str, targets: SlaTargets) -> None:
        s = sla_targets.c
        self._conn.execute(
            delete(sla_targets).where(s.store_id == store_id, s.case_type == case_type)
        )
        self._conn.execute(
            insert(sla_targets).values(
                store_id=store_id,
                case_type=case_type,
                first_response_minutes=targets.first_response_minutes,
                next_response_minutes=targets.next_response_minutes,
                resolution_minutes=targets.resolution_minutes,
            )
        )

    # case work
    def work(self, case_id: str, *, lock: bool = False) -> CaseWork | None:
        query = select(case_work).where(case_work.c.case_id == case_id)
        row = self._conn.execute(query.with_for_update() if lock else query).first()
        return _work(row) if row else None

    def works(self, case_ids: list[str]) -> dict[str, CaseWork]:
        if not case_ids:
            return {}
        rows = self._conn.execute(select(case_work).where(case_work.c.case_id.in_(case_ids)))
        return {row.case_id: _work(row) for row in rows}

    def save_work(self, work: CaseWork, *, new: bool = False) -> None:
        """Write a case's work row (`new`: the case was just opened, insert it)."""
        data = sla_to_data(work.sla) | {"rule": work.rule}
        values = {
            "store_id": work.store_id,
            "team_id": work.team_id,
            "assignee_id": work.assignee_id,
            "assigned_at": work.assigned_at,
            "open": work.open,
            "breached": work.breached,
            "next_check_at": work.sla.next_check_at,
            "first_responded_at": work.sla.first_responded_at,
            "resolved_at": work.sla.resolved_at,
            "sla": data,
        }
        if not new:
            done = self._conn.execute(
                update(case_work).where(case_work.c.case_id == work.case_id).values(**values)
            )
            if done.rowcount:
                return
        self._conn.execute(insert(case_work).values(case_id=work.case_id, **values))

    def open_works_of_team(
        self, team_id: str, after: str | None = None, limit: int = 2000, *, lock: bool = False
    ) -> list[CaseWork]:
        """A page of the team's open cases, by case id (resume after the last one); `lock`:
        held until the transaction ends (PostgreSQL), as every writer of clocks does."""
        w = case_work.c
        query = select(case_work).where(w.team_id == team_id, w.open.is_(True))
        if after is not None:
            query = query.where(w.case_id > after)
        query = query.order_by(w.case_id).limit(limit)
        rows = self._conn.execute(query.with_for_update() if lock else query)
        return [_work(row) for row in rows]

    def save_clocks(self, works: list[CaseWork]) -> None:
        """Write many cases' clocks in one statement (assignments unchanged)."""
        if not works:
            return
        self._conn.execute(
            update(case_work)
            .where(case_work.c.case_id == bindparam("key"))
            .values(
                breached=bindparam("breached_now"),
                next_check_at=bindparam("check_at"),
                sla=bindparam("data"),
            ),
            [
                {
                    "key": work.case_id,
                    "breached_now": work.breached,
                    "check_at": work.sla.next_check_at,
                    "data": sla_to_data(work.sla) | {"rule": work.rule},
                }
                for work in works
            ],
        )

    def loads(self, staff_ids: list[str]) -> dict[str, tuple[int, datetime | None]]:
        """Open cases and the latest assignment per agent (from the index alone)."""
        if not staff_ids:
            return {}
        w = case_work.c
        rows = self._conn.execute(
            select(w.assignee_id, func.count(), func.max(w.assigned_at))
            .where(w.assignee_id.in_(staff_ids), w.open.is_(True))
            .group_by(w.assignee_id)
        )
        return {row[0]: (int(row[1]), row[2]) for row in rows}

    def due_for_check(self, now: datetime, limit: int = 500) -> list[CaseWork]:
        w = case_work.c
        rows = self._conn.execute(
            select(case_work)
            .where(w.next_check_at.is_not(None), w.next_check_at <= now)
            .order_by(w.next_check_at)
            .limit(limit)
            # Several sweepers (processes) at once: each takes rows nobody else holds
            # (PostgreSQL; SQLite's writers already take turns).
            .with_for_update(skip_locked=True)
        )
        return [_work(row) for row in rows]

    def queue_counts(self, store_id: str) -> list[tuple[str | None, str | None, int, int]]:
        """(team, assignee, open cases, breached open cases) for the open cases of a store."""
        w = case_work.c
        rows = self._conn.execute(
            select(
                w.team_id,
                w.assignee_id,
                func.count(),
                func.sum(case((w.breached.is_(True), 1), else_=0)),
            )
            .where(w.store_id == store_id, w.open.is_(True))
            .group_by(w.team_id, w.assignee_id)
        )
        return [(row[0], row[1], int(row[2]), int(row[3] or 0)) for row in rows]
