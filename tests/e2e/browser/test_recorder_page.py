"""The live recorder on the buyer's case page (static/recorder.js), in Portuguese, with
Chromium's fake camera: a recording sent while it is made is attested live and plays in the
page; a chunk whose PUT fails is sent again and the recording is whole; a blocked camera gets
a message the buyer can act on.

Attestation compares when the chunks reached the server by the app's clock, so the app here
runs on the wall clock (the `clock` fixture is overridden below), not on the test's still one.
"""

from __future__ import annotations

import hashlib
import json
import re
import subprocess
from pathlib import Path
from typing import TYPE_CHECKING, Any

import httpx
import pytest
from playwright.sync_api import Browser, BrowserContext, Page, Request, Route, expect

from returndesk.bootstrap import Container
from returndesk.domain.cases.reasons import ReasonCode
from returndesk.domain.evidence import EvidenceItem
from returndesk.services.evidence import list_evidence
from returndesk.services.principal import SYSTEM
from returndesk.web.pages.labels import EVIDENCE_KINDS, RECORDER_MESSAGES
from servers.live import LiveServer

if TYPE_CHECKING:  # conftest modules are not imported by name at run time
    from conftest import Catalogue, Scenario, WallClock

pytestmark = pytest.mark.browser

TIMEOUT_MS = 10_000
RECORD_MS = 4_000  # how long each test records
FINISH_MS = 30_000  # joining, checking and remuxing the chunks on the server
CHUNK_PUT = re.compile(r"/portal/returns/[0-9a-f-]{36}/recordings/[0-9a-f-]{36}/chunks/(\d+)$")


@pytest.fixture
def clock(wall_clock: WallClock) -> WallClock:
    """Overrides tests/conftest.py's still clock for this module (`sqlite_container` and so
    `browser_server` and `scenario` are built on it)."""
    return wall_clock


# --- the case, the page ----------------------------------------------------------------------


def broken_earbuds(container: Container, scenario: Scenario) -> str:
    """The Brazilian buyer returns the earbuds: the left one does not turn on."""
    return scenario.open_return(
        container, scenario.buds_sku, ReasonCode.defective, "O fone esquerdo não liga."
    )


def new_context(browser: Browser, base_url: str, locale: str = "pt-BR") -> BrowserContext:
    context = browser.new_context(base_url=base_url, locale=locale, timezone_id="America/Sao_Paulo")
    context.set_default_timeout(TIMEOUT_MS)
    return context


def buyer_login(page: Page, s: Scenario, case_id: str) -> None:
    """The look-up form, coming from a link to the case (so it lands on the case page)."""
    page.goto(f"/portal/returns/{case_id}")
    page.get_by_test_id("order-number").fill(s.order_number)
    page.get_by_test_id("email").fill(s.buyer_email)
    page.get_by_test_id("lookup-submit").click()
    expect(page).to_have_url(re.compile(rf"/portal/returns/{case_id}$"))
    expect(page.get_by_test_id("evidence-recorder")).to_be_visible()


def record(page: Page, pt_br: Catalogue, milliseconds: int = RECORD_MS) -> None:
    """Start, check the page while it records, stop after `milliseconds`."""
    start, stop = page.get_by_test_id("record-start"), page.get_by_test_id("record-stop")
    status = page.get_by_test_id("record-status")
    expect(start).to_have_text(pt_br("Start recording"))
    expect(stop).to_have_text(pt_br("Stop recording"))
    expect(stop).to_be_disabled()
    start.click()
    expect(status).to_have_attribute("data-state", "recording")
    expect(status).to_have_text(pt_br(RECORDER_MESSAGES["recording"]))
    expect(start).to_be_disabled()
    expect(stop).to_be_enabled()
    # The camera's picture is shown while recording.
    preview = page.get_by_test_id("record-preview")
    expect(preview).to_be_visible()
    page.wait_for_function(
        "el => el.videoWidth > 0 && el.readyState >= 2", arg=preview.element_handle()
    )
    page.wait_for_timeout(milliseconds)
    expect(page.get_by_test_id("record-elapsed")).to_have_text(re.compile(r"^[3-5] s$"))
    stop.click()
    expect(stop).to_be_disabled()
    expect(preview).to_be_hidden()


def stored_recording(container: Container, case_id: str) -> EvidenceItem:
    [item] = list_evidence(container.uow, SYSTEM, case_id)
    assert item.kind.value == "video" and item.media_type == "video/webm", item
    return item


def probe_seconds(path: Path) -> float | None:
    """The duration ffprobe reads from the file's header (None: it has none)."""
    done = subprocess.run(
        ["ffprobe", "-v", "error", "-print_format", "json", "-show_format", str(path)],
        capture_output=True, check=True, timeout=60,
    )  # fmt: skip
    text = json.loads(done.stdout)["format"].get("duration")
    return float(text) if text not in (None, "N/A") else None


VIDEO_METADATA = """selector => {
    const el = document.querySelector(selector);
    if (!el) return null;
    el.scrollIntoView({ block: "nearest" });  // a live refresh may replace the node: each try
    if (el.error) return { error: el.error.code };
    return el.readyState >= 1 ? [el.videoWidth, el.videoHeight, el.duration] : null;
}"""


def sha256(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


# --- 1. a buyer records the problem live -----------------------------------------------------


def test_a_buyer_records_a_video_live_and_it_plays_in_the_page(
    browser: Browser, browser_server: LiveServer, sqlite_container: Container,
    scenario: Scenario, pt_br: Catalogue, tmp_path: Path, shots: Path,
) -> None:  # fmt: skip
    container = sqlite_container
    case_id = scenario.open_return(
        container, scenario.buds_sku, ReasonCode.defective, "O fone esquerdo não liga."
    )
    puts: list[int] = []

    def on_request(request: Request) -> None:
        found = CHUNK_PUT.search(request.url)
        if found and request.method == "PUT":
            puts.append(int(found.group(1)))

    context = new_context(browser, browser_server.url)
    try:
        page = context.new_page()
        buyer_login(page, scenario, case_id)
        expect(page.get_by_test_id("evidence-recorder").locator("h2")).to_have_text(
            pt_br("Record a video now")
        )
        expect(page.get_by_test_id("live")).to_have_attribute("data-live-state", "open")
        page.on("request", on_request)

        record(page, pt_br)
        status = page.get_by_test_id("record-status")
        expect(status).to_have_attribute("data-state", "done", timeout=FINISH_MS)
        expect(status).to_have_attribute("data-live-attested", "yes")
        expect(status).to_have_attribute("data-code", "done_live")
        expect(status).to_have_text(pt_br(RECORDER_MESSAGES["done_live"]))
        expect(page.get_by_test_id("record-start")).to_be_enabled()

        # The evidence card refreshed itself from the case's event stream.
        item = page.get_by_test_id("evidence-item")
        expect(item).to_have_count(1)
        expect(item).to_have_attribute("data-kind", "video")
        expect(item).to_contain_text(pt_br(EVIDENCE_KINDS["video"]))
        expect(item.get_by_test_id("evidence-live")).to_have_text(pt_br("Recorded live"))
        expect(item.get_by_test_id("evidence-captured-by")).to_contain_text(scenario.buyer_name)
        expect(item.get_by_test_id("evidence-video")).to_have_count(1)
        stored = stored_recording(container, case_id)
        expect(item).to_have_attribute("data-sha256", stored.sha256)

        # The page's <video> plays the stored copy: a finite duration of about 4 s.
        selector = '[data-testid="evidence-item"] [data-testid="evidence-video"]'
        width, height, duration = page.wait_for_function(VIDEO_METADATA, arg=selector).json_value()
        assert width > 0 and height > 0
        assert 3.0 < duration < 5.5, duration
        page.screenshot(path=str(shots / "buyer-recorded-live.png"), full_page=True)
        served = page.request.get(f"/portal/returns/{case_id}/evidence/{stored.id}")
        assert served.ok
        playable = served.body()

        # After a reload the card says the same.
        page.reload()
        expect(page.get_by_test_id("evidence-live")).to_have_count(1)
    finally:
        context.close()

    details: dict[str, Any] = dict(stored.details)
    assert details["live_attested"] is True, details
    assert details["chunks"] >= 3, details
    assert details["chunks"] == len(set(puts)) == len(puts), (details, puts)
    assert sorted(puts) == list(range(len(puts)))
    assert 3.0 < details["duration_seconds"] < 5.5, details
    assert stored.captured_by.startswith("buyer:")

    # What the buyer is shown is the playable copy; staff may fetch the raw original, which
    # is what the chain hashes: the chunks as they arrived, joined.
    assert sha256(playable) == details["display_sha256"]
    agent = httpx.post(
        f"{browser_server.url}/api/v1/auth/token",
        json={"email": scenario.agent_email, "password": scenario.agent_password},
        timeout=30,
    )
    assert agent.status_code == 200, agent.text
    original = httpx.get(
        f"{browser_server.url}/api/v1/returns/{case_id}/evidence/{stored.id}/content",
        params={"original": "1"},
        headers={"Authorization": f"Bearer {agent.json()['access_token']}"},
        timeout=30,
    )
    assert original.status_code == 200, original.text
    assert sha256(original.content) == stored.sha256
    assert original.content != playable
    copy = tmp_path / "playable.webm"
    copy.write_bytes(playable)
    seconds = probe_seconds(copy)
    assert seconds is not None and 3.0 < seconds < 5.5, seconds


# --- 2. a chunk that does not get through at first --------------------------------------------


def test_a_chunk_put_that_fails_is_sent_again_and_the_recording_is_whole(
    browser: Browser, browser_server: LiveServer, sqlite_container: Container,
    scenario: Scenario, pt_br: Catalogue,
) -> None:  # fmt: skip
    container = sqlite_container
    case_id = scenario.open_return(
        container, scenario.buds_sku, ReasonCode.defective, "O fone esquerdo não liga."
    )
    puts: list[int] = []  # the seq of every PUT the page sent, the dropped one included
    bodies: dict[int, bytes] = {}  # what the page sent as each chunk
    dropped: list[int] = []

    def drop_second_chunk_once(route: Route) -> None:
        found = CHUNK_PUT.search(route.request.url)
        if found and route.request.method == "PUT":
            seq = int(found.group(1))
            puts.append(seq)
            body = route.request.post_data_buffer or b""
            assert bodies.setdefault(seq, body) == body, f"chunk {seq} was sent with other bytes"
            if seq == 1 and not dropped:
                dropped.append(seq)
                route.abort("connectionreset")
                return
        route.continue_()

    context = new_context(browser, browser_server.url)
    try:
        page = context.new_page()
        buyer_login(page, scenario, case_id)
        page.route("**/portal/returns/*/recordings/**", drop_second_chunk_once)

        record(page, pt_br)
        status = page.get_by_test_id("record-status")
        expect(status).to_have_attribute("data-state", "done", timeout=FINISH_MS)
        expect(status).to_have_attribute("data-code", "done_live")
        expect(status).to_have_attribute("data-live-attested", "yes")
        expect(page.get_by_test_id("evidence-item")).to_have_count(1)
    finally:
        context.close()

    assert dropped == [1]
    # Chunk 1 twice (the retry), every other chunk once, in order.
    count = max(puts) + 1
    assert puts == [0, 1, 1, *range(2, count)], puts
    stored = stored_recording(container, case_id)
    details: dict[str, Any] = dict(stored.details)
    assert details["chunks"] == count == len(set(puts)) >= 3, (details, puts)
    assert details["chunk_sha256"] == [sha256(bodies[i]) for i in range(count)]
    assert stored.sha256 == sha256(b"".join(bodies[i] for i in range(count)))
    assert details["live_attested"] is True, details


# --- 3. the camera is blocked ----------------------------------------------------------------

DENY_CAMERA = """(() => {
    const deny = () => Promise.reject(new DOMException("Permission denied", "NotAllowedError"));
    navigator.mediaDevices.getUserMedia = deny;
})()"""


def test_a_blocked_camera_gets_a_message_the_buyer_can_act_on(
    browser: Browser, browser_server: LiveServer, sqlite_container: Container,
    scenario: Scenario, pt_br: Catalogue, shots: Path,
) -> None:  # fmt: skip
    case_id = scenario.open_return(
        sqlite_container, scenario.buds_sku, ReasonCode.defective, "O fone esquerdo não liga."
    )
    recordings: list[str] = []
    context = new_context(browser, browser_server.url)
    try:
        page = context.new_page()
        page.add_init_script(DENY_CAMERA)  # as if the buyer had blocked the camera
        page.on(
            "request",
            lambda r: recordings.append(r.url) if "/recordings" in r.url else None,
        )
        buyer_login(page, scenario, case_id)
        page.get_by_test_id("record-start").click()
        status = page.get_by_test_id("record-status")
        expect(status).to_have_attribute("data-state", "error")
        expect(status).to_have_attribute("data-code", "camera_denied")
        expect(status).to_have_text(pt_br(RECORDER_MESSAGES["camera_denied"]))
        expect(page.get_by_test_id("record-start")).to_be_enabled()  # to try again
        expect(page.get_by_test_id("record-stop")).to_be_disabled()
        expect(page.get_by_test_id("record-preview")).to_be_hidden()
        page.screenshot(path=str(shots / "buyer-camera-denied.png"), full_page=True)
    finally:
        context.close()
    assert recordings == [], "a recording was started without a camera"
    assert list_evidence(sqlite_container.uow, SYSTEM, case_id) == []
