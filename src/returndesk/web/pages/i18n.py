"""The one message catalogue (gettext via Babel), locale choice, and locale-aware formatting."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from functools import cache
from pathlib import Path
from zoneinfo import ZoneInfo

from babel import Locale, UnknownLocaleError
from babel.dates import format_date, format_time
from babel.numbers import format_currency, format_percent
from babel.support import NullTranslations, Translations
from babel.units import format_unit

from returndesk.domain.business_time import check_timezone
from returndesk.domain.errors import ValidationFailed
from returndesk.domain.money import minor_unit_exponent

LOCALE_DIR = Path(__file__).resolve().parent.parent.parent / "locale"
DOMAIN = "messages"

# Language tags as the product uses them (pt-BR), with their gettext/Babel locale ids.
BUYER_LANGUAGES = ("en", "es", "pt-BR", "ja", "de", "fr")
CONSOLE_LANGUAGES = ("en", "zh")
LANGUAGE_NAMES = {
    "en": "English",
    "es": "Español",
    "pt-BR": "Português (Brasil)",
    "ja": "日本語",
    "de": "Deutsch",
    "fr": "Français",
    "zh": "中文",
}


def babel_id(language: str) -> str:
    return language.replace("-", "_")


@cache
def translations(language: str) -> NullTranslations:
    if language == "en":
        return NullTranslations()
    return Translations.load(str(LOCALE_DIR), [babel_id(language)], DOMAIN)


def negotiate(
    requested: str | None, accept_language: str, allowed: tuple[str, ...], fallback: str = "en"
) -> str:
    """An explicit choice wins, then the browser's Accept-Language, then the fallback."""
    if requested in allowed:
        return requested
    for part in accept_language.split(","):
        tag = part.split(";")[0].strip()
        if not tag:
            continue
        for lang in allowed:
            if tag.lower() == lang.lower():
                return lang
        primary = tag.split("-")[0].lower()
        for lang in allowed:
            if lang.split("-")[0].lower() == primary:
                return lang
    return fallback if fallback in allowed else allowed[0]


def zone(name: str | None, default: str = "UTC") -> ZoneInfo:
    """The viewer's zone by its IANA name, else the default, else UTC: a name that is no IANA
    zone (a cookie saying `localtime` or a file path) is never used, as nothing stores one."""
    for candidate in (name, default, "UTC"):
        if not candidate or len(candidate) > 64:
            continue
        try:
            return check_timezone(candidate)
        except ValidationFailed:
            continue
    return ZoneInfo("UTC")


class Formatter:
    """Dates and money in the viewer's locale and time zone."""

    def __init__(self, language: str, tz: ZoneInfo) -> None:
        try:
            self.locale = Locale.parse(babel_id(language))
        except (UnknownLocaleError, ValueError):
            self.locale = Locale.parse("en")
        self.tz = tz

    def datetime(self, value: dt.datetime | None, fmt: str = "medium") -> str:
        """The date in the locale's medium or short form and the time without seconds."""
        if value is None:
            return ""
        local = value.astimezone(self.tz)
        day = format_date(local, fmt, locale=self.locale)
        return f"{day} {format_time(local, 'short', locale=self.locale)}"

    def moment(self, value: dt.datetime | str) -> str:
        """A booked time in full: the weekday, the date and the time (no seconds); an ISO
        string (as timeline data keeps it) is read first."""
        if isinstance(value, str):
            value = dt.datetime.fromisoformat(value)
        local = value.astimezone(self.tz)
        day = format_date(local, "full", locale=self.locale)
        return f"{day} {format_time(local, 'short', locale=self.locale)}"

    def clock(self, value: dt.datetime) -> str:
        """The time of day alone, in the viewer's zone."""
        return format_time(value.astimezone(self.tz), "short", locale=self.locale)

    def weekday(self, value: dt.date) -> str:
        """A calendar day with its weekday (no zone)."""
        return format_date(value, "full", locale=self.locale)

    def date(self, value: dt.datetime | None) -> str:
        if value is None:
            return ""
        return format_date(value.astimezone(self.tz), "medium", locale=self.locale)

    def date_only(self, value: dt.date) -> str:
        """A calendar day (no time, no zone) in the locale's medium form."""
        return format_date(value, "medium", locale=self.locale)

    def percent(self, value: float | None) -> str:
        """0.125 -> 12.5% in the locale's words; nothing to divide by -> a dash."""
        if value is None:
            return "—"
        return format_percent(value, "#,##0.#%", locale=self.locale)

    def file_size(self, size: int) -> str:
        """1.5 MB, 530 kB… in the locale's words."""
        for unit, factor in (("gigabyte", 1024**3), ("megabyte", 1024**2)):
            if size >= factor:
                return format_unit(size / factor, f"digital-{unit}", locale=self.locale,
                                   format="#,##0.#")  # fmt: skip
        return format_unit(max(1, round(size / 1024)), "digital-kilobyte", locale=self.locale)

    def money(self, amount: int | None, currency: str) -> str:
        if amount is None:
            return ""
        value = Decimal(amount).scaleb(-minor_unit_exponent(currency))
        return format_currency(value, currency, locale=self.locale)
