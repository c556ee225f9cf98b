"""Buyer emails in a real browser: the console's outbox and one email as the buyer sees it, the
case page's email card, the Chinese console, and the link in an email that brings a signed-out
buyer to their case after signing in.

No SMTP server is configured here: the app writes each email to RETURNDESK_HOME/outbox as an
.eml file (the demo's mailbox), which the last test reads the link from.
"""

from __future__ import annotations

import email
import email.policy
import re
import time
from email.message import EmailMessage
from pathlib import Path
from typing import TYPE_CHECKING, Any
from urllib.parse import urlsplit

import pytest
from playwright.sync_api import Browser, BrowserContext, Page, expect
from sqlalchemy import select

from returndesk.adapters.db.tables import email_messages
from returndesk.bootstrap import Container
from returndesk.domain.access import Role
from returndesk.services.principal import SYSTEM
from returndesk.services.staff import create_staff_user
from servers.live import LiveServer

if TYPE_CHECKING:  # conftest modules are not imported by name at run time
    from conftest import Catalogue, Scenario

pytestmark = pytest.mark.browser

TIMEOUT_MS = 10_000
ZH_PASSWORD = "emails-page-password"


def sent_emails(container: Container, count: int, timeout: float = 15.0) -> list[Any]:
    """The store's emails (oldest first) once `count` of them were sent."""
    deadline = time.monotonic() + timeout
    while True:
        with container.engine.connect() as conn:
            rows = conn.execute(
                select(email_messages).order_by(email_messages.c.created_at, email_messages.c.id)
            ).all()
        if len(rows) == count and all(r.status == "sent" for r in rows):
            return list(rows)
        if time.monotonic() > deadline:
            raise AssertionError(f"expected {count} sent emails, got {[r.status for r in rows]}")
        time.sleep(0.05)


def new_context(browser: Browser, base_url: str, locale: str) -> BrowserContext:
    context = browser.new_context(base_url=base_url, locale=locale, timezone_id="UTC")
    context.set_default_timeout(TIMEOUT_MS)
    return context


def staff_login(page: Page, address: str, password: str) -> None:
    page.goto("/console/login")
    page.get_by_test_id("login-email").fill(address)
    page.get_by_test_id("login-password").fill(password)
    page.get_by_test_id("login-submit").click()
    expect(page).to_have_url(re.compile(r"/console$"))


def test_an_agent_reads_the_emails_sent_to_buyers(
    browser: Browser, browser_server: LiveServer, sqlite_container: Container,
    scenario: Scenario, clock: Any, shots: Path,
) -> None:  # fmt: skip
    container = sqlite_container
    clock.advance(minutes=3)  # after the scenario's US return
    br_case_id = scenario.open_return(container, scenario.tee_sku)
    us_email, br_email = sent_emails(container, 2)
    assert (us_email.case_id, br_email.case_id) == (scenario.us_case_id, br_case_id)
    assert br_email.language == "pt-BR" and us_email.language == "en"

    context = new_context(browser, browser_server.url, "en-US")
    try:
        page = context.new_page()
        staff_login(page, scenario.agent_email, scenario.agent_password)
        page.get_by_test_id("nav-emails").click()
        expect(page).to_have_url(re.compile(r"/console/emails$"))
        rows = page.get_by_test_id("email-row")
        expect(rows).to_have_count(2)
        # Newest first; each row says whom it went to and that it was sent.
        expect(rows.first).to_have_attribute("data-email-id", br_email.id)
        expect(rows.nth(1)).to_have_attribute("data-email-id", us_email.id)
        for row, sent in ((rows.first, br_email), (rows.nth(1), us_email)):
            expect(row).to_have_attribute("data-status", "sent")
            expect(row).to_have_attribute("data-kind", sent.kind)
            expect(row).to_contain_text(sent.to_address)
            expect(row).to_contain_text(sent.subject)
            expect(row).to_contain_text(sent.case_number)
        # No SMTP server: the page says where the messages are written.
        expect(page.get_by_test_id("outbox-folder")).to_contain_text(
            str(container.settings.home / "outbox")
        )
        # The status filter keeps only what matches.
        page.get_by_test_id("email-status-filter").select_option("dead")
        expect(page).to_have_url(re.compile(r"[?&]status=dead(&|$)"))
        expect(page.get_by_test_id("email-row")).to_have_count(0)
        expect(page.get_by_test_id("emails-empty")).to_be_visible()
        page.get_by_test_id("email-status-filter").select_option("sent")
        expect(page.get_by_test_id("email-row")).to_have_count(2)
        page.screenshot(path=str(shots / "console-emails.png"), full_page=True)

        # One email: its subject, the HTML in a sandbox, and the plain text.
        row = page.locator(f'[data-testid="email-row"][data-email-id="{us_email.id}"]')
        row.get_by_test_id("email-open").click()
        expect(page).to_have_url(re.compile(rf"/console/emails/{us_email.id}$"))
        expect(page.get_by_test_id("email-subject")).to_have_text(us_email.subject)
        expect(page.get_by_test_id("email-to")).to_have_text(us_email.to_address)
        expect(page.get_by_test_id("email-status")).to_have_attribute("data-status", "sent")
        expect(page.get_by_test_id("email-id")).to_have_text(us_email.id)
        expect(page.get_by_test_id("email-retry")).to_have_count(0)  # only for given-up ones
        frame = page.get_by_test_id("email-html")
        expect(frame).to_be_visible()
        assert frame.get_attribute("sandbox") == "", "the email's HTML must run in a sandbox"
        inside = page.frame_locator('[data-testid="email-html"]')
        expect(inside.locator("body")).to_contain_text("Hello,")
        expect(inside.locator("body")).to_contain_text("Stoneware mug")
        expect(inside.locator('[data-section="received"]')).to_contain_text(us_email.case_number)
        link = inside.get_by_role("link")
        expect(link).to_have_attribute(
            "href", re.compile(rf"/portal/returns/{scenario.us_case_id}$")
        )
        text = page.get_by_test_id("email-text")
        expect(text).to_be_hidden()  # folded away until asked for
        page.locator("summary", has=page.get_by_text("Plain text")).click()
        expect(text).to_be_visible()
        assert text.inner_text().strip() == us_email.text_body.strip()
        page.screenshot(path=str(shots / "console-email.png"), full_page=True)

        # The case page lists what the buyer was sent, and links to it.
        page.goto(f"/console/cases/{br_case_id}")
        card = page.get_by_test_id("case-email")
        expect(card).to_have_count(1)
        expect(card).to_have_attribute("data-kind", br_email.kind)
        expect(card).to_have_attribute("data-status", "sent")
        expect(card).to_contain_text(br_email.subject)
        card.get_by_role("link").click()
        expect(page).to_have_url(re.compile(rf"/console/emails/{br_email.id}$"))
        expect(page.get_by_test_id("email-subject")).to_have_text(br_email.subject)
        expect(page.locator("html")).to_have_attribute("lang", "en")
    finally:
        context.close()


def test_the_emails_pages_speak_chinese(
    browser: Browser, browser_server: LiveServer, sqlite_container: Container,
    scenario: Scenario, zh: Catalogue, shots: Path,
) -> None:  # fmt: skip
    container = sqlite_container
    create_staff_user(
        container.uow, container.hasher, container.clock, SYSTEM, email="lin@store.example",
        role=Role.agent, password=ZH_PASSWORD, name="Lin", language="zh",
    )  # fmt: skip
    [us_email] = sent_emails(container, 1)
    context = new_context(browser, browser_server.url, "zh-CN")
    try:
        page = context.new_page()
        staff_login(page, "lin@store.example", ZH_PASSWORD)
        nav = page.get_by_test_id("nav-emails")
        expect(nav).to_have_text(zh("Emails"))
        nav.click()
        expect(page.locator("h1")).to_have_text(zh("Emails to buyers"))
        table = page.get_by_test_id("emails")
        for heading in ("Created", "Return", "To", "Subject", "Kind", "Status"):
            expect(table.locator("th", has_text=zh(heading))).to_have_count(1)
        row = page.get_by_test_id("email-row")
        expect(row).to_have_count(1)
        expect(row.locator(".badge")).to_have_text(zh("Sent"))
        # Automation off (the default): the first email only says the request arrived.
        expect(row).to_have_attribute("data-kind", "received")
        expect(row).to_contain_text(zh("Return received"))
        expect(page.get_by_test_id("outbox-folder")).to_contain_text(
            str(container.settings.home / "outbox")
        )
        filter_ = page.get_by_test_id("email-status-filter")
        expect(filter_.locator("option")).to_have_text(
            [zh("All"), zh("Waiting to be sent"), zh("Sent"), zh("Given up")]
        )
        page.screenshot(path=str(shots / "console-emails-zh.png"), full_page=True)

        row.get_by_test_id("email-open").click()
        expect(page.get_by_test_id("email-subject")).to_have_text(us_email.subject)
        expect(page.get_by_test_id("back-to-emails")).to_contain_text(zh("Emails to buyers"))
        expect(page.get_by_test_id("email-status")).to_have_text(zh("Sent"))
        expect(page.locator("h2", has_text=zh("As the buyer sees it"))).to_have_count(1)
        expect(page.locator("summary")).to_have_text(zh("Plain text"))
        meta = page.get_by_test_id("email-meta")
        for label in ("To", "Language", "Attempts", "Sent"):
            expect(meta).to_contain_text(zh(label))

        page.goto(f"/console/cases/{scenario.us_case_id}")
        expect(page.locator("h2", has_text=zh("Emails to the buyer"))).to_have_count(1)
        expect(page.get_by_test_id("case-email")).to_have_count(1)
        expect(page.get_by_test_id("case-email").locator(".badge")).to_have_text(zh("Sent"))
        page.screenshot(path=str(shots / "console-case-emails-zh.png"), full_page=True)
    finally:
        context.close()


def _eml_link(container: Container, email_id: str) -> str:
    """The case link in the .eml file the app wrote (path only: the public URL is not ours)."""
    path = container.settings.home / "outbox" / f"{email_id}.eml"
    message = email.message_from_bytes(path.read_bytes(), policy=email.policy.default)
    assert isinstance(message, EmailMessage)
    part: Any = message.get_body(preferencelist=("plain",))
    links = re.findall(r"https?://\S+/portal/returns/[0-9a-f-]{36}", str(part.get_content()))
    assert len(links) == 1, links
    return str(urlsplit(links[0]).path)


def test_the_link_in_an_email_brings_a_signed_out_buyer_to_their_case(
    browser: Browser, browser_server: LiveServer, sqlite_container: Container,
    scenario: Scenario, clock: Any, shots: Path,
) -> None:  # fmt: skip
    container = sqlite_container
    clock.advance(minutes=3)  # after the scenario's US return
    br_case_id = scenario.open_return(container, scenario.tee_sku)
    _, br_email = sent_emails(container, 2)
    case_path = _eml_link(container, br_email.id)
    assert case_path == f"/portal/returns/{br_case_id}"

    context = new_context(browser, browser_server.url, "pt-BR")
    try:
        page = context.new_page()
        page.goto(case_path)
        # Not signed in: the look-up form, which remembers where the buyer was going.
        expect(page).to_have_url(re.compile(rf"/\?next={re.escape(case_path)}$"))
        expect(page.get_by_test_id("lookup-form")).to_be_visible()
        expect(page.get_by_test_id("case-status")).to_have_count(0)
        page.get_by_test_id("order-number").fill(scenario.order_number)
        page.get_by_test_id("email").fill(scenario.buyer_email)
        page.get_by_test_id("lookup-submit").click()
        expect(page).to_have_url(re.compile(rf"{re.escape(case_path)}$"))
        expect(page.get_by_test_id("case-status")).to_have_attribute("data-status", "requested")
        expect(page.get_by_test_id("case-lines")).to_contain_text(scenario.tee_title)
        page.screenshot(path=str(shots / "buyer-case-from-email.png"), full_page=True)
    finally:
        context.close()

    # Someone else's case: signing in with the wrong order does not open it.
    stranger = new_context(browser, browser_server.url, "en-US")
    try:
        page = stranger.new_page()
        page.goto(f"/portal/returns/{scenario.us_case_id}")
        expect(page.get_by_test_id("lookup-form")).to_be_visible()
        page.get_by_test_id("order-number").fill(scenario.order_number)
        page.get_by_test_id("email").fill(scenario.buyer_email)
        page.get_by_test_id("lookup-submit").click()
        expect(page.get_by_test_id("lookup-form")).to_be_visible()
        expect(page.get_by_test_id("case-status")).to_have_count(0)
        assert scenario.us_case_id not in page.content()
    finally:
        stranger.close()

    # Only case pages of the portal are places to come back to: no open redirect.
    wary = new_context(browser, browser_server.url, "en-US")
    try:
        page = wary.new_page()
        page.goto("/?next=https://evil.example/portal/returns/" + br_case_id)
        page.get_by_test_id("order-number").fill(scenario.order_number)
        page.get_by_test_id("email").fill(scenario.buyer_email)
        page.get_by_test_id("lookup-submit").click()
        expect(page).to_have_url(f"{browser_server.url}/portal/order")
    finally:
        wary.close()
