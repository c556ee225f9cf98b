"""Every text the pages show is in the catalogue and translated into every language."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from babel.messages.extract import extract_from_dir
from babel.messages.pofile import read_po

ROOT = Path(__file__).resolve().parents[2]
LOCALE = ROOT / "src" / "returndesk" / "locale"
LANGUAGES = ("es", "pt_BR", "ja", "de", "fr", "zh")
PLACEHOLDER = re.compile(r"%\(\w+\)s")


def source_messages() -> set[str]:
    method_map = [
        ("returndesk/**.py", "python"),
        ("returndesk/web/pages/templates/**.html", "jinja2"),
        ("returndesk/web/pages/templates/**.txt", "jinja2"),
    ]
    options = {
        "returndesk/web/pages/templates/**.html": {"extensions": "jinja2.ext.i18n"},
        "returndesk/web/pages/templates/**.txt": {"extensions": "jinja2.ext.i18n"},
    }
    found: set[str] = set()
    for _file, _line, message, _comments, _context in extract_from_dir(
        str(ROOT / "src"), method_map, options, keywords={"_": None, "N_": None, "ngettext": (1, 2)}
    ):
        found.add(message[0] if isinstance(message, tuple) else message)
    return found


def test_the_template_lists_every_text_in_the_code() -> None:
    with (LOCALE / "messages.pot").open("rb") as f:
        template = {m.id[0] if isinstance(m.id, tuple) else m.id for m in read_po(f) if m.id}
    missing = source_messages() - template
    assert not missing, f"run `make messages-update`; not in messages.pot: {sorted(missing)}"


def test_templates_translate_only_in_ways_the_extractor_sees() -> None:
    """`page.gettext('...')` works at render time but is invisible to `pybabel extract`: a
    text written that way would never reach the catalogue. Templates call `_()`."""
    templates = ROOT / "src" / "returndesk" / "web" / "pages" / "templates"
    hidden = re.compile(r"\b(?:page\.gettext|gettext)\(\s*['\"]")
    offenders = [
        f"{path.relative_to(templates)}:{n}"
        for path in sorted(templates.rglob("*"))
        if path.is_file()
        for n, line in enumerate(path.read_text(encoding="utf-8").splitlines(), start=1)
        if hidden.search(line)
    ]
    assert not offenders, f"use _('...') in templates: {offenders}"


@pytest.mark.parametrize("language", LANGUAGES)
def test_every_text_is_translated_with_the_same_placeholders(language: str) -> None:
    with (LOCALE / language / "LC_MESSAGES" / "messages.po").open("rb") as f:
        catalog = read_po(f)
    translated = {}
    for message in catalog:
        if not message.id:
            continue
        ids = message.id if isinstance(message.id, tuple) else (message.id,)
        strings = message.string if isinstance(message.string, tuple) else (message.string,)
        assert all(strings), f"{language}: untranslated {ids[0]!r}"
        wanted = set(PLACEHOLDER.findall(" ".join(ids)))
        for text in strings:
            assert set(PLACEHOLDER.findall(text)) <= wanted, f"{language}: {ids[0]!r} -> {text!r}"
        translated[ids[0]] = strings
    missing = source_messages() - translated.keys()
    assert not missing, f"{language}: missing {sorted(missing)}"
