"""What the warehouse checks on a returned unit, by product category (docs/logistics.md).

Each category has a checklist: built-in items (codes, which the console shows in the user's
language) unless the store's policy lists its own (`[inspection.checklists]`, the store's own
words, shown as written). The answers are kept with the receipt; a unit that failed a check
cannot be graded as new.
"""

from __future__ import annotations

from collections.abc import Mapping

from returndesk.domain.errors import ValidationFailed

# Every unit: is it what was sold, and did it come back packed.
GENERAL = ("matches_order", "packaging_intact")
DEFAULT_CHECKS: dict[str, tuple[str, ...]] = {
    "electronics": (
        "powers_on",
        "serial_matches",
        "accessories_complete",
        "no_liquid_damage",
        "no_scratches",
    ),
    "apparel": ("tags_attached", "unworn_unwashed", "no_stains_or_odour"),
    "shoes": ("soles_unworn", "original_box"),
    "hygiene": ("seal_intact",),
    "beauty": ("seal_intact",),
    "home": ("parts_complete", "no_chips_or_cracks"),
}
MAX_ITEMS = 30
MAX_ITEM_LENGTH = 100


def checklist(category: str, custom: Mapping[str, tuple[str, ...]]) -> tuple[str, ...]:
    """The items to check on a unit of `category`: the policy's own list for it (or its
    catch-all "*"), else the built-in general items and the category's."""
    own = custom.get(category) or custom.get("*")
    if own:
        return own
    return GENERAL + DEFAULT_CHECKS.get(category, ())


def check_answers(sku: str, answers: Mapping[str, bool]) -> tuple[tuple[str, bool], ...]:
    """The checks a warehouse user answered for a line, as stored (item, passed)."""
    if len(answers) > MAX_ITEMS:
        raise ValidationFailed(
            f"{sku}: at most {MAX_ITEMS} checks", code="too_many_checks", sku=sku
        )
    for item in answers:
        if not 0 < len(item.strip()) <= MAX_ITEM_LENGTH or "\x00" in item:
            raise ValidationFailed(
                f"{sku}: a check is 1-{MAX_ITEM_LENGTH} characters",
                code="invalid_check",
                sku=sku,
            )
    return tuple((item.strip(), bool(passed)) for item, passed in answers.items())
