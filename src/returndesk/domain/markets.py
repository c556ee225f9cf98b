"""The time zone a market's buyers most likely live in (quiet hours, dates in emails)."""

from __future__ import annotations

import zoneinfo
from functools import cache
from pathlib import Path

# Countries with several zones: the one most buyers live in. Others come from zone.tab.
MAIN_ZONES = {
    "US": "America/New_York", "CA": "America/Toronto", "BR": "America/Sao_Paulo",
    "MX": "America/Mexico_City", "AU": "Australia/Sydney", "RU": "Europe/Moscow",
    "CN": "Asia/Shanghai", "ES": "Europe/Madrid", "PT": "Europe/Lisbon",
    "DE": "Europe/Berlin", "FR": "Europe/Paris", "GB": "Europe/London", "JP": "Asia/Tokyo",
    "AR": "America/Argentina/Buenos_Aires", "CL": "America/Santiago", "ID": "Asia/Jakarta",
    "KZ": "Asia/Almaty", "NZ": "Pacific/Auckland", "UA": "Europe/Kyiv",
}  # fmt: skip


@cache
def _zone_tab() -> dict[str, str]:
    """The first zone zone.tab lists for each country (its main one, by the file's rule)."""
    for folder in zoneinfo.TZPATH:
        path = Path(folder) / "zone.tab"
        if path.is_file():
            first: dict[str, str] = {}
            for line in path.read_text(encoding="utf-8").splitlines():
                if line.startswith("#") or not line.strip():
                    continue
                parts = line.split("\t")
                if len(parts) >= 3:
                    first.setdefault(parts[0], parts[2])
            return first
    return {}


def market_zone(market: str | None, default: str = "UTC") -> str:
    if not market:
        return default
    market = market.upper()
    return MAIN_ZONES.get(market) or _zone_tab().get(market) or default
