"""A returned item's photo compared with the store's reference photo of the product (ORB
feature matching): the same object from another angle matches, another object does not, and
a mismatch reaches the decision."""

from __future__ import annotations

import io
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
from PIL import Image, ImageDraw
from tusclient import client as tus

if TYPE_CHECKING:  # tests/e2e/conftest.py, handed over by fixtures
    from conftest import Api


def product(seed: int) -> Image.Image:
    """A product with a printed pattern (its own for each seed)."""
    rng = np.random.default_rng(seed)
    image = Image.new("RGB", (800, 600), (200, 200, 200))
    draw = ImageDraw.Draw(image)
    for _ in range(40):
        x, y = int(rng.integers(100, 700)), int(rng.integers(80, 520))
        w, h = int(rng.integers(10, 80)), int(rng.integers(10, 80))
        draw.rectangle((x, y, x + w, y + h), fill=tuple(int(v) for v in rng.integers(0, 255, 3)))
    return image


def photographed(
    image: Image.Image, angle: float, scale: float, background: tuple[int, ...]
) -> bytes:
    """The object as a buyer would photograph it: turned, farther away, on their table."""
    turned = image.rotate(angle, expand=True, fillcolor=background)
    turned = turned.resize((int(turned.width * scale), int(turned.height * scale)))
    canvas = Image.new("RGB", (1000, 800), background)
    canvas.paste(turned, (60, 40))
    out = io.BytesIO()
    canvas.save(out, "JPEG", quality=90)
    return out.getvalue()


def jpeg(image: Image.Image) -> bytes:
    out = io.BytesIO()
    image.save(out, "JPEG", quality=92)
    return out.getvalue()


def add_reference(api: Api, sku: str, data: bytes) -> dict[str, Any]:
    response = api.post("admin", "/api/v1/references", params={"sku": sku, "filename": "ref.jpg"},
                        content=data, headers={"Content-Type": "image/jpeg"})  # fmt: skip
    assert response.status_code == 201, response.text
    return dict(response.json())


def upload(api: Api, case: dict[str, Any], data: bytes) -> dict[str, Any]:
    client = tus.TusClient(f"{str(api.client.base_url).rstrip('/')}/api/v1/uploads",
                           headers={"Authorization": f"Bearer {api.tokens['buyer']}"})  # fmt: skip
    client.uploader(file_stream=io.BytesIO(data), metadata={
        "case_id": case["id"], "kind": "photo", "filename": "returned.jpg"}).upload()  # fmt: skip
    items = api.get("agent", f"/api/v1/returns/{case['id']}/evidence").json()["items"]
    return dict(items[-1])


def test_the_same_product_from_another_angle_matches(api: Api) -> None:
    original = jpeg(product(1))
    reference = add_reference(api, "SHIRT-M", original)
    listed = api.get("agent", "/api/v1/references").json()["items"]
    assert [r["id"] for r in listed] == [reference["id"]]
    assert api.get("agent", reference["content_url"]).content == original
    case = api.open_return()
    item = upload(api, case, photographed(product(1), 25, 0.7, (40, 60, 30)))
    look = item["details"]["appearance"]
    assert look["verdict"] == "match", look
    assert look["reference_id"] == reference["id"] and look["score"] >= 40
    decided = api.get("agent", f"/api/v1/returns/{case['id']}").json()["decision"]
    assert "item_swapped" not in decided["inputs"]["findings"]


def test_another_object_is_flagged_and_a_person_decides(api: Api) -> None:
    add_reference(api, "SHIRT-M", jpeg(product(1)))
    case = api.open_return()
    item = upload(api, case, photographed(product(7), 10, 0.8, (250, 250, 250)))
    look = item["details"]["appearance"]
    assert look["verdict"] == "mismatch" and look["finding"] == "appearance_mismatch", look
    decided = api.get("agent", f"/api/v1/returns/{case['id']}").json()["decision"]
    assert "item_swapped" in decided["inputs"]["findings"]
    assert decided["outcome"] == "human_review"


def test_photos_of_skus_without_references_are_not_compared(api: Api) -> None:
    add_reference(api, "LAMP-1", jpeg(product(3)))  # another product of the order
    case = api.open_return()  # returns SHIRT-M
    item = upload(api, case, photographed(product(9), 0, 0.9, (128, 128, 128)))
    assert "appearance" not in item["details"]


def test_references_are_for_admins_and_must_be_photos(api: Api, tmp_path: Path) -> None:
    api.problem(api.post("agent", "/api/v1/references", params={"sku": "X"}, content=b"x"), 403)
    bad = api.post("admin", "/api/v1/references", params={"sku": "X"}, content=b"%PDF-1.4\n%%EOF")
    api.problem(bad, 422, "file_type_mismatch")
    made = add_reference(api, "X", jpeg(product(2)))
    assert api.request("admin", "DELETE", f"/api/v1/references/{made['id']}").status_code == 204
    api.problem(api.request("admin", "DELETE", f"/api/v1/references/{made['id']}"), 404,
                "reference_not_found")  # fmt: skip
