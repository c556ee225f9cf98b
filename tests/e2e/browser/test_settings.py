"""An admin runs the store from the console, in Chinese: policy card, staff accounts, import."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import httpx
import pytest
from playwright.sync_api import Browser, Page, expect
from sqlalchemy import func, select

from returndesk.adapters.db.tables import orders
from returndesk.bootstrap import Container
from returndesk.domain.access import Role
from returndesk.services.policies import get_active, save_policy
from returndesk.services.principal import SYSTEM
from returndesk.services.staff import authenticate, create_staff_user
from servers.live import LiveServer

FIXTURE = Path(__file__).resolve().parents[2] / "fixtures" / "shopify_orders.csv"
PASSWORD = "settings-password-1"


def _user(container: Container, email: str, role: Role, language: str = "en") -> None:
    create_staff_user(
        container.uow, container.hasher, container.clock, SYSTEM,
        email=email, role=role, password=PASSWORD, name=email.split("@")[0], language=language,
    )  # fmt: skip


def _log_in(browser: Browser, server: LiveServer, email: str, **context: Any) -> Page:
    page = browser.new_context(base_url=server.url, **context).new_page()
    page.goto("/console/login")
    page.get_by_test_id("login-email").fill(email)
    page.get_by_test_id("login-password").fill(PASSWORD)
    page.get_by_test_id("login-submit").click()
    expect(page.get_by_test_id("queue-table")).to_be_visible()
    return page


@pytest.mark.browser
def test_an_admin_sees_the_policy_adds_staff_and_imports_orders_in_chinese(
    browser: Browser,
    browser_server: LiveServer,
    sqlite_container: Container,
    zh: Any,
    shots: Path,
) -> None:
    container = sqlite_container
    document = {"windows": {"change_of_mind_days": 14, "fault_days": 365}}
    save_policy(container.uow, container.clock, SYSTEM, None, document, note="14 days")
    _user(container, "boss@store.example", Role.admin, language="zh")
    page = _log_in(browser, browser_server, "boss@store.example", locale="zh-CN")
    expect(page.locator("html")).to_have_attribute("lang", "zh")
    page.get_by_test_id("nav-settings").click()
    expect(page.locator("h1")).to_have_text(zh("Settings"))

    # Policy: the settings show the active version and lead to the editor (its own page).
    card = page.get_by_test_id("policy-card")
    expect(card).to_contain_text(zh("Return policy"))
    expect(card).to_contain_text(zh("Active version: %(version)s") % {"version": 1})
    expect(page.get_by_test_id("open-policy")).to_have_attribute("href", "/console/policy")
    expect(page.get_by_test_id("open-policy")).to_have_text(zh("Open the policy editor"))
    expect(page.get_by_test_id("policy-form")).to_have_count(0)

    # Staff: a too-short password is refused and what was typed stays; then it works.
    page.get_by_test_id("staff-email").fill("dock@store.example")
    page.get_by_test_id("staff-name").fill("Dock Worker")
    page.get_by_test_id("staff-role").select_option("warehouse")
    page.get_by_test_id("staff-password").fill("short-pw1")
    page.evaluate("document.querySelector('[data-testid=staff-password]').minLength = 0")
    page.get_by_test_id("staff-create").click()
    expect(page.get_by_test_id("error")).to_have_text(
        zh("The password needs at least 10 characters.")
    )
    expect(page.get_by_test_id("staff-email")).to_have_value("dock@store.example")
    page.get_by_test_id("staff-password").fill(PASSWORD)
    page.get_by_test_id("staff-create").click()
    expect(page.get_by_test_id("message")).to_have_text(zh("The account was created."))
    expect(page.locator('[data-testid=staff-row][data-email="dock@store.example"]')).to_be_visible()
    assert authenticate(container.uow, container.hasher, "dock@store.example", PASSWORD).role is (
        Role.warehouse
    )

    # Import: the sample export has 5 good orders and 5 bad ones, each bad row explained.
    page.get_by_test_id("import-file").set_input_files(str(FIXTURE))
    page.get_by_test_id("import-submit").click()
    report = page.get_by_test_id("import-report")
    expect(report).to_be_visible()
    expect(page.get_by_test_id("import-created")).to_contain_text("5")
    expect(page.get_by_test_id("import-rejected")).to_contain_text("5")
    codes = page.locator("[data-testid=import-rejection]").evaluate_all(
        "rows => rows.map(r => r.dataset.code)"
    )
    assert {"invalid_currency", "missing_email", "invalid_quantity", "orphan_line"} <= set(codes)
    page.screenshot(path=str(shots / "admin-settings.png"), full_page=True)
    with container.engine.connect() as conn:
        assert conn.execute(select(func.count()).select_from(orders)).scalar_one() == 5

    # The same file again updates instead of duplicating.
    page.get_by_test_id("import-file").set_input_files(str(FIXTURE))
    page.get_by_test_id("import-submit").click()
    expect(page.get_by_test_id("import-updated")).to_contain_text("5")
    with container.engine.connect() as conn:
        assert conn.execute(select(func.count()).select_from(orders)).scalar_one() == 5


@pytest.mark.browser
def test_each_role_sees_only_the_settings_it_may_use(
    browser: Browser, browser_server: LiveServer, sqlite_container: Container
) -> None:
    _user(sqlite_container, "lead@store.example", Role.supervisor)
    _user(sqlite_container, "dock@store.example", Role.warehouse)

    lead = _log_in(browser, browser_server, "lead@store.example")
    lead.get_by_test_id("nav-settings").click()
    expect(lead.get_by_test_id("policy-card")).to_contain_text("Active version: 0")
    expect(lead.get_by_test_id("open-policy")).to_be_visible()
    expect(lead.get_by_test_id("policy-form")).to_have_count(0)
    expect(lead.get_by_test_id("staff-table")).to_be_visible()
    expect(lead.get_by_test_id("staff-form")).to_have_count(0)
    expect(lead.get_by_test_id("import-form")).to_have_count(0)
    expect(lead.get_by_test_id("tokens")).to_have_count(0)  # integration tokens: admins only

    dock = _log_in(browser, browser_server, "dock@store.example")
    expect(dock.get_by_test_id("nav-settings")).to_have_count(0)
    dock.goto("/console/admin")
    expect(dock).to_have_url(f"{browser_server.url}/console")
    # The old policy form is gone: a post to it changes nothing.
    response = dock.request.post(
        "/console/admin/policy", form={"csrf": "x", "return_window_days": "1"}
    )
    assert response.status in (404, 405)
    assert get_active(sqlite_container.uow, SYSTEM, None).version == 0


@pytest.mark.browser
def test_an_admin_creates_an_integration_token_that_a_carrier_uses_then_revokes_it(
    browser: Browser, browser_server: LiveServer, sqlite_container: Container
) -> None:
    _user(sqlite_container, "owner@store.example", Role.admin)
    page = _log_in(browser, browser_server, "owner@store.example")
    page.get_by_test_id("nav-settings").click()
    page.get_by_test_id("token-name").fill("UPS webhook")
    page.get_by_test_id("token-submit").click()
    token = page.get_by_test_id("new-token").inner_text().strip()
    assert token.startswith("rdi_")
    expect(page.get_by_test_id("token-row")).to_have_attribute("data-revoked", "no")
    scan = {
        "tracking_number": "1ZNOBODY", "carrier": "UPS", "status": "accepted",
        "occurred_at": "2026-11-20T10:00:00+00:00",
    }  # fmt: skip
    bearer = {"Authorization": f"Bearer {token}"}
    with httpx.Client(base_url=browser_server.url) as client:
        heard = client.post("/api/v1/carrier-events", json=scan, headers=bearer)
        assert heard.status_code == 404  # accepted as a carrier; no parcel has that number
        page.reload()
        expect(page.get_by_test_id("new-token")).to_have_count(0)  # shown once
        page.get_by_test_id("token-revoke").click()
        expect(page.get_by_test_id("token-row")).to_have_attribute("data-revoked", "yes")
        refused = client.post("/api/v1/carrier-events", json=scan, headers=bearer)
        assert refused.status_code == 401
