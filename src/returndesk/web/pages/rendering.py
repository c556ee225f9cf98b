"""Jinja2 rendering with the viewer's language, time zone and a CSRF token in every page."""

from __future__ import annotations

import functools
import hashlib
import hmac
from pathlib import Path
from typing import Any

from fastapi import Request
from fastapi.responses import HTMLResponse
from jinja2 import Environment, FileSystemLoader, select_autoescape
from markupsafe import Markup

from returndesk.web.pages import labels
from returndesk.web.pages.i18n import LANGUAGE_NAMES, Formatter, translations, zone

TEMPLATE_DIR = Path(__file__).resolve().parent / "templates"
STATIC_DIR = Path(__file__).resolve().parent / "static"

_env = Environment(
    loader=FileSystemLoader(TEMPLATE_DIR),
    autoescape=select_autoescape(["html"]),
    extensions=["jinja2.ext.i18n"],
    trim_blocks=True,
    lstrip_blocks=True,
)


@functools.cache
def inline_script(name: str) -> Markup:
    """A script of `static/` to inline in a page (read once per process): for a page that
    must start work before its other files arrive (the call page)."""
    text = (STATIC_DIR / name).read_text(encoding="utf-8")
    if "</script" in text.lower():
        raise ValueError(f"{name} cannot be inlined: it contains </script")
    return Markup(text)  # noqa: S704 - our own file, checked above


_env.globals["inline_script"] = inline_script


def environment() -> Environment:
    return _env


def csrf_token(secret: str, session: str) -> str:
    return hmac.new(secret.encode(), b"csrf:" + session.encode(), hashlib.sha256).hexdigest()[:32]


def check_csrf(secret: str, session: str, sent: str) -> bool:
    return hmac.compare_digest(csrf_token(secret, session), sent)


class Page:
    """What a template needs to speak to one viewer."""

    def __init__(
        self,
        language: str,
        tz_name: str | None,
        default_tz: str = "UTC",
        languages: tuple[str, ...] = (),
    ) -> None:
        self.language = language
        self.languages = languages
        self.tz = zone(tz_name, default_tz)
        self.fmt = Formatter(language, self.tz)
        self._t = translations(language)

    def gettext(self, message: str, **params: Any) -> str:
        text = self._t.gettext(message)
        return text % params if params else text

    def ngettext(self, singular: str, plural: str, n: int, **params: Any) -> str:
        text = self._t.ngettext(singular, plural, n)
        return text % {"num": n, **params}

    def label(self, table: str, code: str | None) -> str:
        if code is None:
            return ""
        mapping: dict[str, str] = getattr(labels, table)
        return self.gettext(mapping[code]) if code in mapping else code

    def fmt_in(self, tz_name: str) -> Formatter:
        """This viewer's formats in another time zone (a booked call in the buyer's own)."""
        return Formatter(self.language, zone(tz_name, str(self.tz.key)))

    def labels(self, table: str) -> dict[str, str]:
        """A whole label table in this language (for scripts on the page)."""
        mapping: dict[str, str] = getattr(labels, table)
        return {code: self.gettext(text) for code, text in mapping.items()}

    def render(
        self, request: Request, template: str, status_code: int = 200, **context: Any
    ) -> HTMLResponse:
        html = _env.get_template(template).render(
            request=request,
            page=self,
            _=self.gettext,
            gettext=self.gettext,
            ngettext=self.ngettext,
            lang=self.language,
            html_lang=self.language,
            language_names=LANGUAGE_NAMES,
            switch_languages=self.languages,
            fmt=self.fmt,
            tz_name=str(self.tz.key),
            **context,
        )
        response = HTMLResponse(html, status_code=status_code)
        response.headers["Content-Language"] = self.language
        response.headers["Cache-Control"] = "no-store"
        return response
