"""Legal holds, erasure requests and the retention period: bytes go, the chain stays honest."""

from __future__ import annotations

import io
from pathlib import Path
from typing import TYPE_CHECKING, Any

from PIL import Image
from tusclient import client as tus

from returndesk.services.evidence import verify_case
from returndesk.services.principal import SYSTEM
from returndesk.services.retention import apply_retention

if TYPE_CHECKING:  # tests/e2e/conftest.py, handed over by fixtures
    from conftest import Api


def add_photo(api: Api, case: dict[str, Any], tmp_path: Path, name: str, seed: int) -> None:
    out = io.BytesIO()
    Image.effect_noise((160 + seed, 120), 50).convert("RGB").save(out, "JPEG")
    path = tmp_path / name
    path.write_bytes(out.getvalue())
    client = tus.TusClient(f"{str(api.client.base_url).rstrip('/')}/api/v1/uploads",
                           headers={"Authorization": f"Bearer {api.tokens['buyer']}"})  # fmt: skip
    with path.open("rb") as stream:
        client.uploader(file_stream=stream, metadata={
            "case_id": case["id"], "kind": "photo", "filename": name}).upload()  # fmt: skip


def evidence(api: Api, case: dict[str, Any]) -> list[dict[str, Any]]:
    return list(api.get("agent", f"/api/v1/returns/{case['id']}/evidence").json()["items"])


def test_an_erasure_request_deletes_the_bytes_and_keeps_the_chain(api: Api, tmp_path: Path) -> None:
    case = api.open_return()
    add_photo(api, case, tmp_path, "a.jpg", 1)
    add_photo(api, case, tmp_path, "b.jpg", 2)
    before = evidence(api, case)
    path = f"/api/v1/returns/{case['id']}/evidence/erasure"
    api.problem(api.post("agent", path, json={"reason": "GDPR request 41"}), 403)
    done = api.post("supervisor", path, json={"reason": "GDPR request 41"})
    assert done.status_code == 200, done.text
    assert done.json() == {"erased": 2, "files_deleted": 2}
    after = evidence(api, case)
    assert [i["erased_reason"] for i in after] == ["GDPR request 41"] * 2
    assert [i["chain"] for i in after] == [i["chain"] for i in before]  # links untouched
    assert all(i["content_url"] is None for i in after)
    for item in before:
        assert not api.container.files.path(item["sha256"]).exists()
        api.problem(api.get("buyer", item["content_url"]), 410, "evidence_erased")
    # The chain still verifies: the gaps are on the record, not tampering.
    result = api.get("agent", f"/api/v1/returns/{case['id']}/evidence/verification").json()
    assert result["intact"] is True, result
    timeline = api.get("agent", f"/api/v1/returns/{case['id']}/timeline").json()["items"]
    assert timeline[-1]["kind"] == "evidence_erased"
    # A file erased outside the app (no record) is still a problem.
    add_photo(api, case, tmp_path, "c.jpg", 3)
    [*_, third] = evidence(api, case)
    api.container.files.path(third["sha256"]).unlink()
    broken = api.get("agent", f"/api/v1/returns/{case['id']}/evidence/verification").json()
    assert [p["code"] for p in broken["problems"]] == ["file_missing"]


def test_a_legal_hold_blocks_erasure_until_released(api: Api, tmp_path: Path) -> None:
    case = api.open_return()
    add_photo(api, case, tmp_path, "a.jpg", 1)
    hold_path = f"/api/v1/returns/{case['id']}/evidence/hold"
    assert api.get("buyer", hold_path).json() == {"held": False}
    placed = api.put("supervisor", hold_path, json={"reason": "chargeback dispute 7781"})
    assert placed.status_code == 200, placed.text
    assert placed.json()["held"] is True
    erase = f"/api/v1/returns/{case['id']}/evidence/erasure"
    api.problem(api.post("admin", erase, json={"reason": "GDPR"}), 409, "legal_hold")
    assert evidence(api, case)[0]["erased_at"] is None
    assert api.request("supervisor", "DELETE", hold_path).status_code == 204
    assert api.post("admin", erase, json={"reason": "GDPR"}).json()["erased"] == 1
    kinds = [e["kind"] for e in api.get("agent", f"/api/v1/returns/{case['id']}/timeline")
             .json()["items"]]  # fmt: skip
    assert kinds[-3:] == ["evidence_hold_placed", "evidence_hold_released", "evidence_erased"]
    api.problem(api.put("supervisor", hold_path, json={"reason": " "}), 422)


def test_retention_erases_ended_cases_after_the_period_except_held_ones(
    api: Api, clock: Any, tmp_path: Path
) -> None:
    container = api.container
    cases = []
    for number in ("8001", "8002", "8003"):
        created = api.put_order(api.order_payload(container.clock(), number=number))
        assert created.status_code == 201
        opened = api.post("admin", "/api/v1/returns", json=api.return_payload(number))
        cases.append(opened.json())
    url = f"{str(api.client.base_url).rstrip('/')}/api/v1/uploads"
    for case in cases:
        client = tus.TusClient(url, headers={"Authorization": f"Bearer {api.tokens['agent']}"})
        out = io.BytesIO()
        Image.effect_noise((100, 80), 50).convert("RGB").save(out, "JPEG")
        client.uploader(file_stream=io.BytesIO(out.getvalue()), metadata={
            "case_id": case["id"], "kind": "photo", "filename": "x.jpg"}).upload()  # fmt: skip
    ended, held, open_case = cases
    for case in (ended, held):
        fresh = api.get("agent", f"/api/v1/returns/{case['id']}").json()
        api.moved("agent", fresh, "canceled", note="the buyer changed their mind")
    api.put("supervisor", f"/api/v1/returns/{held['id']}/evidence/hold",
            json={"reason": "court order"})  # fmt: skip
    files = container.files
    assert apply_retention(container.uow, container.clock, files, 730) == 0  # not yet
    clock.advance(days=731)
    api.refresh_tokens()
    assert apply_retention(container.uow, container.clock, files, 730) == 1
    assert evidence(api, ended)[0]["erased_reason"].startswith("retention period ended")
    assert evidence(api, held)[0]["erased_at"] is None
    assert evidence(api, open_case)[0]["erased_at"] is None
    assert apply_retention(container.uow, container.clock, files, 0) == 0  # 0: keep forever
    assert verify_case(container.uow, container.clock, files, SYSTEM, ended["id"]).intact
