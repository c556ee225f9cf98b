"""Video inspection calls in real Chromium (fake camera from a y4m made by ffmpeg, fake
microphone): the agent and the Brazilian buyer in two browser contexts, a guest in a third;
consent before recording, a still from the buyer's camera, both sides recorded live, the
agent's tools; a relay-only call through a real coturn; a reload that rejoins; a blocked
camera that falls back to sound only.

The app runs on the wall clock here (recordings are attested against arrival times).
"""

from __future__ import annotations

import json
import re
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING, Any
from urllib.parse import urlsplit

import httpx
import pytest
from playwright.sync_api import Browser, BrowserContext, Page, Playwright, expect

from returndesk.bootstrap import Container
from returndesk.domain.cases.reasons import ReasonCode
from returndesk.domain.evidence import EvidenceItem
from returndesk.services.evidence import list_evidence
from returndesk.services.principal import SYSTEM
from returndesk.services.returns import get_timeline
from returndesk.web.app import create_app
from returndesk.web.pages.labels import CALL_BUTTONS, CALL_MESSAGES
from servers import CHROMIUM_ARGS, CHROMIUM_PATH
from servers.live import LiveServer
from servers.turn import TurnServer

if TYPE_CHECKING:
    from conftest import Catalogue, Scenario, WallClock

pytestmark = pytest.mark.browser

TIMEOUT_MS = 15_000
FIRST_FRAME = "el => el.videoWidth > 0 && el.getAttribute('data-first-frame') === 'yes'"


@pytest.fixture
def clock(wall_clock: WallClock) -> WallClock:
    """The app runs on real time here (overrides tests/conftest.py's still clock)."""
    return wall_clock


@pytest.fixture(scope="module")
def camera_file(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A 1280x720 test picture for the fake camera (made now: a y4m is large); the call sends
    at most 960x720, so a still at 1280x720 shows it was taken from the camera itself."""
    path = tmp_path_factory.mktemp("camera") / "camera.y4m"
    subprocess.run(
        ["ffmpeg", "-v", "error", "-f", "lavfi", "-i", "testsrc2=size=1280x720:rate=10",
         "-t", "1", "-pix_fmt", "yuv420p", str(path)],
        check=True, timeout=60,
    )  # fmt: skip
    return path


@pytest.fixture(scope="module")
def call_browser(playwright: Playwright, camera_file: Path) -> Iterator[Browser]:
    chromium = playwright.chromium.launch(
        executable_path=CHROMIUM_PATH,
        args=[*CHROMIUM_ARGS, f"--use-file-for-fake-video-capture={camera_file}",
              "--autoplay-policy=user-gesture-required"],
        headless=True,
    )  # fmt: skip
    yield chromium
    chromium.close()


def context(browser: Browser, base_url: str, locale: str) -> BrowserContext:
    made = browser.new_context(base_url=base_url, locale=locale)
    made.set_default_timeout(TIMEOUT_MS)
    return made


def start_call(base_url: str, s: Scenario, case_id: str) -> dict[str, Any]:
    with httpx.Client(base_url=base_url, timeout=10) as client:
        token = client.post(
            "/api/v1/auth/token", json={"email": s.agent_email, "password": s.agent_password}
        ).json()["access_token"]
        response = client.post(
            f"/api/v1/returns/{case_id}/calls", headers={"Authorization": f"Bearer {token}"}
        )
        assert response.status_code == 201, response.text
        created: dict[str, Any] = response.json()
        created["staff_token"] = token
        return created


def local(url: str) -> str:
    """The path and query of a link (the app's public URL is not the test server's)."""
    parts = urlsplit(url)
    return f"{parts.path}?{parts.query}"


def join(page: Page, url: str) -> None:
    page.goto(local(url))
    expect(page.get_by_test_id("hang-up")).to_be_hidden()  # nothing but Join before joining
    page.get_by_test_id("join-call").click()
    expect(page.get_by_test_id("call")).not_to_have_attribute("data-state", "ready")
    expect(page.get_by_test_id("join-call")).to_be_hidden()
    expect(page.get_by_test_id("hang-up")).to_be_visible()


def sees(page: Page, role: str) -> None:
    """The page shows a decoded frame of `role`'s video."""
    video = page.locator(f"video[data-testid='remote-video'][data-peer-role='{role}']")
    expect(video).to_have_count(1)
    page.wait_for_function(FIRST_FRAME, arg=video.element_handle(), timeout=TIMEOUT_MS)


def wait_for(check: Any, seconds: float = 30.0) -> Any:
    deadline = time.monotonic() + seconds
    while True:
        value = check()
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError("timed out waiting")
        time.sleep(0.2)


def test_call_with_consent_still_tools_recording_and_a_guest(
    call_browser: Browser,
    browser_server: LiveServer,
    sqlite_container: Container,
    scenario: Scenario,
    pt_br: Catalogue,
) -> None:
    container = sqlite_container
    case_id = scenario.open_return(
        container, scenario.buds_sku, ReasonCode.defective, "O fone esquerdo não liga."
    )
    created = start_call(browser_server.url, scenario, case_id)
    agent_ctx = context(call_browser, browser_server.url, "en-US")
    buyer_ctx = context(call_browser, browser_server.url, "pt-BR")
    guest_ctx = context(call_browser, browser_server.url, "ja-JP")
    try:
        agent = agent_ctx.new_page()
        join(agent, created["agent_url"])
        expect(agent.get_by_test_id("call-status")).to_have_text(CALL_MESSAGES["waiting_buyer"])

        buyer = buyer_ctx.new_page()
        buyer.goto(local(created["buyer_url"]))
        expect(buyer.get_by_test_id("join-call")).to_have_text(pt_br(CALL_BUTTONS["join"]))
        expect(buyer.get_by_test_id("call-status")).to_have_text(pt_br(CALL_MESSAGES["ready"]))
        # Before Join: the buyer sees their own camera; the agent's page is already connected
        # to the buyer's (so that Join is quick) and shows who is about to join, but nothing
        # of the buyer's camera or microphone is sent, and the agent's tools do not reach it.
        buyer.wait_for_function(
            "el => el.videoWidth > 0", arg=buyer.get_by_test_id("local-video").element_handle()
        )
        waiting = agent.locator("figure[data-state='lobby']")
        expect(waiting).to_contain_text(CALL_MESSAGES["peer_lobby"])
        buyer.wait_for_function("() => !!window.returndeskCall.marks.ice_connected")
        time.sleep(1.0)  # frames would have arrived by now
        lobby_video = agent.locator("video[data-peer-role='buyer']")
        assert lobby_video.evaluate("v => v.videoWidth") == 0
        assert lobby_video.get_attribute("data-first-frame") is None
        expect(agent.get_by_test_id("call-status")).to_have_text(CALL_MESSAGES["waiting_buyer"])
        agent.get_by_test_id("take-still").click()
        expect(agent.get_by_test_id("tool-status")).to_have_attribute("data-code", "still_failed")
        expect(buyer.get_by_test_id("consent")).to_be_hidden()
        expect(buyer.get_by_test_id("consent-state")).to_be_empty()  # the question is theirs
        expect(agent.get_by_test_id("consent-state")).to_have_text(CALL_MESSAGES["consent_waiting"])

        buyer.get_by_test_id("join-call").click()
        expect(agent.locator("figure[data-state='joined']")).to_have_count(1)
        sees(buyer, "agent")
        sees(agent, "buyer")
        expect(buyer.get_by_test_id("call-status")).to_have_text(pt_br(CALL_MESSAGES["connected"]))

        # Nothing is recorded before the buyer answers; the answer is on the timeline first.
        expect(agent.get_by_test_id("record-call")).to_be_disabled()
        consent = buyer.get_by_test_id("consent")
        expect(consent).to_contain_text(pt_br(CALL_MESSAGES["consent_question"]))
        buyer.get_by_test_id("consent-yes").click()
        expect(agent.get_by_test_id("consent-state")).to_have_attribute("data-consent", "granted")
        kinds = [e.kind for e in get_timeline(container.uow, SYSTEM, case_id)]
        assert kinds.count("call_started") == 1 and kinds.count("call_consent") == 1

        # The agent's tools, carried out on the buyer's phone.
        agent.get_by_test_id("switch-camera").click()
        expect(agent.get_by_test_id("tool-status")).to_have_attribute(
            "data-code", re.compile("camera_switched|camera_unavailable")
        )
        agent.get_by_test_id("torch").click()  # the fake camera has no torch
        expect(agent.get_by_test_id("tool-status")).to_have_attribute(
            "data-code", "torch_unsupported"
        )
        agent.locator("video[data-peer-role='buyer']").click(position={"x": 40, "y": 30})
        expect(buyer.get_by_test_id("pointer")).to_be_visible()

        agent.get_by_test_id("take-still").click()
        expect(agent.get_by_test_id("still-count")).to_have_attribute("data-count", "1")
        [still] = [
            e for e in list_evidence(container.uow, SYSTEM, case_id) if e.kind.value == "photo"
        ]
        assert still.details["call_id"] == created["call_id"]
        assert (still.details["width"], still.details["height"]) == (1280, 720)  # full size
        sent = agent.locator("video[data-peer-role='buyer']").evaluate("v => v.videoWidth")
        assert 0 < sent <= 960  # while the call itself carries at most 960x720
        assert still.captured_by.startswith("buyer:")

        # A third person joins and sees both.
        with httpx.Client(base_url=browser_server.url, timeout=10) as client:
            invited = client.post(
                f"/api/v1/returns/{case_id}/calls/{created['call_id']}/guests",
                json={"name": "Keiko (interpreter)"},
                headers={"Authorization": f"Bearer {created['staff_token']}"},
            )
        assert invited.status_code == 201, invited.text
        guest = guest_ctx.new_page()
        guest.goto(local(invited.json()["guest_url"]))
        # Waiting to join, the guest's page is connected to both, and gets the agent's picture
        # at once (whoever is about to join sees who is there), but nothing of the buyer's
        # camera or microphone until the guest is in the call.
        expect(guest.locator("figure[data-connection='connected']")).to_have_count(2)
        guest.wait_for_function(
            "el => el.videoWidth > 0",
            arg=guest.locator("video[data-peer-role='agent']").element_handle(),
        )
        time.sleep(1.0)  # the buyer's frames would have arrived by now
        assert guest.locator("video[data-peer-role='buyer']").evaluate("v => v.videoWidth") == 0
        guest.get_by_test_id("join-call").click()
        sees(guest, "agent")
        sees(guest, "buyer")
        sees(agent, "guest")
        sees(buyer, "guest")

        # Recording: each side sends its own camera while the call runs.
        agent.get_by_test_id("record-call").click()
        expect(buyer.get_by_test_id("recording-state")).to_be_visible()
        expect(agent.get_by_test_id("recording-state")).to_be_visible()
        agent.wait_for_timeout(3500)
        agent.get_by_test_id("hang-up").click()
        for page in (buyer, guest):
            expect(page.get_by_test_id("call-ended")).to_have_attribute("data-code", "ended")
        expect(buyer.get_by_test_id("call-ended")).to_have_text(pt_br(CALL_MESSAGES["ended"]))

        def two_videos() -> list[EvidenceItem] | None:
            items = list_evidence(container.uow, SYSTEM, case_id)
            found = [e for e in items if e.kind.value == "video"]
            return found if len(found) == 2 else None

        videos: list[EvidenceItem] = wait_for(two_videos, 60)
        for video in videos:
            assert video.details["live_attested"] is True, video.details
            assert video.details["duration_seconds"] >= 2
            probe = subprocess.run(
                ["ffprobe", "-v", "error", "-show_streams", "-of", "json",
                 str(container.files.path(video.sha256))],
                capture_output=True, check=True, timeout=60,
            )  # fmt: skip
            codecs = {s["codec_type"] for s in json.loads(probe.stdout)["streams"]}
            assert codecs == {"video", "audio"}
        assert {v.captured_by.split(":")[0] for v in videos} == {"buyer", "staff"}

        with httpx.Client(base_url=browser_server.url, timeout=10) as client:
            listed = client.get(
                f"/api/v1/returns/{case_id}/calls",
                headers={"Authorization": f"Bearer {created['staff_token']}"},
            ).json()["items"]
        [call] = listed
        assert call["status"] == "ended" and call["duration_seconds"] >= 3
        assert {p["role"] for p in call["participants"] if p["joined_at"]} == {
            "agent", "buyer", "guest"
        }  # fmt: skip
        assert sorted(call["recording_ids"]) and len(call["recording_ids"]) == 2
        assert call["still_ids"] == [still.id]
        kinds = [e.kind for e in get_timeline(container.uow, SYSTEM, case_id)]
        assert kinds.index("call_consent") < kinds.index("call_ended")
        [ended] = [
            e for e in get_timeline(container.uow, SYSTEM, case_id) if e.kind == "call_ended"
        ]
        assert len(ended.data["participants"]) == 3 and ended.data["still_ids"] == [still.id]
    finally:
        for ctx in (agent_ctx, buyer_ctx, guest_ctx):
            ctx.close()


def test_relay_only_call_through_coturn_and_a_reload_rejoins(
    call_browser: Browser, scenario: Scenario, sqlite_container: Container, tmp_path: Path
) -> None:
    container = sqlite_container
    case_id = scenario.open_return(container, scenario.buds_sku, ReasonCode.defective)
    with TurnServer(tmp_path / "turn") as turn:
        container.settings = container.settings.model_copy(
            update={"turn_urls": turn.urls, "turn_secret": turn.secret, "call_ice_policy": "relay"}
        )
        with LiveServer(create_app(container)) as server:
            created = start_call(server.url, scenario, case_id)
            agent_ctx = context(call_browser, server.url, "en-US")
            buyer_ctx = context(call_browser, server.url, "pt-BR")
            try:
                agent, buyer = agent_ctx.new_page(), buyer_ctx.new_page()
                join(agent, created["agent_url"])
                join(buyer, created["buyer_url"])
                sees(agent, "buyer")
                sees(buyer, "agent")
                for page in (agent, buyer):
                    expect(page.get_by_test_id("call-quality")).to_have_attribute(
                        "data-route", "relay"
                    )
                assert turn.allocations() >= 2

                # A reload rejoins the same call; the agent sees the buyer again.
                buyer.reload()
                buyer.get_by_test_id("join-call").click()
                sees(buyer, "agent")
                sees(agent, "buyer")
                expect(agent.locator("video[data-testid='remote-video']")).to_have_count(1)
            finally:
                agent_ctx.close()
                buyer_ctx.close()


def test_blocked_camera_falls_back_to_sound_only(
    call_browser: Browser,
    browser_server: LiveServer,
    sqlite_container: Container,
    scenario: Scenario,
    pt_br: Catalogue,
) -> None:
    case_id = scenario.open_return(sqlite_container, scenario.buds_sku, ReasonCode.defective)
    created = start_call(browser_server.url, scenario, case_id)
    agent_ctx = context(call_browser, browser_server.url, "en-US")
    buyer_ctx = context(call_browser, browser_server.url, "pt-BR")
    buyer_ctx.add_init_script(
        """(() => {
          const real = navigator.mediaDevices.getUserMedia.bind(navigator.mediaDevices);
          navigator.mediaDevices.getUserMedia = (c) => c && c.video
            ? Promise.reject(new DOMException('blocked', 'NotAllowedError')) : real(c);
        })();"""
    )
    try:
        agent, buyer = agent_ctx.new_page(), buyer_ctx.new_page()
        join(agent, created["agent_url"])
        join(buyer, created["buyer_url"])
        expect(buyer.get_by_test_id("media-notice")).to_have_text(
            pt_br(CALL_MESSAGES["camera_denied"])
        )
        sees(buyer, "agent")  # the buyer still sees the agent, and is heard
        expect(agent.get_by_test_id("call-status")).to_have_attribute("data-code", "connected")
    finally:
        agent_ctx.close()
        buyer_ctx.close()


def test_wrong_and_ended_links_are_refused_in_the_page(
    call_browser: Browser, browser_server: LiveServer, sqlite_container: Container,
    scenario: Scenario, pt_br: Catalogue,
) -> None:  # fmt: skip
    case_id = scenario.open_return(sqlite_container, scenario.buds_sku, ReasonCode.defective)
    created = start_call(browser_server.url, scenario, case_id)
    ctx = context(call_browser, browser_server.url, "pt-BR")
    try:
        page = ctx.new_page()
        response = page.goto(f"/calls/{created['call_id']}?token=not-a-token")
        assert response is not None and response.status == 404
        expect(page.get_by_test_id("call-problem")).to_have_text(
            re.compile(re.escape(pt_br(CALL_MESSAGES["invalid_join_token"])))
        )
        with httpx.Client(base_url=browser_server.url, timeout=10) as client:
            ended = client.post(
                f"/api/v1/returns/{case_id}/calls/{created['call_id']}/end",
                headers={"Authorization": f"Bearer {created['staff_token']}"},
            )
        assert ended.status_code == 200, ended.text
        response = page.goto(local(created["buyer_url"]))
        assert response is not None and response.status == 410
        expect(page.get_by_test_id("call-problem")).to_have_attribute("data-code", "call_expired")
    finally:
        ctx.close()


def test_started_from_the_console_joined_from_the_portal(
    call_browser: Browser,
    browser_server: LiveServer,
    sqlite_container: Container,
    scenario: Scenario,
    pt_br: Catalogue,
) -> None:
    case_id = scenario.open_return(sqlite_container, scenario.buds_sku, ReasonCode.defective)
    agent_ctx = context(call_browser, browser_server.url, "en-US")
    buyer_ctx = context(call_browser, browser_server.url, "pt-BR")
    try:
        buyer = buyer_ctx.new_page()
        scenario.buyer_login(buyer)
        buyer.goto(f"/portal/returns/{case_id}")
        expect(buyer.get_by_test_id("video-call-invite")).to_have_count(0)

        agent = agent_ctx.new_page()
        scenario.agent_login(agent)
        agent.goto(f"/console/cases/{case_id}")
        agent.get_by_test_id("start-call").click()
        expect(agent).to_have_url(re.compile(r"/calls/[0-9a-f-]{36}\?token="))
        agent.get_by_test_id("join-call").click()

        # The buyer's open page learns of the call live, in Portuguese.
        invite = buyer.get_by_test_id("video-call-invite")
        expect(invite).to_contain_text(scenario.agent_name)
        buyer.get_by_test_id("join-video-call").click()
        expect(buyer).to_have_url(re.compile(r"/calls/[0-9a-f-]{36}\?token="))
        expect(buyer.get_by_test_id("join-call")).to_have_text(pt_br(CALL_BUTTONS["join"]))
        buyer.get_by_test_id("join-call").click()
        sees(buyer, "agent")
        sees(agent, "buyer")
        agent.get_by_test_id("hang-up").click()
        expect(buyer.get_by_test_id("call-ended")).to_be_visible()

        agent.goto(f"/console/cases/{case_id}")
        row = agent.get_by_test_id("call-row")
        expect(row).to_have_attribute("data-status", "ended")
        expect(row).to_contain_text(scenario.buyer_name)
        buyer.goto(f"/portal/returns/{case_id}")
        expect(buyer.get_by_test_id("video-call-invite")).to_have_count(0)
    finally:
        agent_ctx.close()
        buyer_ctx.close()
