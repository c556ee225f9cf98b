"""Throwaway servers and tools used by the test suite (PostgreSQL cluster, headless Chromium).

Nothing here ever skips: a missing tool raises ``RuntimeError`` so that a broken environment
fails loudly instead of silently running fewer tests.
"""

from .chromium import CHROMIUM_ARGS, CHROMIUM_PATH, check_chromium
from .postgres import ThrowawayPostgres

__all__ = ["CHROMIUM_ARGS", "CHROMIUM_PATH", "ThrowawayPostgres", "check_chromium"]
