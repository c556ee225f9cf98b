"""Policy documents: malformed or contradictory ones are rejected whole, naming what is wrong."""

from __future__ import annotations

import copy
import tomllib
from pathlib import Path
from typing import Any

import pytest

import returndesk
from returndesk.adapters.rules.compiler import PolicyCompiler
from returndesk.domain.cases.reasons import ReasonCode
from returndesk.domain.errors import ValidationFailed
from returndesk.domain.policy.decision import EvidenceKind, Outcome, RefundTiming
from returndesk.domain.policy.document import DEFAULT_DOCUMENT, Policy, PolicyInvalid
from returndesk.domain.policy.law import STATUTES, DayCount, Payer

DEMO = Path(returndesk.__file__).parent / "policies" / "demo.toml"


def compile_doc(doc: dict[str, Any]) -> Policy:
    return PolicyCompiler().compile(copy.deepcopy(doc))


def rejected(doc: dict[str, Any]) -> PolicyInvalid:
    with pytest.raises(PolicyInvalid) as info:
        compile_doc(doc)
    error = info.value
    assert error.code == "invalid_policy"
    assert isinstance(error, ValidationFailed)
    assert error.data["path"] in str(error), "the message names the offending path"
    if "rule" in error.data:
        assert repr(error.data["rule"]) in str(error), "the message names the rule"
    return error


def with_rules(*rules: dict[str, Any], **extra: Any) -> dict[str, Any]:
    return {"rules": list(rules), **extra}


def r(rule_id: str, then: dict[str, Any] | None = None, **kw: Any) -> dict[str, Any]:
    return {"id": rule_id, "then": {"outcome": "human_review"} if then is None else then, **kw}


# --- valid documents ------------------------------------------------------------------------


def test_demo_policy_compiles() -> None:
    document = tomllib.loads(DEMO.read_text(encoding="utf-8"))
    policy = compile_doc(document)
    assert policy.name == "Demo store return policy"
    assert policy.auto_apply is True
    assert policy.policy_displayed is True
    assert policy.origin_country == "CN"
    assert (policy.change_of_mind_days, policy.fault_days) == (30, 365)
    assert policy.windows_for("US", "US", "electronics") == (15, 365)
    assert policy.windows_for("DE", "EU", "general") == (30, 365)
    assert policy.final_sale_categories == {"clearance"}
    assert policy.non_returnable_categories == {"hygiene", "custom"}
    assert policy.return_shipping_by_reason == {ReasonCode.wrong_size: Payer.store}
    assert policy.restocking_fee_bp == 1000
    assert policy.restocking_fee_reasons == {ReasonCode.changed_mind}
    assert policy.store_credit_bonus_bp == 1000
    assert policy.returnless_below["JPY"] == 2000
    assert policy.return_cost["DE"] == {"EUR": 700}
    assert policy.resale_bp == 6000
    assert policy.fraud_max_returns == 4
    assert policy.evidence_by_reason[ReasonCode.missing_parts] is EvidenceKind.unboxing_video
    assert [rule.id for rule in policy.rules] == [
        "electronics-opened",
        "expensive-defect",
        "late-not-received",
    ]
    assert policy.rules[1].then.outcome is Outcome.request_evidence
    assert policy.rules[0].then.restocking_fee_bp == 1500
    assert policy.return_addresses[0].name == "ReturnDesk EU returns hub"
    assert policy.law == STATUTES
    assert policy.document == document


def test_empty_and_default_documents_compile() -> None:
    assert compile_doc({}).change_of_mind_days == 30
    policy = compile_doc(DEFAULT_DOCUMENT)
    assert policy.refund_timing is RefundTiming.on_receipt
    assert policy.rules == ()


def test_law_overrides_are_applied() -> None:
    law = {
        "EU": {"withdrawal_days": 30, "withdrawal_return_paid_by": "store"},
        "BR": {"day_count": "business"},
    }
    policy = compile_doc({"law": law})
    assert policy.law["EU"].withdrawal_days == 30
    assert policy.law["EU"].withdrawal_return_paid_by is Payer.store
    assert policy.law["EU"].withdrawal_basis == STATUTES["EU"].withdrawal_basis
    assert policy.law["BR"].day_count is DayCount.business
    assert policy.law["UK"] == STATUTES["UK"]


def test_percentages_with_two_decimals_are_basis_points() -> None:
    policy = compile_doc({"restocking_fee": {"percent": 12.75}})
    assert policy.restocking_fee_bp == 1275


def test_reason_groups_expand() -> None:
    policy = compile_doc({"rules": [r("g", reasons=["damaged_or_faulty"])]})
    assert policy.rules[0].reasons == {
        ReasonCode.defective,
        ReasonCode.damaged_in_transit,
        ReasonCode.missing_parts,
    }


# --- unknown keys ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("doc", "path", "rule"),
    [
        ({"colour": "blue"}, "colour", None),
        ({"windows": {"change_of_mind": 30}}, "windows.change_of_mind", None),
        ({"windows": {"overrides": [{"change_of_mind_days": 5, "market": ["DE"]}]}},
         "windows.overrides[0].market", None),
        ({"refund": {"when": "on_receipt"}}, "refund.when", None),
        ({"automation": {"apply": True, "auto": True}}, "automation.auto", None),
        ({"fraud": {"max_return": 3}}, "fraud.max_return", None),
        ({"evidence": {"by_reasons": {}}}, "evidence.by_reasons", None),
        ({"law": {"XX": {}}}, "law.XX", None),
        ({"law": {"EU": {"cooling_off_days": 14}}}, "law.EU.cooling_off_days", None),
        ({"law": {"EU": {"region": "UK"}}}, "law.EU.region", None),
        ({"return_addresses": [{"name": "A", "lines": ["x"], "zip": "1"}]},
         "return_addresses[0].zip", None),
        (with_rules(r("r1", colour="red")), "rules[0].colour", "r1"),
        (with_rules(r("ok"), r("r2", {"outcome": "human_review", "also": 1})),
         "rules[1].then.also", "r2"),
    ],
)  # fmt: skip
def test_unknown_keys_are_rejected(doc: dict[str, Any], path: str, rule: str | None) -> None:
    error = rejected(doc)
    assert error.data["path"] == path
    assert error.data.get("rule") == rule


# --- wrong types and values -----------------------------------------------------------------


@pytest.mark.parametrize(
    ("doc", "path"),
    [
        ({"windows": 30}, "windows"),
        ({"windows": {"change_of_mind_days": "30"}}, "windows.change_of_mind_days"),
        ({"windows": {"change_of_mind_days": True}}, "windows.change_of_mind_days"),
        ({"windows": {"fault_days": -1}}, "windows.fault_days"),
        ({"windows": {"fault_days": 3651}}, "windows.fault_days"),
        ({"windows": {"fault_days": 30.5}}, "windows.fault_days"),
        ({"windows": {"overrides": {"change_of_mind_days": 5}}}, "windows.overrides"),
        ({"windows": {"overrides": [{"categories": ["x"]}]}},
         "windows.overrides[0].change_of_mind_days"),
        ({"policy_displayed": "yes"}, "policy_displayed"),
        ({"name": 5}, "name"),
        ({"origin_country": "china"}, "origin_country"),
        ({"schema": 2}, "schema"),
        ({"categories": {"final_sale": "clearance"}}, "categories.final_sale"),
        ({"categories": {"non_returnable": ["Hygiene Items"]}}, "categories.non_returnable"),
        ({"return_shipping": {"default": "seller"}}, "return_shipping.default"),
        ({"return_shipping": {"by_reason": {"size": "store"}}}, "return_shipping.by_reason.size"),
        ({"refund": {"timing": "never"}}, "refund.timing"),
        ({"exchange": {"enabled": 1}}, "exchange.enabled"),
        ({"restocking_fee": {"percent": "10%"}}, "restocking_fee.percent"),
        ({"restocking_fee": {"reasons": ["bored"]}}, "restocking_fee.reasons"),
        ({"lists": {"block_emails": "a@example.com"}}, "lists.block_emails"),
        ({"economics": {"returnless_below": {"EURO": 100}}}, "economics.returnless_below.EURO"),
        ({"economics": {"returnless_below": {"EUR": -1}}}, "economics.returnless_below.EUR"),
        ({"economics": {"return_cost": {"Germany": {"EUR": 100}}}},
         "economics.return_cost.Germany"),
        ({"fraud": {"max_returns": 0}}, "fraud.max_returns"),
        ({"evidence": {"by_reason": {"defective": "selfie"}}}, "evidence.by_reason.defective"),
        ({"evidence": {"by_reason": {"bored": "photo"}}}, "evidence.by_reason.bored"),
        ({"law": {"EU": {"withdrawal_days": "14"}}}, "law.EU.withdrawal_days"),
        ({"law": {"BR": {"day_count": "weekdays"}}}, "law.BR.day_count"),
        ({"law": {"EU": {"refund_outbound_shipping": "yes"}}}, "law.EU.refund_outbound_shipping"),
        ({"return_addresses": [{"name": "A", "lines": []}]}, "return_addresses[0].lines"),
        ({"return_addresses": [{"lines": ["x"]}]}, "return_addresses[0].name"),
        ({"rules": {"id": "r1"}}, "rules"),
        ({"rules": ["r1"]}, "rules[0]"),
    ],
)  # fmt: skip
def test_wrong_types_are_rejected(doc: dict[str, Any], path: str) -> None:
    assert rejected(doc).data["path"] == path


@pytest.mark.parametrize(
    ("rule", "path"),
    [
        ({"then": {"outcome": "human_review"}}, "rules[0].id"),
        (r("Bad Id"), "rules[0].id"),
        (r("r1", {"outcome": "maybe"}), "rules[0].then.outcome"),
        (r("r1", {}), "rules[0].then.outcome"),
        (r("r1", markets=["Germany"]), "rules[0].markets"),
        (r("r1", reasons=["bored"]), "rules[0].reasons"),
        (r("r1", categories="electronics"), "rules[0].categories"),
        (r("r1", when=5), "rules[0].when"),
        (r("r1", when="true" + " && true" * 400), "rules[0].when"),
        ({"id": "r1", "then": "decline"}, "rules[0].then"),
    ],
)
def test_malformed_rules_are_rejected(rule: dict[str, Any], path: str) -> None:
    error = rejected(with_rules(rule))
    assert error.data["path"] == path
    if path != "rules[0].id":
        assert error.data["rule"] == "r1"


def test_too_many_rules() -> None:
    error = rejected(with_rules(*(r(f"r{i}", when=f"buyer.returns > {i}") for i in range(501))))
    assert error.data["path"] == "rules"


# --- rule conditions ------------------------------------------------------------------------


@pytest.mark.parametrize(
    "when",
    ["refund.amount >", "refund.amount > 100 &&", "buyer.returns >>= 3", "(true"],
)
def test_bad_cel_syntax_is_rejected(when: str) -> None:
    error = rejected(with_rules(r("ok"), r("broken", when=when)))
    assert error.data == {"path": "rules[1].when", "rule": "broken"}


@pytest.mark.parametrize(
    "when",
    [
        "refund.total > 100",  # refund has amount and currency
        "customer.returns > 3",  # no such variable
        "lines[0].colour == 'red'",
        "order.email.endsWith('@example.com') && nope",
    ],
)
def test_cel_referring_to_an_unknown_field_is_rejected(when: str) -> None:
    error = rejected(with_rules(r("ok"), r("unknown-field", when=when)))
    assert error.data == {"path": "rules[1].when", "rule": "unknown-field"}


def test_unknown_field_behind_a_short_circuit_is_rejected() -> None:
    error = rejected(with_rules(r("hidden", when="refund.amount > 100000000 && nosuch.x == 1")))
    assert error.data == {"path": "rules[0].when", "rule": "hidden"}


@pytest.mark.parametrize(
    "when",
    ["refund.amount + 1", "order.email", "lines", "1 == 1 ? 'yes' : 'no'", "refund"],
)
def test_condition_that_is_not_boolean_is_rejected(when: str) -> None:
    error = rejected(with_rules(r("not-bool", when=when)))
    assert error.data == {"path": "rules[0].when", "rule": "not-bool"}
    assert "true or false" in str(error)


@pytest.mark.parametrize("when", ["refund.amount > 'x'", "buyer.returns + 1.5 > 2"])
def test_condition_with_a_type_error_is_rejected(when: str) -> None:
    error = rejected(with_rules(r("typed", when=when)))
    assert error.data == {"path": "rules[0].when", "rule": "typed"}


def test_duplicate_rule_ids() -> None:
    error = rejected(with_rules(r("same"), r("other"), r("same", when="true")))
    assert error.data == {"path": "rules[2].id", "rule": "same"}
    assert "twice" in str(error)


@pytest.mark.parametrize(
    ("then", "path"),
    [
        ({"outcome": "decline"}, "rules[0].then.decline_reason"),
        ({"outcome": "human_review", "decline_reason": "store_rule"},
         "rules[0].then.decline_reason"),
        ({"decline_reason": "store_rule"}, "rules[0].then.decline_reason"),
        ({"outcome": "decline", "decline_reason": "because"}, "rules[0].then.decline_reason"),
        ({"outcome": "request_evidence"}, "rules[0].then.evidence"),
        ({"outcome": "human_review", "evidence": "photo"}, "rules[0].then.evidence"),
    ],
)  # fmt: skip
def test_outcome_and_its_details_must_agree(then: dict[str, Any], path: str) -> None:
    error = rejected(with_rules(r("r1", then)))
    assert error.data == {"path": path, "rule": "r1"}


def test_contradictory_rules() -> None:
    scope = {"markets": ["US"], "reasons": ["changed_mind"], "when": "refund.amount > 5000"}
    error = rejected(
        with_rules(
            r("review-big", {"outcome": "human_review"}, **scope),
            r("unrelated", {"outcome": "approve_return"}),
            r("decline-big", {"outcome": "decline", "decline_reason": "store_rule"}, **scope),
        )
    )
    assert error.data == {"path": "rules", "rule": "decline-big"}
    assert "'review-big'" in str(error)


def test_contradiction_ignores_surrounding_whitespace_and_group_spelling() -> None:
    error = rejected(
        with_rules(
            r("a", {"outcome": "human_review"}, reasons=["preference"], when="true"),
            r("b", {"outcome": "approve_returnless"},
              reasons=["changed_mind", "wrong_size", "arrived_late"], when="  true "),
        )
    )  # fmt: skip
    assert error.data["rule"] == "b"


@pytest.mark.parametrize(
    "second",
    [
        r("b", {"outcome": "human_review"}, when="true"),  # same outcome: redundant, not contrary
        r("b", {"outcome": "approve_return"}, when="buyer.returns > 1"),  # other condition
        r("b", {"outcome": "approve_return"}, when="true", markets=["DE"]),  # other scope
        r("b", {"restocking_fee_percent": 5}, when="true"),  # no outcome
    ],
)
def test_rules_that_do_not_contradict(second: dict[str, Any]) -> None:
    policy = compile_doc(with_rules(r("a", {"outcome": "human_review"}, when="true"), second))
    assert [rule.id for rule in policy.rules] == ["a", "b"]


# --- contradictory settings -----------------------------------------------------------------


def test_change_of_mind_longer_than_fault_window() -> None:
    error = rejected({"windows": {"change_of_mind_days": 60, "fault_days": 30}})
    assert error.data == {"path": "windows.change_of_mind_days"}


def test_change_of_mind_longer_than_default_fault_window() -> None:
    assert rejected({"windows": {"change_of_mind_days": 366}}).data["path"] == (
        "windows.change_of_mind_days"
    )


@pytest.mark.parametrize(
    "override",
    [
        {"categories": ["electronics"], "change_of_mind_days": 400},  # > global fault 365
        {"markets": ["EU"], "change_of_mind_days": 20, "fault_days": 10},
    ],
)
def test_override_change_of_mind_longer_than_fault(override: dict[str, Any]) -> None:
    doc = {"windows": {"overrides": [{"categories": ["x"], "fault_days": 400}, override]}}
    assert rejected(doc).data == {"path": "windows.overrides[1]"}


@pytest.mark.parametrize(
    ("block", "allow"),
    [(["a@example.com"], ["a@example.com"]), (["A@Example.com"], ["a@example.COM"])],
)
def test_email_on_block_and_allow_lists(block: list[str], allow: list[str]) -> None:
    error = rejected({"lists": {"block_emails": block, "allow_emails": allow}})
    assert error.data == {"path": "lists"}
    assert "a@example.com" in str(error)


def test_category_both_final_sale_and_non_returnable() -> None:
    error = rejected(
        {"categories": {"final_sale": ["clearance", "custom"], "non_returnable": ["custom"]}}
    )
    assert error.data == {"path": "categories"}
    assert "'custom'" in str(error)


@pytest.mark.parametrize(
    "reasons",
    [["defective"], ["changed_mind", "not_as_described"], ["damaged_or_faulty"], ["wrong_item"]],
)
def test_restocking_fee_on_a_fault_reason(reasons: list[str]) -> None:
    error = rejected({"restocking_fee": {"percent": 10, "reasons": reasons}})
    assert error.data == {"path": "restocking_fee.reasons"}


def test_rule_restocking_fee_on_a_fault_reason() -> None:
    doc = with_rules(r("fee", {"restocking_fee_percent": 10}, reasons=["defective"]))
    error = rejected(doc)
    assert error.data == {"path": "rules[0].then.restocking_fee_percent", "rule": "fee"}


@pytest.mark.parametrize(
    ("doc", "path", "rule"),
    [
        ({"restocking_fee": {"percent": 101}}, "restocking_fee.percent", None),
        ({"restocking_fee": {"percent": 100.5}}, "restocking_fee.percent", None),
        ({"restocking_fee": {"percent": -1}}, "restocking_fee.percent", None),
        ({"restocking_fee": {"percent": 10.125}}, "restocking_fee.percent", None),
        ({"exchange": {"store_credit_bonus_percent": 150}},
         "exchange.store_credit_bonus_percent", None),
        ({"economics": {"resale_percent": 120}}, "economics.resale_percent", None),
        ({"economics": {"resale_percent_faulty": 101}}, "economics.resale_percent_faulty", None),
        (with_rules(r("r1", {"restocking_fee_percent": 101})),
         "rules[0].then.restocking_fee_percent", "r1"),
    ],
)  # fmt: skip
def test_percent_out_of_range(doc: dict[str, Any], path: str, rule: str | None) -> None:
    error = rejected(doc)
    assert error.data["path"] == path
    assert error.data.get("rule") == rule


@pytest.mark.parametrize("value", ["nan", "inf", "-inf"])
def test_percent_not_a_number(value: str) -> None:
    doc = tomllib.loads(f"[restocking_fee]\npercent = {value}\n")
    assert rejected(doc).data == {"path": "restocking_fee.percent"}


def test_nothing_is_half_applied() -> None:
    document = tomllib.loads(DEMO.read_text(encoding="utf-8"))
    broken = copy.deepcopy(document)
    broken["rules"].append(r("electronics-opened"))
    error = rejected(broken)
    assert error.data == {"path": "rules[3].id", "rule": "electronics-opened"}
    # the document passed in is left untouched, and still compiles on its own
    assert compile_doc(document).rules[0].id == "electronics-opened"
