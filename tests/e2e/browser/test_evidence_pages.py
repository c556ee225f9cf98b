"""Evidence on a case in a real browser: the buyer's upload (tus from static/evidence.js) in
Portuguese, a refused file, an upload that survives a dropped request (retried at once, or
after a reload once the script gave up), a connection that stays down for several tries, a
server that answers 503 or 401 for a while, the Chinese console with a video, and the buyer's
page showing evidence an agent added, live, without the agent's name.

The bytes are made here (Pillow, ffmpeg) and checked end to end: what the page lists, what the
browser downloads and what the server stored must hash to the file that was picked.
"""

from __future__ import annotations

import base64
import hashlib
import io
import itertools
import re
import subprocess
import time
from pathlib import Path
from typing import TYPE_CHECKING, Any

import httpx
import pytest
from PIL import Image
from playwright.sync_api import (
    Browser,
    BrowserContext,
    Locator,
    Page,
    Request,
    Response,
    Route,
    expect,
)

from returndesk.adapters.db.tables import uploads
from returndesk.bootstrap import Container
from returndesk.domain.access import Role
from returndesk.services.evidence import list_evidence
from returndesk.services.principal import SYSTEM
from returndesk.services.staff import create_staff_user
from returndesk.web.pages.labels import CAPTURERS, EVIDENCE_KINDS, UPLOAD_MESSAGES
from servers.live import LiveServer

if TYPE_CHECKING:  # conftest modules are not imported by name at run time
    from conftest import Catalogue, Scenario

pytestmark = pytest.mark.browser

TIMEOUT_MS = 10_000
CHUNK = 5 * 1024 * 1024  # static/evidence.js sends PATCHes of this size
TUS = {"Tus-Resumable": "1.0.0"}
ZH_PASSWORD = "evidence-page-password"


# --- files -----------------------------------------------------------------------------------


def jpeg(path: Path, width: int = 320, height: int = 240) -> Path:
    out = io.BytesIO()
    Image.effect_noise((width, height), 64).convert("RGB").save(out, "JPEG", quality=90)
    path.write_bytes(out.getvalue())
    return path


def ffmpeg(path: Path, *args: str) -> Path:
    subprocess.run(["ffmpeg", "-v", "error", "-y", *args, str(path)], check=True, timeout=120)
    return path


@pytest.fixture(scope="module")
def small_video(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """One second of VP8 test pattern, 320x240 (tens of kilobytes)."""
    return ffmpeg(
        tmp_path_factory.mktemp("media") / "unboxing.webm",
        "-f", "lavfi", "-i", "testsrc2=size=320x240:rate=15", "-t", "1",
        "-c:v", "libvpx", "-b:v", "1M",
    )  # fmt: skip


@pytest.fixture(scope="module")
def large_video(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Five seconds of VP8 noise at a near-lossless quantizer: more than two 5 MB chunks,
    made in a couple of seconds (a test pattern compresses too well to get there quickly)."""
    path = ffmpeg(
        tmp_path_factory.mktemp("media") / "damage.webm",
        "-f", "lavfi", "-i", "nullsrc=s=640x360:r=15,geq=lum='random(1)*255':cb=128:cr=128",
        "-t", "5", "-c:v", "libvpx", "-deadline", "realtime", "-cpu-used", "8",
        "-qmin", "4", "-qmax", "10", "-b:v", "40M",
    )  # fmt: skip
    size = path.stat().st_size
    assert 2 * CHUNK < size < 30 * 1024 * 1024, f"the video is {size} bytes: not three chunks"
    return path


def sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


# --- the case, the people, the API -----------------------------------------------------------


def new_context(browser: Browser, base_url: str, locale: str) -> BrowserContext:
    context = browser.new_context(
        base_url=base_url, locale=locale, timezone_id="America/Sao_Paulo", accept_downloads=True
    )
    context.set_default_timeout(TIMEOUT_MS)
    return context


def buyer_login(page: Page, s: Scenario, case_id: str) -> None:
    """The look-up form, coming from a link to the case (so it lands on the case page)."""
    page.goto(f"/portal/returns/{case_id}")
    page.get_by_test_id("order-number").fill(s.order_number)
    page.get_by_test_id("email").fill(s.buyer_email)
    page.get_by_test_id("lookup-submit").click()
    expect(page).to_have_url(re.compile(rf"/portal/returns/{case_id}$"))
    expect(page.get_by_test_id("evidence-upload")).to_be_visible()


def staff_login(page: Page, address: str, password: str) -> None:
    page.goto("/console/login")
    page.get_by_test_id("login-email").fill(address)
    page.get_by_test_id("login-password").fill(password)
    page.get_by_test_id("login-submit").click()
    expect(page).to_have_url(re.compile(r"/console$"))


def upload_in_page(page: Page, kind: str, path: Path) -> Locator:
    """Choose the kind and the file and press Upload; the status line, for expectations."""
    page.get_by_test_id("evidence-kind").select_option(kind)
    page.get_by_test_id("evidence-file").set_input_files(path)
    page.get_by_test_id("evidence-submit").click()
    return page.get_by_test_id("upload-status")


LOADED_MEDIA = """selector => {
    const el = document.querySelector(selector);
    if (!el) return null;
    el.scrollIntoView({ block: "nearest" });  // images load lazily
    if (el.tagName === "IMG") return el.complete ? [el.naturalWidth, el.naturalHeight] : null;
    if (el.error) return { error: el.error.code };
    return el.readyState >= 1 ? [el.videoWidth, el.videoHeight, el.duration] : null;
}"""


def item_media(page: Page, sha: str, media: str) -> Any:
    """What the browser made of an evidence item's <img> or <video> once it finished loading:
    [naturalWidth, naturalHeight] for an image ([0, 0]: it did not load), [videoWidth,
    videoHeight, duration] for a video ({"error": code}: it cannot be played).

    The element is looked up (and scrolled into view) afresh on every try: a live refresh
    replaces the card's nodes, so a handle held across tries may be detached.
    """
    selector = f'[data-testid="evidence-item"][data-sha256="{sha}"] {media}'
    return page.wait_for_function(LOADED_MEDIA, arg=selector).json_value()


def tus_keys(page: Page) -> list[str]:
    """What the upload script remembers in localStorage (an upload to resume)."""
    keys: list[str] = page.evaluate(
        "() => Object.keys(localStorage).filter(k => k.startsWith('tus:'))"
    )
    return keys


# What the upload script's fetch() calls did, by the page's own (fake) clock: installed before
# the page's scripts run, it wraps fetch() for the tus endpoint.
LOG_UPLOAD_CALLS = """(() => {
    const fetch = window.fetch;
    window.uploadCalls = [];
    window.fetch = function (url, init) {
        if (!String(url).includes("/portal/uploads")) return fetch.apply(this, arguments);
        const headers = (init && init.headers) || {};
        const call = {
            method: (init && init.method) || "GET",
            offset: headers["Upload-Offset"] || null,
            start: Date.now(),
        };
        window.uploadCalls.push(call);
        return fetch.apply(this, arguments).then(
            response => {
                call.end = Date.now();
                call.status = response.status;
                call.answer = response.headers.get("Upload-Offset");
                return response;
            },
            error => { call.end = Date.now(); call.status = 0; throw error; },
        );
    };
})()"""


def upload_calls(page: Page) -> list[dict[str, Any]]:
    """[{method, offset (sent), status (0: no answer), answer (Upload-Offset), start, end}]."""
    calls: list[dict[str, Any]] = page.evaluate("() => window.uploadCalls")
    return calls


def upload_calls_seen(page: Page) -> list[tuple[str, str | None, int]]:
    """(method, Upload-Offset sent, status) of each call, 0 for a call that got no answer."""
    return [(c["method"], c["offset"], c["status"]) for c in upload_calls(page)]


def waits_after_failures(page: Page) -> list[int]:
    """Milliseconds (fake clock) from each call that failed to the script's next call."""
    calls = upload_calls(page)
    return [
        after["start"] - failed["end"]
        for failed, after in itertools.pairwise(calls)
        if failed["status"] == 0 or failed["status"] >= 400
    ]


def upload_on_fake_time(page: Page, kind: str, path: Path, step_ms: int = 250) -> Locator:
    """Upload, moving the page's fake clock on in small steps while the script is busy (so
    its waits between tries pass at once and measure to within `step_ms`)."""
    status = upload_in_page(page, kind, path)
    deadline = time.monotonic() + 30
    while status.get_attribute("data-state") == "busy":
        assert time.monotonic() < deadline, f"still uploading after 30 s: {upload_calls_seen(page)}"
        page.clock.fast_forward(step_ms)
        page.wait_for_timeout(50)
    return status


def api_token(base_url: str, path: str, body: dict[str, str]) -> str:
    response = httpx.post(f"{base_url}{path}", json=body, timeout=30)
    assert response.status_code == 200, response.text
    token: str = response.json()["access_token"]
    return token


def api_upload(base_url: str, token: str, case_id: str, kind: str, path: Path) -> str:
    """A plain tus client over the API: create, then one PATCH with the whole file."""
    body = path.read_bytes()
    meta = {"case_id": case_id, "kind": kind, "filename": path.name}
    encoded = ",".join(f"{k} {base64.b64encode(v.encode()).decode()}" for k, v in meta.items())
    auth = {"Authorization": f"Bearer {token}"}
    with httpx.Client(base_url=base_url, headers=auth, timeout=60) as http:
        made = http.post(
            "/api/v1/uploads",
            headers={**TUS, "Upload-Length": str(len(body)), "Upload-Metadata": encoded},
        )
        assert made.status_code == 201, made.text
        sent = http.patch(
            made.headers["location"], content=body,
            headers={**TUS, "Upload-Offset": "0",
                     "Content-Type": "application/offset+octet-stream"},
        )  # fmt: skip
        assert sent.status_code == 204, sent.text
        return sent.headers["x-evidence-id"]


# --- 1. a photo from the buyer's phone -------------------------------------------------------


def test_a_buyer_adds_a_photo_to_their_return(
    browser: Browser, browser_server: LiveServer, sqlite_container: Container,
    scenario: Scenario, pt_br: Catalogue, tmp_path: Path, shots: Path,
) -> None:  # fmt: skip
    case_id = scenario.open_return(sqlite_container, scenario.tee_sku)
    photo = jpeg(tmp_path / "arranhão na caixa.jpg")  # as phones name them: accents, spaces
    context = new_context(browser, browser_server.url, "pt-BR")
    try:
        page = context.new_page()
        buyer_login(page, scenario, case_id)
        expect(page.locator("html")).to_have_attribute("lang", "pt-BR")
        card = page.get_by_test_id("evidence")
        expect(card.locator("h2")).to_have_text(pt_br("Evidence"))
        expect(page.get_by_test_id("evidence-empty")).to_have_text(pt_br("No evidence yet."))
        expect(page.get_by_test_id("evidence-submit")).to_have_text(pt_br("Upload"))
        expect(page.get_by_test_id("evidence-kind").locator("option")).to_have_text(
            [pt_br(EVIDENCE_KINDS[k]) for k in ("photo", "video", "document")]
        )
        expect(page.get_by_test_id("live")).to_have_attribute("data-live-state", "open")

        status = upload_in_page(page, "photo", photo)
        expect(status).to_have_attribute("data-state", "done")
        expect(status).to_have_text(pt_br(UPLOAD_MESSAGES["done"]))
        assert tus_keys(page) == [], "a finished upload is still remembered for resuming"

        # The card refreshed itself from the case's event stream: one photo, our bytes.
        item = page.get_by_test_id("evidence-item")
        expect(item).to_have_count(1)
        expect(item).to_have_attribute("data-kind", "photo")
        expect(item).to_have_attribute("data-sha256", sha256(photo))
        expect(item).to_contain_text(photo.name)
        expect(item).to_contain_text(pt_br(EVIDENCE_KINDS["photo"]))
        expect(page.get_by_test_id("evidence-empty")).to_have_count(0)
        expect(item.get_by_test_id("evidence-image")).to_have_count(1)
        assert item_media(page, sha256(photo), "img") == [320, 240]
        timeline = page.locator('[data-testid="timeline-entry"][data-kind="evidence_added"]')
        expect(timeline).to_have_count(1)
        expect(timeline).to_contain_text(photo.name)

        # The download is the very file that was picked, under its name.
        link = item.get_by_test_id("evidence-download")
        expect(link).to_have_text(pt_br("Download"))
        with page.expect_download() as downloading:
            link.click()
        download = downloading.value
        assert download.suggested_filename == photo.name
        assert Path(download.path()).read_bytes() == photo.read_bytes()
        page.screenshot(path=str(shots / "buyer-evidence-photo.png"), full_page=True)
    finally:
        context.close()

    [stored] = list_evidence(sqlite_container.uow, SYSTEM, case_id)
    assert (stored.sha256, stored.size, stored.media_type) == (
        sha256(photo),
        photo.stat().st_size,
        "image/jpeg",
    )
    assert stored.captured_by.startswith("buyer:")


# --- 2. a file that is not what the buyer said it is -----------------------------------------


def test_a_file_of_the_wrong_kind_is_refused_with_a_localized_message(
    browser: Browser, browser_server: LiveServer, sqlite_container: Container,
    scenario: Scenario, pt_br: Catalogue, tmp_path: Path, shots: Path,
) -> None:  # fmt: skip
    case_id = scenario.open_return(sqlite_container, scenario.tee_sku)
    pdf = tmp_path / "nota-fiscal.pdf"
    pdf.write_bytes(b"%PDF-1.4\n1 0 obj<<>>endobj\ntrailer<<>>\n%%EOF\n")
    text = tmp_path / "foto.jpg"  # a text file with a photo's name
    text.write_text("Isto não é uma foto, é um texto.\n" * 40)
    mismatch = pt_br(UPLOAD_MESSAGES["file_type_mismatch"])
    context = new_context(browser, browser_server.url, "pt-BR")
    try:
        page = context.new_page()
        buyer_login(page, scenario, case_id)
        for kind, path in (("video", pdf), ("photo", text)):
            with page.expect_response(
                lambda r: r.request.method == "PATCH" and "/portal/uploads/" in r.url
            ) as patched:
                status = upload_in_page(page, kind, path)
            assert patched.value.status == 422
            expect(status).to_have_attribute("data-state", "error")
            expect(status).to_have_attribute("data-code", "file_type_mismatch")
            expect(status).to_have_text(mismatch)
            expect(page.get_by_test_id("evidence-submit")).to_be_enabled()
            assert tus_keys(page) == [], "a refused upload is remembered for resuming"
        page.screenshot(path=str(shots / "buyer-evidence-refused.png"), full_page=True)
        expect(page.get_by_test_id("evidence-item")).to_have_count(0)
        expect(page.get_by_test_id("evidence-empty")).to_be_visible()
    finally:
        context.close()

    assert list_evidence(sqlite_container.uow, SYSTEM, case_id) == []
    with sqlite_container.engine.connect() as conn:
        rows = conn.execute(uploads.select().order_by(uploads.c.created_at)).all()
    assert [(r.kind, r.status, r.error) for r in rows] == [
        ("video", "failed", "file_type_mismatch"),
        ("photo", "failed", "file_type_mismatch"),
    ]
    leftovers = list((sqlite_container.settings.home / "uploads").glob("*.part"))
    assert leftovers == [], "the refused bytes were kept"


# --- 3. a dropped request in the middle of a large video -------------------------------------


def test_an_interrupted_upload_goes_on_from_where_the_server_stands(
    browser: Browser, browser_server: LiveServer, sqlite_container: Container,
    scenario: Scenario, pt_br: Catalogue, large_video: Path,
) -> None:  # fmt: skip
    case_id = scenario.open_return(sqlite_container, scenario.tee_sku)
    size = large_video.stat().st_size
    sent: list[tuple[str, str | None]] = []  # (method, Upload-Offset) as the page sent them
    answered: list[tuple[str, str | None, str | None]] = []  # ... that the server answered
    failed: list[tuple[str, str | None]] = []  # ... that got no answer
    dropped: list[str] = []

    def upload_request(request: Request) -> bool:
        return "/portal/uploads" in request.url

    def on_request(request: Request) -> None:
        if upload_request(request):
            sent.append((request.method, request.headers.get("upload-offset")))

    def on_response(response: Response) -> None:
        if upload_request(response.request):
            answered.append(
                (
                    response.request.method,
                    response.request.headers.get("upload-offset"),
                    response.headers.get("upload-offset"),
                )
            )

    def on_failed(request: Request) -> None:
        # Only requests that got no answer: Chromium also reports an answered request whose
        # (empty) body the script never read as failed (net::ERR_ABORTED).
        if upload_request(request) and request.response() is None:
            failed.append((request.method, request.headers.get("upload-offset")))

    patches: list[str | None] = []  # every PATCH the route saw, dropped or not

    def drop_second_patch(route: Route) -> None:
        if route.request.method == "PATCH":
            patches.append(route.request.headers.get("upload-offset"))
            if len(patches) == 2:
                dropped.append(route.request.url)
                route.abort("connectionreset")
                return
        route.continue_()

    context = new_context(browser, browser_server.url, "pt-BR")
    try:
        page = context.new_page()
        buyer_login(page, scenario, case_id)
        page.on("request", on_request)
        page.on("response", on_response)
        page.on("requestfailed", on_failed)
        page.route("**/portal/uploads/**", drop_second_patch)

        status = upload_in_page(page, "video", large_video)
        expect(status).to_have_attribute("data-state", "busy")
        expect(status).to_have_text(pt_br(UPLOAD_MESSAGES["uploading"]))
        expect(status).to_have_attribute("data-state", "done", timeout=30_000)
        expect(status).to_have_text(pt_br(UPLOAD_MESSAGES["done"]))
        item = page.get_by_test_id("evidence-item")
        expect(item).to_have_count(1)
        expect(item).to_have_attribute("data-kind", "video")
        expect(item).to_have_attribute("data-sha256", sha256(large_video))
        progress = page.get_by_test_id("evidence-progress")
        assert progress.evaluate("bar => [bar.value, bar.max]") == [size, size]
    finally:
        context.close()

    chunk, two = str(CHUNK), str(2 * CHUNK)
    assert len(dropped) == 1 and patches == ["0", chunk, chunk, two], patches
    # The dropped PATCH never reached the server; the script asked where it stands (HEAD) and
    # sent the second chunk again, never the first.
    assert failed == [("PATCH", chunk)]
    assert sent == [
        ("POST", None), ("PATCH", "0"), ("PATCH", chunk), ("HEAD", None),
        ("PATCH", chunk), ("PATCH", two),
    ], sent  # fmt: skip
    assert answered == [
        ("POST", None, "0"), ("PATCH", "0", chunk), ("HEAD", None, chunk),
        ("PATCH", chunk, two), ("PATCH", two, str(size)),
    ], answered  # fmt: skip
    [stored] = list_evidence(sqlite_container.uow, SYSTEM, case_id)
    assert (stored.sha256, stored.size, stored.media_type) == (
        sha256(large_video),
        size,
        "video/webm",
    )
    stored_path = sqlite_container.files.path(stored.sha256)
    assert stored_path.read_bytes() == large_video.read_bytes()


def test_after_the_connection_gives_up_upload_again_goes_on_from_the_same_byte(
    browser: Browser, browser_server: LiveServer, sqlite_container: Container,
    scenario: Scenario, pt_br: Catalogue, large_video: Path,
) -> None:  # fmt: skip
    """Every try of the second chunk fails: the script gives up with the "connection dropped"
    message and remembers the upload; after a reload, Upload with the same file goes on from
    byte 5 MB of the same upload (HEAD), without creating another or sending the first chunk."""
    case_id = scenario.open_return(sqlite_container, scenario.tee_sku)
    size = large_video.stat().st_size
    chunk = str(CHUNK)
    sent: list[tuple[str, str | None]] = []

    def on_request(request: Request) -> None:
        if "/portal/uploads" in request.url:
            sent.append((request.method, request.headers.get("upload-offset")))

    def drop_second_chunk(route: Route) -> None:
        if route.request.method == "PATCH" and route.request.headers.get("upload-offset") == chunk:
            route.abort("internetdisconnected")
        else:
            route.continue_()

    context = new_context(browser, browser_server.url, "pt-BR")
    try:
        page = context.new_page()
        page.clock.install()  # the script waits 1, 2, 3 and 4 s between tries: skip those
        buyer_login(page, scenario, case_id)
        page.on("request", on_request)
        page.route("**/portal/uploads/**", drop_second_chunk)

        status = upload_in_page(page, "video", large_video)
        deadline = time.monotonic() + 30
        while status.get_attribute("data-state") == "busy":
            assert time.monotonic() < deadline, f"still uploading after 30 s: {sent}"
            page.clock.fast_forward(1000)
            page.wait_for_timeout(50)
        expect(status).to_have_attribute("data-state", "error")
        expect(status).to_have_attribute("data-code", "network")
        expect(status).to_have_text(pt_br(UPLOAD_MESSAGES["network"]))
        assert len(tus_keys(page)) == 1, "the upload to go on with is not remembered"
        # One try and four retries of the second chunk, each retry after asking where to go on.
        retries = [("HEAD", None), ("PATCH", chunk)] * 4
        assert sent == [("POST", None), ("PATCH", "0"), ("PATCH", chunk), *retries], sent
        expect(page.get_by_test_id("evidence-item")).to_have_count(0)

        # The connection is back; the buyer reloads the page and presses Upload again.
        page.unroute("**/portal/uploads/**")
        sent.clear()
        page.reload()
        status = upload_in_page(page, "video", large_video)
        expect(status).to_have_attribute("data-state", "done", timeout=30_000)
        expect(status).to_have_text(pt_br(UPLOAD_MESSAGES["done"]))
        assert sent == [("HEAD", None), ("PATCH", chunk), ("PATCH", str(2 * CHUNK))], sent
        assert tus_keys(page) == []
        item = page.get_by_test_id("evidence-item")
        expect(item).to_have_count(1)
        expect(item).to_have_attribute("data-sha256", sha256(large_video))
    finally:
        context.close()

    [stored] = list_evidence(sqlite_container.uow, SYSTEM, case_id)
    assert (stored.sha256, stored.size) == (sha256(large_video), size)
    with sqlite_container.engine.connect() as conn:
        assert len(conn.execute(uploads.select()).all()) == 1, "a second upload was created"


def test_while_the_connection_stays_down_the_upload_keeps_trying(
    browser: Browser, browser_server: LiveServer, sqlite_container: Container,
    scenario: Scenario, pt_br: Catalogue, large_video: Path,
) -> None:  # fmt: skip
    """The connection drops during the second chunk and is still down when the script asks
    where the server stands (the first two HEADs fail too): it waits longer each time (1, 2,
    3 s) and asks again, and goes on from byte 5 MB once the connection is back."""
    case_id = scenario.open_return(sqlite_container, scenario.tee_sku)
    size, chunk, two = large_video.stat().st_size, str(CHUNK), str(2 * CHUNK)
    dropped: list[str] = []

    def outage(route: Route) -> None:
        method = route.request.method
        first_drop = method == "PATCH" and route.request.headers.get("upload-offset") == chunk
        if (first_drop and not dropped) or (method == "HEAD" and dropped.count("HEAD") < 2):
            dropped.append(method)
            route.abort("internetdisconnected")
        else:
            route.continue_()

    context = new_context(browser, browser_server.url, "pt-BR")
    try:
        page = context.new_page()
        page.clock.install()
        page.add_init_script(LOG_UPLOAD_CALLS)
        buyer_login(page, scenario, case_id)
        page.route("**/portal/uploads/**", outage)

        status = upload_on_fake_time(page, "video", large_video)
        expect(status).to_have_attribute("data-state", "done")
        expect(status).to_have_text(pt_br(UPLOAD_MESSAGES["done"]))
        assert dropped == ["PATCH", "HEAD", "HEAD"]
        assert upload_calls_seen(page) == [
            ("POST", None, 201), ("PATCH", "0", 204), ("PATCH", chunk, 0),
            ("HEAD", None, 0), ("HEAD", None, 0), ("HEAD", None, 200),
            ("PATCH", chunk, 204), ("PATCH", two, 204),
        ], upload_calls(page)  # fmt: skip
        assert upload_calls(page)[5]["answer"] == chunk  # where the server stood
        waits = waits_after_failures(page)
        assert [w // 250 * 250 for w in waits] == [1000, 2000, 3000], waits
        assert tus_keys(page) == []
        item = page.get_by_test_id("evidence-item")
        expect(item).to_have_count(1)
        expect(item).to_have_attribute("data-sha256", sha256(large_video))
    finally:
        context.close()

    [stored] = list_evidence(sqlite_container.uow, SYSTEM, case_id)
    assert (stored.sha256, stored.size) == (sha256(large_video), size)
    with sqlite_container.engine.connect() as conn:
        assert len(conn.execute(uploads.select()).all()) == 1, "a second upload was created"


# How a server that is restarting (or a proxy in front of it) answers, and what the script
# must then send: it keeps the upload and goes on from wherever the server says it stands.
OUTAGES = {
    # The PATCH is lost; the HEAD that follows gets a 503 once, the next one the offset.
    "head_503": [
        ("POST", None, 201), ("PATCH", "0", 204), ("PATCH", "chunk", 0),
        ("HEAD", None, 503), ("HEAD", None, 200), ("PATCH", "chunk", 204), ("PATCH", "two", 204),
    ],
    # The PATCH itself gets a 503 and the server never saw the bytes.
    "patch_503": [
        ("POST", None, 201), ("PATCH", "0", 204), ("PATCH", "chunk", 503),
        ("HEAD", None, 200), ("PATCH", "chunk", 204), ("PATCH", "two", 204),
    ],
    # The server stored the chunk but the answer was a 503: the HEAD says 10 MB, so the
    # script sends the third chunk, not the second again.
    "patch_503_after_write": [
        ("POST", None, 201), ("PATCH", "0", 204), ("PATCH", "chunk", 503),
        ("HEAD", None, 200), ("PATCH", "two", 204),
    ],
}  # fmt: skip


def unavailable(route: Route) -> None:
    route.fulfill(status=503, content_type="text/plain", body="Service Unavailable")


@pytest.mark.parametrize("outage", list(OUTAGES))
def test_a_server_error_keeps_the_upload_and_goes_on_from_the_servers_offset(
    browser: Browser, browser_server: LiveServer, sqlite_container: Container,
    scenario: Scenario, pt_br: Catalogue, large_video: Path, outage: str,
) -> None:  # fmt: skip
    case_id = scenario.open_return(sqlite_container, scenario.tee_sku)
    size, chunk, two = large_video.stat().st_size, str(CHUNK), str(2 * CHUNK)
    faked: list[str] = []

    def restarting(route: Route) -> None:
        method = route.request.method
        second = method == "PATCH" and route.request.headers.get("upload-offset") == chunk
        if outage == "head_503" and second and not faked:
            faked.append("PATCH lost")
            route.abort("connectionreset")
        elif outage == "head_503" and method == "HEAD" and faked == ["PATCH lost"]:
            faked.append("HEAD 503")
            unavailable(route)
        elif outage == "patch_503" and second and not faked:
            faked.append("PATCH 503")
            unavailable(route)
        elif outage == "patch_503_after_write" and second and not faked:
            stored = route.fetch()
            assert stored.status == 204 and stored.headers["upload-offset"] == two
            faked.append("PATCH stored, 503")
            unavailable(route)
        else:
            route.continue_()

    context = new_context(browser, browser_server.url, "pt-BR")
    try:
        page = context.new_page()
        page.clock.install()
        page.add_init_script(LOG_UPLOAD_CALLS)
        buyer_login(page, scenario, case_id)
        page.route("**/portal/uploads/**", restarting)

        status = upload_on_fake_time(page, "video", large_video)
        expect(status).to_have_attribute("data-state", "done")
        expect(status).to_have_text(pt_br(UPLOAD_MESSAGES["done"]))
        assert len(faked) == 1 + (outage == "head_503"), faked
        offsets = {"chunk": chunk, "two": two}
        expected = [(m, offsets.get(o or "", o), code) for m, o, code in OUTAGES[outage]]
        assert upload_calls_seen(page) == expected, upload_calls(page)
        heads = [c for c in upload_calls(page) if c["method"] == "HEAD" and c["status"] == 200]
        assert [c["answer"] for c in heads] == [two if outage.endswith("write") else chunk]
        assert tus_keys(page) == []
        item = page.get_by_test_id("evidence-item")
        expect(item).to_have_count(1)
        expect(item).to_have_attribute("data-sha256", sha256(large_video))
    finally:
        context.close()

    [stored] = list_evidence(sqlite_container.uow, SYSTEM, case_id)
    assert (stored.sha256, stored.size) == (sha256(large_video), size)
    with sqlite_container.engine.connect() as conn:
        assert len(conn.execute(uploads.select()).all()) == 1, "a second upload was created"


def test_a_401_while_resuming_keeps_the_upload_for_after_signing_in(
    browser: Browser, browser_server: LiveServer, sqlite_container: Container,
    scenario: Scenario, pt_br: Catalogue, large_video: Path,
) -> None:  # fmt: skip
    """The HEAD after a dropped PATCH is answered 401 (the session ended meanwhile): the
    script stops with the "sign in again" message but remembers the upload, and Upload after
    that goes on from byte 5 MB of the same upload."""
    case_id = scenario.open_return(sqlite_container, scenario.tee_sku)
    size, chunk, two = large_video.stat().st_size, str(CHUNK), str(2 * CHUNK)
    faked: list[str] = []

    def session_ends(route: Route) -> None:
        method = route.request.method
        if method == "PATCH" and route.request.headers.get("upload-offset") == chunk:
            faked.append("PATCH lost")
            route.abort("connectionreset")
        elif method == "HEAD":
            faked.append("HEAD 401")
            route.fulfill(
                status=401, content_type="application/problem+json",
                body='{"code": "unauthenticated", "status": 401}',
            )  # fmt: skip
        else:
            route.continue_()

    context = new_context(browser, browser_server.url, "pt-BR")
    try:
        page = context.new_page()
        page.clock.install()
        page.add_init_script(LOG_UPLOAD_CALLS)
        buyer_login(page, scenario, case_id)
        page.route("**/portal/uploads/**", session_ends)

        status = upload_on_fake_time(page, "video", large_video)
        expect(status).to_have_attribute("data-state", "error")
        expect(status).to_have_attribute("data-code", "unauthenticated")
        expect(status).to_have_text(pt_br(UPLOAD_MESSAGES["unauthenticated"]))
        assert faked == ["PATCH lost", "HEAD 401"], faked
        assert upload_calls_seen(page) == [
            ("POST", None, 201), ("PATCH", "0", 204), ("PATCH", chunk, 0), ("HEAD", None, 401),
        ], upload_calls(page)  # fmt: skip
        assert len(tus_keys(page)) == 1, "the upload to go on with was forgotten"

        page.unroute("**/portal/uploads/**")
        page.reload()  # signed in again (the cookie here never ended)
        status = upload_on_fake_time(page, "video", large_video)
        expect(status).to_have_attribute("data-state", "done")
        assert upload_calls_seen(page) == [
            ("HEAD", None, 200), ("PATCH", chunk, 204), ("PATCH", two, 204),
        ], upload_calls(page)  # fmt: skip
        assert tus_keys(page) == []
        expect(page.get_by_test_id("evidence-item")).to_have_attribute(
            "data-sha256", sha256(large_video)
        )
    finally:
        context.close()

    [stored] = list_evidence(sqlite_container.uow, SYSTEM, case_id)
    assert (stored.sha256, stored.size) == (sha256(large_video), size)
    with sqlite_container.engine.connect() as conn:
        assert len(conn.execute(uploads.select()).all()) == 1, "a second upload was created"


# --- 4. the console, in Chinese, with the buyer's photo and a video from the warehouse -------


def test_the_console_shows_evidence_and_takes_a_video_in_chinese(
    browser: Browser, browser_server: LiveServer, sqlite_container: Container,
    scenario: Scenario, zh: Catalogue, tmp_path: Path, small_video: Path, shots: Path,
) -> None:  # fmt: skip
    container = sqlite_container
    case_id = scenario.open_return(container, scenario.tee_sku)
    photo = jpeg(tmp_path / "etiqueta.jpg", 200, 150)
    base = browser_server.url
    buyer_token = api_token(
        base, "/api/v1/buyer/session",
        {"order_number": scenario.order_number, "email": scenario.buyer_email},
    )  # fmt: skip
    api_upload(base, buyer_token, case_id, "photo", photo)
    create_staff_user(
        container.uow, container.hasher, container.clock, SYSTEM, email="wang@store.example",
        role=Role.warehouse, password=ZH_PASSWORD, name="Wang Fang", language="zh",
    )  # fmt: skip

    context = new_context(browser, base, "zh-CN")
    try:
        page = context.new_page()
        staff_login(page, "wang@store.example", ZH_PASSWORD)
        page.goto(f"/console/cases/{case_id}")
        card = page.get_by_test_id("evidence")
        expect(card.locator("h2")).to_have_text(zh("Evidence"))
        items = page.get_by_test_id("evidence-item")
        expect(items).to_have_count(1)
        expect(items.first).to_have_attribute("data-kind", "photo")
        expect(items.first).to_have_attribute("data-sha256", sha256(photo))
        expect(items.first).to_contain_text(zh(EVIDENCE_KINDS["photo"]))
        expect(items.first.get_by_test_id("evidence-download")).to_have_text(zh("Download"))
        expect(items.first.get_by_test_id("evidence-image")).to_have_count(1)
        assert item_media(page, sha256(photo), "img") == [200, 150]

        form = page.get_by_test_id("evidence-upload")
        expect(form.locator("h2")).to_have_text(zh("Add a photo, video or document"))
        expect(form.locator('label[for="evidence-kind"]')).to_have_text(zh("What is it?"))
        expect(form.locator('label[for="evidence-file"]')).to_have_text(zh("File"))
        expect(page.get_by_test_id("evidence-submit")).to_have_text(zh("Upload"))
        expect(page.get_by_test_id("evidence-kind").locator("option")).to_have_text(
            [zh(EVIDENCE_KINDS[k]) for k in ("photo", "video", "document")]
        )
        expect(page.get_by_test_id("live")).to_have_attribute("data-live-state", "open")

        status = upload_in_page(page, "video", small_video)
        expect(status).to_have_attribute("data-state", "done")
        expect(status).to_have_text(zh(UPLOAD_MESSAGES["done"]))
        expect(items).to_have_count(2)
        video_item = items.nth(1)
        expect(video_item).to_have_attribute("data-kind", "video")
        expect(video_item).to_have_attribute("data-sha256", sha256(small_video))
        expect(video_item).to_contain_text(zh(EVIDENCE_KINDS["video"]))
        expect(video_item).to_contain_text("Wang Fang")
        video = video_item.get_by_test_id("evidence-video")
        expect(video).to_have_count(1)
        # The browser reads the stored file as a video: its metadata, at its real size.
        width, height, duration = item_media(page, sha256(small_video), "video")
        assert (width, height) == (320, 240)
        assert 0.5 < duration < 1.5
        added = page.locator('[data-testid="timeline-entry"][data-kind="evidence_added"]')
        expect(added).to_have_count(2)
        expect(added.nth(1)).to_contain_text(small_video.name)
        page.screenshot(path=str(shots / "console-evidence-zh.png"), full_page=True)
    finally:
        context.close()

    got = list_evidence(container.uow, SYSTEM, case_id)
    assert [(i.kind.value, i.media_type, i.seq) for i in got] == [
        ("photo", "image/jpeg", 1),
        ("video", "video/webm", 2),
    ]
    assert got[1].captured_by.startswith("staff:")
    assert got[1].prev_hash == got[0].entry_hash


# --- 5. the buyer's page updates when an agent adds evidence ---------------------------------


def test_the_buyer_sees_evidence_an_agent_adds_without_reloading(
    browser: Browser, browser_server: LiveServer, sqlite_container: Container,
    scenario: Scenario, pt_br: Catalogue, tmp_path: Path, shots: Path,
) -> None:  # fmt: skip
    case_id = scenario.open_return(sqlite_container, scenario.tee_sku)
    photo = jpeg(tmp_path / "recebido.jpg", 240, 180)
    base = browser_server.url
    context = new_context(browser, base, "pt-BR")
    try:
        page = context.new_page()
        buyer_login(page, scenario, case_id)
        expect(page.get_by_test_id("evidence-item")).to_have_count(0)
        expect(page.get_by_test_id("evidence-empty")).to_be_visible()
        expect(page.get_by_test_id("live")).to_have_attribute("data-live-state", "open")
        page.evaluate("() => { window.notReloaded = true; }")

        agent = api_token(
            base, "/api/v1/auth/token",
            {"email": scenario.agent_email, "password": scenario.agent_password},
        )  # fmt: skip
        evidence_id = api_upload(base, agent, case_id, "photo", photo)

        item = page.get_by_test_id("evidence-item")
        expect(item).to_have_count(1)
        expect(page.locator("html")).to_have_attribute("data-live-updated", re.compile(r"^\d+$"))
        assert page.evaluate("() => window.notReloaded") is True, "the page was reloaded"
        expect(item).to_have_attribute("data-kind", "photo")
        expect(item).to_have_attribute("data-sha256", sha256(photo))
        expect(item.get_by_test_id("evidence-download")).to_have_attribute(
            "href", f"/portal/returns/{case_id}/evidence/{evidence_id}?download=1"
        )
        expect(page.get_by_test_id("evidence-empty")).to_have_count(0)
        expect(item.get_by_test_id("evidence-image")).to_have_count(1)
        assert item_media(page, sha256(photo), "img") == [240, 180]
        added = page.locator('[data-testid="timeline-entry"][data-kind="evidence_added"]')
        expect(added).to_have_count(1)
        expect(added).to_contain_text(pt_br(EVIDENCE_KINDS["photo"]))
        # The buyer is told the store's team added it, never which staff member.
        team = pt_br(CAPTURERS["staff"])
        expect(item.get_by_test_id("evidence-captured-by")).to_contain_text(team)
        expect(page.locator("body")).not_to_contain_text(scenario.agent_name)
        page.screenshot(path=str(shots / "buyer-evidence-live.png"), full_page=True)
        page.reload()  # the page as first served says the same
        expect(item.get_by_test_id("evidence-captured-by")).to_contain_text(team)
        expect(page.locator("body")).not_to_contain_text(scenario.agent_name)

        # Staff see who it was.
        staff = new_context(browser, base, "en")
        try:
            console = staff.new_page()
            staff_login(console, scenario.agent_email, scenario.agent_password)
            console.goto(f"/console/cases/{case_id}")
            by = console.get_by_test_id("evidence-item").get_by_test_id("evidence-captured-by")
            expect(by).to_contain_text(scenario.agent_name)
            expect(by).not_to_contain_text(CAPTURERS["staff"])
        finally:
            staff.close()
    finally:
        context.close()
