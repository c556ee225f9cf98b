"""Debian's Chromium, driven headless through Playwright (never ``playwright install``)."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Final

CHROMIUM_PATH: Final[str] = "/usr/bin/chromium"

# Flags measured to work on these machines (see docs/pitfalls.md).
CHROMIUM_ARGS: Final[list[str]] = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    # A fake camera and microphone, allowed without a prompt (evidence recording, calls).
    "--use-fake-device-for-media-stream",
    "--use-fake-ui-for-media-stream",
]


def check_chromium(path: str = CHROMIUM_PATH) -> str:
    """Return ``path`` if it is an executable Chromium, else raise ``RuntimeError``."""
    candidate = Path(path)
    if not candidate.is_file() or not os.access(candidate, os.X_OK):
        raise RuntimeError(
            f"Chromium not found at {path}: install the Debian package 'chromium' "
            "(run `make setup` as root)."
        )
    return path
