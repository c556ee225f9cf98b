"""Real-browser fixtures: one headless Chromium per session, a live app over SQLite per test.

Nothing here skips: a missing Chromium, or translations that were not compiled, raise so that
a broken environment fails loudly instead of silently testing less.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Protocol

import pytest
from babel.messages.catalog import Catalog
from babel.messages.pofile import read_po
from playwright.sync_api import Browser, Page, Playwright, expect, sync_playwright

from returndesk.bootstrap import Container
from returndesk.domain.access import Role
from returndesk.domain.cases.model import LineRequest
from returndesk.domain.cases.reasons import ReasonCode
from returndesk.domain.cases.status import Resolution
from returndesk.services.buyers import start_buyer_session
from returndesk.services.orders import LineInput, OrderInput, ShipmentInput, upsert_order
from returndesk.services.principal import SYSTEM
from returndesk.services.returns import OpenReturn, open_return
from returndesk.services.staff import create_staff_user
from returndesk.web.app import create_app
from returndesk.web.pages.i18n import LOCALE_DIR
from servers import CHROMIUM_ARGS, CHROMIUM_PATH, check_chromium
from servers.live import LiveServer

SHOTS = Path("/tmp/returndesk-shots")


class FakeClockLike(Protocol):
    now: datetime

    def advance(self, **delta: float) -> datetime: ...


class WallClock:
    """An app clock on real time, which the `scenario` fixture may set back (it moves `now` an
    hour back so that tokens stay valid if a test moves the clock on). For pages whose
    evidence is attested against arrival times (recordings, calls)."""

    def __init__(self) -> None:
        self.offset = timedelta()

    def __call__(self) -> datetime:
        return datetime.now(UTC) + self.offset

    @property
    def now(self) -> datetime:
        return self()

    @now.setter
    def now(self, value: datetime) -> None:
        self.offset = value - datetime.now(UTC)

    def advance(self, **delta: float) -> datetime:
        self.offset += timedelta(**delta)
        return self()


@pytest.fixture
def wall_clock() -> WallClock:
    return WallClock()


@pytest.fixture(scope="session")
def playwright() -> Iterator[Playwright]:
    check_chromium()  # raises RuntimeError when the Debian package is missing
    driver = sync_playwright().start()
    yield driver
    driver.stop()


@pytest.fixture(scope="session")
def browser(playwright: Playwright) -> Iterator[Browser]:
    chromium = playwright.chromium.launch(
        executable_path=CHROMIUM_PATH, args=CHROMIUM_ARGS, headless=True
    )
    yield chromium
    chromium.close()


@pytest.fixture(scope="session")
def shots() -> Path:
    """Where screenshots go for a person to look at (outside the repository)."""
    SHOTS.mkdir(parents=True, exist_ok=True)
    return SHOTS


class Catalogue:
    """The translations a language's pages must show, read from the .po being edited."""

    def __init__(self, language: str) -> None:
        directory = LOCALE_DIR / language.replace("-", "_") / "LC_MESSAGES"
        po, mo = directory / "messages.po", directory / "messages.mo"
        if not mo.is_file() or mo.stat().st_mtime < po.stat().st_mtime:
            raise RuntimeError(
                f"{mo} is missing or older than {po.name}: compile the translations first "
                "(`make messages`, or `.venv/bin/pybabel compile -d src/returndesk/locale "
                "-D messages`)"
            )
        with po.open("rb") as stream:
            self.catalog: Catalog = read_po(stream)
        self.language = language

    def __call__(self, msgid: str) -> str:
        """The msgstr the app shows for ``msgid``; an untranslated message fails the test."""
        message = self.catalog.get(msgid)
        assert message is not None, f"{msgid!r} is not in the {self.language} catalogue"
        assert isinstance(message.string, str), f"{msgid!r} is a plural message"
        assert message.string.strip(), f"{msgid!r} has no {self.language} translation yet"
        assert not message.fuzzy, f"{msgid!r} is fuzzy in {self.language} (not compiled)"
        return message.string


@pytest.fixture(scope="session")
def pt_br() -> Catalogue:
    return Catalogue("pt-BR")


@pytest.fixture(scope="session")
def zh() -> Catalogue:
    return Catalogue("zh")


@pytest.fixture
def browser_server(sqlite_container: Container) -> Iterator[LiveServer]:
    """The real app over real HTTP on the embedded SQLite database."""
    with LiveServer(create_app(sqlite_container)) as server:
        yield server


@dataclass(frozen=True, slots=True)
class Scenario:
    order_number: str
    buyer_email: str
    buyer_name: str
    tee_sku: str
    tee_title: str
    buds_sku: str
    buds_title: str
    agent_email: str
    agent_password: str
    agent_name: str
    us_case_id: str  # a case in another market, for the queue filter

    def agent_login(self, page: Page) -> None:
        """Sign the scenario's agent in to the console."""
        page.goto("/console/login")
        page.get_by_test_id("login-email").fill(self.agent_email)
        page.get_by_test_id("login-password").fill(self.agent_password)
        page.get_by_test_id("login-submit").click()
        expect(page).to_have_url(re.compile(r"/console$"))

    def buyer_login(self, page: Page) -> None:
        """Sign the scenario's Brazilian buyer in to the portal (order number and email)."""
        page.goto("/")
        page.get_by_test_id("order-number").fill(self.order_number)
        page.get_by_test_id("email").fill(self.buyer_email)
        page.get_by_test_id("lookup-submit").click()
        expect(page.get_by_test_id("order-title")).to_be_visible()

    def open_return(
        self,
        container: Container,
        sku: str,
        reason: ReasonCode = ReasonCode.wrong_size,
        comment: str = "",
        resolution: Resolution = Resolution.refund,
    ) -> str:
        """The Brazilian buyer returns one of `sku` (through the service, as the portal does);
        the case id."""
        buyer = start_buyer_session(container.uow, self.order_number, self.buyer_email)
        opened = open_return(
            container.uow, container.clock, buyer,
            OpenReturn(self.order_number, (LineRequest(sku, 1, reason, comment),), resolution),
        )  # fmt: skip
        return opened.case.id


@pytest.fixture
def scenario(sqlite_container: Container, clock: FakeClockLike) -> Scenario:
    """A Brazilian order delivered five days ago (fixture clock) and an agent, via handlers.

    A US order with an open return is there too, so that the queue's market filter has
    something to leave out.
    """
    # Tokens carry the app clock's `iat`, but PyJWT checks it against the wall clock: start an
    # hour back so that the test may move the clock forward between steps.
    clock.now -= timedelta(hours=1)
    container = sqlite_container
    now = container.clock()
    placed = now - timedelta(days=9)
    us_case_id = _us_case(container)
    data = Scenario(
        order_number="BR-20931",
        buyer_email="mariana.costa@example.com.br",
        buyer_name="Mariana Costa",
        tee_sku="TEE-ORG-M",
        tee_title="Camiseta de algodão orgânico, M",
        buds_sku="BUD-PRO",
        buds_title="Fones sem fio Pro",
        agent_email="ana.souza@returndesk.example",
        agent_password="correct horse battery staple",
        agent_name="Ana Souza",
        us_case_id=us_case_id,
    )
    upsert_order(
        container.uow,
        SYSTEM,
        OrderInput(
            number=data.order_number,
            email=data.buyer_email,
            market="BR",
            currency="BRL",
            language="pt-BR",
            placed_at=placed,
            buyer_name=data.buyer_name,
            lines=(
                LineInput(
                    sku=data.tee_sku,
                    title=data.tee_title,
                    quantity=2,
                    unit_price=4999,
                    paid_amount=9998,
                    category="apparel",
                ),
                LineInput(
                    sku=data.buds_sku,
                    title=data.buds_title,
                    quantity=1,
                    unit_price=129900,
                    paid_amount=129900,
                    category="electronics",
                    serial_numbers=("SN48151623",),
                ),
            ),
            shipments=(
                ShipmentInput(
                    "Correios",
                    "BR123456789",
                    shipped_at=placed + timedelta(days=1),
                    delivered_at=now - timedelta(days=5),
                ),
            ),
        ),
    )
    create_staff_user(
        container.uow,
        container.hasher,
        container.clock,
        SYSTEM,
        email=data.agent_email,
        role=Role.agent,
        password=data.agent_password,
        name=data.agent_name,
        language="en",
        timezone="America/Sao_Paulo",
    )
    return data


def _us_case(container: Container) -> str:
    now = container.clock()
    upsert_order(
        container.uow,
        SYSTEM,
        OrderInput(
            number="US-7710",
            email="emily.carter@example.com",
            market="US",
            currency="USD",
            language="en",
            placed_at=now - timedelta(days=6),
            buyer_name="Emily Carter",
            lines=(LineInput("MUG-STONE", "Stoneware mug", 1, 1800, 1800, "home"),),
            shipments=(
                ShipmentInput("UPS", "1Z999", now - timedelta(days=5), now - timedelta(days=2)),
            ),
        ),
    )
    buyer = start_buyer_session(container.uow, "US-7710", "emily.carter@example.com")
    opened = open_return(
        container.uow,
        container.clock,
        buyer,
        OpenReturn(
            "US-7710",
            (LineRequest("MUG-STONE", 1, ReasonCode.changed_mind, ""),),
            Resolution.refund,
        ),
    )
    return opened.case.id
