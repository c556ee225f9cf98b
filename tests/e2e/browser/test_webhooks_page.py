"""An admin connects a webhook receiver in the console and replays a delivery."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from playwright.sync_api import Browser, expect

from returndesk.bootstrap import Container
from returndesk.domain.access import Role
from returndesk.domain.cases.status import CaseStatus
from returndesk.services.principal import SYSTEM
from returndesk.services.returns import MoveCase, get_case, transition_case
from returndesk.services.staff import create_staff_user
from servers.live import LiveServer
from servers.receiver import Receiver

PASSWORD = "webhooks-page-password"


@pytest.mark.browser
def test_an_admin_adds_an_endpoint_sees_deliveries_and_replays_one(
    browser: Browser, browser_server: LiveServer, sqlite_container: Container, zh: Any,
    scenario: Any, shots: Path,
) -> None:  # fmt: skip
    container = sqlite_container
    create_staff_user(
        container.uow, container.hasher, container.clock, SYSTEM, email="ops@store.example",
        role=Role.admin, password=PASSWORD, name="Ops", language="zh",
    )  # fmt: skip
    page = browser.new_context(base_url=browser_server.url, locale="zh-CN").new_page()
    page.goto("/console/login")
    page.get_by_test_id("login-email").fill("ops@store.example")
    page.get_by_test_id("login-password").fill(PASSWORD)
    page.get_by_test_id("login-submit").click()
    page.get_by_test_id("nav-webhooks").click()
    expect(page.get_by_test_id("no-webhooks")).to_be_visible()

    with Receiver() as receiver:
        page.get_by_test_id("webhook-url").fill(receiver.url)
        page.get_by_test_id("webhook-event-case.status_changed").check()
        page.get_by_test_id("webhook-add").click()
        expect(page.get_by_test_id("webhook-secret")).to_contain_text("whsec_")

        # The US case of the scenario moves: one status change goes out.
        case = get_case(container.uow, SYSTEM, scenario.us_case_id)
        transition_case(container.uow, container.clock, SYSTEM,
                        MoveCase(case.id, CaseStatus.under_review, case.version))  # fmt: skip
        receiver.wait_for(1)
        page.goto("/console/webhooks")  # not a reload: that would send the form again
        row = page.get_by_test_id("delivery-row")
        expect(row).to_have_count(1)
        expect(row).to_have_attribute("data-status", "succeeded")
        page.screenshot(path=str(shots / "console-webhooks-zh.png"), full_page=True)
        page.get_by_test_id("delivery-replay").click()
        again = receiver.wait_for(2)
        assert again[0].headers["webhook-id"] == again[1].headers["webhook-id"]

        page.get_by_test_id("webhook-stop").click()
        expect(page.get_by_test_id("webhook")).to_have_attribute("data-active", "no")
