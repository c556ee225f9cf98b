"""Returns logistics in real Chromium: a warehouse user scans the label's QR code shown to the
fake camera (the page decodes it with ZXing: headless Chromium on Linux has no
BarcodeDetector) and books the parcel; a scanner gun (keyboard input) and grading; the buyer
prints the label from the portal; an agent records a refund on the console."""

from __future__ import annotations

import re
import subprocess
from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING

import pytest
from demo_policy import save_demo_policy
from playwright.sync_api import Browser, BrowserContext, Page, Playwright, expect

from returndesk.adapters.labels import OwnLabels
from returndesk.bootstrap import Container
from returndesk.domain.access import Role
from returndesk.services.ports import LabelItem, LabelRequest
from returndesk.services.principal import SYSTEM, Principal
from returndesk.services.receiving import restock_counts
from returndesk.services.returns import get_case
from returndesk.services.staff import create_staff_user
from servers import CHROMIUM_ARGS, CHROMIUM_PATH
from servers.live import LiveServer

if TYPE_CHECKING:
    from conftest import Scenario

pytestmark = pytest.mark.browser

TIMEOUT_MS = 15_000
WAREHOUSE_EMAIL = "joao.lima@returndesk.example"
PASSWORD = "correct horse battery staple"


@pytest.fixture
def case_id(sqlite_container: Container, scenario: Scenario) -> str:
    """The Brazilian buyer's tee, approved by the demo policy (without its keep-it rules: a
    tee is worth less than its return costs): the parcel is due."""
    container = sqlite_container
    save_demo_policy(container)
    create_staff_user(
        container.uow, container.hasher, container.clock, SYSTEM,
        email=WAREHOUSE_EMAIL, role=Role.warehouse, password=PASSWORD, name="João Lima",
    )  # fmt: skip
    made = scenario.open_return(container, scenario.tee_sku)
    assert get_case(container.uow, SYSTEM, made).status.value == "awaiting_return"
    return made


def rma_of(container: Container, case_id: str) -> str:
    return get_case(container.uow, SYSTEM, case_id).rma


def camera_showing(rma: str, folder: Path) -> Path:
    """A y4m for the fake camera: the upper half of a label (its Code 128 and QR) for `rma`."""
    pdf = OwnLabels().label(
        LabelRequest(
            rma=rma, store_name="Test", order_number="BR-20931", address_name="Origin warehouse",
            address_lines=("18 Industrial Road",), items=(LabelItem("TEE", "Tee", 1),),
            texts=dict.fromkeys(
                ("title", "rma", "order", "ship_to", "from", "cut", "slip", "items"), "x"
            ),
        )
    ).pdf  # fmt: skip
    (folder / "label.pdf").write_bytes(pdf)
    subprocess.run(
        ["pdftoppm", "-r", "90", "-png", "-singlefile", "label.pdf", "label"],
        cwd=folder, check=True, timeout=60,
    )  # fmt: skip
    path = folder / "camera.y4m"
    subprocess.run(
        ["ffmpeg", "-v", "error", "-loop", "1", "-i", "label.png", "-vf",
         "crop=iw:ih/2:0:0,scale=-2:540,pad=960:540:(ow-iw)/2:(oh-ih)/2:white,format=yuv420p",
         "-t", "1", "-r", "5", str(path)],
        cwd=folder, check=True, timeout=60,
    )  # fmt: skip
    return path


@pytest.fixture
def scan_browser(
    playwright: Playwright, sqlite_container: Container, case_id: str, tmp_path: Path
) -> Iterator[Browser]:
    camera = camera_showing(rma_of(sqlite_container, case_id), tmp_path)
    chromium = playwright.chromium.launch(
        executable_path=CHROMIUM_PATH,
        args=[*CHROMIUM_ARGS, f"--use-file-for-fake-video-capture={camera}"],
        headless=True,
    )
    yield chromium
    chromium.close()


def context(browser: Browser, base_url: str, locale: str = "en-US") -> BrowserContext:
    made = browser.new_context(base_url=base_url, locale=locale)
    made.set_default_timeout(TIMEOUT_MS)
    return made


def login(page: Page, email: str, password: str = PASSWORD) -> None:
    page.goto("/console/login")
    page.get_by_test_id("login-email").fill(email)
    page.get_by_test_id("login-password").fill(password)
    page.get_by_test_id("login-submit").click()
    expect(page).to_have_url(re.compile(r"/console$"))


def test_a_warehouse_user_scans_the_label_qr_with_the_camera(
    scan_browser: Browser,
    browser_server: LiveServer,
    sqlite_container: Container,
    case_id: str,
    shots: Path,
) -> None:
    rma = rma_of(sqlite_container, case_id)
    with context(scan_browser, browser_server.url) as ctx:
        ctx.grant_permissions(["camera"])
        page = ctx.new_page()
        login(page, WAREHOUSE_EMAIL)
        page.get_by_test_id("nav-warehouse").click()
        expect(page.get_by_test_id("scan-camera")).to_be_enabled()
        page.get_by_test_id("scan-camera").click()
        found = page.get_by_test_id("scan-case")
        try:
            expect(found).to_have_attribute("data-case-id", case_id, timeout=30_000)
        except AssertionError as failure:  # say what the scanner saw (a misread? no frames?)
            seen = page.evaluate("JSON.stringify(window.returndeskScanner || null)")
            errors = page.get_by_test_id("error").all_inner_texts()
            raise AssertionError(f"{page.url} scanner={seen} errors={errors}") from failure
        expect(page).to_have_url(re.compile(rf"code={rma}"))
        page.screenshot(path=str(shots / "warehouse-scanned.png"), full_page=True)
        page.get_by_test_id("receive-all").click()
        done = page.get_by_test_id("scan-done")
        expect(done).to_have_attribute("data-status", "inspected")
        expect(page.get_by_test_id("restock-row")).to_have_count(1)
    case = get_case(sqlite_container.uow, SYSTEM, case_id)
    assert (case.status.value, case.lines[0].received_quantity) == ("inspected", 1)
    warehouse_user = Principal("staff", "w", Role.warehouse, case.store_id)
    assert restock_counts(sqlite_container.uow, warehouse_user) == [("main", case.lines[0].sku, 1)]


def test_scanner_gun_grading_portal_label_and_a_refund(
    browser: Browser,
    browser_server: LiveServer,
    sqlite_container: Container,
    scenario: Scenario,
    case_id: str,
    shots: Path,
) -> None:
    rma = rma_of(sqlite_container, case_id)
    # The buyer sees how to send it back and prints the label (in Portuguese).
    with context(browser, browser_server.url, "pt-BR") as ctx:
        page = ctx.new_page()
        scenario.buyer_login(page)
        page.goto(f"/portal/returns/{case_id}")
        method = page.get_by_test_id("return-method")
        expect(method).to_have_attribute("data-method", "origin")
        expect(page.get_by_test_id("rma")).to_have_text(rma)
        expect(page.get_by_test_id("print-label")).to_have_text("Imprimir a etiqueta de devolução")
        pdf = page.request.get(f"/portal/returns/{case_id}/label.pdf")
        assert pdf.ok and pdf.headers["content-type"] == "application/pdf"
        assert pdf.body().startswith(b"%PDF-")
        page.get_by_test_id("parcel-carrier").fill("Correios")
        page.get_by_test_id("parcel-tracking").fill("QB123456789BR")
        page.get_by_test_id("parcel-submit").click()
        expect(page.get_by_test_id("case-status")).to_have_attribute("data-status", "in_transit")
        expect(page.get_by_test_id("parcel")).to_contain_text("QB123456789BR")
    # A scanner gun types the code (lower case, as some do) and Enter; the unit is graded.
    with context(browser, browser_server.url) as ctx:
        page = ctx.new_page()
        login(page, WAREHOUSE_EMAIL)
        page.goto("/console/warehouse")
        page.get_by_test_id("scan-input").focus()
        page.keyboard.type(rma.lower())
        page.keyboard.press("Enter")
        expect(page.get_by_test_id("scan-case")).to_have_attribute("data-case-id", case_id)
        unboxing = page.get_by_test_id("record-unboxing")
        expect(unboxing).to_have_attribute("href", f"/console/cases/{case_id}#record")
        page.get_by_test_id(f"grade-{scenario.tee_sku}").select_option("open_box")
        # The apparel checklist: everything fine but the tag.
        checks = page.get_by_test_id(f"check-{scenario.tee_sku}")
        expect(checks).to_have_count(5)
        for item in ("matches_order", "packaging_intact", "unworn_unwashed", "no_stains_or_odour"):
            page.locator(f"[data-testid=check-{scenario.tee_sku}][data-item={item}]").check()
        page.get_by_test_id("receive-note").fill("Tag cut off")
        page.get_by_test_id("receive-graded").click()
        expect(page.get_by_test_id("scan-done")).to_have_attribute("data-status", "inspected")
        expect(page.get_by_test_id("scan-input")).to_be_focused()  # ready for the next parcel
        page.keyboard.type(rma)
        page.keyboard.press("Enter")
        expect(page.get_by_test_id("not-expecting")).to_be_visible()  # booked already
    # The agent records the refund by hand on the case page.
    with context(browser, browser_server.url) as ctx:
        page = ctx.new_page()
        scenario.agent_login(page)
        page.goto(f"/console/cases/{case_id}")
        expect(page.get_by_test_id("receipt-row")).to_contain_text("Open box")
        recorded = page.get_by_test_id("receipt-checks")
        expect(recorded).to_have_attribute("data-failed", "1")
        expect(recorded).to_contain_text("✗ Tags attached")
        page.get_by_test_id("refund-reference").fill("PIX E123")
        page.get_by_test_id("refund-submit").click()
        expect(page.get_by_test_id("case-status")).to_have_attribute("data-status", "refunded")
        row = page.get_by_test_id("refund-row")
        expect(row).to_have_attribute("data-status", "succeeded")
        expect(row).to_contain_text("PIX E123")
        page.screenshot(path=str(shots / "case-refunded.png"), full_page=True)


def test_a_supervisor_imports_a_carriers_csv_of_scans(
    browser: Browser,
    browser_server: LiveServer,
    sqlite_container: Container,
    case_id: str,
    tmp_path: Path,
) -> None:
    container = sqlite_container
    create_staff_user(
        container.uow, container.hasher, container.clock, SYSTEM,
        email="lead@returndesk.example", role=Role.supervisor, password=PASSWORD, name="Lead",
    )  # fmt: skip
    rma = rma_of(container, case_id)
    scans = tmp_path / "correios.csv"
    scans.write_text(
        "tracking_number,carrier,status,occurred_at,location,reference\n"
        f"QB987654321BR,Correios,accepted,2026-11-20T10:00:00+00:00,São Paulo,{rma}\n"
        f"QB987654321BR,Correios,accepted,2026-11-20T10:00:00+00:00,São Paulo,{rma}\n"
        "QB000000000BR,Correios,lost,2026-11-20T11:00:00+00:00,,\n",
        encoding="utf-8",
    )
    context = browser.new_context(base_url=browser_server.url, locale="en-US")
    context.set_default_timeout(TIMEOUT_MS)
    try:
        page = context.new_page()
        login(page, "lead@returndesk.example")
        page.goto("/console/warehouse")
        page.get_by_test_id("carrier-scans-file").set_input_files(str(scans))
        page.get_by_test_id("carrier-scans-submit").click()
        report = page.get_by_test_id("carrier-scans-report")
        for name, value in (
            ("recorded", "1"),
            ("moved", "1"),
            ("duplicates", "1"),
            ("errors", "1"),
        ):
            expect(report).to_have_attribute(f"data-{name}", value)
        error = page.get_by_test_id("carrier-scans-error")
        expect(error).to_have_attribute("data-row", "4")
        expect(error).to_have_attribute("data-code", "invalid_row")
    finally:
        context.close()
    case = get_case(container.uow, SYSTEM, case_id)
    assert (case.status.value, case.return_tracking_number) == ("in_transit", "QB987654321BR")
