"""Teams and shifts, members, presence, service-level targets, reassignment and the SLA sweep."""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta

from returndesk.domain.access import ROLE_PERMISSIONS, STAFF_ROLES, Permission
from returndesk.domain.business_time import WorkingBlock
from returndesk.domain.errors import Conflict, NotFound, ValidationFailed
from returndesk.domain.ids import new_id
from returndesk.domain.orders import check_market
from returndesk.domain.sla import CaseWork, SlaAlert, SlaTargets
from returndesk.domain.stores import StaffUser, normalize_email
from returndesk.domain.teams import Presence, PresenceStatus, Team, TeamMember
from returndesk.services.ports import Clock, UnitOfWork, UnitOfWorkFactory
from returndesk.services.principal import Principal
from returndesk.services.stores import resolve_store
from returndesk.services.work import (
    calendar_for,
    forget_roster,
    keep_up,
    raise_alerts,
    raise_chat_alerts,
)

_LANGUAGE = re.compile(r"^[a-z]{2,3}(-[A-Za-z0-9]{2,8})?$")
MAX_BLOCKS = 28
MAX_CLOSED_DATES = 366
CASE_TYPES_PATTERN = re.compile(r"^[a-z][a-z_]{1,31}$")


@dataclass(frozen=True, slots=True)
class HoursInput:
    days: tuple[str, ...]
    start: str
    end: str


@dataclass(frozen=True, slots=True)
class TeamInput:
    name: str
    timezone: str
    hours: tuple[HoursInput, ...]
    holiday_country: str | None = None
    closed_dates: tuple[date, ...] = ()
    languages: tuple[str, ...] = ()
    markets: tuple[str, ...] = ()
    store_slug: str | None = None


@dataclass(frozen=True, slots=True)
class MemberInput:
    email: str
    languages: tuple[str, ...] = ()
    markets: tuple[str, ...] = ()
    capacity: int = 10
    skills: tuple[str, ...] = ()


def _languages(values: Sequence[str]) -> frozenset[str]:
    for value in values:
        if not _LANGUAGE.match(value):
            raise ValidationFailed(
                f"{value!r} is not a language tag (e.g. en, pt-BR)", code="invalid_language"
            )
    return frozenset(values)


def _markets(values: Sequence[str]) -> frozenset[str]:
    return frozenset(check_market(value.upper()) for value in values)


def _build_team(store_id: str, data: TeamInput, team_id: str, created_at: datetime) -> Team:
    if len(data.hours) > MAX_BLOCKS or len(data.closed_dates) > MAX_CLOSED_DATES:
        raise ValidationFailed(
            f"at most {MAX_BLOCKS} working blocks and {MAX_CLOSED_DATES} closed dates",
            code="invalid_hours",
        )
    return Team(
        id=team_id,
        store_id=store_id,
        name=data.name,
        timezone=data.timezone,
        hours=tuple(WorkingBlock.parse(h.days, h.start, h.end) for h in data.hours),
        holiday_country=data.holiday_country.upper() if data.holiday_country else None,
        closed_dates=frozenset(data.closed_dates),
        languages=_languages(data.languages),
        markets=_markets(data.markets),
        created_at=created_at,
    )


def create_team(
    uow_factory: UnitOfWorkFactory, clock: Clock, principal: Principal, data: TeamInput
) -> Team:
    principal.require(Permission.team_write)
    with uow_factory(write=True) as uow:
        store = resolve_store(uow, principal, data.store_slug)
        team = _build_team(store.id, data, new_id(), clock())
        if uow.teams.by_name(store.id, team.name) is not None:
            raise Conflict(f"a team is already called {team.name!r}", code="team_exists")
        uow.teams.add(team)
        uow.commit()
    forget_roster(team.store_id)
    return team


def update_team(
    uow_factory: UnitOfWorkFactory, principal: Principal, team_id: str, data: TeamInput
) -> Team:
    principal.require(Permission.team_write)
    with uow_factory(write=True) as uow:
        current = _team(uow, principal, team_id)
        team = _build_team(current.store_id, data, current.id, current.created_at)
        other = uow.teams.by_name(current.store_id, team.name)
        if other is not None and other.id != team.id:
            raise Conflict(f"a team is already called {team.name!r}", code="team_exists")
        uow.teams.update(team)
        uow.commit()
    forget_roster(team.store_id)
    recompute_team_clocks(uow_factory, team.id)
    return team


def recompute_team_clocks(uow_factory: UnitOfWorkFactory, team_id: str, batch: int = 2000) -> int:
    """Move the due times of the team's open cases to its current hours (after its shifts,
    holidays or closed dates changed), a batch per transaction; how many cases' due times
    moved (only those are written: a closed date next month moves few).

    Minutes already spent paused keep the value they were counted with."""
    moved, after = 0, None
    while True:
        with uow_factory(write=True) as uow:
            team = uow.teams.get(team_id)
            if team is None:
                return moved
            calendar = team.calendar(uow.teams.public_holiday)
            works = uow.teams.open_works_of_team(team_id, after, batch, lock=True)
            changed = []
            for work in works:
                before = (work.sla.due.copy(), work.sla.warn_at.copy())
                work.sla.recompute(calendar)
                if (work.sla.due, work.sla.warn_at) != before:
                    changed.append(work)
            uow.teams.save_clocks(changed)
            uow.commit()
        moved += len(changed)
        if len(works) < batch:
            return moved
        after = works[-1].case_id


def _team(uow: UnitOfWork, principal: Principal, team_id: str) -> Team:
    team = uow.teams.get(team_id)
    if team is None:
        raise NotFound("team not found", code="team_not_found")
    principal.check_store(team.store_id)
    return team


@dataclass(frozen=True, slots=True)
class MemberView:
    member: TeamMember
    user: StaffUser
    presence: PresenceStatus
    load: int


@dataclass(frozen=True, slots=True)
class TeamView:
    team: Team
    open_now: bool
    opens_at: datetime | None
    members: list[MemberView] = field(default_factory=list)


def list_teams(
    uow_factory: UnitOfWorkFactory, clock: Clock, principal: Principal, store_slug: str | None
) -> list[TeamView]:
    principal.require(Permission.team_read)
    now = clock()
    with uow_factory() as uow:
        store = resolve_store(uow, principal, store_slug)
        return _views(uow, store.id, store.timezone, now)


def get_team(
    uow_factory: UnitOfWorkFactory, clock: Clock, principal: Principal, team_id: str
) -> TeamView:
    principal.require(Permission.team_read)
    with uow_factory() as uow:
        team = _team(uow, principal, team_id)
        store = uow.stores.get(team.store_id)
        assert store is not None
        return next(
            v for v in _views(uow, store.id, store.timezone, clock()) if v.team.id == team_id
        )


def _views(uow: UnitOfWork, store_id: str, store_timezone: str, now: datetime) -> list[TeamView]:
    presences = uow.teams.presences(store_id)
    users = {user.id: user for user in uow.staff.list(store_id)}
    members = uow.teams.members(store_id)
    loads = uow.teams.loads(sorted({m.staff_id for m in members}))
    views = []
    for team in uow.teams.for_store(store_id):
        opens = calendar_for(uow, store_timezone, team).next_open(now)
        view = TeamView(team, opens is not None and opens <= now, opens)
        for member in members:
            user = users.get(member.staff_id)
            if member.team_id != team.id or user is None:
                continue
            presence = presences.get(member.staff_id)
            status = presence.at(now) if presence else PresenceStatus.offline
            view.members.append(
                MemberView(member, user, status, loads.get(member.staff_id, (0, None))[0])
            )
        views.append(view)
    return views


def add_member(
    uow_factory: UnitOfWorkFactory, principal: Principal, team_id: str, data: MemberInput
) -> TeamMember:
    """Add a staff member to a team, or change their languages, markets, capacity and skills."""
    principal.require(Permission.team_write)
    with uow_factory(write=True) as uow:
        team = _team(uow, principal, team_id)
        user = uow.staff.get_by_email(normalize_email(data.email))
        if user is None or user.store_id != team.store_id or not user.active:
            raise NotFound(f"no staff account {data.email}", code="staff_not_found")
        member = TeamMember(
            team_id=team.id,
            staff_id=user.id,
            languages=_languages(data.languages),
            markets=_markets(data.markets),
            capacity=data.capacity,
            skills=frozenset(data.skills),
        )
        uow.teams.save_member(member)
        uow.commit()
    forget_roster(team.store_id)
    return member


def remove_member(
    uow_factory: UnitOfWorkFactory, principal: Principal, team_id: str, staff_id: str
) -> None:
    principal.require(Permission.team_write)
    with uow_factory(write=True) as uow:
        team = _team(uow, principal, team_id)
        if not uow.teams.remove_member(team_id, staff_id):
            raise NotFound("not a member of this team", code="member_not_found")
        uow.commit()
    forget_roster(team.store_id)


def set_presence(
    uow_factory: UnitOfWorkFactory,
    clock: Clock,
    principal: Principal,
    status: PresenceStatus,
    ttl: timedelta,
) -> Presence:
    """The agent's own presence; the console renews it while open, so it lapses when closed."""
    if principal.kind != "staff" or principal.role not in STAFF_ROLES:
        raise ValidationFailed("only staff have a presence", code="not_staff")
    presence = Presence(principal.id, status, clock() + ttl)
    with uow_factory(write=True) as uow:
        uow.teams.set_presence(presence)
        uow.commit()
    return presence


@dataclass(frozen=True, slots=True)
class Me:
    user: StaffUser
    presence: PresenceStatus
    memberships: list[TeamMember]
    permissions: frozenset[Permission]


def me(uow_factory: UnitOfWorkFactory, clock: Clock, principal: Principal) -> Me:
    with uow_factory() as uow:
        user = uow.staff.get(principal.id) if principal.kind == "staff" else None
        if user is None:
            raise NotFound("no staff account for this token", code="staff_not_found")
        presence = uow.teams.presence(user.id)
        return Me(
            user,
            presence.at(clock()) if presence else PresenceStatus.offline,
            uow.teams.memberships(user.id),
            ROLE_PERMISSIONS[user.role],
        )


def set_targets(
    uow_factory: UnitOfWorkFactory,
    principal: Principal,
    case_type: str,
    targets: SlaTargets,
    store_slug: str | None = None,
) -> None:
    principal.require(Permission.team_write)
    if not CASE_TYPES_PATTERN.match(case_type):
        raise ValidationFailed(
            "a case type is 'default' or a return reason (e.g. defective)", code="invalid_sla"
        )
    with uow_factory(write=True) as uow:
        store = resolve_store(uow, principal, store_slug)
        uow.teams.set_targets(store.id, case_type, targets)
        uow.commit()


def list_targets(
    uow_factory: UnitOfWorkFactory, principal: Principal, store_slug: str | None = None
) -> dict[str, SlaTargets]:
    principal.require(Permission.team_read)
    with uow_factory() as uow:
        store = resolve_store(uow, principal, store_slug)
        found = uow.teams.targets(store.id)
    return {"default": SlaTargets()} | found


@dataclass(frozen=True, slots=True)
class WorkView:
    work: CaseWork
    team_name: str | None
    assignee_name: str | None
    assignee_email: str | None


def work_view(
    uow_factory: UnitOfWorkFactory, principal: Principal, case_id: str
) -> WorkView | None:
    """Who handles the case and its clocks (None: the case has no work row yet); staff only."""
    principal.require(Permission.team_read)
    with uow_factory() as uow:
        case = uow.cases.get(case_id)
        if case is None:
            raise NotFound("case not found", code="case_not_found")
        principal.check_store(case.store_id)
        work = uow.teams.work(case_id)
        if work is None:
            return None
        team = uow.teams.get(work.team_id) if work.team_id else None
        user = uow.staff.get(work.assignee_id) if work.assignee_id else None
        return WorkView(
            work,
            team.name if team else None,
            user.name if user else None,
            user.email if user else None,
        )


def reassign(
    uow_factory: UnitOfWorkFactory,
    clock: Clock,
    principal: Principal,
    case_id: str,
    *,
    team_id: str | None,
    assignee_id: str | None,
    reason: str,
) -> CaseWork:
    """A supervisor hands a case to another team or person; the reason goes on the timeline."""
    principal.require(Permission.case_assign)
    reason = reason.strip()
    if not 1 <= len(reason) <= 500:
        raise ValidationFailed("say why (1 to 500 characters)", code="reason_required")
    with uow_factory(write=True) as uow:
        case = uow.cases.get(case_id)
        if case is None:
            raise NotFound("case not found", code="case_not_found")
        principal.check_store(case.store_id)
        keep_up(uow, case)  # make sure the case has its work row
        work = uow.teams.work(case_id)
        assert work is not None
        if assignee_id is not None:
            memberships = uow.teams.memberships(assignee_id)
            user = uow.staff.get(assignee_id)
            if user is None or user.store_id != case.store_id or not user.active:
                raise NotFound("no such staff member", code="staff_not_found")
            if team_id is None and memberships:
                team_id = memberships[0].team_id
        if team_id is not None:
            _team(uow, principal, team_id)
        now = clock()
        previous = {"team_id": work.team_id, "assignee_id": work.assignee_id}
        work.team_id, work.assignee_id, work.rule = team_id, assignee_id, "manual"
        work.assigned_at = now if assignee_id else None
        team = uow.teams.get(team_id) if team_id else None
        store = uow.stores.get(case.store_id)
        work.sla.recompute(calendar_for(uow, store.timezone if store else "UTC", team))
        case.record_work(
            "assigned",
            {
                "team_id": team_id,
                "assignee_id": assignee_id,
                "rule": "manual",
                "reason": reason,
                "previous": previous,
            },
            principal.actor(),
            now,
        )
        uow.teams.save_work(work)
        uow.cases.add_events(case)
        uow.commit()
        return work


@dataclass(frozen=True, slots=True)
class SweepResult:
    checked: int
    warnings: int
    breaches: int
    chat_warnings: int = 0  # chats handed to people about no case (their answer clocks)
    chat_breaches: int = 0


def sweep_sla(uow_factory: UnitOfWorkFactory, clock: Clock, batch: int = 500) -> SweepResult:
    """Raise the warnings and breaches that came due; safe to run often and from several
    workers (each case is re-read and saved with its version inside one transaction)."""
    now = clock()
    checked = warnings = breaches = 0
    while True:
        with uow_factory(write=True) as uow:
            due = uow.teams.due_for_check(now, batch)
            for work in due:
                case = uow.cases.get(work.case_id)
                if case is None:
                    continue
                for _clock, alert in raise_alerts(uow, case, work, now):
                    if alert is SlaAlert.breach:
                        breaches += 1
                    else:
                        warnings += 1
                uow.cases.add_events(case)
            uow.commit()
        checked += len(due)
        if len(due) < batch:
            break
    chat_warnings = chat_breaches = 0
    while True:
        with uow_factory(write=True) as uow:
            chats = uow.conversations.due_for_check(now, batch)
            for chat in chats:
                for alert in raise_chat_alerts(uow, chat, now):
                    if alert is SlaAlert.breach:
                        chat_breaches += 1
                    else:
                        chat_warnings += 1
            uow.commit()
        checked += len(chats)
        if len(chats) < batch:
            return SweepResult(checked, warnings, breaches, chat_warnings, chat_breaches)


def current_presence(
    uow_factory: UnitOfWorkFactory, clock: Clock, principal: Principal
) -> PresenceStatus:
    with uow_factory() as uow:
        presence = uow.teams.presence(principal.id)
    return presence.at(clock()) if presence else PresenceStatus.offline


def work_views(
    uow_factory: UnitOfWorkFactory, principal: Principal, case_ids: list[str]
) -> dict[str, WorkView]:
    """Who handles each listed case, and its clocks (for the queue); staff only."""
    principal.require(Permission.team_read)
    with uow_factory() as uow:
        works = uow.teams.works(case_ids)
        if not works:
            return {}
        store_ids = {work.store_id for work in works.values()}
        for store_id in store_ids:
            principal.check_store(store_id)
        teams = {t.id: t.name for s in store_ids for t in uow.teams.for_store(s)}
        users = {u.id: u for s in store_ids for u in uow.staff.list(s)}
    views = {}
    for case_id, work in works.items():
        user = users.get(work.assignee_id) if work.assignee_id else None
        views[case_id] = WorkView(
            work,
            teams.get(work.team_id) if work.team_id else None,
            user.name if user else None,
            user.email if user else None,
        )
    return views
