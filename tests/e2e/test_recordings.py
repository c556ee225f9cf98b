"""Live recordings over the API: chunks as they are recorded, out of order and repeated,
joined in order, remuxed for playing, and attested live only when they came at the pace of
the recording (the app's clock is the test's: moving it is the passing of time)."""

from __future__ import annotations

import hashlib
import subprocess
from typing import TYPE_CHECKING, Any

import pytest

if TYPE_CHECKING:  # tests/e2e/conftest.py, handed over by fixtures
    from conftest import Api

SECONDS = 5


@pytest.fixture(scope="module")
def clip(tmp_path_factory: pytest.TempPathFactory) -> bytes:
    path = tmp_path_factory.mktemp("rec") / "clip.webm"
    subprocess.run(
        ["ffmpeg", "-v", "error", "-y", "-f", "lavfi", "-i", "testsrc2=size=320x240:rate=15",
         "-t", str(SECONDS), "-c:v", "libvpx", "-b:v", "500k", str(path)],
        check=True,
    )  # fmt: skip
    return path.read_bytes()


def pieces(data: bytes, count: int = SECONDS) -> list[bytes]:
    """Byte slices, as MediaRecorder's timeslices are: joined, they are the file again."""
    size = -(-len(data) // count)
    return [data[i : i + size] for i in range(0, len(data), size)]


def start(api: Api, case: dict[str, Any], who: str = "buyer", **body: Any) -> dict[str, Any]:
    body = {"mime_type": "video/webm;codecs=vp8", "timeslice_ms": 1000, **body}
    response = api.post(who, f"/api/v1/returns/{case['id']}/recordings", json=body)
    assert response.status_code == 201, response.text
    return dict(response.json())


def put(api: Api, rec: dict[str, Any], seq: int, data: bytes, who: str = "buyer") -> Any:
    url = rec["chunk_url"].replace("{seq}", str(seq))
    return api.request(who, "PUT", url, content=data,
                       headers={"Content-Type": "application/octet-stream"})  # fmt: skip


def test_a_recording_sent_as_it_is_made_is_attested_live(api: Api, clock: Any, clip: bytes) -> None:
    case = api.open_return()
    rec = start(api, case)
    parts = pieces(clip)
    for seq, part in enumerate(parts):
        if seq:
            clock.advance(seconds=1)  # one timeslice of real time between chunks
        assert put(api, rec, seq, part).status_code == 200
    done = api.post("buyer", rec["finish_url"])
    assert done.status_code == 201, done.text
    item = done.json()
    assert item["kind"] == "video" and item["media_type"] == "video/webm"
    assert item["sha256"] == hashlib.sha256(clip).hexdigest()  # the raw chunks, joined
    details = item["details"]
    assert details["live_attested"] is True, details
    assert details["chunks"] == len(parts)
    assert details["chunk_sha256"] == [hashlib.sha256(p).hexdigest() for p in parts]
    assert 4.5 < details["duration_seconds"] < 5.5
    assert details["display_sha256"] != item["sha256"]  # the remuxed copy for players
    original = api.get("agent", item["content_url"], params={"original": "1"})
    assert original.content == clip
    shown = api.get("buyer", item["content_url"])  # the playable copy
    assert hashlib.sha256(shown.content).hexdigest() == details["display_sha256"]
    api.problem(api.get("buyer", item["content_url"], params={"original": "1"}), 403)
    assert api.container.files.path(details["display_sha256"]).is_file()
    timeline = api.get("buyer", f"/api/v1/returns/{case['id']}/timeline").json()["items"]
    [added] = [e for e in timeline if e["kind"] == "evidence_added"]
    assert added["data"]["live_attested"] is True
    # Finishing again (a retry after a lost answer) returns the same item.
    again = api.post("buyer", rec["finish_url"])
    assert again.status_code == 201 and again.json()["id"] == item["id"]


def test_a_file_sent_all_at_once_is_not_attested(api: Api, clip: bytes) -> None:
    case = api.open_return()
    rec = start(api, case)
    for seq, part in enumerate(pieces(clip)):
        assert put(api, rec, seq, part).status_code == 200  # no time passes: faster than live
    item = api.post("buyer", rec["finish_url"]).json()
    assert item["details"]["live_attested"] is False
    assert item["details"]["attestation"] == "arrived_faster_than_recorded"


def test_chunks_out_of_order_and_repeated_are_joined_right(
    api: Api, clock: Any, clip: bytes
) -> None:
    case = api.open_return()
    rec = start(api, case)
    parts = pieces(clip)
    order = [0, 2, 1, 1, 3, 4]
    for seq in order:
        clock.advance(seconds=1)
        response = put(api, rec, seq, parts[seq])
        assert response.status_code == 200, response.text
    repeated = put(api, rec, 1, parts[1]).json()
    assert repeated["repeated"] is True
    api.problem(put(api, rec, 1, parts[1] + b"x"), 409, "chunk_conflict")
    item = api.post("buyer", rec["finish_url"]).json()
    assert item["sha256"] == hashlib.sha256(clip).hexdigest()


def test_a_recording_with_a_missing_chunk_is_refused_until_it_arrives(
    api: Api, clip: bytes
) -> None:
    case = api.open_return()
    rec = start(api, case)
    parts = pieces(clip)
    for seq in (0, 1, 3, 4):
        put(api, rec, seq, parts[seq])
    body = api.problem(api.post("buyer", rec["finish_url"]), 422, "missing_chunks")
    assert body["missing"] == [2]
    put(api, rec, 2, parts[2])
    assert api.post("buyer", rec["finish_url"]).status_code == 201
    api.problem(put(api, rec, 5, b"late"), 409, "recording_finished")


def test_bad_recordings_get_clear_errors(api: Api, clip: bytes) -> None:
    case = api.open_return()
    path = f"/api/v1/returns/{case['id']}/recordings"
    api.problem(api.post("buyer", path, json={"mime_type": "image/gif"}), 422,
                "unsupported_recording_type")  # fmt: skip
    assert api.post("buyer", path, json={"timeslice_ms": 5}).status_code == 422
    rec = start(api, case)
    api.problem(put(api, rec, 0, b""), 422, "empty_chunk")
    api.problem(put(api, rec, 0, b"\0" * (17 * 1024 * 1024)), 413)
    # Noise instead of a video: the chunks arrive, the finish refuses them.
    put(api, rec, 0, b"not a video at all" * 100)
    api.problem(api.post("buyer", rec["finish_url"]), 422, "file_type_mismatch")
    # Someone else's recording does not exist for them.
    other = start(api, case)
    api.problem(put(api, other, 0, b"x", who="agent"), 404, "recording_not_found")
    assert api.get("buyer", f"/api/v1/returns/{case['id']}/evidence").json()["items"] == []
