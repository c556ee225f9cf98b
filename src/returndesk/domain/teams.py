"""Teams, their members and presence, and the routing of cases to people who can take them.

Routing (in this order, the first rule that finds someone wins):
1. an online agent whose presence has not expired, who speaks the buyer's language and covers
   the buyer's market, with fewer open cases than their capacity: the least loaded (relative to
   capacity), then the one who got a case longest ago;
2. otherwise the queue of the team that serves the language and market and is open soonest
   (follow-the-sun), with no assignee;
3. otherwise the team open soonest, whatever it serves; no teams at all: unassigned.
Nobody offline, away or full is ever picked.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import date, datetime
from enum import StrEnum
from typing import Any

from returndesk.domain.business_time import BusinessCalendar, WorkingBlock, check_timezone
from returndesk.domain.cases.reasons import FAULT_REASONS
from returndesk.domain.errors import ValidationFailed

MAX_CAPACITY = 500
FAULT_REASON_CODES = frozenset(reason.value for reason in FAULT_REASONS)
SKILL_NAMES = ("returns", "electronics_howto", "video_inspection", "fraud", "warehouse")


class PresenceStatus(StrEnum):
    online = "online"
    away = "away"
    offline = "offline"


@dataclass(frozen=True, slots=True)
class Presence:
    staff_id: str
    status: PresenceStatus
    expires_at: datetime  # a console that stops renewing it leaves the agent offline

    def at(self, now: datetime) -> PresenceStatus:
        return self.status if now < self.expires_at else PresenceStatus.offline


def language_matches(spoken: frozenset[str], wanted: str) -> bool:
    """'pt' covers 'pt-BR' and the other way round; an empty set speaks nothing."""
    base = wanted.split("-")[0].lower()
    return any(lang.split("-")[0].lower() == base for lang in spoken)


def covers_market(markets: frozenset[str], market: str) -> bool:
    """An empty set of markets covers every market; a buyer whose market is not known yet (an
    anonymous chat) is matched on language alone."""
    return not markets or not market or market.upper() in markets


@dataclass(slots=True)
class Team:
    id: str
    store_id: str
    name: str
    timezone: str
    hours: tuple[WorkingBlock, ...]
    holiday_country: str | None
    closed_dates: frozenset[date]
    languages: frozenset[str]
    markets: frozenset[str]
    created_at: datetime

    def __post_init__(self) -> None:
        self.name = self.name.strip()
        if not 1 <= len(self.name) <= 100:
            raise ValidationFailed("a team's name has 1 to 100 characters", code="invalid_team")
        check_timezone(self.timezone)
        if not self.hours:
            raise ValidationFailed("a team has working hours", code="invalid_hours")
        if self.holiday_country is not None and (
            len(self.holiday_country) != 2 or not self.holiday_country.isalpha()
        ):
            raise ValidationFailed(
                "holiday_country is a two-letter country code", code="invalid_team"
            )

    def calendar(self, public_holiday: Callable[[str, date], bool]) -> BusinessCalendar:
        country, closed = self.holiday_country, self.closed_dates

        def is_closed(day: date) -> bool:
            return day in closed or (country is not None and public_holiday(country, day))

        return BusinessCalendar(self.timezone, self.hours, is_closed)

    def settings(self) -> dict[str, object]:
        """The team's hours and coverage as plain data (stored and shown the same way)."""
        return {
            "hours": [block.to_data() for block in self.hours],
            "holiday_country": self.holiday_country,
            "closed_dates": sorted(day.isoformat() for day in self.closed_dates),
            "languages": sorted(self.languages),
            "markets": sorted(self.markets),
        }

    def serves(self, language: str, market: str) -> bool:
        return language_matches(self.languages, language) and covers_market(self.markets, market)


@dataclass(slots=True)
class TeamMember:
    team_id: str
    staff_id: str
    languages: frozenset[str]
    markets: frozenset[str]
    capacity: int
    skills: frozenset[str]

    def __post_init__(self) -> None:
        if not 0 <= self.capacity <= MAX_CAPACITY:
            raise ValidationFailed(
                f"capacity is 0 to {MAX_CAPACITY} open cases", code="invalid_capacity"
            )
        unknown = self.skills - set(SKILL_NAMES)
        if unknown:
            raise ValidationFailed(
                f"unknown skills: {', '.join(sorted(unknown))}",
                code="invalid_skill",
                known=list(SKILL_NAMES),
            )


@dataclass(frozen=True, slots=True)
class Candidate:
    """One agent as routing sees them at one moment."""

    staff_id: str
    team_id: str
    languages: frozenset[str]
    markets: frozenset[str]
    capacity: int
    load: int  # open cases assigned now
    status: PresenceStatus
    last_assigned_at: datetime | None = None
    skills: frozenset[str] = frozenset()


@dataclass(frozen=True, slots=True)
class TeamSlot:
    """A team as routing sees it: when it is next open (now or later) and what it serves."""

    team_id: str
    opens_at: datetime | None  # None: never works within the horizon
    serves: bool


@dataclass(frozen=True, slots=True)
class Routing:
    team_id: str | None
    assignee_id: str | None
    rule: str  # "rule" | "skill" | "agent" | "team_queue" | "any_team" | "unassigned"
    rule_name: str | None = None  # the store's routing rule that decided (rule "rule")


def skill_for(decision: Mapping[str, Any] | None) -> str | None:
    """The skill a case needs, read from its decision: a fraud review, a live video inspection,
    or help with an electronic product that seems faulty (often a how-to question); None: any
    agent with the language and market."""
    if not decision:
        return None
    if decision.get("responsibility") == "fraud_suspected":
        return "fraud"
    if decision.get("evidence_requested") == "inspection_call":
        return "video_inspection"
    lines = (decision.get("inputs") or {}).get("lines") or []
    if any(
        line.get("category") == "electronics" and line.get("reason") in FAULT_REASON_CODES
        for line in lines
        if isinstance(line, Mapping)
    ):
        return "electronics_howto"
    return None


def route(
    language: str,
    market: str,
    candidates: Sequence[Candidate],
    teams: Sequence[TeamSlot],
    *,
    skill: str | None = None,
) -> Routing:
    best: Candidate | None = None
    best_key: tuple[float, datetime | None, str] | None = None
    for agent in candidates:
        if (
            agent.status is not PresenceStatus.online
            or agent.load >= agent.capacity
            or not language_matches(agent.languages, language)
            or not covers_market(agent.markets, market)
            or (skill is not None and skill not in agent.skills)
        ):
            continue
        key = (agent.load / agent.capacity, agent.last_assigned_at, agent.staff_id)
        if best_key is None or _before(key, best_key):
            best, best_key = agent, key
    if best is not None:
        return Routing(best.team_id, best.staff_id, "agent")
    open_teams = [team for team in teams if team.opens_at is not None]
    for rule, pool in (
        ("team_queue", [team for team in open_teams if team.serves]),
        ("any_team", open_teams),
    ):
        if pool:
            chosen = min(pool, key=lambda team: (team.opens_at, team.team_id))
            return Routing(chosen.team_id, None, rule)
    return Routing(None, None, "unassigned")


def _before(
    key: tuple[float, datetime | None, str], other: tuple[float, datetime | None, str]
) -> bool:
    """Less loaded first; then whoever was given a case longest ago (never given: first)."""
    if key[0] != other[0]:
        return key[0] < other[0]
    if key[1] != other[1]:
        if key[1] is None:
            return True
        if other[1] is None:
            return False
        return key[1] < other[1]
    return key[2] < other[2]
