"""Who handles a case and its service-level clocks: routing at the start, then the clocks follow
what happens on the case (see domain/teams.py for the routing rules, domain/sla.py for the clocks).

Handlers call `keep_up` just before they save a case: it reads the case's new timeline entries,
so the clocks move in the same transaction as the case and can never disagree with it.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from datetime import datetime, time, timedelta
from time import monotonic as time_monotonic

from returndesk.domain.access import Role
from returndesk.domain.assistant.conversation import Conversation
from returndesk.domain.business_time import BusinessCalendar, WorkingBlock
from returndesk.domain.cases.model import EVIDENCE_CARE, WORK_EVENTS, Actor, ReturnCase
from returndesk.domain.ids import new_id
from returndesk.domain.notifications import StaffNotice, StaffNotification
from returndesk.domain.routing_rules import RoutingRule, first_match
from returndesk.domain.sla import WARN_SHARE, CaseSla, CaseWork, SlaAlert, SlaClock, SlaTargets
from returndesk.domain.stores import StaffUser
from returndesk.domain.teams import (
    Candidate,
    PresenceStatus,
    Routing,
    Team,
    TeamMember,
    TeamSlot,
    covers_market,
    language_matches,
    route,
    skill_for,
)
from returndesk.services.ports import UnitOfWork

# A store without teams is counted around the clock in its own time zone.
ROUND_THE_CLOCK = (WorkingBlock(frozenset(range(7)), time(0), time(0)),)
DEFAULT_CASE_TYPE = "default"


# Calendars are kept while their team's hours stay the same: each keeps the working intervals
# of the days it has computed, which routing and the clocks ask for again and again.
_calendars: dict[tuple[object, ...], BusinessCalendar] = {}


def calendar_for(uow: UnitOfWork, store_timezone: str, team: Team | None) -> BusinessCalendar:
    if team is None:
        key: tuple[object, ...] = (store_timezone,)
    else:
        key = (team.id, team.timezone, team.hours, team.holiday_country, team.closed_dates)
    found = _calendars.get(key)
    if found is None:
        if team is None:
            found = BusinessCalendar(store_timezone, ROUND_THE_CLOCK)
        else:
            found = team.calendar(uow.teams.public_holiday)
        if len(_calendars) > 512:
            _calendars.clear()
        _calendars[key] = found
    return found


def targets_for(uow: UnitOfWork, case: ReturnCase) -> SlaTargets:
    table = uow.teams.targets(case.store_id)
    kind = case.lines[0].reason.value if case.lines else DEFAULT_CASE_TYPE
    return table.get(kind) or table.get(DEFAULT_CASE_TYPE) or SlaTargets()


# Teams, their members and the routing rules change rarely and routing reads them for every
# new case: each process keeps them a few seconds (a change made here is seen at once; one made
# by another process within ROSTER_SECONDS). Presence and loads are always read fresh.
ROSTER_SECONDS = 10.0


@dataclass(frozen=True, slots=True)
class Roster:
    teams: list[Team]
    members: list[TeamMember]
    rules: list[RoutingRule]
    _fitting: dict[tuple[str, str], list[TeamMember]] = field(default_factory=dict)

    def fitting(self, language: str, market: str) -> list[TeamMember]:
        """The members who speak the language and cover the market (their own, or their
        team's), worked out once per language and market while this roster is kept."""
        key = (language, market)
        found = self._fitting.get(key)
        if found is None:
            teams = {team.id: team for team in self.teams}
            found = [
                m
                for m in self.members
                if m.team_id in teams
                and language_matches(m.languages or teams[m.team_id].languages, language)
                and covers_market(m.markets or teams[m.team_id].markets, market)
            ]
            if len(self._fitting) < 1024:
                self._fitting[key] = found
        return found


_rosters: dict[str, tuple[float, Roster]] = {}
# Bumped by every change made in this process: a roster read before a change is not kept
# after it (another thread may have read the old rows just before the change committed).
_generations: dict[str, int] = {}


def forget_roster(store_id: str) -> None:
    _generations[store_id] = _generations.get(store_id, 0) + 1
    _rosters.pop(store_id, None)


def roster(uow: UnitOfWork, store_id: str) -> Roster:
    kept = _rosters.get(store_id)
    if kept is not None and kept[0] > time_monotonic():
        return kept[1]
    generation = _generations.get(store_id, 0)
    found = Roster(
        uow.teams.for_store(store_id),
        uow.teams.members(store_id),
        uow.teams.routing_rules(store_id),
    )
    if _generations.get(store_id, 0) == generation:
        _rosters[store_id] = (time_monotonic() + ROSTER_SECONDS, found)
    return found


def route_for(
    uow: UnitOfWork,
    store_id: str,
    store_timezone: str,
    language: str,
    market: str,
    now: datetime,
    skill: str | None = None,
    reasons: tuple[str, ...] = (),
) -> Routing:
    """The store's first routing rule that matches (its team's agents, its skill), else an
    online agent with the language and market and room (one with the case's skill first, when
    it needs one: `skill_for`), else the queue of the team on shift soonest."""
    current = roster(uow, store_id)
    teams = {team.id: team for team in current.teams}
    # Only agents who could take this case are looked up: whether they are online, and their
    # load (one query).
    fitting = current.fitting(language, market)
    loads = uow.teams.online_loads(store_id, sorted({m.staff_id for m in fitting}), now)
    candidates = []
    for member in fitting:
        if member.staff_id not in loads:  # offline, away, lapsed or deactivated
            continue
        team = teams[member.team_id]
        load, last = loads[member.staff_id]
        candidates.append(
            Candidate(
                staff_id=member.staff_id,
                team_id=member.team_id,
                languages=member.languages or team.languages,
                markets=member.markets or team.markets,
                capacity=member.capacity,
                load=load,
                status=PresenceStatus.online,
                last_assigned_at=last,
                skills=member.skills,
            )
        )
    rule = first_match(current.rules, language, market, reasons)
    # The rule's skill first, then the one the case needs, then anyone who fits.
    rule_skill = rule.skill if rule is not None else None
    wanted = [s for s in dict.fromkeys((rule_skill, skill)) if s is not None]
    rule_team = teams.get(rule.team_id) if rule is not None and rule.team_id else None
    if (
        rule is not None
        and rule_team is not None
        and calendar_for(uow, store_timezone, rule_team).next_open(now) is not None
    ):  # the rule's team (one that works at all): its agents, else its queue
        pool = [c for c in candidates if c.team_id == rule_team.id]
        for needed in (*wanted, None):
            found = route(language, market, pool, [], skill=needed)
            if found.assignee_id is not None:
                return replace(found, rule="rule", rule_name=rule.name)
        return Routing(rule_team.id, None, "rule", rule.name)
    by_rule = rule.name if rule is not None and rule.team_id is None else None
    for needed in wanted:  # a skill-only rule's skill, or the case's: holders first
        skilled = route(language, market, candidates, [], skill=needed)
        if skilled.assignee_id is not None:
            if by_rule is not None and needed == rule_skill:
                return replace(skilled, rule="rule", rule_name=by_rule)
            return replace(skilled, rule="skill")
    found = route(language, market, candidates, [])
    if found.assignee_id is not None:  # someone online takes it: no need to look at shifts
        return found
    slots = [
        TeamSlot(
            team.id,
            calendar_for(uow, store_timezone, team).next_open(now),
            team.serves(language, market),
        )
        for team in teams.values()
    ]
    return route(language, market, candidates, slots)


def start_work(uow: UnitOfWork, case: ReturnCase, store_timezone: str, now: datetime) -> CaseWork:
    """Route a new case and start its clocks; call before the case is added, save the work
    after (its row refers to the case's)."""
    routing = route_for(
        uow,
        case.store_id,
        store_timezone,
        case.language,
        case.market,
        now,
        skill_for(case.decision),
        tuple(line.reason.value for line in case.lines),
    )
    work = CaseWork(
        case_id=case.id,
        store_id=case.store_id,
        sla=CaseSla(case.id, targets_for(uow, case), started_at=case.created_at),
        team_id=routing.team_id,
        assignee_id=routing.assignee_id,
        assigned_at=now if routing.assignee_id else None,
        rule=routing.rule,
    )
    if routing.team_id is not None:  # a store without teams has no one to name
        case.record_work(
            "assigned",
            {
                "team_id": routing.team_id,
                "assignee_id": routing.assignee_id,
                "rule": routing.rule,
                "routing_rule": routing.rule_name,
            },
            Actor.system(),
            now,
        )
    _follow_events(uow, case, work, store_timezone)
    return work


def keep_up(uow: UnitOfWork, case: ReturnCase) -> None:
    """Move the case's clocks by its new timeline entries; call before the case is saved."""
    store = uow.stores.get(case.store_id)
    store_timezone = store.timezone if store else "UTC"
    work = uow.teams.work(case.id, lock=True)  # the sweep or a chat may move them meanwhile
    if work is None:  # a case opened before teams existed: start its clocks now
        work = start_work(uow, case, store_timezone, case.updated_at)
    else:
        _follow_events(uow, case, work, store_timezone)
    uow.teams.save_work(work)


def _follow_events(uow: UnitOfWork, case: ReturnCase, work: CaseWork, store_timezone: str) -> None:
    team = uow.teams.get(work.team_id) if work.team_id else None
    calendar = calendar_for(uow, store_timezone, team)
    for event in case.new_events:
        if event.kind in WORK_EVENTS or event.kind in EVIDENCE_CARE:
            continue
        if event.kind == "case_opened":
            pass
        elif event.actor.kind == "staff":
            work.sla.staff_responded(event.at, calendar)
        elif event.actor.kind == "buyer":
            work.sla.buyer_wrote(event.at, calendar)
        if event.to_status is not None:
            work.sla.follow(event.to_status, event.at, calendar)
    work.sla.recompute(calendar)


def follow_chat(
    uow: UnitOfWork, case_id: str, by_staff: bool, at: datetime, *, save: bool = True
) -> CaseWork | None:
    """A message in a chat about the case (the conversation a person took over) moves its
    response clocks as one on the case would: the buyer's starts a wait for a person's answer
    (the next-response clock, once the first response is given), a person's answer ends it.
    `save=False` only says what it would do (the promise told to the buyer before the
    message is stored). None: the case has no running clocks."""
    work = uow.teams.work(case_id, lock=save)
    if work is None or not work.open:
        return None
    store = uow.stores.get(work.store_id)
    team = uow.teams.get(work.team_id) if work.team_id else None
    calendar = calendar_for(uow, store.timezone if store else "UTC", team)
    if by_staff:
        work.sla.staff_responded(at, calendar)
    else:
        work.sla.buyer_wrote(at, calendar)
    if save:
        uow.teams.save_work(work)
    return work


def answer_due(work: CaseWork) -> datetime | None:
    """When a person's answer to the buyer is due on this case (None: no response clock is
    running, or the case waits on the buyer)."""
    due = work.sla.due
    return due.get(SlaClock.first_response) or due.get(SlaClock.next_response)


def raise_alerts(
    uow: UnitOfWork, case: ReturnCase, work: CaseWork, now: datetime
) -> list[tuple[str, SlaAlert]]:
    """Warnings and breaches due by now, as staff-only timeline entries on the case."""
    raised = work.sla.check(now)
    for clock, alert in raised:
        due = work.sla.due.get(clock)
        case.record_work(
            "sla_breached" if alert is SlaAlert.breach else "sla_warning",
            {
                "clock": clock.value,
                "due_at": due.isoformat() if due else None,
                "team_id": work.team_id,
                "assignee_id": work.assignee_id,
            },
            Actor.system(),
            now,
        )
    uow.teams.save_work(work)
    return [(clock.value, alert) for clock, alert in raised]


def raise_chat_alerts(uow: UnitOfWork, conversation: Conversation, now: datetime) -> list[SlaAlert]:
    """A chat handed to people about no case whose answer is due soon or overdue: a
    notification in the console inbox of the person it was handed to (a warning; the
    supervisors of its team when it went to a team's queue), and of those supervisors on a
    breach (the store's supervisors when the team has none)."""
    if conversation.case_id:  # a case was linked since (a photo): its clocks may carry the wait
        work = uow.teams.work(conversation.case_id)
        due = answer_due(work) if work is not None and work.open else None
        if due is not None and due > now:
            conversation.answer.stop(answered=False)
            uow.conversations.save_clock(conversation)
            return []
    raised = conversation.answer.check(now)
    summary = conversation.summary or {}
    for alert in raised:
        agent_id = summary.get("assignee_id")
        agent = uow.staff.get(str(agent_id)) if agent_id else None
        if alert is SlaAlert.warning and agent is not None and agent.active:
            people = [agent]
        else:
            people = _supervisors(uow, conversation.store_id, summary.get("team_id"))
        notice = StaffNotice.chat_breached if alert is SlaAlert.breach else StaffNotice.chat_warning
        due = conversation.answer.due_at
        for person in people:
            uow.inbox.add(
                conversation.store_id,
                person.id,
                StaffNotification(
                    id="nt_" + new_id(),
                    notice=notice,
                    case_id=None,
                    case_number=None,
                    conversation_id=conversation.id,
                    data={
                        "due_at": due.isoformat() if due else None,
                        "team_id": summary.get("team_id"),
                        "order_number": summary.get("order_number"),
                        "language": conversation.language,
                    },
                    created_at=now,
                ),
            )
    uow.conversations.save_clock(conversation)
    return raised


def _supervisors(uow: UnitOfWork, store_id: str, team_id: object) -> list[StaffUser]:
    """The active supervisors of the team (of the store, when the team has none)."""
    supervisors = [
        user for user in uow.staff.list(store_id) if user.active and user.role is Role.supervisor
    ]
    if team_id:
        in_team = {m.staff_id for m in roster(uow, store_id).members if m.team_id == team_id}
        found = [user for user in supervisors if user.id in in_team]
        if found:
            return found
    return supervisors


def hand_over(
    uow: UnitOfWork,
    store_id: str,
    language: str,
    market: str | None,
    now: datetime,
    fallback: timedelta,
    *,
    answered: bool = False,
    team_id: str | None = None,
) -> tuple[datetime, datetime, Routing | None]:
    """Who takes a buyer the assistant hands over now, and when a person will answer: the
    first-response target (the next-response one once a person has answered in the chat)
    counted in the working time of that team (an agent online now, or the next team on shift),
    with the moment 80 % of it is used (the warning). `team_id`: the team that already has the
    chat (its hours count; nobody is routed again). A store without teams: nobody named,
    `fallback` from now."""
    store = uow.stores.get(store_id)
    if store is None or not roster(uow, store_id).teams:
        return now + fallback, now + fallback * WARN_SHARE, None
    kept = uow.teams.get(team_id) if team_id else None
    if kept is not None and kept.store_id == store_id:
        routing: Routing | None = None
        team: Team | None = kept
    else:
        routing = route_for(uow, store_id, store.timezone, language, market or "", now)
        team = uow.teams.get(routing.team_id) if routing.team_id else None
    if team is None:
        return now + fallback, now + fallback * WARN_SHARE, routing
    targets = uow.teams.targets(store_id)
    found = targets.get(DEFAULT_CASE_TYPE) or SlaTargets()
    clock = SlaClock.next_response if answered else SlaClock.first_response
    minutes = found.minutes(clock)
    due, warn = calendar_for(uow, store.timezone, team).add_minutes_each(
        now, [minutes, minutes * WARN_SHARE]
    )
    return due, warn, routing
