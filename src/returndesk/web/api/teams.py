"""Teams and shifts, members, presence, service-level targets and reassignment over HTTP."""

from __future__ import annotations

from datetime import date, timedelta
from typing import Annotated, Any

from fastapi import APIRouter, Path, Query
from pydantic import Field, StrictInt

from returndesk.domain.errors import AuthenticationFailed
from returndesk.domain.routing_rules import MAX_RULES, RoutingRule
from returndesk.domain.sla import SlaClock, SlaTargets
from returndesk.domain.teams import PresenceStatus, TeamMember
from returndesk.services.routing_rules import RuleSet, routing_rules, save_routing_rules
from returndesk.services.teams import (
    HoursInput,
    MemberInput,
    TeamInput,
    TeamView,
    WorkView,
    add_member,
    create_team,
    get_team,
    list_targets,
    list_teams,
    me,
    reassign,
    remove_member,
    set_presence,
    set_targets,
    update_team,
    work_view,
)
from returndesk.web.deps import ContainerDep, MaybePrincipal, PrincipalDep
from returndesk.web.schemas import Body, Email, NoNul, TimeZone, iso

router = APIRouter(prefix="/api/v1", tags=["teams"])
Id = Annotated[str, Path(min_length=1, max_length=36, pattern=r"^[A-Za-z0-9-]+$")]
CaseType = Annotated[str, Path(pattern=r"^[a-z][a-z_]{1,31}$")]


Short = Annotated[str, Field(max_length=16), NoNul]
StoreSlug = Annotated[str | None, Query(max_length=63, pattern=r"^[a-z0-9][a-z0-9-]{1,62}$")]


class HoursIn(Body):
    days: list[Short] = Field(min_length=1, max_length=7)
    start: Annotated[str, Field(max_length=5), NoNul]
    end: Annotated[str, Field(max_length=5), NoNul]


class TeamIn(Body):
    name: Annotated[str, Field(min_length=1, max_length=100), NoNul]
    timezone: TimeZone
    hours: list[HoursIn] = Field(min_length=1, max_length=28)
    holiday_country: Annotated[str, Field(min_length=2, max_length=2), NoNul] | None = None
    closed_dates: list[date] = Field(default_factory=list, max_length=366)
    languages: list[Short] = Field(default_factory=list, max_length=30)
    markets: list[Short] = Field(default_factory=list, max_length=100)
    store: Annotated[str, Field(max_length=63), NoNul] | None = None

    def to_input(self) -> TeamInput:
        return TeamInput(
            name=self.name,
            timezone=self.timezone,
            hours=tuple(HoursInput(tuple(h.days), h.start, h.end) for h in self.hours),
            holiday_country=self.holiday_country,
            closed_dates=tuple(self.closed_dates),
            languages=tuple(self.languages),
            markets=tuple(self.markets),
            store_slug=self.store,
        )


class MemberIn(Body):
    email: Email
    languages: list[Short] = Field(default_factory=list, max_length=30)
    markets: list[Short] = Field(default_factory=list, max_length=100)
    capacity: StrictInt = Field(default=10, ge=0, le=500)
    skills: list[Annotated[str, Field(max_length=40), NoNul]] = Field(
        default_factory=list, max_length=20
    )


class PresenceIn(Body):
    status: PresenceStatus


Minutes = Annotated[StrictInt, Field(ge=1, le=129_600)]
Key = Annotated[str, Field(max_length=36), NoNul] | None


class TargetsIn(Body):
    first_response_minutes: Minutes
    next_response_minutes: Minutes
    resolution_minutes: Minutes


class AssignmentIn(Body):
    team_id: Key = None
    assignee_id: Key = None
    reason: Annotated[str, Field(max_length=500), NoNul]  # required; checked by the handler


def member_out(member: TeamMember) -> dict[str, Any]:
    return {
        "team_id": member.team_id,
        "staff_id": member.staff_id,
        "languages": sorted(member.languages),
        "markets": sorted(member.markets),
        "capacity": member.capacity,
        "skills": sorted(member.skills),
    }


def team_out(view: TeamView) -> dict[str, Any]:
    team = view.team
    return {
        "id": team.id,
        "name": team.name,
        "timezone": team.timezone,
        **team.settings(),
        "open_now": view.open_now,
        "opens_at": iso(view.opens_at),
        "members": [
            {
                **member_out(m.member),
                "email": m.user.email,
                "name": m.user.name,
                "presence": m.presence.value,
                "load": m.load,
            }
            for m in view.members
        ],
    }


def work_out(view: WorkView | None) -> dict[str, Any]:
    """A case's `team`, `assignee` and `sla` (staff only)."""
    if view is None:
        return {"team": None, "assignee": None, "sla": None}
    work, sla = view.work, view.work.sla
    return {
        "team": {"id": work.team_id, "name": view.team_name} if work.team_id else None,
        "assignee": (
            {"id": work.assignee_id, "name": view.assignee_name, "email": view.assignee_email}
            if work.assignee_id
            else None
        ),
        "routing_rule": work.rule,
        "sla": {
            "first_response_due_at": iso(sla.due.get(SlaClock.first_response)),
            "next_response_due_at": iso(sla.due.get(SlaClock.next_response)),
            "resolution_due_at": iso(sla.due.get(SlaClock.resolution)),
            "first_responded_at": iso(sla.first_responded_at),
            "resolved_at": iso(sla.resolved_at),
            "paused": sla.paused,
            "paused_minutes": round(sla.paused_minutes, 1),
            "breached": bool(sla.breached),
            "breached_clocks": sorted(sla.breached),
            "targets": targets_out(sla.targets),
        },
    }


def targets_out(targets: SlaTargets) -> dict[str, int]:
    return {
        "first_response_minutes": targets.first_response_minutes,
        "next_response_minutes": targets.next_response_minutes,
        "resolution_minutes": targets.resolution_minutes,
    }


@router.post("/teams", status_code=201)
def post_team(body: TeamIn, principal: PrincipalDep, container: ContainerDep) -> dict[str, Any]:
    team = create_team(container.uow, container.clock, principal, body.to_input())
    return team_out(get_team(container.uow, container.clock, principal, team.id))


@router.get("/teams")
def get_teams(
    principal: PrincipalDep, container: ContainerDep, store: StoreSlug = None
) -> dict[str, Any]:
    views = list_teams(container.uow, container.clock, principal, store)
    return {"items": [team_out(view) for view in views]}


@router.get("/teams/{team_id}")
def read_team(team_id: Id, principal: PrincipalDep, container: ContainerDep) -> dict[str, Any]:
    return team_out(get_team(container.uow, container.clock, principal, team_id))


@router.put("/teams/{team_id}")
def put_team(
    team_id: Id, body: TeamIn, principal: PrincipalDep, container: ContainerDep
) -> dict[str, Any]:
    update_team(container.uow, principal, team_id, body.to_input())
    return team_out(get_team(container.uow, container.clock, principal, team_id))


@router.post("/teams/{team_id}/members", status_code=201)
def post_member(
    team_id: Id, body: MemberIn, principal: PrincipalDep, container: ContainerDep
) -> dict[str, Any]:
    member = add_member(
        container.uow,
        principal,
        team_id,
        MemberInput(
            body.email,
            tuple(body.languages),
            tuple(body.markets),
            body.capacity,
            tuple(body.skills),
        ),
    )
    return member_out(member)


@router.delete("/teams/{team_id}/members/{staff_id}", status_code=204)
def delete_member(
    team_id: Id, staff_id: Id, principal: PrincipalDep, container: ContainerDep
) -> None:
    remove_member(container.uow, principal, team_id, staff_id)


@router.get("/auth/me")
def auth_me(principal: MaybePrincipal, container: ContainerDep) -> dict[str, Any]:
    """The signed-in staff member: role, permissions, time zone, presence and teams."""
    if principal is None:
        raise AuthenticationFailed("sign in first", code="unauthenticated")
    if principal.kind != "staff":  # a buyer's session: who they are, nothing more
        return {
            "id": principal.id,
            "kind": principal.kind,
            "role": principal.role.value,
            "store_id": principal.store_id,
            "order_id": principal.order_id,
        }
    found = me(container.uow, container.clock, principal)
    user = found.user
    return {
        "id": user.id,
        "email": user.email,
        "name": user.name,
        "role": user.role.value,
        "store_id": user.store_id,
        "language": user.language,
        "timezone": user.timezone,
        "presence": found.presence.value,
        "teams": [member_out(m) for m in found.memberships],
        "permissions": sorted(p.value for p in found.permissions),
    }


@router.put("/agents/me/presence")
def put_presence(
    body: PresenceIn, principal: PrincipalDep, container: ContainerDep
) -> dict[str, Any]:
    ttl = timedelta(seconds=container.settings.presence_ttl_seconds)
    presence = set_presence(container.uow, container.clock, principal, body.status, ttl)
    return {"status": presence.status.value, "expires_at": iso(presence.expires_at)}


@router.get("/sla/targets")
def get_targets(
    principal: PrincipalDep, container: ContainerDep, store: StoreSlug = None
) -> dict[str, Any]:
    found = list_targets(container.uow, principal, store)
    return {"items": {case_type: targets_out(t) for case_type, t in sorted(found.items())}}


@router.put("/sla/targets/{case_type}")
def put_targets(
    case_type: CaseType,
    body: TargetsIn,
    principal: PrincipalDep,
    container: ContainerDep,
    store: StoreSlug = None,
) -> dict[str, Any]:
    targets = SlaTargets(
        body.first_response_minutes, body.next_response_minutes, body.resolution_minutes
    )
    set_targets(container.uow, principal, case_type, targets, store)
    return {"case_type": case_type, **targets_out(targets)}


@router.get("/returns/{case_id}/work")
def read_work(case_id: Id, principal: PrincipalDep, container: ContainerDep) -> dict[str, Any]:
    return work_out(work_view(container.uow, principal, case_id))


@router.post("/returns/{case_id}/assignment")
def post_assignment(
    case_id: Id, body: AssignmentIn, principal: PrincipalDep, container: ContainerDep
) -> dict[str, Any]:
    reassign(
        container.uow,
        container.clock,
        principal,
        case_id,
        team_id=body.team_id,
        assignee_id=body.assignee_id,
        reason=body.reason,
    )
    return work_out(work_view(container.uow, principal, case_id))


class RuleIn(Body):
    name: Annotated[str, Field(min_length=1, max_length=100), NoNul]
    languages: list[Short] = Field(default_factory=list, max_length=30)
    markets: list[Short] = Field(default_factory=list, max_length=100)
    reasons: list[Annotated[str, Field(max_length=40), NoNul]] = Field(
        default_factory=list, max_length=30
    )
    team_id: Annotated[str, Field(max_length=36), NoNul] | None = None
    skill: Annotated[str, Field(max_length=40), NoNul] | None = None

    def rule(self) -> RoutingRule:
        return RoutingRule(
            name=self.name,
            languages=frozenset(self.languages),
            markets=frozenset(self.markets),
            reasons=frozenset(self.reasons),
            team_id=self.team_id,
            skill=self.skill,
        )


class RulesIn(Body):
    rules: list[RuleIn] = Field(max_length=MAX_RULES)


def rules_out(found: RuleSet) -> dict[str, Any]:
    return {
        "items": [
            {
                "position": position,
                **rule.to_data(),
                "team_name": found.team_names.get(rule.team_id) if rule.team_id else None,
            }
            for position, rule in enumerate(found.rules, start=1)
        ],
        "then": ["skill", "agent", "team_queue", "any_team", "unassigned"],
    }


@router.get("/routing/rules")
def get_routing_rules(
    principal: PrincipalDep, container: ContainerDep, store: StoreSlug = None
) -> dict[str, Any]:
    """The store's own routing rules in the order they are tried, then the built-in steps."""
    return rules_out(routing_rules(container.uow, principal, store))


@router.put("/routing/rules")
def put_routing_rules(
    body: RulesIn, principal: PrincipalDep, container: ContainerDep, store: StoreSlug = None
) -> dict[str, Any]:
    """Replace the store's routing rules with this ordered list (`[]`: built-in routing only)."""
    rules = [item.rule() for item in body.rules]
    return rules_out(save_routing_rules(container.uow, container.clock, principal, rules, store))
