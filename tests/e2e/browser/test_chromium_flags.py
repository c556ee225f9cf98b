"""The browser the tests drive: our one --disable-features keeps Playwright's own list (Chromium
honours only the last one given), and the omnibox's WebUI renderer is never started."""

from __future__ import annotations

from pathlib import Path

import pytest
from playwright.sync_api import Playwright

from servers import CHROMIUM_ARGS, CHROMIUM_PATH

pytestmark = pytest.mark.browser


def _command_lines() -> list[list[str]]:
    found = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            raw = (entry / "cmdline").read_bytes()
        except OSError:
            continue
        # Processes Chromium forks rewrite their command line as one string, with spaces.
        args = raw.decode(errors="replace").replace("\0", " ").split()
        if args and Path(args[0]).name == "chromium":
            found.append(args)
    return found


def _profiles() -> set[str]:
    return {a for args in _command_lines() for a in args if a.startswith("--user-data-dir=")}


def test_our_disabled_features_keep_playwrights_and_no_omnibox_webui_runs(
    playwright: Playwright,
) -> None:
    before = _profiles()  # other browsers of this run, if any
    chromium = playwright.chromium.launch(executable_path=CHROMIUM_PATH, args=CHROMIUM_ARGS)
    try:
        context = chromium.new_context()
        context.new_page().goto("about:blank")
        [profile] = _profiles() - before
        mine = [args for args in _command_lines() if profile in args]
        main = [args for args in mine if not any(a.startswith("--type=") for a in args)]
        assert len(main) == 1 and len(mine) > 1  # the browser, and its renderers and helpers
        given = [
            a.split("=", 1)[1].split(",") for a in main[0] if a.startswith("--disable-features=")
        ]
        assert len(given) == 2, given  # Playwright's, then ours (the one Chromium keeps)
        assert set(given[0]) <= set(given[1]), set(given[0]) - set(given[1])
        assert "WebUIOmniboxPopup" in given[1]
        assert [args for args in mine if "--top-chrome-webui" in args] == []
        context.close()
    finally:
        chromium.close()
