"""The warehouse's inspection checklists: which items a unit gets, and what its answers allow."""

from __future__ import annotations

import pytest

from returndesk.adapters.rules.compiler import PolicyCompiler
from returndesk.domain.errors import ValidationFailed
from returndesk.domain.inspection import GENERAL, check_answers, checklist
from returndesk.domain.logistics import Grade, ReceivedLine
from returndesk.domain.policy.document import DEFAULT_DOCUMENT, PolicyInvalid


def test_built_in_items_by_category_with_the_general_ones_first() -> None:
    assert checklist("electronics", {})[:2] == GENERAL
    assert "powers_on" in checklist("electronics", {})
    assert "tags_attached" in checklist("apparel", {})
    assert checklist("garden", {}) == GENERAL  # a category with no list of its own


def test_a_stores_own_list_replaces_the_built_in_one() -> None:
    custom = {"electronics": ("Battery holds charge",), "*": ("Photographed",)}
    assert checklist("electronics", custom) == ("Battery holds charge",)
    assert checklist("apparel", custom) == ("Photographed",)


def test_a_failed_check_cannot_be_graded_as_new() -> None:
    checks = check_answers("BUD", {"powers_on": False, "matches_order": True})
    with pytest.raises(ValidationFailed) as refused:
        ReceivedLine.of("BUD", 1, Grade.resellable, None, checks)
    assert refused.value.code == "failed_check_resellable"
    line = ReceivedLine.of("BUD", 1, Grade.damaged, None, checks)
    assert line.failed_checks == ("powers_on",)
    assert line.to_dict()["checks"] == [
        {"item": "powers_on", "passed": False},
        {"item": "matches_order", "passed": True},
    ]
    assert "checks" not in ReceivedLine.of("BUD", 1, Grade.resellable, None).to_dict()


@pytest.mark.parametrize(
    ("answers", "code"),
    [({f"item {i}": True for i in range(31)}, "too_many_checks"), ({" ": True}, "invalid_check")],
)
def test_bad_answers_are_refused(answers: dict[str, bool], code: str) -> None:
    with pytest.raises(ValidationFailed) as refused:
        check_answers("SKU", answers)
    assert refused.value.code == code


def test_the_policy_names_checklists_per_category() -> None:
    document = {**DEFAULT_DOCUMENT, "inspection": {"checklists": {"shoes": ["Soles clean"]}}}
    policy = PolicyCompiler().compile(document)
    assert policy.inspection_checklists == {"shoes": ("Soles clean",)}
    for bad in ([], ["x", "x"], ["y" * 101], "Soles clean"):
        wrong = {**DEFAULT_DOCUMENT, "inspection": {"checklists": {"shoes": bad}}}
        with pytest.raises(PolicyInvalid) as refused:
            PolicyCompiler().compile(wrong)
        assert refused.value.data["path"] == "inspection.checklists.shoes"
