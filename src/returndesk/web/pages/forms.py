"""Reading HTML form posts safely: every field is optional text that may be anything."""

from __future__ import annotations

from fastapi import Request
from starlette.datastructures import FormData


async def read_form(request: Request) -> FormData:
    try:
        return await request.form(max_files=0, max_fields=2000)
    except Exception:
        return FormData()


def field(form: FormData, name: str, max_length: int = 4000) -> str:
    value = form.get(name)
    if not isinstance(value, str):
        return ""
    return value.replace("\x00", "")[:max_length].strip()


def int_field(form: FormData, name: str, default: int = 0) -> int:
    raw = field(form, name, 12)
    try:
        return int(raw)
    except ValueError:
        return default
