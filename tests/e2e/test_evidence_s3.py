"""Evidence in an S3-compatible bucket (a real moto server on loopback): object lock, signed
download URLs, verification and erasure through the bucket."""

from __future__ import annotations

import hashlib
import io
import zipfile
from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING, Any

import httpx
import pytest
from PIL import Image
from tusclient import client as tus

from servers.s3 import ACCESS_KEY, SECRET_KEY, S3Server

if TYPE_CHECKING:  # tests/e2e/conftest.py, handed over by fixtures
    from conftest import Api

BUCKET = "returndesk-evidence"


@pytest.fixture
def s3(tmp_path: Path) -> Iterator[S3Server]:
    with S3Server(tmp_path / "s3") as server:
        server.client().create_bucket(Bucket=BUCKET, ObjectLockEnabledForBucket=True)
        yield server


@pytest.fixture
def settings_overrides(s3: S3Server) -> dict[str, object]:
    return {
        "evidence_s3_bucket": BUCKET, "evidence_s3_endpoint": s3.url,
        "evidence_s3_access_key": ACCESS_KEY, "evidence_s3_secret_key": SECRET_KEY,
        "evidence_s3_lock_days": 30,
    }  # fmt: skip


def add_photo(api: Api, case: dict[str, Any], tmp_path: Path) -> bytes:
    out = io.BytesIO()
    Image.effect_noise((200, 150), 50).convert("RGB").save(out, "JPEG")
    data = out.getvalue()
    client = tus.TusClient(f"{str(api.client.base_url).rstrip('/')}/api/v1/uploads",
                           headers={"Authorization": f"Bearer {api.tokens['buyer']}"})  # fmt: skip
    client.uploader(file_stream=io.BytesIO(data), metadata={
        "case_id": case["id"], "kind": "photo", "filename": "scratch.jpg"}).upload()  # fmt: skip
    return data


def test_files_live_in_the_bucket_locked_and_come_through_signed_urls(
    api: Api, s3: S3Server, tmp_path: Path
) -> None:
    case = api.open_return()
    data = add_photo(api, case, tmp_path)
    [item] = api.get("buyer", f"/api/v1/returns/{case['id']}/evidence").json()["items"]
    sha = hashlib.sha256(data).hexdigest()
    assert item["sha256"] == sha
    head = s3.client().head_object(Bucket=BUCKET, Key=f"evidence/{sha}")
    assert head["ContentLength"] == len(data)
    assert head["ObjectLockMode"] == "GOVERNANCE"
    assert not (api.container.settings.home / "evidence").exists()  # nothing kept locally
    answer = api.get("buyer", item["content_url"], follow_redirects=False)
    assert answer.status_code == 307
    signed = answer.headers["location"]
    assert signed.startswith(s3.url) and "X-Amz-Signature" in signed
    fetched = httpx.get(signed)
    assert fetched.content == data
    assert fetched.headers["content-type"] == "image/jpeg"
    verified = api.get("agent", f"/api/v1/returns/{case['id']}/evidence/verification").json()
    assert verified["intact"] is True
    package = api.get("agent", f"/api/v1/returns/{case['id']}/evidence/export")
    with zipfile.ZipFile(io.BytesIO(package.content)) as z:
        [name] = [n for n in z.namelist() if "/files/" in n]
        assert z.read(name) == data


def test_a_changed_object_fails_verification_and_erasure_removes_every_version(
    api: Api, s3: S3Server, tmp_path: Path
) -> None:
    case = api.open_return()
    data = add_photo(api, case, tmp_path)
    key = f"evidence/{hashlib.sha256(data).hexdigest()}"
    client = s3.client()
    client.put_object(Bucket=BUCKET, Key=key, Body=data + b"tampered")  # a new version
    broken = api.get("agent", f"/api/v1/returns/{case['id']}/evidence/verification").json()
    assert [p["code"] for p in broken["problems"]] == ["file_altered"]
    erased = api.post("supervisor", f"/api/v1/returns/{case['id']}/evidence/erasure",
                      json={"reason": "GDPR request 9"})  # fmt: skip
    assert erased.status_code == 200, erased.text
    versions = client.list_object_versions(Bucket=BUCKET, Prefix=key)
    assert versions.get("Versions", []) == [] and versions.get("DeleteMarkers", []) == []
    after = api.get("agent", f"/api/v1/returns/{case['id']}/evidence/verification").json()
    assert after["intact"] is True
