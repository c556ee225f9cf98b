"""Policy documents as files: TOML (what people edit) or JSON (what the API speaks)."""

from __future__ import annotations

import json
import tomllib
from typing import Any

import tomli_w

from returndesk.domain.errors import ValidationFailed


def to_toml(document: dict[str, Any]) -> str:
    return tomli_w.dumps(document)


def parse_text(text: str) -> dict[str, Any]:
    """A policy document from TOML, or JSON when the text starts with `{`."""
    stripped = text.strip()
    if stripped.startswith("{"):
        try:
            data = json.loads(stripped)
        except json.JSONDecodeError as exc:
            raise ValidationFailed(f"JSON: {exc}", code="invalid_document") from None
        if not isinstance(data, dict):
            raise ValidationFailed("JSON: not an object", code="invalid_document")
        return data
    try:
        return tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise ValidationFailed(f"TOML: {exc}", code="invalid_document") from None
