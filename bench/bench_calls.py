"""Video call setup: from opening the buyer's link (the agent already waiting in the call) to
the first decoded remote frame on each side (`requestVideoFrameCallback`).

Side by side in the same run and browser, the floor: a bare two-page RTCPeerConnection (the
callee page waiting with its camera, the caller page opened the same way, signalling through
a BroadcastChannel, no app at all). Both use Chromium's fake camera on loopback, no TURN.

    .venv/bin/python bench/bench_calls.py [--calls 20]
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import statistics
import subprocess
import sys
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
from playwright.sync_api import Browser, BrowserContext, Page, sync_playwright

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "tests"))

from conftest import make_container, make_settings  # noqa: E402
from returndesk.domain.access import Role  # noqa: E402
from returndesk.domain.cases.model import LineRequest  # noqa: E402
from returndesk.domain.cases.reasons import ReasonCode  # noqa: E402
from returndesk.domain.cases.status import Resolution  # noqa: E402
from returndesk.services.buyers import start_buyer_session  # noqa: E402
from returndesk.services.calls import start_call  # noqa: E402
from returndesk.services.orders import LineInput, OrderInput, ShipmentInput, upsert_order  # noqa: E402
from returndesk.services.principal import SYSTEM, Principal  # noqa: E402
from returndesk.services.returns import OpenReturn, open_return  # noqa: E402
from returndesk.services.staff import create_staff_user  # noqa: E402
from servers import CHROMIUM_ARGS, CHROMIUM_PATH  # noqa: E402
from servers.live import free_port  # noqa: E402

FIRST_FRAME = """() => {
  const times = Object.values((window.returndeskCall || {}).firstFrame || {});
  return times.length ? times[0] : null;
}"""

BARE = """<!doctype html><meta charset="utf-8"><video id="v" autoplay playsinline muted></video>
<script>
const role = new URLSearchParams(location.search).get("role");
const room = new URLSearchParams(location.search).get("room");
const channel = new BroadcastChannel("bare-" + room);
const pc = new RTCPeerConnection();
window.firstFrame = null;
const video = document.getElementById("v");
pc.ontrack = (e) => {
  video.srcObject = e.streams[0];
  video.requestVideoFrameCallback(() => {
    window.firstFrame = performance.timeOrigin + performance.now();
  });
};
pc.onicecandidate = (e) =>
  channel.postMessage({ from: role, candidate: e.candidate && e.candidate.toJSON() });
channel.onmessage = async ({ data }) => {
  if (data.from === role) return;
  if (data.description) {
    await pc.setRemoteDescription(data.description);
    if (data.description.type === "offer") {
      await pc.setLocalDescription();
      channel.postMessage({ from: role, description: pc.localDescription.toJSON() });
    }
  } else if (data.candidate !== undefined) {
    await pc.addIceCandidate(data.candidate || null);
  } else if (data.hello && role === "callee") {
    channel.postMessage({ from: role, ready: true });
  }
};
navigator.mediaDevices.getUserMedia({ video: true, audio: true }).then(async (stream) => {
  stream.getTracks().forEach((t) => pc.addTrack(t, stream));
  window.ready = true;
  if (role === "caller") {
    await pc.setLocalDescription();
    channel.postMessage({ from: role, description: pc.localDescription.toJSON() });
  }
});
</script>"""


MARKS = """() => {
  const n = performance.getEntriesByType("navigation")[0];
  return Object.assign({ html: n.responseEnd, dom_ready: n.domContentLoadedEventEnd,
                         load: n.loadEventEnd }, window.returndeskCall.marks);
}"""
CLICK_JOIN = "() => document.querySelector('[data-testid=join-call]').click()"
SETTLE_S = 1.0  # between calls: the last call's pages close and the two cores calm down
marks: list[dict[str, Any]] = []


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    index = min(len(ordered) - 1, max(0, round(q * (len(ordered) - 1))))
    return ordered[index]


def summary(values: list[float]) -> dict[str, float]:
    return {
        "p50_ms": round(statistics.median(values), 1),
        "p95_ms": round(percentile(values, 0.95), 1),
        "max_ms": round(max(values), 1),
    }


def seed(container: Any) -> tuple[Principal, str]:
    now = container.clock()
    upsert_order(
        container.uow, SYSTEM,
        OrderInput("BENCH-1", "buyer@example.com", "BR", "BRL", now - timedelta(days=9),
                   (LineInput("BUD", "Earbuds", 1, 10000, 10000),), language="pt-BR",
                   shipments=(ShipmentInput("Correios", "BR1", now - timedelta(days=8),
                                            now - timedelta(days=5)),)),
    )  # fmt: skip
    user = create_staff_user(
        container.uow, container.hasher, container.clock, SYSTEM,
        email="agent@shop.example", role=Role.agent, password="bench-password-1", name="Ana",
    )  # fmt: skip
    buyer = start_buyer_session(container.uow, "BENCH-1", "buyer@example.com")
    case = open_return(
        container.uow, container.clock, buyer,
        OpenReturn("BENCH-1", (LineRequest("BUD", 1, ReasonCode.defective, ""),),
                   Resolution.refund),
    ).case  # fmt: skip
    staff = Principal("staff", user.id, Role.agent, user.store_id, user.name)
    return staff, case.id


def wait_value(page: Page, script: str, timeout_s: float = 20.0) -> float:
    handle = page.wait_for_function(script, timeout=timeout_s * 1000)
    value = handle.json_value()
    assert isinstance(value, (int, float)), value
    return float(value)


def app_call(
    agent_ctx: BrowserContext,
    buyer_ctx: BrowserContext,
    container: Any,
    staff: Principal,
    case_id: str,
) -> tuple[float, float]:
    started = start_call(container.uow, container.clock, container.tokens, staff,
                         case_id=case_id, link_minutes=30)  # fmt: skip
    call_id = started.call.id
    agent = buyer = None
    try:
        agent = agent_ctx.new_page()
        agent.goto(f"/calls/{call_id}?token={started.tokens['agent']}")
        agent.get_by_test_id("join-call").click()
        agent.wait_for_selector("[data-testid=call][data-state=waiting]")
        buyer = buyer_ctx.new_page()
        t0 = time.time() * 1000
        buyer.goto(
            f"/calls/{call_id}?token={started.tokens['buyer']}", wait_until="domcontentloaded"
        )
        buyer.evaluate(CLICK_JOIN)  # as soon as it can be pressed (the harness's own click
        # costs about 100 ms of round trips to the browser: not the app's time)
        buyer_frame = wait_value(buyer, FIRST_FRAME)
        agent_frame = wait_value(agent, FIRST_FRAME)
        origin = buyer.evaluate("performance.timeOrigin")
        marks.append({"buyer": buyer.evaluate(MARKS), "agent": agent.evaluate(MARKS),
                      "navigation_ms": origin - t0})  # fmt: skip
        agent.get_by_test_id("hang-up").click()
        return buyer_frame - t0, agent_frame - t0
    finally:
        for page in (agent, buyer):
            if page is not None:
                page.close()


def browser_context(browser: Browser, base: str) -> BrowserContext:
    """Made once per run and kept (as a person's browser is already open): each new context
    is a new window of Chromium, whose own toolbar loads a WebUI page in a renderer of its own
    (about 0.9 s of CPU on two cores, measured), which would land in the middle of
    whichever call came next."""
    context = browser.new_context(base_url=base)
    context.route("**/bare.html*", lambda route: route.fulfill(body=BARE, content_type="text/html"))
    return context


def bare_call(context: BrowserContext, room: int) -> tuple[float, float]:
    callee = caller = None
    try:
        callee = context.new_page()
        callee.goto(f"/bare.html?role=callee&room={room}")
        callee.wait_for_function("() => window.ready === true")
        caller = context.new_page()
        t0 = time.time() * 1000
        caller.goto(f"/bare.html?role=caller&room={room}")
        caller_frame = wait_value(caller, "() => window.firstFrame")
        callee_frame = wait_value(callee, "() => window.firstFrame")
        return caller_frame - t0, callee_frame - t0
    finally:
        for page in (callee, caller):
            if page is not None:
                page.close()


def breakdown() -> dict[str, float]:
    """Where the buyer's side spends the time (page marks, ms since its navigation began)."""
    names = ("html", "dom_ready", "load", "click", "ws_open", "media", "welcome", "got_offer",
             "ice_connected", "frame")  # fmt: skip
    out: dict[str, float] = {}
    for name in names:
        values = [m["buyer"][name] for m in marks if name in m["buyer"]]
        if values:
            out[name] = round(statistics.median(values), 1)
    return out


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--calls", type=int, default=20)
    args = parser.parse_args()
    home = Path(tempfile.mkdtemp(prefix="bench-calls-"))

    class WallClock:
        def __call__(self) -> datetime:
            return datetime.now(UTC)

    url = f"sqlite:///{home / 'db.sqlite3'}"
    container = make_container(make_settings(home, url, dispatch=False), WallClock())
    staff, case_id = seed(container)
    # The app in a process of its own (`uvicorn`, as `returndesk serve` runs it), so that the
    # browser driver in this process does not share its interpreter.
    port = free_port()
    env = {
        **os.environ,
        "RETURNDESK_HOME": str(home),
        "RETURNDESK_DATABASE_URL": url,
        "RETURNDESK_SECRET_KEY": container.settings.secret_key,
        "RETURNDESK_DISPATCH": "0",
    }
    server = subprocess.Popen(
        [sys.executable, "-m", "uvicorn", "--factory", "returndesk.web.app:create_app",
         "--port", str(port), "--log-level", "warning", "--timeout-graceful-shutdown", "2"],
        env=env,
    )  # fmt: skip
    base = f"http://127.0.0.1:{port}"
    app_buyer, app_agent, bare_caller, bare_callee = [], [], [], []
    try:
        for _ in range(200):
            try:
                if httpx.get(f"{base}/healthz").status_code == 200:
                    break
            except httpx.HTTPError:
                time.sleep(0.1)
        with sync_playwright() as driver:
            browser = driver.chromium.launch(executable_path=CHROMIUM_PATH, args=CHROMIUM_ARGS)
            agent_ctx, buyer_ctx, bare_ctx = (browser_context(browser, base) for _ in range(3))
            bare_call(bare_ctx, -1)  # warm-up (browser, codecs), not counted
            app_call(agent_ctx, buyer_ctx, container, staff, case_id)
            for n in range(args.calls):  # interleaved, so both see the same machine state
                time.sleep(SETTLE_S)
                caller, callee = bare_call(bare_ctx, n)
                bare_caller.append(caller)
                bare_callee.append(callee)
                time.sleep(SETTLE_S)
                buyer, agent = app_call(agent_ctx, buyer_ctx, container, staff, case_id)
                app_buyer.append(buyer)
                app_agent.append(agent)
            browser.close()
    finally:
        server.terminate()
        server.wait(timeout=30)
        container.close()
    app = summary([max(b, a) for b, a in zip(app_buyer, app_agent, strict=True)])
    floor = summary([max(b, a) for b, a in zip(bare_caller, bare_callee, strict=True)])
    result = {
        "benchmark": "call_setup",
        "calls": args.calls,
        "machine": {"cpus": os.cpu_count(), "python": platform.python_version()},
        "measure": "open the buyer's link -> first decoded remote frame on both sides (ms)",
        "returndesk": {"both_sides": app, "buyer_side": summary(app_buyer),
                       "agent_side": summary(app_agent)},
        "bare_two_page_floor": {"both_sides": floor, "caller_side": summary(bare_caller),
                                "callee_side": summary(bare_callee)},
        "p95_ratio_to_floor": round(app["p95_ms"] / floor["p95_ms"], 2),
        "buyer_page_median_ms_since_navigation": breakdown(),
        "goal": "p95 <= 1.5x the floor and < 1000 ms",
    }  # fmt: skip
    print(json.dumps(result, indent=2))


if __name__ == "__main__":
    main()
