"""Exchanges in real Chromium: an agent orders the replacement of an inspected return for
another size on the console (no shop system connected: to be made by hand), names the order
made in the shop, and the Brazilian buyer sees the replacement on the portal in Portuguese."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

import pytest
from demo_policy import save_demo_policy
from playwright.sync_api import Browser, expect

from returndesk.bootstrap import Container
from returndesk.domain.cases.status import Resolution
from returndesk.services.principal import SYSTEM
from returndesk.services.receiving import ReceiveParcel, receive
from returndesk.services.returns import get_case
from servers.live import LiveServer

if TYPE_CHECKING:
    from conftest import Catalogue, Scenario

pytestmark = pytest.mark.browser

TIMEOUT_MS = 15_000


@pytest.fixture
def case_id(sqlite_container: Container, scenario: Scenario) -> str:
    """The Brazilian buyer's tee, returned for another size, arrived and graded."""
    container = sqlite_container
    save_demo_policy(container)
    made = scenario.open_return(container, scenario.tee_sku, resolution=Resolution.exchange)
    rma = get_case(container.uow, SYSTEM, made).rma
    receive(container.uow, container.clock, SYSTEM, ReceiveParcel(code=rma, lines=()))
    assert get_case(container.uow, SYSTEM, made).status.value == "inspected"
    return made


def test_an_agent_orders_the_replacement_and_the_buyer_sees_it(
    browser: Browser,
    browser_server: LiveServer,
    scenario: Scenario,
    case_id: str,
    pt_br: Catalogue,
    shots: Path,
) -> None:
    agent = browser.new_context(base_url=browser_server.url, locale="en-US")
    agent.set_default_timeout(TIMEOUT_MS)
    try:
        page = agent.new_page()
        scenario.agent_login(page)
        page.goto(f"/console/cases/{case_id}")
        form = page.get_by_test_id("exchange-form")
        expect(form).to_be_visible()
        expect(page.get_by_test_id("exchange-instant")).to_have_count(0)  # already arrived
        page.get_by_test_id("exchange-replacement").fill("TEE-ORG-L")
        page.get_by_test_id("exchange-submit").click()
        exchange = page.get_by_test_id("exchange")
        expect(exchange).to_have_attribute("data-status", "to_ship")
        expect(exchange).to_contain_text("TEE-ORG-L")
        with page.expect_download() as download:
            page.get_by_test_id("exchange-export").click()
        exported = Path(download.value.path()).read_text(encoding="utf-8")
        assert "TEE-ORG-L" in exported and "BR-20931" in exported
        page.get_by_test_id("exchange-reference").fill("#BR-7001")
        page.get_by_test_id("exchange-order-submit").click()
        expect(page.get_by_test_id("case-status")).to_have_attribute(
            "data-status", "exchange_shipped"
        )
        expect(page.get_by_test_id("exchange-order")).to_have_text("#BR-7001")
        page.screenshot(path=str(shots / "case-exchange.png"), full_page=True)
    finally:
        agent.close()

    buyer = browser.new_context(base_url=browser_server.url, locale="pt-BR")
    buyer.set_default_timeout(TIMEOUT_MS)
    try:
        page = buyer.new_page()
        scenario.buyer_login(page)
        page.goto(f"/portal/returns/{case_id}")
        shown = page.get_by_test_id("buyer-exchange")
        expect(shown).to_contain_text(pt_br("Your replacement"))
        expect(page.get_by_test_id("buyer-exchange-order")).to_contain_text("#BR-7001")
        entry = page.locator("[data-testid=timeline-entry][data-kind=exchange_ordered]")
        expect(entry).to_contain_text(pt_br("Replacement ordered"))
        page.screenshot(path=str(shots / "portal-exchange.png"), full_page=True)
    finally:
        buyer.close()
