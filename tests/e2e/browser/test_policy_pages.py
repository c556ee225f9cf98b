"""Decisions in the browser: the supervisor's policy editor (in Chinese), the agent's decision
panel with an override, and the buyer's decision in Portuguese."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import pytest
from playwright.sync_api import Browser, Page, expect

from returndesk.bootstrap import Container
from returndesk.demo import demo_policy_document
from returndesk.domain.access import Role
from returndesk.domain.cases.model import LineRequest
from returndesk.domain.cases.reasons import ReasonCode
from returndesk.domain.cases.status import Resolution
from returndesk.services.buyers import start_buyer_session
from returndesk.services.policies import get_active, save_policy
from returndesk.services.principal import SYSTEM
from returndesk.services.returns import OpenReturn, open_return
from returndesk.services.staff import create_staff_user
from servers.live import LiveServer

PASSWORD = "policy-pages-password"


def _log_in(browser: Browser, server: LiveServer, email: str, password: str, **ctx: Any) -> Page:
    page = browser.new_context(base_url=server.url, **ctx).new_page()
    page.goto("/console/login")
    page.get_by_test_id("login-email").fill(email)
    page.get_by_test_id("login-password").fill(password)
    page.get_by_test_id("login-submit").click()
    expect(page.get_by_test_id("queue-table")).to_be_visible()
    return page


@pytest.mark.browser
def test_a_supervisor_edits_checks_saves_and_simulates_the_policy(
    browser: Browser, browser_server: LiveServer, sqlite_container: Container, zh: Any,
    scenario: Any, shots: Path,
) -> None:  # fmt: skip
    container = sqlite_container
    save_policy(container.uow, container.clock, SYSTEM, None, demo_policy_document())
    create_staff_user(
        container.uow, container.hasher, container.clock, SYSTEM, email="lead@store.example",
        role=Role.supervisor, password=PASSWORD, name="Wang Fang", language="zh",
    )  # fmt: skip
    page = _log_in(browser, browser_server, "lead@store.example", PASSWORD, locale="zh-CN")
    page.get_by_test_id("nav-policy").click()
    expect(page.locator("h1")).to_have_text(zh("Return policy"))
    text = page.get_by_test_id("policy-text").input_value()
    assert "change_of_mind_days = 30" in text

    # A rule that reads a field that does not exist: refused, named, and the text is kept.
    rule = 'id = "typo"\nwhen = "refund.amont > 1"\nthen = { outcome = "human_review" }\n'
    broken = f"{text}\n[[rules]]\n{rule}"
    page.get_by_test_id("policy-text").fill(broken)
    page.get_by_test_id("policy-save").click()
    expect(page.get_by_test_id("error")).to_contain_text(
        zh("The policy is not valid: see the message below.")
    )
    expect(page.get_by_test_id("error-detail")).to_contain_text("typo")
    assert page.get_by_test_id("policy-text").input_value().strip() == broken.strip()
    assert get_active(container.uow, SYSTEM, None).version == 1

    # Check, then save a longer window as version 2, with a note.
    longer = text.replace("change_of_mind_days = 30", "change_of_mind_days = 45", 1)
    page.get_by_test_id("policy-text").fill(longer)
    page.get_by_test_id("policy-validate").click()
    expect(page.get_by_test_id("message")).to_have_text(zh("The policy is valid."))
    page.get_by_test_id("policy-note").fill("45 days for the holidays")
    page.get_by_test_id("policy-save").click()
    expect(page.get_by_test_id("message")).to_have_text(
        zh("The return policy was saved as a new version.")
    )
    expect(page.get_by_test_id("policy-version-row")).to_have_count(2)
    active = get_active(container.uow, SYSTEM, None)
    assert (active.version, active.note) == (2, "45 days for the holidays")
    assert active.document["windows"]["change_of_mind_days"] == 45

    # The version page shows what changed.
    page.get_by_role("link", name="2", exact=True).click()
    expect(page.get_by_test_id("policy-diff")).to_contain_text('+    "change_of_mind_days": 45,')
    page.screenshot(path=str(shots / "console-policy-diff-zh.png"), full_page=True)

    # What if every return went to a person? The one past return (US) would flip.
    page.get_by_test_id("back-to-policy").click()
    strict = page.get_by_test_id("policy-text").input_value() + (
        '\n[[rules]]\nid = "everything"\nthen = { outcome = "human_review" }\n'
    )
    page.get_by_test_id("policy-text").fill(strict)
    page.get_by_test_id("policy-simulate").click()
    expect(page).to_have_url(re.compile(r"/console/policy/simulations/[0-9a-f-]{36}$"))
    report = page.get_by_test_id("simulation-report")
    expect(report).to_be_visible(timeout=15_000)  # the page refreshes itself until done
    expect(page.get_by_test_id("simulation-flips").locator("tr")).to_have_count(2)
    assert get_active(container.uow, SYSTEM, None).version == 2  # nothing saved
    page.screenshot(path=str(shots / "console-policy-simulation-zh.png"), full_page=True)


@pytest.mark.browser
def test_the_agent_sees_why_and_overrides_and_the_buyer_sees_the_outcome(
    browser: Browser, browser_server: LiveServer, sqlite_container: Container,
    scenario: Any, pt_br: Any, shots: Path,
) -> None:  # fmt: skip
    container, s = sqlite_container, scenario
    save_policy(container.uow, container.clock, SYSTEM, None, demo_policy_document())
    buyer = start_buyer_session(container.uow, s.order_number, s.buyer_email)
    case = open_return(
        container.uow, container.clock, buyer,
        OpenReturn(s.order_number, (LineRequest(s.tee_sku, 1, ReasonCode.changed_mind),),
                   Resolution.refund),
    ).case  # fmt: skip
    assert case.decision is not None
    assert case.decision["outcome"] == "approve_returnless"  # BRL 49.99: not worth shipping

    # The buyer, in Portuguese, sees that they can keep it and on what legal basis.
    portal = browser.new_context(base_url=browser_server.url, locale="pt-BR").new_page()
    portal.goto("/")
    portal.get_by_test_id("order-number").fill(s.order_number)
    portal.get_by_test_id("email").fill(s.buyer_email)
    portal.get_by_test_id("lookup-submit").click()
    portal.get_by_test_id("return-link").first.click()
    decision = portal.get_by_test_id("buyer-decision")
    expect(decision).to_contain_text(
        pt_br("You can keep the item: we will refund you without a return.")
    )
    expect(decision).to_contain_text("CDC (Lei 8.078/1990) Art. 49")
    expect(portal.get_by_test_id("buyer-return-address")).to_have_count(0)
    portal.screenshot(path=str(shots / "buyer-decision-pt-BR.png"), full_page=True)

    # The agent sees the outcome, the legal basis and the rules that fired, and overrides.
    page = _log_in(browser, browser_server, s.agent_email, s.agent_password)
    page.goto(f"/console/cases/{case.id}")
    expect(page.get_by_test_id("decision-outcome")).to_have_attribute(
        "data-outcome", "approve_returnless"
    )
    expect(page.get_by_test_id("decision-legal-basis")).to_contain_text("CDC")
    expect(page.get_by_test_id("decision-replays")).to_have_attribute("data-matches", "yes")
    expect(page.get_by_test_id("decision-reasons")).to_contain_text("returnless_threshold")
    page.get_by_test_id("override-outcome").select_option("approve_return")
    page.get_by_test_id("override-note").fill("Buyer wants to send it back for a refund")
    page.get_by_test_id("override-submit").click()
    expect(page.get_by_test_id("decision-outcome")).to_have_attribute(
        "data-outcome", "approve_return"
    )
    expect(page.get_by_test_id("decision-overridden")).to_contain_text("Ana Souza")
    expect(
        page.locator('[data-testid=timeline-entry][data-kind="decision_overridden"]')
    ).to_have_count(1)
    page.screenshot(path=str(shots / "console-decision-override.png"), full_page=True)

    # The buyer's page follows the override; the agent's note stays internal.
    portal.reload()
    expect(portal.get_by_test_id("buyer-decision")).to_have_attribute(
        "data-outcome", "approve_return"
    )
    expect(portal.locator("body")).not_to_contain_text("Buyer wants to send it back")
    assert re.search(r"/portal/returns/", portal.url)


@pytest.mark.browser
def test_a_supervisor_edits_the_rules_table(
    browser: Browser, browser_server: LiveServer, sqlite_container: Container, shots: Path
) -> None:
    container = sqlite_container
    save_policy(container.uow, container.clock, SYSTEM, None, demo_policy_document())
    create_staff_user(
        container.uow, container.hasher, container.clock, SYSTEM, email="lead@store.example",
        role=Role.supervisor, password=PASSWORD, name="Lead", language="en",
    )  # fmt: skip
    page = _log_in(browser, browser_server, "lead@store.example", PASSWORD, locale="en-US")
    page.goto("/console/policy")
    demo_rules = [r["id"] for r in demo_policy_document()["rules"]]
    rows = page.get_by_test_id("rule-row")
    expect(rows).to_have_count(len(demo_rules))

    # A decline without a reason is refused; what was typed stays; nothing is saved.
    page.get_by_test_id("rule-id").fill("no-big-refunds")
    page.get_by_test_id("rule-description").fill("Big refunds in the US go to a person")
    page.get_by_test_id("rule-markets").fill("us")
    page.get_by_test_id("rule-reasons").select_option(["changed_mind", "wrong_size"])
    page.get_by_test_id("rule-when").fill("refund.amount > 50000")
    page.get_by_test_id("rule-outcome").select_option("decline")
    page.get_by_test_id("rule-add").click()
    expect(page.get_by_test_id("error-detail")).to_contain_text("no-big-refunds")
    expect(page.get_by_test_id("rule-when")).to_have_value("refund.amount > 50000")
    assert get_active(container.uow, SYSTEM, None).version == 1

    page.get_by_test_id("rule-outcome").select_option("human_review")
    page.get_by_test_id("rule-add").click()
    expect(page.get_by_test_id("message")).to_be_visible()
    expect(rows).to_have_count(len(demo_rules) + 1)
    active = get_active(container.uow, SYSTEM, None)
    assert active.version == 2
    assert active.document["rules"][-1] == {
        "id": "no-big-refunds",
        "description": "Big refunds in the US go to a person",
        "markets": ["US"],
        "reasons": ["changed_mind", "wrong_size"],
        "when": "refund.amount > 50000",
        "then": {"outcome": "human_review"},
    }
    assert active.note == "Added rule no-big-refunds"
    page.screenshot(path=str(shots / "console-policy-rules.png"), full_page=True)

    # Order matters: move it up one place, then delete it.
    page.locator('[data-testid=rule-row][data-rule="no-big-refunds"]').get_by_test_id(
        "rule-up"
    ).click()
    expect(page.get_by_test_id("message")).to_be_visible()
    ids = [r["id"] for r in get_active(container.uow, SYSTEM, None).document["rules"]]
    assert ids == [*demo_rules[:-1], "no-big-refunds", demo_rules[-1]]
    page.locator('[data-testid=rule-row][data-rule="no-big-refunds"]').get_by_test_id(
        "rule-delete"
    ).click()
    expect(rows).to_have_count(len(demo_rules))
    final = get_active(container.uow, SYSTEM, None)
    assert (final.version, [r["id"] for r in final.document["rules"]]) == (4, demo_rules)


@pytest.mark.browser
def test_the_agent_decides_again_after_the_inspection_call(
    browser: Browser, browser_server: LiveServer, sqlite_container: Container, scenario: Any
) -> None:
    container, s = sqlite_container, scenario
    save_policy(container.uow, container.clock, SYSTEM, None, demo_policy_document())
    buyer = start_buyer_session(container.uow, s.order_number, s.buyer_email)
    case = open_return(
        container.uow, container.clock, buyer,
        OpenReturn(s.order_number, (LineRequest(s.buds_sku, 1, ReasonCode.defective),),
                   Resolution.refund),
    ).case  # fmt: skip
    assert case.decision is not None
    assert case.decision["evidence_requested"] == "inspection_call"  # the expensive-defect rule
    assert case.status.value == "needs_evidence"

    page = _log_in(browser, browser_server, s.agent_email, s.agent_password)
    page.goto(f"/console/cases/{case.id}")
    page.get_by_test_id("redecide-evidence-inspection_call").check()
    page.get_by_test_id("redecide-findings").select_option(["defect_confirmed"])
    page.get_by_test_id("redecide-submit").click()
    # Sending earbuds back from Brazil costs more than a faulty pair recovers: keep them.
    expect(page.get_by_test_id("decision-outcome")).to_have_attribute(
        "data-outcome", "approve_returnless"
    )
    expect(page.get_by_test_id("case-status")).to_have_attribute("data-status", "approved")
    expect(page.get_by_test_id("decision-responsibility")).to_have_text("Seller")
    expect(page.get_by_test_id("redecide-form")).to_have_count(0)
    expect(page.get_by_test_id("decision-replays")).to_have_attribute("data-matches", "yes")
