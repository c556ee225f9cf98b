"""Debian's Chromium, driven headless through Playwright (never ``playwright install``)."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Final

CHROMIUM_PATH: Final[str] = "/usr/bin/chromium"

# Chromium keeps only the last --disable-features it is given, so ours repeats the list
# Playwright (1.65) passes before it.
_PLAYWRIGHT_DISABLED_FEATURES = (
    "AvoidUnnecessaryBeforeUnloadCheckSync", "DestroyProfileOnBrowserClose", "HttpsUpgrades",
    "HttpsFirstBalancedModeAutoEnable", "LensOverlay", "MediaRouter", "PaintHolding",
    "ThirdPartyStoragePartitioning", "AvoidCorsURLLoaderRestartOnRedirect",
    "TcpPortRandomizationWin", "OptimizationHints", "NetworkTimeServiceQuerying", "AimEnabled",
    "PreconnectToSearch", "msForceBrowserSignIn", "msEdgeUpdateLaunchServicesPreferredVersion",
)  # fmt: skip
_OMNIBOX_WEBUI = ("WebUIOmniboxPopup", "WebUIOmniboxFullPopup", "WebUIOmniboxAimPopup")

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
    # Chromium 156 loads its omnibox popup (a WebUI page of some 300 modules) in a renderer of
    # its own for every new browser context: about 0.9 s of CPU, measured, on two cores that
    # the pages under test share. Nobody sees an omnibox here.
    "--disable-features=" + ",".join((*_PLAYWRIGHT_DISABLED_FEATURES, *_OMNIBOX_WEBUI)),
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
