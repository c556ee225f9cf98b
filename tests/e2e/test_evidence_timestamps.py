"""RFC 3161 timestamps of evidence checkpoints from a real local authority (`openssl ts`)."""

from __future__ import annotations

import io
import shutil
import subprocess
import zipfile
from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pytest
from PIL import Image
from sqlalchemy import select, update
from tusclient import client as tus

from returndesk.adapters.db.tables import evidence_checkpoints
from returndesk.services.evidence import timestamp_pending
from servers.tsa import LocalTsa

if TYPE_CHECKING:  # tests/e2e/conftest.py, handed over by fixtures
    from conftest import Api


@pytest.fixture
def tsa(tmp_path: Path) -> Iterator[LocalTsa]:
    with LocalTsa(tmp_path / "tsa") as authority:
        yield authority


@pytest.fixture
def settings_overrides(tsa: LocalTsa) -> dict[str, object]:
    return {"tsa_url": tsa.url, "tsa_ca_file": tsa.ca_path}


def add_photo(api: Api, case: dict[str, Any], tmp_path: Path, name: str) -> None:
    out = io.BytesIO()
    Image.effect_noise((160, 120), 50).convert("RGB").save(out, "JPEG")
    path = tmp_path / name
    path.write_bytes(out.getvalue())
    client = tus.TusClient(f"{str(api.client.base_url).rstrip('/')}/api/v1/uploads",
                           headers={"Authorization": f"Bearer {api.tokens['buyer']}"})  # fmt: skip
    with path.open("rb") as stream:
        client.uploader(file_stream=stream, metadata={
            "case_id": case["id"], "kind": "photo", "filename": name}).upload()  # fmt: skip


def verification(api: Api, case: dict[str, Any]) -> dict[str, Any]:
    response = api.get("agent", f"/api/v1/returns/{case['id']}/evidence/verification")
    assert response.status_code == 200, response.text
    return dict(response.json())


def test_each_checkpoint_gets_a_timestamp_that_verifies(
    api: Api, tsa: LocalTsa, tmp_path: Path
) -> None:
    case = api.open_return()
    add_photo(api, case, tmp_path, "a.jpg")
    add_photo(api, case, tmp_path, "b.jpg")
    result = verification(api, case)
    assert result["intact"] is True
    assert result["timestamped"] == 2
    assert tsa.requests == 2
    # A token swapped for another checkpoint's, or damaged, no longer verifies.
    c = evidence_checkpoints.c
    with api.container.engine.connect() as conn:
        rows = conn.execute(select(c.seq, c.timestamp_token).where(c.case_id == case["id"])).all()
    tokens = {seq: token for seq, token in rows}
    # A transaction of its own that only writes: it waits for the app's writers (SQLite cannot
    # upgrade a reading transaction while the dispatcher commits).
    with api.container.engine.begin() as conn:
        conn.execute(
            update(evidence_checkpoints)
            .where(c.case_id == case["id"], c.seq == 2)
            .values(timestamp_token=tokens[1])
        )
    broken = verification(api, case)
    assert broken["intact"] is False
    assert [p["code"] for p in broken["problems"]] == ["timestamp_invalid"]


def test_an_unreachable_authority_is_tried_again_later(
    api: Api, tsa: LocalTsa, tmp_path: Path
) -> None:
    case = api.open_return()
    tsa.refusing = True
    add_photo(api, case, tmp_path, "a.jpg")  # the evidence is kept; the timestamp waits
    assert verification(api, case)["timestamped"] == 0
    tsa.refusing = False
    container = api.container
    assert timestamp_pending(container.uow, container.clock, container.files) == 1
    assert verification(api, case)["timestamped"] == 1


def test_the_export_carries_the_timestamps_and_verify_sh_checks_them(
    api: Api, tsa: LocalTsa, tmp_path: Path
) -> None:
    case = api.open_return()
    add_photo(api, case, tmp_path, "a.jpg")
    package = api.get("agent", f"/api/v1/returns/{case['id']}/evidence/export")
    assert package.status_code == 200
    tools = tmp_path / "bin"
    tools.mkdir()
    for tool in ("sh", "sha256sum", "openssl", "sed", "cut", "grep", "wc", "dirname", "cat"):
        (tools / tool).symlink_to(shutil.which(tool) or tool)

    def run(label: str, spoil: bool) -> subprocess.CompletedProcess[str]:
        with zipfile.ZipFile(io.BytesIO(package.content)) as z:
            z.extractall(tmp_path / label)
        root = tmp_path / label / f"evidence-{case['number']}"
        if spoil:
            tsr = root / "timestamps" / "0001.tsr"
            raw = bytearray(tsr.read_bytes())
            raw[-10] ^= 1
            tsr.write_bytes(bytes(raw))
        return subprocess.run(["sh", "verify.sh"], cwd=root, env={"PATH": str(tools)},
                              capture_output=True, text=True, check=False)  # fmt: skip

    good = run("good", spoil=False)
    assert good.returncode == 0, good.stdout + good.stderr
    assert "1 timestamp(s)" in good.stdout
    bad = run("bad", spoil=True)
    assert bad.returncode != 0
    assert "0001.tsr does not verify" in bad.stderr
