"""A store's routing rules: what a rule matches, what it may say, the list's limits."""

from __future__ import annotations

import pytest

from returndesk.domain.errors import ValidationFailed
from returndesk.domain.routing_rules import MAX_RULES, RoutingRule, check_rules, first_match


def test_every_condition_must_hold_and_an_empty_one_matches_anything() -> None:
    rule = RoutingRule("JP fakes", languages=frozenset({"ja"}), markets=frozenset({"jp"}),
                       reasons=frozenset({"counterfeit_suspected"}), skill="fraud")  # fmt: skip
    assert rule.markets == frozenset({"JP"})
    assert rule.matches("ja", "JP", ["wrong_size", "counterfeit_suspected"])
    assert not rule.matches("en", "JP", ["counterfeit_suspected"])
    assert not rule.matches("ja", "US", ["counterfeit_suspected"])
    assert not rule.matches("ja", "JP", ["wrong_size"])
    assert not rule.matches("ja", "", ["counterfeit_suspected"])  # market not known yet
    anything = RoutingRule("All", team_id="t")
    assert anything.matches("de", "", [])
    pt = RoutingRule("Portuguese", languages=frozenset({"pt"}), team_id="t")
    assert pt.matches("pt-BR", "BR", [])


def test_the_first_matching_rule_wins() -> None:
    first = RoutingRule("Japan", markets=frozenset({"JP"}), team_id="tokyo")
    second = RoutingRule("All", team_id="berlin")
    assert first_match([first, second], "ja", "JP", []) is first
    assert first_match([first, second], "de", "DE", []) is second
    assert first_match([first], "de", "DE", []) is None


@pytest.mark.parametrize(
    ("fields", "code"),
    [
        ({"name": ""}, "invalid_rule"),
        ({"name": "x" * 101}, "invalid_rule"),
        ({"team_id": None, "skill": None}, "invalid_rule"),
        ({"skill": "juggling"}, "invalid_skill"),
        ({"reasons": frozenset({"bored"})}, "invalid_reason"),
        ({"markets": frozenset({"USA"})}, "invalid_market"),
        ({"languages": frozenset({"English"})}, "invalid_language"),
    ],
)
def test_a_rule_that_makes_no_sense_is_refused(fields: dict[str, object], code: str) -> None:
    values: dict[str, object] = {"name": "R", "team_id": "t", **fields}
    with pytest.raises(ValidationFailed) as refused:
        RoutingRule(**values)  # type: ignore[arg-type]
    assert refused.value.code == code


def test_the_list_needs_known_teams_unique_names_and_a_bound() -> None:
    check_rules([RoutingRule("A", team_id="t")], {"t"})
    for rules, teams, code in [
        ([RoutingRule("A", team_id="gone")], {"t"}, "team_not_found"),
        ([RoutingRule("A", team_id="t"), RoutingRule("a", skill="fraud")], {"t"}, "duplicate_rule"),
        (
            [RoutingRule(f"R{i}", team_id="t") for i in range(MAX_RULES + 1)],
            {"t"},
            "too_many_rules",
        ),
    ]:
        with pytest.raises(ValidationFailed) as refused:
            check_rules(rules, teams)
        assert refused.value.code == code
