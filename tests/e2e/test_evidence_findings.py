"""Evidence feeds the decision: a photo's serial label read by OCR (Debian's tesseract) and
compared with the serials shipped, and a requested photo that lets the case move on."""

from __future__ import annotations

import copy
import io
from pathlib import Path
from typing import TYPE_CHECKING, Any

from PIL import Image, ImageDraw, ImageFont
from tusclient import client as tus

from returndesk.domain.policy.document import DEFAULT_DOCUMENT

if TYPE_CHECKING:  # tests/e2e/conftest.py, handed over by fixtures
    from conftest import Api

FONT = "/usr/share/fonts/truetype/dejavu/DejaVuSansMono.ttf"
SHIPPED = "SN48213377"


def label_photo(path: Path, serial: str) -> Path:
    """A photo of the item's label, as a phone would take it: model, serial, some noise."""
    image = Image.effect_noise((900, 320), 12).convert("RGB").point(lambda v: 200 + v // 5)
    draw = ImageDraw.Draw(image)
    font = ImageFont.truetype(FONT, 36)
    draw.text((40, 60), f"MODEL X200  S/N: {serial}", font=font, fill=(25, 25, 25))
    draw.text((40, 160), "Made in Shenzhen", font=font, fill=(25, 25, 25))
    image.save(path, "JPEG", quality=90)
    return path


def electronics_order(api: Api, number: str) -> None:
    body = api.order_payload(api.container.clock(), number=number)
    body["lines"] = [{"sku": "CAM-1", "title": "Action camera", "quantity": 1,
                      "unit_price": 19900, "paid_amount": 19900, "category": "electronics",
                      "serial_numbers": [SHIPPED]}]  # fmt: skip
    assert api.put_order(body).status_code == 201


def open_case(api: Api, number: str, reason: str = "defective") -> dict[str, Any]:
    payload = api.return_payload(number, sku="CAM-1", reason=reason)
    response = api.post("admin", "/api/v1/returns", json=payload)
    assert response.status_code == 201, response.text
    return dict(response.json())


def upload(api: Api, who: str, case: dict[str, Any], path: Path) -> dict[str, Any]:
    client = tus.TusClient(f"{str(api.client.base_url).rstrip('/')}/api/v1/uploads",
                           headers={"Authorization": f"Bearer {api.tokens[who]}"})  # fmt: skip
    with path.open("rb") as stream:
        client.uploader(file_stream=stream, metadata={
            "case_id": case["id"], "kind": "photo", "filename": path.name}).upload()  # fmt: skip
    items = api.get("agent", f"/api/v1/returns/{case['id']}/evidence").json()["items"]
    return dict(items[-1])


def test_the_shipped_serial_on_the_label_matches(api: Api, tmp_path: Path) -> None:
    electronics_order(api, "7001")
    case = open_case(api, "7001")
    item = upload(api, "warehouse", case, label_photo(tmp_path / "label.jpg", SHIPPED))
    assert item["details"]["serials"] == {"read": [SHIPPED], "matched": [SHIPPED], "finding": None}
    decided = api.get("agent", f"/api/v1/returns/{case['id']}").json()["decision"]
    assert "photo" in decided["inputs"]["evidence"]  # decided again, with the photo known
    assert "item_swapped" not in decided["inputs"]["findings"]


def test_another_serial_is_flagged_and_sent_to_the_decision(api: Api, tmp_path: Path) -> None:
    electronics_order(api, "7002")
    case = open_case(api, "7002")
    item = upload(api, "warehouse", case, label_photo(tmp_path / "label.jpg", "SN90017733"))
    serials = item["details"]["serials"]
    assert serials["finding"] == "serial_mismatch"
    assert serials["matched"] == [] and "SN90017733" in serials["read"]
    decided = api.get("agent", f"/api/v1/returns/{case['id']}").json()["decision"]
    assert "item_swapped" in decided["inputs"]["findings"]
    assert decided["responsibility"] == "fraud_suspected"
    assert decided["outcome"] == "human_review"
    timeline = api.get("agent", f"/api/v1/returns/{case['id']}/timeline").json()["items"]
    [added] = [e for e in timeline if e["kind"] == "evidence_added"]
    assert added["data"]["finding"] == "serial_mismatch"


def test_a_photo_without_a_legible_serial_says_nothing(api: Api, tmp_path: Path) -> None:
    electronics_order(api, "7003")
    case = open_case(api, "7003")
    out = io.BytesIO()
    Image.effect_noise((320, 240), 60).convert("RGB").save(out, "JPEG")
    photo = tmp_path / "blurry.jpg"
    photo.write_bytes(out.getvalue())
    item = upload(api, "agent", case, photo)
    assert "serials" not in item["details"]


def test_the_photo_asked_for_lets_the_case_move_on(api: Api, tmp_path: Path) -> None:
    """Automation on and a policy that wants a photo for a defect: the case waits in
    needs_evidence; the buyer's photo arrives, the decision is made again, the case moves on."""
    document = copy.deepcopy(DEFAULT_DOCUMENT)
    document["automation"] = {"apply": True}
    document["evidence"] = {"by_reason": {"defective": "photo"}}
    saved = api.put("supervisor", "/api/v1/policy", json={"document": document})
    assert saved.status_code == 200, saved.text
    case = api.open_return("buyer", api.return_payload(reason="defective"))
    assert case["status"] == "needs_evidence", case["status"]
    out = io.BytesIO()
    Image.effect_noise((320, 240), 60).convert("RGB").save(out, "JPEG")
    photo = tmp_path / "broken.jpg"
    photo.write_bytes(out.getvalue())
    upload(api, "buyer", case, photo)
    after = api.get("buyer", f"/api/v1/returns/{case['id']}").json()
    assert after["status"] != "needs_evidence"
    assert after["decision"]["outcome"] in ("approve_return", "approve_returnless")
