"""Fixtures for the HTTP API end-to-end tests: a client, staff of every role, an order, a buyer.

Everything goes through the real app under uvicorn (``live_server``) over a real migrated
database, on SQLite and on PostgreSQL. Staff accounts are made directly with the service (as
the system), every token comes from the API itself.
"""

from __future__ import annotations

import itertools
import time
from collections.abc import Callable, Iterator
from contextlib import ExitStack
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from pathlib import Path
from types import ModuleType
from typing import Any

import httpx
import pytest
from sqlalchemy import func, select

from returndesk.adapters.db.tables import (
    agent_presence,
    case_events,
    case_work,
    conversation_messages,
    conversations,
    evidence_items,
    help_articles,
    idempotency_keys,
    order_lines,
    orders,
    outbox,
    policy_versions,
    refunds,
    restock_counts,
    return_case_lines,
    return_cases,
    shipments,
    sla_targets,
    staff_users,
    stores,
    team_members,
    teams,
    warehouse_receipts,
)
from returndesk.bootstrap import Container
from returndesk.domain.access import STAFF_ROLES, Role
from returndesk.services.integrations import create_token
from returndesk.services.principal import SYSTEM
from returndesk.services.staff import create_staff_user
from returndesk.web.app import create_app
from servers.live import LiveServer

PROBLEM_JSON = "application/problem+json"
PASSWORD = "correct-horse-battery-staple"
ORDER_NUMBER = "1001"
BUYER_EMAIL = "ana@example.com"
OTHER_ORDER_NUMBER = "2002"
OTHER_BUYER_EMAIL = "bo@example.net"
COUNTED_TABLES = (
    stores,
    policy_versions,
    staff_users,
    orders,
    order_lines,
    shipments,
    return_cases,
    return_case_lines,
    case_events,
    idempotency_keys,
    outbox,
    conversations,
    conversation_messages,
    help_articles,
    evidence_items,
    teams,
    team_members,
    agent_presence,
    sla_targets,
    case_work,
    warehouse_receipts,
    restock_counts,
    refunds,
)


def settle_after_server_error(response: httpx.Response) -> None:
    """After a 5xx, give the server thread time to finish logging its traceback.

    On Python 3.11 the `ast` module is not thread-safe, and both traceback formatting (in the
    server thread) and pytest's failure report (in this one) parse source with it: without the
    pause, the report of a test that caught a 500 can end in an INTERNALERROR.
    """
    if response.status_code >= 500:
        time.sleep(0.5)


HOOKS = {"response": [settle_after_server_error]}


def iso(value: datetime) -> str:
    return value.isoformat()


def order_payload(
    now: datetime, number: str = ORDER_NUMBER, email: str = BUYER_EMAIL, **overrides: Any
) -> dict[str, Any]:
    """A valid order: two lines (20 shirts, one lamp), delivered yesterday."""
    body: dict[str, Any] = {
        "number": number,
        "email": email,
        "market": "US",
        "currency": "USD",
        "placed_at": iso(now - timedelta(days=3)),
        "buyer_name": "Ana Lima",
        "lines": [
            {
                "sku": "SHIRT-M",
                "title": "Linen shirt",
                "quantity": 20,
                "unit_price": 2500,
                "paid_amount": 45000,
            },
            {
                "sku": "LAMP-1",
                "title": "Desk lamp",
                "quantity": 1,
                "unit_price": 10000,
                "paid_amount": 9000,
                "category": "home",
            },
        ],
        "shipments": [
            {
                "carrier": "UPS",
                "tracking_number": f"1Z{number}",
                "shipped_at": iso(now - timedelta(days=2)),
                "delivered_at": iso(now - timedelta(days=1)),
            }
        ],
    }
    body.update(overrides)
    return body


def return_payload(
    order_number: str = ORDER_NUMBER,
    sku: str = "SHIRT-M",
    quantity: int = 1,
    reason: str = "wrong_size",
    resolution: str = "refund",
    **overrides: Any,
) -> dict[str, Any]:
    body: dict[str, Any] = {
        "order_number": order_number,
        "lines": [{"sku": sku, "quantity": quantity, "reason": reason, "comment": "too small"}],
        "preferred_resolution": resolution,
    }
    body.update(overrides)
    return body


def assert_problem(
    response: httpx.Response, status: int, code: str | None = None
) -> dict[str, Any]:
    """The response is an RFC 9457 problem with this status (and code, when given)."""
    assert response.status_code == status, (response.status_code, response.text[:2000])
    assert response.headers["content-type"].startswith(PROBLEM_JSON), response.headers
    body: dict[str, Any] = response.json()
    for key in ("type", "title", "status", "detail", "code"):
        assert key in body, body
    assert body["status"] == status, body
    assert isinstance(body["detail"], str) and isinstance(body["title"], str)
    assert body["type"].endswith("/" + body["code"]), body
    if code is not None:
        assert body["code"] == code, body
    return body


def assert_client_error(response: httpx.Response) -> dict[str, Any]:
    """Any 4xx, as problem+json (never a 500, never a success)."""
    assert 400 <= response.status_code < 500, (response.status_code, response.text[:2000])
    return assert_problem(response, response.status_code)


@dataclass
class Api:
    """The client plus who is who: one bearer token per role, and helpers that use them."""

    client: httpx.Client
    container: Container
    tokens: dict[str, str] = field(default_factory=dict)
    credentials: dict[str, str] = field(default_factory=dict)  # role -> staff email

    # The module's helpers, reachable from test modules (which cannot import a conftest).
    ORDER_NUMBER = ORDER_NUMBER
    BUYER_EMAIL = BUYER_EMAIL
    OTHER_ORDER_NUMBER = OTHER_ORDER_NUMBER
    OTHER_BUYER_EMAIL = OTHER_BUYER_EMAIL
    PASSWORD = PASSWORD
    order_payload = staticmethod(order_payload)
    return_payload = staticmethod(return_payload)
    problem = staticmethod(assert_problem)
    client_error = staticmethod(assert_client_error)

    def auth(self, who: str | None) -> dict[str, str]:
        return {} if who is None else {"Authorization": f"Bearer {self.tokens[who]}"}

    def request(
        self,
        who: str | None,
        method: str,
        path: str,
        *,
        headers: dict[str, str] | None = None,
        **kwargs: Any,
    ) -> httpx.Response:
        return self.client.request(
            method, path, headers={**self.auth(who), **(headers or {})}, **kwargs
        )

    def get(self, who: str | None, path: str, **kwargs: Any) -> httpx.Response:
        return self.request(who, "GET", path, **kwargs)

    def post(self, who: str | None, path: str, **kwargs: Any) -> httpx.Response:
        return self.request(who, "POST", path, **kwargs)

    def put(self, who: str | None, path: str, **kwargs: Any) -> httpx.Response:
        return self.request(who, "PUT", path, **kwargs)

    def staff_token(self, email: str, password: str = PASSWORD) -> str:
        response = self.client.post(
            "/api/v1/auth/token", json={"email": email, "password": password}
        )
        assert response.status_code == 200, response.text
        token: str = response.json()["access_token"]
        return token

    def buyer_token(self, order_number: str, email: str) -> str:
        response = self.client.post(
            "/api/v1/buyer/session", json={"order_number": order_number, "email": email}
        )
        assert response.status_code == 200, response.text
        token: str = response.json()["access_token"]
        return token

    def refresh_tokens(self) -> None:
        """Sign everyone in again (tokens expire by the app's clock, which tests move)."""
        for role, email in self.credentials.items():
            self.tokens[role] = self.staff_token(email)
        self.tokens[Role.buyer.value] = self.buyer_token(ORDER_NUMBER, BUYER_EMAIL)

    def put_order(self, body: dict[str, Any]) -> httpx.Response:
        return self.post("admin", "/api/v1/orders", json=body)

    def open_return(
        self, who: str = "buyer", body: dict[str, Any] | None = None, **kwargs: Any
    ) -> dict[str, Any]:
        response = self.post(who, "/api/v1/returns", json=body or return_payload(), **kwargs)
        assert response.status_code == 201, response.text
        case: dict[str, Any] = response.json()
        return case

    def move(self, who: str, case: dict[str, Any], to: str, **body: Any) -> httpx.Response:
        """Ask for a status change with the version the caller last saw."""
        return self.post(
            who,
            f"/api/v1/returns/{case['id']}/transitions",
            json={"to": to, **body},
            headers={"If-Match": f'"{case["version"]}"'},
        )

    def moved(self, who: str, case: dict[str, Any], to: str, **body: Any) -> dict[str, Any]:
        response = self.move(who, case, to, **body)
        assert response.status_code == 200, response.text
        moved: dict[str, Any] = response.json()
        assert moved["status"] == to
        assert moved["version"] == case["version"] + 1
        assert response.headers["etag"] == f'"{moved["version"]}"'
        return moved


@pytest.fixture
def client(live_server: LiveServer) -> Iterator[httpx.Client]:
    with httpx.Client(base_url=live_server.url, timeout=60, event_hooks=HOOKS) as http:
        yield http


@pytest.fixture
def staff_emails(container: Container) -> dict[str, str]:
    """One staff account per staff role in the default store (the platform admin spans all)."""
    emails: dict[str, str] = {}
    for role in STAFF_ROLES:
        email = f"{role.value.replace('_', '-')}@shop.example"
        create_staff_user(
            container.uow,
            container.hasher,
            container.clock,
            SYSTEM,
            email=email,
            role=role,
            password=PASSWORD,
            name=f"{role.value} person",
        )
        emails[role.value] = email
    return emails


@pytest.fixture
def api(client: httpx.Client, container: Container, staff_emails: dict[str, str]) -> Api:
    """Staff tokens for every role, a seeded order (as admin) and a buyer token for it."""
    api = Api(client, container, credentials=dict(staff_emails))
    api.tokens["admin"] = api.staff_token(staff_emails["admin"])
    created = api.put_order(order_payload(container.clock()))
    assert created.status_code == 201, created.text
    api.refresh_tokens()
    # A carrier's integration token (scope carrier_events): it never expires, it is revoked.
    made = create_token(container.uow, container.clock, SYSTEM, "Carrier", ["carrier_events"])
    api.tokens[Role.integration.value] = made.secret
    return api


@pytest.fixture
def row_counts(container: Container) -> Callable[[], dict[str, int]]:
    """How many rows each table holds right now (to show a refused request changed nothing)."""

    def count() -> dict[str, int]:
        with container.engine.connect() as conn:
            return {
                table.name: int(conn.execute(select(func.count()).select_from(table)).scalar_one())
                for table in COUNTED_TABLES
            }

    return count


@pytest.fixture
def root_conftest(request: pytest.FixtureRequest) -> ModuleType:
    """tests/conftest.py as pytest loaded it (every conftest is named "conftest": no import)."""
    wanted = (Path(__file__).parent.parent / "conftest.py").resolve()
    for plugin in request.config.pluginmanager.get_plugins():
        if isinstance(plugin, ModuleType) and Path(plugin.__file__ or "").resolve() == wanted:
            return plugin
    raise RuntimeError("tests/conftest.py is not loaded")


AppFactory = Callable[..., tuple[LiveServer, Container]]


@pytest.fixture
def start_app(
    root_conftest: ModuleType, database_url: str, tmp_path: Path, clock: Any
) -> Iterator[AppFactory]:
    """Start another live app on this test's database, with some settings changed."""
    started = itertools.count()
    with ExitStack() as stack:

        def start(**overrides: object) -> tuple[LiveServer, Container]:
            home = tmp_path / f"extra-home-{next(started)}"
            settings = root_conftest.make_settings(home, database_url, **overrides)
            container: Container = root_conftest.make_container(settings, clock)
            stack.callback(container.close)
            server = stack.enter_context(LiveServer(create_app(container)))
            return server, container

        yield start
