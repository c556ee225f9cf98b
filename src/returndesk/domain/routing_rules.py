"""A store's own routing rules, tried in order before the built-in routing.

A rule matches a case by the buyer's language, their market and the return's reasons (any of
each listed; an empty list matches anything) and says where the case goes: to a team (its
agents first, least loaded, else its queue) and/or to agents with a skill. The first rule that
matches decides; a case no rule matches is routed as before (domain/teams.py). A rule never
sends a case to somebody offline, away or full: with nobody free in its team, the case waits in
that team's queue.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from returndesk.domain.cases.reasons import ReasonCode
from returndesk.domain.errors import ValidationFailed
from returndesk.domain.teams import SKILL_NAMES, covers_market, language_matches

MAX_RULES = 50
_LANGUAGE = re.compile(r"^[a-z]{2,3}(-[A-Za-z0-9]{2,8})?$")
_MARKET = re.compile(r"^[A-Z]{2}$")
_REASONS = frozenset(reason.value for reason in ReasonCode)


@dataclass(frozen=True, slots=True)
class RoutingRule:
    name: str
    languages: frozenset[str] = frozenset()
    markets: frozenset[str] = frozenset()
    reasons: frozenset[str] = frozenset()
    team_id: str | None = None
    skill: str | None = None

    def __post_init__(self) -> None:
        name = " ".join(self.name.split())
        if not 1 <= len(name) <= 100:
            raise ValidationFailed("a rule's name has 1 to 100 characters", code="invalid_rule")
        object.__setattr__(self, "name", name)
        bad = sorted(lang for lang in self.languages if not _LANGUAGE.match(lang))
        if bad:
            raise ValidationFailed(
                f"not language tags: {', '.join(bad)} (e.g. en, pt-BR)", code="invalid_language"
            )
        markets = frozenset(market.upper() for market in self.markets)
        if any(not _MARKET.match(market) for market in markets):
            raise ValidationFailed("markets are two-letter country codes", code="invalid_market")
        object.__setattr__(self, "markets", markets)
        unknown = sorted(self.reasons - _REASONS)
        if unknown:
            raise ValidationFailed(
                f"unknown reasons: {', '.join(unknown)}",
                code="invalid_reason",
                known=sorted(_REASONS),
            )
        if self.skill is not None and self.skill not in SKILL_NAMES:
            raise ValidationFailed(
                f"unknown skill: {self.skill}", code="invalid_skill", known=list(SKILL_NAMES)
            )
        if self.team_id is None and self.skill is None:
            raise ValidationFailed("a rule sends cases to a team or a skill", code="invalid_rule")

    def matches(self, language: str, market: str, reasons: Iterable[str]) -> bool:
        """Every condition the rule has holds (a case with no market yet matches a market
        condition only when the rule has none)."""
        if self.languages and not language_matches(self.languages, language):
            return False
        if self.markets and (not market or not covers_market(self.markets, market)):
            return False
        return not self.reasons or bool(self.reasons.intersection(reasons))

    def to_data(self) -> dict[str, object]:
        return {
            "name": self.name,
            "languages": sorted(self.languages),
            "markets": sorted(self.markets),
            "reasons": sorted(self.reasons),
            "team_id": self.team_id,
            "skill": self.skill,
        }


def first_match(
    rules: Sequence[RoutingRule], language: str, market: str, reasons: Iterable[str]
) -> RoutingRule | None:
    wanted = tuple(reasons)
    return next((rule for rule in rules if rule.matches(language, market, wanted)), None)


def check_rules(rules: Sequence[RoutingRule], team_ids: Iterable[str]) -> None:
    """A store's whole list: at most MAX_RULES, names unique, teams of the store."""
    if len(rules) > MAX_RULES:
        raise ValidationFailed(f"at most {MAX_RULES} routing rules", code="too_many_rules")
    names = [rule.name.casefold() for rule in rules]
    if len(set(names)) != len(names):
        raise ValidationFailed("each rule needs its own name", code="duplicate_rule")
    known = set(team_ids)
    for rule in rules:
        if rule.team_id is not None and rule.team_id not in known:
            raise ValidationFailed(
                f"rule {rule.name!r} names a team this store does not have", code="team_not_found"
            )
