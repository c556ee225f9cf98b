"""Compiles policy documents with CEL rules and keeps the compiled form of active versions."""

from __future__ import annotations

import threading
from collections import OrderedDict
from datetime import date
from typing import Any

import holidays

from returndesk.adapters.rules.cel import CelLanguage
from returndesk.domain.policy.document import Policy
from returndesk.domain.policy.engine import compile_policy


class PublicHolidays:
    """National public holidays from the `holidays` package, one table per country and year.
    A country the package does not know has none (weekends still count as non-business)."""

    def __init__(self) -> None:
        self._tables: dict[tuple[str, int], frozenset[date]] = {}
        self._lock = threading.Lock()

    def __call__(self, country: str, day: date) -> bool:
        key = (country, day.year)
        table = self._tables.get(key)
        if table is None:
            try:
                found = frozenset(holidays.country_holidays(country, years=[day.year]))
            except NotImplementedError:
                found = frozenset()
            with self._lock:
                table = self._tables.setdefault(key, found)
        return day in table


class PolicyCompiler:
    """Document -> checked Policy; (store, version) -> Policy, cached: versions never change."""

    def __init__(self, capacity: int = 256) -> None:
        self.language = CelLanguage()
        self.holidays = PublicHolidays()
        self._cache: OrderedDict[tuple[str, int], Policy] = OrderedDict()
        self._capacity = capacity
        self._lock = threading.Lock()

    def compile(self, document: dict[str, Any]) -> Policy:
        return compile_policy(document, self.language, self.holidays)

    def cached(self, store_id: str, version: int, document: dict[str, Any]) -> Policy:
        key = (store_id, version)
        with self._lock:
            found = self._cache.get(key)
            if found is not None:
                self._cache.move_to_end(key)
                return found
        policy = self.compile(document)
        with self._lock:
            self._cache[key] = policy
            while len(self._cache) > self._capacity:
                self._cache.popitem(last=False)
        return policy
