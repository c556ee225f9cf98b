"""A label-free return in real Chromium: the store's policy sends Brazilian parcels through
Correios drop-off points, so the buyer's return page shows a QR code instead of asking for a
printer; a screenshot of it, read by zbar (`zbarimg`) as a counter's scanner would, gives the
case's RMA."""

from __future__ import annotations

import subprocess
from pathlib import Path
from typing import TYPE_CHECKING

import pytest
from demo_policy import save_demo_policy
from playwright.sync_api import Browser, expect

from returndesk.bootstrap import Container
from returndesk.demo import demo_policy_document
from returndesk.services.principal import SYSTEM
from returndesk.services.returns import get_case
from servers.live import LiveServer

if TYPE_CHECKING:
    from conftest import Catalogue, Scenario

pytestmark = pytest.mark.browser

TIMEOUT_MS = 15_000


@pytest.fixture
def case_id(sqlite_container: Container, scenario: Scenario) -> str:
    container = sqlite_container
    correios = {
        "markets": ["BR"],
        "name": "Parceiro de devoluções SP",
        "lines": ["Rua das Devoluções 100", "São Paulo - SP", "Brasil"],
        "local": True,
        "drop_off": "Correios",
    }
    addresses = demo_policy_document()["return_addresses"]
    save_demo_policy(container, return_addresses=[correios, *addresses])
    made = scenario.open_return(container, scenario.tee_sku)
    assert get_case(container.uow, SYSTEM, made).status.value == "awaiting_return"
    return made


def test_a_drop_off_return_shows_a_qr_code_the_counter_can_scan(
    browser: Browser,
    browser_server: LiveServer,
    sqlite_container: Container,
    scenario: Scenario,
    case_id: str,
    pt_br: Catalogue,
    shots: Path,
    tmp_path: Path,
) -> None:
    rma = get_case(sqlite_container.uow, SYSTEM, case_id).rma
    context = browser.new_context(base_url=browser_server.url, locale="pt-BR")
    context.set_default_timeout(TIMEOUT_MS)
    try:
        page = context.new_page()
        scenario.buyer_login(page)
        page.goto(f"/portal/returns/{case_id}")
        method = page.get_by_test_id("return-method")
        expect(method).to_have_attribute("data-method", "drop_off")
        expected = pt_br("No printer needed: show this code at any %(carrier)s drop-off point.")
        expect(method).to_contain_text(expected.replace("%(carrier)s", "Correios"))
        expect(page.get_by_test_id("print-label")).to_contain_text(
            pt_br("Or print the return label")
        )
        qr = page.get_by_test_id("drop-off-qr")
        qr.screenshot(path=str(tmp_path / "qr.png"))
        page.screenshot(path=str(shots / "portal-drop-off.png"), full_page=True)
    finally:
        context.close()
    found = subprocess.run(
        ["zbarimg", "--quiet", str(tmp_path / "qr.png")],
        capture_output=True, text=True, timeout=60, check=False,
    )  # fmt: skip
    assert found.stdout.split() == [f"QR-Code:{rma}"], (found.stdout, found.stderr)
