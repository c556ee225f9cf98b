"""Evidence end to end: a real tus client (tuspy) against the app, resume across a killed
server, validation by content, the hash chain and `returndesk evidence verify`."""

from __future__ import annotations

import base64
import hashlib
import io
import json
import os
import shutil
import socket
import subprocess
import sys
import time
import zipfile
from collections.abc import Callable, Iterator
from dataclasses import replace
from pathlib import Path
from typing import TYPE_CHECKING, Any

import httpx
import pytest
from PIL import Image
from sqlalchemy import delete, update
from tusclient import client as tus

from returndesk.adapters.db.tables import evidence_items
from returndesk.domain.evidence import next_link
from servers.app_process import AppProcess

if TYPE_CHECKING:  # tests/e2e/conftest.py, handed over by fixtures
    from conftest import Api

SECRET = "test-secret-key-that-is-long-enough-0123456789"  # as tests/conftest.py
TUS = {"Tus-Resumable": "1.0.0"}


def photo_bytes(width: int = 320, height: int = 240) -> bytes:
    out = io.BytesIO()
    Image.effect_noise((width, height), 64).convert("RGB").save(out, "JPEG", quality=90)
    return out.getvalue()


@pytest.fixture(scope="module")
def video(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A 3-second VP8 WebM made by ffmpeg (about 2 MB)."""
    path = tmp_path_factory.mktemp("media") / "clip.webm"
    subprocess.run(
        ["ffmpeg", "-v", "error", "-y", "-f", "lavfi", "-i", "testsrc2=size=640x480:rate=15",
         "-t", "3", "-c:v", "libvpx", "-b:v", "5M", str(path)],
        check=True,
    )  # fmt: skip
    return path


def metadata(case_id: str, kind: str, filename: str) -> dict[str, str]:
    return {"case_id": case_id, "kind": kind, "filename": filename}


def tus_upload(
    base_url: str, token: str, path: Path, meta: dict[str, str], chunk_size: int = 512 * 1024
) -> str:
    """Upload with tuspy; returns the upload URL."""
    client = tus.TusClient(
        f"{base_url}/api/v1/uploads", headers={"Authorization": f"Bearer {token}"}
    )
    with path.open("rb") as stream:  # tuspy leaves a file it opened itself unclosed
        uploader = client.uploader(file_stream=stream, chunk_size=chunk_size, metadata=meta)
        uploader.upload()
    return str(uploader.url)


def items(api: Api, case_id: str, who: str = "buyer") -> list[dict[str, Any]]:
    response = api.get(who, f"/api/v1/returns/{case_id}/evidence")
    assert response.status_code == 200, response.text
    return list(response.json()["items"])


def create(api: Api, who: str, length: int, meta: dict[str, str]) -> httpx.Response:
    encoded = ",".join(f"{k} {base64.b64encode(v.encode()).decode()}" for k, v in meta.items())
    return api.post(
        who, "/api/v1/uploads", headers={**TUS, "Upload-Length": str(length),
                                         "Upload-Metadata": encoded},
    )  # fmt: skip


def send(
    api: Api, who: str, location: str, offset: int, body: bytes, **headers: str
) -> httpx.Response:
    return api.request(
        who, "PATCH", location, content=body,
        headers={**TUS, "Upload-Offset": str(offset),
                 "Content-Type": "application/offset+octet-stream", **headers},
    )  # fmt: skip


def test_a_tus_client_uploads_a_photo_and_a_video_into_the_case_chain(
    api: Api, tmp_path: Path, video: Path
) -> None:
    case = api.open_return()
    options = api.client.options("/api/v1/uploads")
    assert options.status_code == 204
    assert options.headers["tus-version"] == "1.0.0"
    assert set(options.headers["tus-extension"].split(",")) >= {
        "creation",
        "termination",
        "checksum",
    }

    photo = tmp_path / "scratch.jpg"
    photo.write_bytes(photo_bytes())
    token = api.tokens["buyer"]
    tus_upload(api.client.base_url.__str__().rstrip("/"), token, photo,
               metadata(case["id"], "photo", "scratch.jpg"), chunk_size=4096)  # fmt: skip
    tus_upload(str(api.client.base_url).rstrip("/"), api.tokens["warehouse"], video,
               metadata(case["id"], "video", "unboxing.webm"))  # fmt: skip

    got = items(api, case["id"])
    assert [i["kind"] for i in got] == ["photo", "video"]
    first, second = got
    assert first["sha256"] == hashlib.sha256(photo.read_bytes()).hexdigest()
    assert first["media_type"] == "image/jpeg"
    assert first["details"] == {"width": 320, "height": 240}
    assert first["captured_by"].startswith("buyer:")
    assert second["captured_by"].startswith("staff:")
    assert second["media_type"] == "video/webm"
    assert second["details"]["codecs"] == ["vp8"]
    assert 2.5 < second["details"]["duration_seconds"] < 3.5
    assert [first["chain"]["seq"], second["chain"]["seq"]] == [1, 2]
    assert second["chain"]["prev_hash"] == first["chain"]["entry_hash"]
    assert first["chain"]["prev_hash"] == "0" * 64

    content = api.get("buyer", first["content_url"])
    assert content.status_code == 200
    assert content.content == photo.read_bytes()
    assert content.headers["content-type"] == "image/jpeg"
    timeline = api.get("agent", f"/api/v1/returns/{case['id']}/timeline").json()["items"]
    added = [e for e in timeline if e["kind"] == "evidence_added"]
    assert [e["data"]["evidence_id"] for e in added] == [first["id"], second["id"]]

    verified = api.get("agent", f"/api/v1/returns/{case['id']}/evidence/verification").json()
    assert verified["intact"] is True and verified["items"] == 2


def test_bad_files_get_clear_errors_and_leave_nothing(
    api: Api, tmp_path: Path, video: Path
) -> None:
    case = api.open_return()
    cid = case["id"]
    # 0 bytes: refused at creation.
    api.problem(create(api, "buyer", 0, metadata(cid, "photo", "empty.jpg")), 422, "empty_file")
    # Too large for its kind, unknown kind, missing metadata.
    api.problem(create(api, "buyer", 31 * 1024 * 1024, metadata(cid, "photo", "x.jpg")),
                422, "file_too_large")  # fmt: skip
    api.problem(create(api, "buyer", 10, metadata(cid, "x-ray", "x")), 422, "invalid_evidence_kind")
    api.problem(create(api, "buyer", 10, {"kind": "photo"}), 422, "invalid_upload_metadata")

    def refused(kind: str, body: bytes, code: str) -> None:
        made = create(api, "buyer", len(body), metadata(cid, kind, "f"))
        assert made.status_code == 201, made.text
        api.problem(send(api, "buyer", made.headers["location"], 0, body), 422, code)
        head = api.request("buyer", "HEAD", made.headers["location"], headers=TUS)
        assert head.status_code == 410

    pdf = b"%PDF-1.4\n1 0 obj<<>>endobj\ntrailer<<>>\n%%EOF\n"
    refused("video", pdf, "file_type_mismatch")  # a PDF renamed .mp4
    refused("photo", photo_bytes()[:-2000], "invalid_image")  # cut short
    refused("video", video.read_bytes()[:50_000], "invalid_video")  # truncated
    refused("document", pdf[:-7], "invalid_document")
    bomb = io.BytesIO()
    Image.new("1", (20_000, 20_000)).save(bomb, "PNG")  # 400 megapixels in a small file
    refused("photo", bomb.getvalue(), "image_too_large")
    assert items(api, cid) == []


def test_the_protocol_refuses_what_would_corrupt_an_upload(api: Api) -> None:
    case = api.open_return()
    body = photo_bytes()
    made = create(api, "buyer", len(body), metadata(case["id"], "photo", "p.jpg"))
    location = made.headers["location"]
    api.problem(send(api, "buyer", location, 5, body[:10]), 409, "offset_mismatch")
    wrong = base64.b64encode(hashlib.sha1(b"other").digest()).decode()
    mismatch = send(api, "buyer", location, 0, body[:1000], **{"Upload-Checksum": f"sha1 {wrong}"})
    api.problem(mismatch, 460, "checksum_mismatch")
    right = base64.b64encode(hashlib.sha1(body[:1000]).digest()).decode()
    ok = send(api, "buyer", location, 0, body[:1000], **{"Upload-Checksum": f"sha1 {right}"})
    assert ok.status_code == 204 and ok.headers["upload-offset"] == "1000"
    api.problem(send(api, "buyer", location, 1000, body[1000:] + b"extra"), 413, "upload_too_long")
    head = api.request("buyer", "HEAD", location, headers=TUS)
    offset = int(head.headers["upload-offset"])
    assert 1000 <= offset <= len(body)  # what arrived before the overflow is kept
    finished = send(api, "buyer", location, offset, body[offset:])
    assert finished.status_code == 204, finished.text
    [item] = items(api, case["id"])
    assert item["sha256"] == hashlib.sha256(body).hexdigest()
    # Without the protocol header, with a wrong content type, another person's upload.
    bare = api.request("buyer", "PATCH", location, content=b"x", headers={"Upload-Offset": "0"})
    api.problem(bare, 412, "tus_version_unsupported")
    made = create(api, "buyer", 10, metadata(case["id"], "photo", "p.jpg"))
    other = made.headers["location"]
    untyped = api.request(
        "buyer", "PATCH", other, content=b"x", headers={**TUS, "Upload-Offset": "0"}
    )
    api.problem(untyped, 415, "invalid_content_type")
    # HEAD answers carry no body: the status says it (someone else's upload does not exist).
    assert api.request("agent", "HEAD", other, headers=TUS).status_code == 404
    deleted = api.request("buyer", "DELETE", other, headers=TUS)
    assert deleted.status_code == 204
    assert api.request("buyer", "HEAD", other, headers=TUS).status_code == 410


def test_an_upload_resumes_after_the_server_is_killed_mid_patch(
    api: Api, database_url: str, tmp_path: Path, video: Path
) -> None:
    """SIGKILL the app while a PATCH is streaming; a new app on the same data answers HEAD
    with what reached the disk, and tuspy finishes: the stored file is byte-identical."""
    case = api.open_return()
    home = tmp_path / "home"
    env = {
        "RETURNDESK_DATABASE_URL": database_url,
        "RETURNDESK_SECRET_KEY": SECRET,
        "RETURNDESK_DISPATCH": "0",
    }
    data = video.read_bytes()
    token = api.tokens["buyer"]
    first = AppProcess(home, env).start()
    stream = video.open("rb")
    try:
        client = tus.TusClient(f"{first.url}/api/v1/uploads",
                               headers={"Authorization": f"Bearer {token}"})  # fmt: skip
        uploader = client.uploader(file_stream=stream, chunk_size=256 * 1024,
                                   metadata=metadata(case["id"], "video", "clip.webm"))  # fmt: skip
        uploader.upload_chunk()
        uploader.upload_chunk()
        location = str(uploader.url)
        path = location.split(first.url, 1)[1]
        # A raw PATCH that sends half its body, then the server dies under it.
        half = data[uploader.offset : uploader.offset + 400_000]
        with socket.create_connection(("127.0.0.1", first.port)) as raw:
            head = (
                f"PATCH {path} HTTP/1.1\r\nHost: 127.0.0.1\r\nAuthorization: Bearer {token}\r\n"
                f"Tus-Resumable: 1.0.0\r\nUpload-Offset: {uploader.offset}\r\n"
                f"Content-Type: application/offset+octet-stream\r\n"
                f"Content-Length: {len(half) * 2}\r\n\r\n"
            )
            raw.sendall(head.encode() + half)
            time.sleep(0.5)
            first.kill()
    finally:
        first.kill()
        stream.close()
    with AppProcess(home, env) as second, video.open("rb") as stream:
        client = tus.TusClient(f"{second.url}/api/v1/uploads",
                               headers={"Authorization": f"Bearer {token}"})  # fmt: skip
        resumed = client.uploader(file_stream=stream, chunk_size=256 * 1024,
                                  url=location.replace(first.url, second.url))  # fmt: skip
        assert resumed.offset >= 2 * 256 * 1024  # nothing before the kill is sent again
        resumed.upload()
    [item] = items(api, case["id"])
    assert item["size"] == len(data)
    assert item["sha256"] == hashlib.sha256(data).hexdigest()


def run_cli(home: Path, database_url: str, *args: str) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "RETURNDESK_HOME": str(home), "RETURNDESK_DATABASE_URL": database_url,
           "RETURNDESK_SECRET_KEY": SECRET}  # fmt: skip
    cli = Path(sys.executable).with_name("returndesk")
    return subprocess.run([str(cli), *args], env=env, capture_output=True, text=True, check=False)


@pytest.fixture
def chained(api: Api, tmp_path: Path) -> Iterator[tuple[dict[str, Any], list[dict[str, Any]]]]:
    case = api.open_return()
    base = str(api.client.base_url).rstrip("/")
    for n in range(3):
        photo = tmp_path / f"p{n}.jpg"
        photo.write_bytes(photo_bytes(200 + n, 100))
        tus_upload(base, api.tokens["buyer"], photo, metadata(case["id"], "photo", photo.name))
    yield case, items(api, case["id"])


def verify(api: Api, database_url: str, case: dict[str, Any]) -> subprocess.CompletedProcess[str]:
    return run_cli(api.container.settings.home, database_url, "evidence", "verify",
                   "--case", case["number"])  # fmt: skip


def test_verify_passes_an_intact_case(api: Api, database_url: str, chained: Any) -> None:
    case, _ = chained
    result = verify(api, database_url, case)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "3 evidence item(s)" in result.stdout


def test_verify_names_a_changed_byte(api: Api, database_url: str, chained: Any) -> None:
    case, got = chained
    stored = api.container.files.path(got[1]["sha256"])
    raw = bytearray(stored.read_bytes())
    raw[len(raw) // 2] ^= 0x01
    stored.write_bytes(bytes(raw))
    result = verify(api, database_url, case)
    assert result.returncode == 1
    assert "file_altered" in result.stdout and got[1]["id"] in result.stdout


def test_verify_names_a_removed_item(api: Api, database_url: str, chained: Any) -> None:
    case, got = chained
    with api.container.engine.begin() as conn:
        conn.execute(delete(evidence_items).where(evidence_items.c.id == got[2]["id"]))
    result = verify(api, database_url, case)
    assert result.returncode == 1
    assert "missing_item" in result.stdout and got[2]["id"] in result.stdout


def test_verify_names_a_reordered_chain(api: Api, database_url: str, chained: Any) -> None:
    case, got = chained
    c = evidence_items.c
    with api.container.engine.begin() as conn:  # swap the places of the first two
        conn.execute(update(evidence_items).where(c.id == got[0]["id"]).values(seq=99))
        conn.execute(update(evidence_items).where(c.id == got[1]["id"]).values(seq=1))
        conn.execute(update(evidence_items).where(c.id == got[0]["id"]).values(seq=2))
    result = verify(api, database_url, case)
    assert result.returncode == 1
    assert "chain_broken" in result.stdout or "entry_altered" in result.stdout
    assert "out_of_order" in result.stdout


def test_verify_names_an_item_forged_without_the_store_key(
    api: Api, database_url: str, chained: Any
) -> None:
    """Someone with database access appends a link with correct hashes: no store signature."""
    case, _ = chained
    with api.container.uow() as uow:
        items = uow.evidence.for_case(case["id"])
    data = b"forged"
    sha = hashlib.sha256(data).hexdigest()
    api.container.files.path(sha).parent.mkdir(parents=True, exist_ok=True)
    api.container.files.path(sha).write_bytes(data)
    at = items[-1].captured_at
    link = next_link(
        items[-1], case_id=case["id"], item_id="f" * 36, sha256=sha, size=6,
        media_type="image/jpeg", captured_by="buyer:x", captured_at=at,
    )  # fmt: skip
    forged = replace(
        items[-1], id="f" * 36, sha256=sha, size=6, seq=link.seq, prev_hash=link.prev_hash,
        entry_hash=link.hash(), captured_by="buyer:x",
    )  # fmt: skip
    with api.container.uow(write=True) as uow:
        uow.evidence.add(forged)
        uow.commit()
    result = verify(api, database_url, case)
    assert result.returncode == 1
    assert "unsigned_item" in result.stdout


def test_the_export_verifies_with_standard_tools_only(
    api: Api, database_url: str, chained: Any, tmp_path: Path
) -> None:
    case, got = chained
    out = tmp_path / "package.zip"
    done = run_cli(api.container.settings.home, database_url, "evidence", "export",
                   "--case", case["number"], "--out", str(out))  # fmt: skip
    assert done.returncode == 0, done.stdout + done.stderr
    over_api = api.get("agent", f"/api/v1/returns/{case['id']}/evidence/export")
    assert over_api.status_code == 200
    assert over_api.headers["content-type"] == "application/zip"
    api.problem(api.get("buyer", f"/api/v1/returns/{case['id']}/evidence/export"), 403)

    def unpack(into: Path) -> Path:
        with zipfile.ZipFile(out) as package:
            package.extractall(into)
        root = into / f"evidence-{case['number']}"
        (root / "verify.sh").chmod(0o755)
        return root

    # A shell with only the standard tools on its PATH: no Python, no ReturnDesk.
    tools = tmp_path / "bin"
    tools.mkdir()
    for tool in ("sh", "sha256sum", "openssl", "sed", "cut", "grep", "wc", "dirname", "cat"):
        found = shutil.which(tool)
        assert found, tool
        (tools / tool).symlink_to(found)
    env = {"PATH": str(tools)}
    root = unpack(tmp_path / "good")
    manifest = json.loads((root / "manifest.json").read_text())
    assert [i["sha256"] for i in manifest["items"]] == [g["sha256"] for g in got]
    assert len(manifest["checkpoints"]) == 3
    assert "VERIFY.md" in {p.name for p in root.iterdir()}
    ok = subprocess.run(["sh", "verify.sh"], cwd=root, env=env, capture_output=True, text=True,
                        check=False)  # fmt: skip
    assert ok.returncode == 0, ok.stdout + ok.stderr
    assert "OK:" in ok.stdout

    def broken(label: str, change: Callable[[Path], None]) -> str:
        spoiled = unpack(tmp_path / label)
        change(spoiled)
        run = subprocess.run(["sh", "verify.sh"], cwd=spoiled, env=env, capture_output=True,
                             text=True, check=False)  # fmt: skip
        assert run.returncode != 0, label
        return run.stderr

    def flip(path: Path) -> None:
        raw = bytearray(path.read_bytes())
        raw[len(raw) // 2] ^= 1
        path.write_bytes(bytes(raw))

    first_file = root / manifest["items"][0]["file"]
    rel = first_file.relative_to(root)
    assert "changed" in broken("file", lambda r: flip(r / rel))
    assert "signed" in broken("manifest", lambda r: (r / "manifest.json").write_text(
        (r / "manifest.json").read_text().replace('"size":', '"size": ', 1)))  # fmt: skip

    def reorder(r: Path) -> None:
        lines = (r / "chain.txt").read_text().splitlines(keepends=True)
        (r / "chain.txt").write_text("".join([lines[1], lines[0], *lines[2:]]))

    assert "link 1" in broken("order", reorder)

    def drop_last(r: Path) -> None:
        for name in ("chain.txt", "chain-hashes.txt", "SHA256SUMS"):
            lines = (r / name).read_text().splitlines(keepends=True)
            (r / name).write_text("".join(lines[:-1]))

    # Dropping a link everywhere but the signed manifest still leaves the files list short.
    drop_last_stderr = broken("drop", drop_last)
    assert drop_last_stderr


def test_two_patches_at_once_never_double_bytes(api: Api) -> None:
    """While one PATCH is still streaming, a second one for the same upload is refused (423),
    so the same bytes can never be appended twice."""
    case = api.open_return()
    body = photo_bytes(640, 480)
    made = create(api, "buyer", len(body), metadata(case["id"], "photo", "p.jpg"))
    location = made.headers["location"]
    base = api.client.base_url
    token = api.tokens["buyer"]
    with socket.create_connection((str(base.host), int(base.port or 80))) as raw:
        head = (
            f"PATCH {location} HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer {token}\r\n"
            "Tus-Resumable: 1.0.0\r\nUpload-Offset: 0\r\n"
            "Content-Type: application/offset+octet-stream\r\n"
            f"Content-Length: {len(body)}\r\n\r\n"
        )
        raw.sendall(head.encode() + body[:1000])
        time.sleep(0.5)  # the first request is in, holding the upload, waiting for more bytes
        api.problem(send(api, "buyer", location, 0, body), 423, "upload_busy")
    time.sleep(0.3)  # the first request ends when its client goes away
    offset = int(api.request("buyer", "HEAD", location, headers=TUS).headers["upload-offset"])
    assert offset <= 1000
    assert send(api, "buyer", location, offset, body[offset:]).status_code == 204
    [item] = items(api, case["id"])
    assert item["sha256"] == hashlib.sha256(body).hexdigest()


def test_a_photo_is_shown_without_its_location_and_kept_whole(api: Api, tmp_path: Path) -> None:
    case = api.open_return()
    exif = Image.Exif()
    exif[0x0112] = 1
    exif[0x8825] = {1: "N", 2: (52.0, 31.0, 12.0), 3: "E", 4: (13.0, 24.0, 0.0)}
    out = io.BytesIO()
    Image.effect_noise((320, 240), 64).convert("RGB").save(out, "JPEG", exif=exif.tobytes())
    photo = tmp_path / "at-home.jpg"
    photo.write_bytes(out.getvalue())
    tus_upload(str(api.client.base_url).rstrip("/"), api.tokens["buyer"], photo,
               metadata(case["id"], "photo", photo.name))  # fmt: skip
    [item] = items(api, case["id"])
    assert item["sha256"] == hashlib.sha256(photo.read_bytes()).hexdigest()  # the original
    assert item["details"]["location_removed"] is True
    shown = api.get("agent", item["content_url"]).content
    assert 0x8825 not in Image.open(io.BytesIO(shown)).getexif()
    assert hashlib.sha256(shown).hexdigest() == item["details"]["display_sha256"]
    original = api.get("agent", item["content_url"], params={"original": "1"}).content
    assert original == photo.read_bytes()
    assert Image.open(io.BytesIO(original)).getexif().get_ifd(0x8825)[1] == "N"


def test_a_dark_photo_is_kept_and_the_uploader_is_asked_for_a_better_one(api: Api) -> None:
    case = api.open_return()
    out = io.BytesIO()
    Image.effect_noise((320, 240), 40).point(lambda v: v // 10).convert("RGB").save(out, "JPEG")
    body = out.getvalue()
    made = create(api, "buyer", len(body), metadata(case["id"], "photo", "dark.jpg"))
    done = send(api, "buyer", made.headers["location"], 0, body)
    assert done.status_code == 204
    assert done.headers["x-evidence-quality"] == "too_dark"
    [item] = items(api, case["id"])
    assert item["details"]["quality"] == ["too_dark"]
