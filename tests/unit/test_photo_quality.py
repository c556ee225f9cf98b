"""The photo checks that ask a buyer for a better picture: too dark, overexposed, blurred."""

from __future__ import annotations

import pytest
from PIL import Image, ImageDraw, ImageFilter

from returndesk.adapters.evidence import photo_quality


def product_photo() -> Image.Image:
    """A flat, sharp picture (hard edges, little texture): it must not count as blurred."""
    image = Image.new("RGB", (800, 600), (215, 215, 210))
    draw = ImageDraw.Draw(image)
    draw.rounded_rectangle((160, 120, 640, 480), radius=24, fill=(60, 70, 110))
    draw.line((300, 250, 440, 340), fill=(230, 230, 230), width=5)
    return image


def test_a_sharp_well_lit_photo_passes() -> None:
    assert photo_quality(product_photo()) == []
    assert photo_quality(Image.effect_noise((640, 480), 60).convert("RGB")) == []


@pytest.mark.parametrize("radius", [3, 6])
def test_a_blurred_photo_is_named(radius: int) -> None:
    assert photo_quality(product_photo().filter(ImageFilter.GaussianBlur(radius))) == ["blurred"]


def test_a_slightly_soft_photo_is_not_nagged_about() -> None:
    assert photo_quality(product_photo().filter(ImageFilter.GaussianBlur(1))) == []


def test_dark_and_overexposed_photos_are_named() -> None:
    dark = product_photo().point(lambda v: v // 8)
    assert photo_quality(dark) == ["too_dark"]
    bright = Image.new("RGB", (640, 480), (252, 252, 252))
    ImageDraw.Draw(bright).line((0, 0, 640, 480), fill=(200, 200, 200), width=3)
    assert photo_quality(bright) == ["too_bright"]
