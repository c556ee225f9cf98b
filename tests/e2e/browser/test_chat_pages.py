"""The assistant in a real browser: the portal's chat in Portuguese (tracking, a return opened
from the chat, a hand-off), the agent answering from the console with a canned answer, which
the buyer's open chat shows, then inviting the buyer to a video call from the conversation,
and the widget on a store's own page, in German."""

from __future__ import annotations

import re
import threading
from collections.abc import Iterator
from functools import partial
from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import TYPE_CHECKING, Any
from urllib.parse import urlsplit

import pytest
from PIL import Image
from playwright.sync_api import Browser, BrowserContext, Page, expect

from returndesk.bootstrap import Container
from returndesk.web.pages.assistant_replies import CANNED
from returndesk.web.pages.labels import CALL_BUTTONS
from servers.live import LiveServer

if TYPE_CHECKING:  # conftest modules are not imported by name at run time
    from conftest import Catalogue, Scenario

pytestmark = pytest.mark.browser

TIMEOUT_MS = 10_000


def new_context(browser: Browser, base_url: str, locale: str) -> BrowserContext:
    context = browser.new_context(base_url=base_url, locale=locale, timezone_id="America/Sao_Paulo")
    context.set_default_timeout(TIMEOUT_MS)
    return context


def send(page: Page, text: str) -> Any:
    """Type a message, wait for the assistant's answer; the answer's element."""
    messages = page.get_by_test_id("chat-message")
    before = messages.count()
    page.get_by_test_id("chat-input").fill(text)
    page.get_by_test_id("chat-send").click()
    expect(messages).to_have_count(before + 2)
    reply = messages.nth(before + 1)
    expect(reply).to_have_attribute("data-author", "assistant")
    return reply


def test_a_buyer_chats_in_portuguese_and_an_agent_takes_over(
    browser: Browser, browser_server: LiveServer, sqlite_container: Container,
    scenario: Scenario, pt_br: Catalogue, shots: Path, tmp_path: Path,
) -> None:  # fmt: skip
    buyer_context = new_context(browser, browser_server.url, "pt-BR")
    agent_context = new_context(browser, browser_server.url, "en-US")
    try:
        page = buyer_context.new_page()
        scenario.buyer_login(page)
        page.get_by_test_id("chat-link").click()
        expect(page.locator("h1")).to_have_text(pt_br("Chat with us"))
        expect(page.locator("html")).to_have_attribute("lang", "pt-BR")

        reply = send(page, "Oi! Cadê meu pedido? Já foi entregue?")
        expect(reply).to_contain_text("BR123456789")  # the shipment's real tracking number
        expect(reply).to_contain_text("Correios")

        reply = send(page, "Os fones sem fio chegaram com defeito, não ligam")
        link = reply.get_by_test_id("chat-case-link")
        expect(link).to_be_visible()
        page.screenshot(path=str(shots / "chat-portal-pt-BR.png"), full_page=True)
        case_url = link.get_attribute("href")
        assert case_url and case_url.startswith("/portal/returns/")

        # A photo from the chat: too dark, so the assistant asks for another one.
        dark = tmp_path / "escura.jpg"
        Image.new("RGB", (640, 480), (6, 6, 6)).save(dark, "JPEG")
        messages = page.get_by_test_id("chat-message")
        before = messages.count()
        page.get_by_test_id("chat-photo").set_input_files(dark)
        expect(messages).to_have_count(before + 2)
        asked = pt_br(
            "I added the photo to return %(number)s, but it is too dark to see the details. "
            "Could you take another one with more light?"
        ).split("%(number)s")[1]
        expect(messages.nth(before + 1)).to_contain_text(asked.strip())

        reply = send(page, "Quero falar com um atendente, por favor")
        expect(page.get_by_test_id("chat-waiting")).to_be_visible()

        agent = agent_context.new_page()
        scenario.agent_login(agent)
        agent.get_by_test_id("nav-conversations").click()
        row = agent.get_by_test_id("conversation-row")
        expect(row).to_have_count(1)
        expect(row).to_have_attribute("data-reason", "requested")
        row.get_by_test_id("conversation-open").click()
        expect(agent.get_by_test_id("conversation-order")).to_contain_text(scenario.order_number)
        expect(agent.get_by_test_id("transcript-message")).to_have_count(8)
        canned = pt_br(CANNED["looking_into_it"])
        agent.get_by_test_id("canned-answer").select_option("looking_into_it")
        expect(agent.get_by_test_id("reply-text")).to_have_value(canned)  # in Portuguese
        agent.get_by_test_id("reply-send").click()
        expect(agent.get_by_test_id("transcript-message")).to_have_count(9)
        agent.screenshot(path=str(shots / "chat-console-conversation.png"), full_page=True)

        # The buyer's chat, still open, shows the agent's answer without a reload.
        answer = page.locator("[data-testid=chat-message][data-author=agent]")
        expect(answer).to_have_text(pt_br("Our team") + canned, timeout=15_000)

        # The agent invites the buyer to a video call from the conversation: the chat gets the
        # invitation in Portuguese with the buyer's link, the agent lands on the call page.
        conversation_url = agent.url
        agent.get_by_test_id("conversation-start-call").click()
        expect(agent).to_have_url(re.compile(r"/calls/[0-9a-f-]{36}\?token="))
        invited = pt_br("%(name)s invites you to a video call about this return.")
        expect(answer.last).to_contain_text(invited % {"name": scenario.agent_name})
        call_link = page.get_by_test_id("chat-call-link")
        expect(call_link).to_have_text(pt_br(CALL_BUTTONS["join"]), timeout=15_000)
        href = urlsplit(call_link.get_attribute("href") or "")  # the public URL: not this server
        page.goto(f"{href.path}?{href.query}")
        expect(page.get_by_test_id("join-call")).to_have_text(pt_br(CALL_BUTTONS["join"]))
        agent.goto(conversation_url)

        page.goto(case_url)
        expect(page.get_by_test_id("case-status")).to_be_visible()
        # The agent finds the chat on the return's page too.
        agent.get_by_test_id("conversation-case").click()
        expect(agent.get_by_test_id("case-conversation")).to_have_count(1)
    finally:
        buyer_context.close()
        agent_context.close()


@pytest.fixture
def store_site(tmp_path: Path, browser_server: LiveServer) -> Iterator[str]:
    """The store's own site: another origin (localhost, not 127.0.0.1) with the script tag."""
    (tmp_path / "index.html").write_text(
        '<!doctype html><html lang="de"><body><h1>Mein Shop</h1>'
        f'<script src="{browser_server.url}/widget.js" data-lang="de"></script></body></html>',
        encoding="utf-8",
    )
    handler = partial(QuietFiles, directory=str(tmp_path))
    server = ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://localhost:{server.server_address[1]}/index.html"
    finally:
        server.shutdown()
        server.server_close()
        thread.join(timeout=5)


class QuietFiles(SimpleHTTPRequestHandler):
    def log_message(self, format: str, *args: Any) -> None:
        pass


def test_the_widget_on_a_stores_own_page_speaks_german(
    browser: Browser, store_site: str, scenario: Scenario, shots: Path
) -> None:
    context = browser.new_context(locale="de-DE", timezone_id="Europe/Berlin")
    context.set_default_timeout(TIMEOUT_MS)
    try:
        page = context.new_page()
        page.goto(store_site)
        button = page.get_by_test_id("returndesk-widget-button")
        expect(button).to_be_visible()
        button.click()
        frame = page.frame_locator("[data-testid=returndesk-widget-frame]")
        expect(frame.locator("html")).to_have_attribute("lang", "de")
        frame.get_by_test_id("chat-input").fill(
            f"Wo ist mein Paket? Bestellung {scenario.order_number}, {scenario.buyer_email}"
        )
        frame.get_by_test_id("chat-send").click()
        reply = frame.locator("[data-testid=chat-message][data-author=assistant]").nth(1)
        expect(reply).to_contain_text("BR123456789")
        page.screenshot(path=str(shots / "chat-widget-de.png"))
    finally:
        context.close()


BUDS_HELP = """Reset the earbuds when they stop pairing.

## Reset the earbuds
1. Put both earbuds in the case and keep the lid open.
2. Hold both touch pads for 5 seconds until the light blinks white.
3. Pair them again from your phone's Bluetooth settings.
"""


def test_an_agent_writes_a_help_article_that_answers_a_buyer_in_another_language(
    browser: Browser, browser_server: LiveServer, scenario: Scenario, pt_br: Catalogue,
    zh: Catalogue, shots: Path,
) -> None:  # fmt: skip
    agent_context = new_context(browser, browser_server.url, "en-US")
    buyer_context = new_context(browser, browser_server.url, "pt-BR")
    try:
        agent = agent_context.new_page()
        scenario.agent_login(agent)
        agent.get_by_test_id("nav-help").click()
        expect(agent.get_by_test_id("help-empty")).to_be_visible()
        agent.get_by_test_id("help-new").click()
        agent.get_by_test_id("help-slug").fill("buds-reset")
        agent.get_by_test_id("help-language").select_option("en")
        agent.get_by_test_id("help-title-input").fill("Reset the Wireless earbuds Pro")
        agent.get_by_test_id("help-skus").fill(scenario.buds_sku)
        agent.get_by_test_id("help-body-input").fill(BUDS_HELP)
        agent.get_by_test_id("help-save").click()
        expect(agent.get_by_test_id("help-saved")).to_be_visible()
        agent.get_by_test_id("back-to-help").click()
        row = agent.locator("[data-testid=help-row][data-slug=buds-reset]")
        expect(row).to_contain_text(scenario.buds_sku)
        expect(row.get_by_test_id("help-edit-buds-reset-en")).to_be_visible()
        agent.screenshot(path=str(shots / "help-console.png"), full_page=True)

        page = buyer_context.new_page()
        scenario.buyer_login(page)
        page.get_by_test_id("chat-link").click()
        reply = send(page, "Como eu reseto os fones sem fio? Pararam de parear")
        expect(reply).to_contain_text("5 seconds")  # the English article's step
        link = reply.get_by_test_id("chat-help-link")
        expect(link).to_have_text(pt_br("Read the whole article"))
        link.click()
        expect(page.get_by_test_id("help-title")).to_have_text("Reset the Wireless earbuds Pro")
        expect(page.get_by_test_id("help-other-language")).to_have_text(
            pt_br("This article is not available in your language yet.")
        )
        expect(page.get_by_test_id("help-body").locator("ol li")).to_have_count(3)
        page.screenshot(path=str(shots / "help-article-pt-BR.png"), full_page=True)
    finally:
        agent_context.close()
        buyer_context.close()
