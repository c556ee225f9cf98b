"""A Brazilian buyer asks for a return on a phone; an agent decides it in the console.

Real HTTP, real headless Chromium, real SQLite. The Portuguese the buyer must see is read from
the pt_BR catalogue at test time (see ``Catalogue`` in conftest), so the test follows the
translators' wording instead of hard-coding it.
"""

from __future__ import annotations

import re
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING, Protocol

import pytest
from playwright.sync_api import Browser, BrowserContext, Page, expect

from returndesk.bootstrap import Container
from returndesk.services.principal import SYSTEM
from returndesk.services.returns import get_case, get_timeline
from servers.live import LiveServer

if TYPE_CHECKING:  # conftest modules are not imported by name at run time
    from conftest import Catalogue, Scenario

pytestmark = pytest.mark.browser


class Clock(Protocol):
    def advance(self, **delta: float) -> datetime: ...


TIMEOUT_MS = 10_000
# Brazilian money: "R$", a space (NBSP), dots between thousands, a comma before the cents.
BRL = re.compile(r"R\$\s\d{1,3}(\.\d{3})*,\d{2}")


def _text(page: Page, selector: str) -> str:
    """Visible text with NBSPs (Babel puts one after "R$") turned into plain spaces."""
    return page.locator(selector).inner_text().replace("\xa0", " ")


def _no_sideways_scroll(page: Page) -> None:
    overflow = page.evaluate(
        "() => document.documentElement.scrollWidth - document.documentElement.clientWidth"
    )
    assert overflow <= 0, f"{page.url} scrolls sideways by {overflow}px on a phone"


def _buyer_context(browser: Browser, base_url: str) -> BrowserContext:
    context = browser.new_context(
        base_url=base_url,
        locale="pt-BR",  # Accept-Language: pt-BR
        timezone_id="America/Sao_Paulo",
        viewport={"width": 390, "height": 844},
        device_scale_factor=2,
        is_mobile=True,
        has_touch=True,
    )
    context.set_default_timeout(TIMEOUT_MS)
    return context


def _agent_context(browser: Browser, base_url: str) -> BrowserContext:
    context = browser.new_context(
        base_url=base_url,
        locale="en-US",
        timezone_id="America/Sao_Paulo",
        viewport={"width": 1280, "height": 900},
    )
    context.set_default_timeout(TIMEOUT_MS)
    return context


def test_buyer_returns_a_shirt_and_an_agent_approves_it(
    browser: Browser,
    browser_server: LiveServer,
    scenario: Scenario,
    sqlite_container: Container,
    clock: Clock,
    pt_br: Catalogue,
    shots: Path,
) -> None:
    base = browser_server.url
    buyer = _buyer_context(browser, base)
    agent = _agent_context(browser, base)
    try:
        case_id = _buyer_asks_for_a_return(buyer, base, scenario, pt_br, shots)
        clock.advance(minutes=40)
        _agent_approves(agent, scenario, case_id, shots)
        clock.advance(minutes=15)
        _stale_tab_is_refused(agent, sqlite_container, case_id, shots)
        _buyer_sees_the_news(buyer, case_id, pt_br, shots)
    finally:
        buyer.close()
        agent.close()


def _buyer_asks_for_a_return(
    context: BrowserContext, base: str, s: Scenario, pt: Catalogue, shots: Path
) -> str:
    page = context.new_page()

    # The look-up page speaks Portuguese because the browser asks for it.
    page.goto("/")
    expect(page.locator("html")).to_have_attribute("lang", "pt-BR")
    expect(page.get_by_test_id("lookup-submit")).to_have_text(pt("Find my order"))
    expect(page.get_by_test_id("lang-pt-BR")).to_have_class(re.compile(r"\bcurrent\b"))
    _no_sideways_scroll(page)

    # A wrong email: a localized error, the number kept, and no session.
    page.get_by_test_id("order-number").fill(s.order_number)
    page.get_by_test_id("email").fill("someone.else@example.com")
    with page.expect_response(lambda r: r.url.endswith("/portal/session")) as refused:
        page.get_by_test_id("lookup-submit").click()
    assert refused.value.status == 401
    expect(page.get_by_test_id("error")).to_have_text(
        pt("We could not find an order with that number and email. Check both and try again.")
    )
    expect(page.get_by_test_id("order-number")).to_have_value(s.order_number)
    assert not [c for c in context.cookies() if c["name"] == "rd_buyer"]
    page.screenshot(path=str(shots / "buyer-lookup-error.png"), full_page=True)
    page.goto("/portal/order")
    assert page.url == f"{base}/", "the order page opened without a session"

    # The right email (as people type it: stray case and spaces) opens the order.
    page.get_by_test_id("order-number").fill(s.order_number)
    page.get_by_test_id("email").fill(f"  {s.buyer_email.title()} ")
    page.get_by_test_id("lookup-submit").click()
    expect(page).to_have_url(re.compile(r"/portal/order$"))
    expect(page.locator("html")).to_have_attribute("lang", "pt-BR")
    expect(page.get_by_test_id("order-title")).to_have_text(
        pt("Order %(number)s") % {"number": s.order_number}
    )
    expect(page.get_by_test_id("order-line")).to_have_count(2)
    buds = page.locator(f'[data-testid="order-line"][data-sku="{s.buds_sku}"]')
    assert "R$ 1.299,00" in buds.inner_text().replace("\xa0", " ")
    _no_sideways_scroll(page)

    # The wizard: one of the two shirts, wrong size, a comment, a refund.
    page.get_by_test_id(f"pick-{s.tee_sku}").check()
    page.get_by_test_id(f"qty-{s.tee_sku}").select_option("1")
    page.get_by_test_id(f"reason-{s.tee_sku}").select_option("wrong_size")
    page.get_by_test_id("comment").fill("Ficou pequena, preciso do tamanho G.")
    page.get_by_test_id("resolution-refund").check()
    page.screenshot(path=str(shots / "buyer-order.png"), full_page=True)
    page.get_by_test_id("submit-return").click()

    # The case page: requested, in Portuguese, Brazilian money, the opening on the timeline.
    expect(page).to_have_url(re.compile(r"/portal/returns/[0-9a-f-]{36}$"))
    case_id = page.url.rsplit("/", 1)[1]
    expect(page.locator("html")).to_have_attribute("lang", "pt-BR")
    status = page.get_by_test_id("case-status")
    expect(status).to_have_attribute("data-status", "requested")
    expect(status).to_have_text(pt("Requested"))
    lines = _text(page, '[data-testid="case-lines"]')
    assert s.tee_title in lines
    assert s.buds_title not in lines
    assert "R$ 49,99" in lines, lines
    assert BRL.search(lines)
    assert pt("Wrong size or fit") in lines  # the buyer's own reason, also on a phone
    expect(page.get_by_test_id("next-step")).to_have_text(
        pt("We have your request and will review it shortly.")
    )
    # The policy decided at once, but only suggests here (automation off): a person still
    # approves, so the buyer is not told "approved" yet, on the page or in the history.
    expect(page.get_by_test_id("buyer-decision")).to_have_count(0)
    expect(page.get_by_test_id("timeline-outcome")).to_have_text(
        pt("Our team is reviewing your return.")
    )
    entries = page.get_by_test_id("timeline-entry")
    expect(entries).to_have_count(2)
    expect(entries.first).to_have_attribute("data-kind", "case_opened")
    expect(entries.first).to_contain_text(pt("Return requested"))
    expect(entries.nth(1)).to_have_attribute("data-kind", "decision_made")
    expect(page.get_by_test_id("cancel-return")).to_have_text(pt("Cancel this return"))
    _no_sideways_scroll(page)
    page.screenshot(path=str(shots / "buyer-case.png"), full_page=True)
    return case_id


def _agent_approves(context: BrowserContext, s: Scenario, case_id: str, shots: Path) -> None:
    page = context.new_page()
    page.goto("/console")
    expect(page).to_have_url(re.compile(r"/console/login$"))
    page.get_by_test_id("login-email").fill(s.agent_email)
    page.get_by_test_id("login-password").fill(s.agent_password)
    page.get_by_test_id("login-submit").click()
    expect(page).to_have_url(re.compile(r"/console$"))
    expect(page.get_by_test_id("whoami")).to_contain_text(s.agent_name)

    # Both markets are in the queue until the agent filters by Brazil.
    br_row = page.locator(f'[data-testid="queue-row"][data-case-id="{case_id}"]')
    us_row = page.locator(f'[data-testid="queue-row"][data-case-id="{s.us_case_id}"]')
    expect(br_row).to_be_visible()
    expect(us_row).to_be_visible()
    page.get_by_test_id("filter-market").select_option("BR")
    page.get_by_test_id("filter-apply").click()
    expect(page).to_have_url(re.compile(r"[?&]market=BR(&|$)"))
    expect(page.get_by_test_id("queue-row")).to_have_count(1)
    expect(us_row).to_have_count(0)
    expect(br_row).to_have_attribute("data-status", "requested")
    expect(br_row).to_contain_text("BR")
    expect(br_row).to_contain_text(s.buyer_email)
    expect(br_row).to_contain_text("R$")
    page.screenshot(path=str(shots / "agent-queue.png"), full_page=True)

    br_row.get_by_test_id("case-link").click()
    expect(page).to_have_url(re.compile(f"/console/cases/{case_id}$"))
    expect(page.get_by_test_id("case-status")).to_have_attribute("data-status", "requested")
    expect(page.get_by_test_id("case-lines")).to_contain_text("Ficou pequena")
    page.get_by_test_id("transition-to").select_option("approved")
    page.get_by_test_id("transition-submit").click()

    expect(page.get_by_test_id("case-status")).to_have_attribute("data-status", "approved")
    expect(page.get_by_test_id("case-status")).to_have_text("Approved")
    expect(page.get_by_test_id("error")).to_have_count(0)
    change = page.locator('[data-testid="timeline-entry"][data-to="approved"]')
    expect(change).to_have_count(1)
    expect(change).to_contain_text("Requested → Approved")
    expect(change).to_contain_text(s.agent_name)
    expect(change).to_contain_text("Agent")
    page.screenshot(path=str(shots / "agent-case.png"), full_page=True)
    page.close()


def _stale_tab_is_refused(
    context: BrowserContext, container: Container, case_id: str, shots: Path
) -> None:
    url = f"/console/cases/{case_id}"
    first, second = context.new_page(), context.new_page()
    first.goto(url)
    second.goto(url)
    before = get_case(container.uow, SYSTEM, case_id)
    assert before.status.value == "approved"

    # The second tab's agent starts on a different decision: what they type is kept...
    expect(second.get_by_test_id("live")).to_have_attribute("data-live-state", "open")
    second.get_by_test_id("transition-to").select_option("resolved_without_return")
    second.get_by_test_id("transition-note").fill("Second tab: resolved on the phone.")

    first.get_by_test_id("transition-to").select_option("awaiting_return")
    first.get_by_test_id("transition-submit").click()
    expect(first.get_by_test_id("case-status")).to_have_attribute("data-status", "awaiting_return")

    # ... while the rest of the second tab shows the change live, without a reload.
    expect(second.get_by_test_id("case-status")).to_have_attribute("data-status", "awaiting_return")
    expect(second.get_by_test_id("transition-note")).to_have_value(
        "Second tab: resolved on the phone."
    )
    # Sending the form made on the old version is refused, and nothing is lost.
    with second.expect_response(
        lambda r: r.request.method == "POST" and r.url.endswith("/transition")
    ) as posted:
        second.get_by_test_id("transition-submit").click()
    assert posted.value.status == 409
    expect(second.get_by_test_id("error")).to_have_text(
        "Someone else changed this case. The page now shows the latest version."
    )
    # ... and now shows what the first tab did, ready for another try on the new version.
    expect(second.get_by_test_id("case-status")).to_have_attribute("data-status", "awaiting_return")
    second.screenshot(path=str(shots / "agent-case-stale.png"), full_page=True)

    after = get_case(container.uow, SYSTEM, case_id)
    assert after.status.value == "awaiting_return"
    assert after.version == before.version + 1, "the case was changed twice"
    events = get_timeline(container.uow, SYSTEM, case_id)
    moves = [e for e in events if e.kind == "status_changed"]
    assert [e.to_status.value for e in moves if e.to_status] == ["approved", "awaiting_return"]
    assert all("Second tab" not in e.note for e in events)
    expect(
        second.locator('[data-testid="timeline-entry"][data-to="awaiting_return"]')
    ).to_have_count(1)
    expect(second.get_by_test_id("timeline-note")).to_have_count(0)
    first.close()
    second.close()


def _buyer_sees_the_news(context: BrowserContext, case_id: str, pt: Catalogue, shots: Path) -> None:
    page = context.pages[0]
    assert page.url.endswith(f"/portal/returns/{case_id}")
    # No reload: the page listens to the case's event stream and updates itself.
    expect(page.locator("html")).to_have_attribute("data-live-updated", re.compile(r"^\d+$"))
    expect(page.locator("html")).to_have_attribute("lang", "pt-BR")
    status = page.get_by_test_id("case-status")
    expect(status).to_have_attribute("data-status", "awaiting_return")
    expect(status).to_have_text(pt("Waiting for your parcel"))
    entries = page.get_by_test_id("timeline-entry")
    expect(entries).to_have_count(4)  # opened, decided, approved, awaiting the parcel
    approved = page.locator('[data-testid="timeline-entry"][data-to="approved"]')
    expect(approved).to_contain_text(f"{pt('Requested')} → {pt('Approved')}")
    expect(approved).to_contain_text(pt("Agent"))  # staff show as their role to buyers
    timeline = page.get_by_test_id("timeline").inner_text()
    assert "Ana Souza" not in timeline
    page.screenshot(path=str(shots / "buyer-case-updated.png"), full_page=True)
