"""The zone a page or email shows times in: an IANA name, else the default, else UTC."""

from __future__ import annotations

import pytest

from returndesk.web.pages.i18n import zone


@pytest.mark.parametrize("name", ["localtime", "posixrules", "Factory", "../etc/passwd", "", None])
def test_a_name_that_is_no_iana_zone_gives_the_default(name: str | None) -> None:
    assert zone(name, "America/Sao_Paulo").key == "America/Sao_Paulo"


def test_a_zone_name_is_used_and_a_bad_default_gives_utc() -> None:
    assert zone("Asia/Shanghai", "Europe/Berlin").key == "Asia/Shanghai"
    assert zone("localtime", "Mars/Base").key == "UTC"
