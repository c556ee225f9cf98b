"""Fail a CI run whose pytest JUnit report shows skipped tests, or no tests at all.

Usage: python scripts/check_no_skips.py var/test-results.xml

In CI every test must really run: a skip (pytest.skip, skipif, importorskip, a module-level
skip at collection, or an xfail, which JUnit also reports as <skipped>) fails the run.
Exit codes: 0 all ran, 1 something skipped or no tests, 2 report missing or unreadable.
"""

from __future__ import annotations

import sys
import xml.etree.ElementTree as ET  # the report is our own pytest output, not untrusted input
from pathlib import Path


def main(argv: list[str]) -> int:
    if len(argv) != 2:
        print(f"usage: {argv[0]} JUNIT_XML", file=sys.stderr)
        return 2
    report = Path(argv[1])
    try:
        root = ET.parse(report).getroot()  # noqa: S314
    except (OSError, ET.ParseError) as exc:
        print(f"check_no_skips: cannot read JUnit report {report}: {exc}", file=sys.stderr)
        return 2

    cases = list(root.iter("testcase"))
    skipped: list[str] = []
    for case in cases:
        for element in case.findall("skipped"):
            name = "::".join(part for part in (case.get("classname"), case.get("name")) if part)
            kind = "xfail" if element.get("type") == "pytest.xfail" else "skipped"
            reason = element.get("message") or ""
            if element.text and (not reason or reason == "collection skipped"):
                reason = element.text.strip()  # e.g. importorskip's "could not import ..."
            skipped.append(f"  {kind}: {name or '?'}: {reason}")

    if not cases:
        print("check_no_skips: no tests ran (CI requires at least one)", file=sys.stderr)
        return 1
    if skipped:
        print(
            f"check_no_skips: {len(skipped)} test(s) did not run; CI allows no skips:",
            file=sys.stderr,
        )
        print("\n".join(skipped), file=sys.stderr)
        return 1
    print(f"check_no_skips: all {len(cases)} test(s) ran, none skipped")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
