"""The `returndesk` command line, in process, against a real SQLite file (real argon2)."""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from pathlib import Path

import pytest
from builders import PASSWORD
from sqlalchemy import Engine, distinct, func, select
from typer.testing import CliRunner, Result

from returndesk.adapters.auth.passwords import Argon2Hasher
from returndesk.adapters.db.engine import build_engine
from returndesk.adapters.db.tables import (
    case_work,
    conversations,
    help_articles,
    order_lines,
    orders,
    policy_versions,
    return_cases,
    shipments,
    staff_users,
    stats_day_totals,
    stores,
)
from returndesk.adapters.db.uow import SqlUnitOfWorkFactory
from returndesk.bootstrap import bootstrap
from returndesk.cli.main import app
from returndesk.config import DEFAULT_SECRET
from returndesk.demo import demo_policy_document
from returndesk.domain.access import Role
from returndesk.domain.cases.status import CaseStatus
from returndesk.domain.errors import AuthenticationFailed
from returndesk.services.calls import start_call
from returndesk.services.principal import Principal
from returndesk.services.staff import authenticate

FIXTURE = Path(__file__).resolve().parents[1] / "fixtures" / "shopify_orders.csv"
SECRET = "cli-test-secret-that-is-long-enough-0123456789"


@pytest.fixture
def database(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[str]:
    """Environment for a demo deployment in tmp_path; yields its database URL."""
    url = f"sqlite:///{tmp_path / 'cli.sqlite3'}"
    for name in ("RETURNDESK_SECRET_KEY", "RETURNDESK_DEMO"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("RETURNDESK_HOME", str(tmp_path / "home"))
    monkeypatch.setenv("RETURNDESK_DATABASE_URL", url)
    monkeypatch.setenv("RETURNDESK_DEMO", "1")
    monkeypatch.setenv("COLUMNS", "200")  # rich: keep table cells on one line
    yield url


@pytest.fixture
def engine(database: str) -> Iterator[Engine]:
    built = build_engine(database)
    yield built
    built.dispose()


def cli(*args: str) -> Result:
    return CliRunner().invoke(app, list(args))


def ok(*args: str) -> str:
    result = cli(*args)
    assert result.exit_code == 0, (result.output, result.exception)
    return result.output


def count(engine: Engine, table: object) -> int:
    with engine.connect() as conn:
        return conn.execute(select(func.count()).select_from(table)).scalar_one()  # type: ignore[arg-type]


def has_row(output: str, *cells: str) -> bool:
    return any(all(cell in ln for cell in cells) for ln in output.splitlines())


def test_migrate_creates_schema_and_a_store(engine: Engine) -> None:
    output = ok("migrate")
    assert "database ready" in output
    assert "store: default" in output
    with engine.connect() as conn:
        assert conn.execute(select(stores.c.slug)).scalars().all() == ["default"]
    assert count(engine, return_cases) == 0
    ok("migrate")  # again: nothing new
    assert count(engine, stores) == 1


def test_users_create_and_authenticate(engine: Engine) -> None:
    ok("migrate")
    output = ok(
        "users", "create", "--email", "Agent@Shop.example", "--role", "agent",
        "--password", PASSWORD, "--name", "Ana Agent",
    )  # fmt: skip
    assert "created agent agent@shop.example" in output
    uow = SqlUnitOfWorkFactory(engine)
    hasher = Argon2Hasher()
    user = authenticate(uow, hasher, "agent@shop.example", PASSWORD)
    assert (user.role, user.name) == (Role.agent, "Ana Agent")
    with engine.connect() as conn:
        assert user.store_id == conn.execute(select(stores.c.id)).scalar_one()
    with pytest.raises(AuthenticationFailed):
        authenticate(uow, hasher, "agent@shop.example", PASSWORD + "!")

    again = cli(
        "users", "create", "--email", "agent@shop.example", "--role", "admin",
        "--password", "another-long-password",
    )  # fmt: skip
    assert again.exit_code == 1, again.output
    assert "email_taken" in again.output
    weak = cli("users", "create", "--email", "w@shop.example", "--role", "agent", "--password", "x")
    assert weak.exit_code == 1
    assert "weak_password" in weak.output
    assert count(engine, staff_users) == 1


# (physical line, order number, code) of every rejected row in the fixture.
REJECTED = [
    ("12", "1005", "invalid_amount"),
    ("13", "1006", "invalid_currency"),
    ("14", "1007", "missing_email"),
    ("17", "1008", "invalid_quantity"),
    ("18", "1009", "orphan_line"),
]
# number -> currency, [(sku, quantity, unit_price, paid_amount)] in minor units.
IMPORTED = {
    "1001": ("USD", [("TEE-BLK-M", 2, 2499, 4472), ("HOODIE-GRY-L", 1, 4500, 4026)]),
    "1002": (
        "JPY",
        [
            ("MUG-HSM-01", 2, 3300, 5969),
            ("NAME:Furoshiki Wrap", 1, 1500, 1428),
            ("CHOP-SET-3", 3, 880, 2513),
        ],
    ),
    "1003": ("EUR", [("DL-PATTERN-LIB", 1, 5990, 5990)]),
    "1004": ("BRL", [("CAN-ESM-AZ", 3, 4900, 12000), ("AVT-LINHO", 1, 21300, 19800)]),
    "1010": ("GBP", [("NB-A5-REC", 1, 3000, 2700)]),
}


def _imported(engine: Engine) -> dict[str, tuple[str, list[tuple[str, int, int, int]]]]:
    with engine.connect() as conn:
        heads = conn.execute(select(orders.c.id, orders.c.number, orders.c.currency)).all()
        found = {}
        for order_id, number, currency in heads:
            lines = conn.execute(
                select(
                    order_lines.c.sku,
                    order_lines.c.quantity,
                    order_lines.c.unit_price,
                    order_lines.c.paid_amount,
                )
                .where(order_lines.c.order_id == order_id)
                .order_by(order_lines.c.position)
            ).all()
            found[number] = (currency, [tuple(row) for row in lines])
        return found  # type: ignore[return-value]


def _summary_count(output: str, label: str) -> int:
    match = re.search(rf"{label}\D*(\d+)", output)
    assert match, (label, output)
    return int(match.group(1))


def test_orders_import_reports_and_stores_exact_amounts(engine: Engine) -> None:
    ok("migrate")
    output = ok("orders", "import", str(FIXTURE))
    assert _summary_count(output, "rows read") == 17
    assert _summary_count(output, "orders created") == 5
    assert _summary_count(output, "orders updated") == 0
    assert _summary_count(output, "orders rejected") == 5
    assert _summary_count(output, "rows rejected") == 5
    for line_no, number, code in REJECTED:
        assert has_row(output, line_no, number, code), (line_no, number, code, output)
    assert _imported(engine) == IMPORTED
    with engine.connect() as conn:
        ids = dict(conn.execute(select(order_lines.c.sku, order_lines.c.id)).all())
        placed = conn.execute(select(orders.c.placed_at).where(orders.c.number == "1002"))
        assert placed.scalar_one().isoformat() == "2024-03-07T01:05:42+00:00"
    assert count(engine, shipments) == 4  # every fulfilled order; 1003 was not

    again = ok("orders", "import", str(FIXTURE))
    assert _summary_count(again, "orders created") == 0
    assert _summary_count(again, "orders updated") == 5
    assert _imported(engine) == IMPORTED
    assert count(engine, orders) == 5
    assert count(engine, shipments) == 4
    with engine.connect() as conn:
        assert dict(conn.execute(select(order_lines.c.sku, order_lines.c.id)).all()) == ids


def test_orders_import_refuses_a_file_that_is_not_utf8(engine: Engine, tmp_path: Path) -> None:
    ok("migrate")
    latin1 = tmp_path / "export-latin1.csv"
    text = FIXTURE.read_text(encoding="utf-8").replace("São Paulo", "São Paulo Müller")
    latin1.write_bytes(text.encode("latin-1"))
    result = cli("orders", "import", str(latin1))
    assert result.exit_code == 1, result.output
    assert "invalid_encoding" in result.output
    assert count(engine, orders) == 0


def test_orders_import_of_a_utf8_file_with_bom(engine: Engine, tmp_path: Path) -> None:
    ok("migrate")
    bom = tmp_path / "export-bom.csv"
    bom.write_bytes(b"\xef\xbb\xbf" + FIXTURE.read_bytes())
    output = ok("orders", "import", str(bom))
    assert _summary_count(output, "orders created") == 5
    assert _imported(engine) == IMPORTED


def test_seed_demo_fills_every_status_once(engine: Engine) -> None:
    output = ok("seed-demo")
    assert "admin@demo.returndesk.dev" in output
    assert count(engine, staff_users) == 5
    assert count(engine, orders) == 37
    with engine.connect() as conn:
        statuses = conn.execute(
            select(return_cases.c.status, func.count()).group_by(return_cases.c.status)
        ).all()
    by_status = {CaseStatus(status): n for status, n in statuses}
    assert set(by_status) == set(CaseStatus)
    cases = sum(by_status.values())
    assert f"37 orders, {cases} cases" in output
    with engine.connect() as conn:
        roles = sorted(conn.execute(select(staff_users.c.role)).scalars())
    assert roles == sorted(["admin", "supervisor", "agent", "agent", "warehouse"])
    # The assistant's side: help articles for the demo products, and two chats (one waiting
    # for a person, in Portuguese) so the console's Conversations page has something to show.
    assert count(engine, help_articles) >= 10
    with engine.connect() as conn:
        chats = conn.execute(select(conversations.c.status, conversations.c.language)).all()
    assert sorted(chats) == [("handed_off", "pt-BR"), ("open", "de")]

    again = ok("seed-demo")
    assert "already seeded" in again
    assert count(engine, staff_users) == 5
    assert count(engine, orders) == 37
    assert count(engine, return_cases) == cases
    assert count(engine, stores) == 1


def test_the_demo_teams_route_every_case_and_the_sweep_reports_breaches(engine: Engine) -> None:
    ok("seed-demo")
    listed = ok("teams", "list")
    assert has_row(listed, "Shanghai", "Asia/Shanghai")
    assert has_row(listed, "agent.br@demo.returndesk.dev", "offline", "pt-BR")
    # Every demo case was routed when it was opened (nobody was online: to a team's queue).
    assert count(engine, case_work) == count(engine, return_cases)
    with engine.connect() as conn:
        rules = set(conn.execute(select(case_work.c.sla["rule"].as_string())).scalars())
    assert rules <= {"team_queue", "any_team"}
    swept = json.loads(ok("teams", "sweep"))
    # The open demo cases were filed weeks ago: their clocks ran out, once each.
    assert swept["breaches"] > 0
    assert json.loads(ok("teams", "sweep"))["breaches"] == 0


def test_stats_refresh_recounts_the_days_writes_touched_once(engine: Engine) -> None:
    ok("seed-demo")
    with engine.connect() as conn:
        days = conn.execute(
            select(func.count(distinct(func.date(return_cases.c.created_at))))
        ).scalar_one()
    recounted = json.loads(ok("stats", "refresh"))["days_recounted"]
    assert recounted >= days > 1  # the orders' days too
    assert json.loads(ok("stats", "refresh")) == {"days_recounted": 0}
    with engine.connect() as conn:
        assert conn.execute(select(func.sum(stats_day_totals.c.cases))).scalar_one() == count(
            engine, return_cases
        )


def test_seed_demo_saves_the_demo_policy_and_decides_every_case(engine: Engine) -> None:
    ok("seed-demo")
    with engine.connect() as conn:
        versions = conn.execute(select(policy_versions)).all()
        active = conn.execute(select(stores.c.policy_version, stores.c.policy)).one()
        decided = conn.execute(
            select(return_cases.c.decision_outcome, return_cases.c.decision)
        ).all()
    # The history is seeded with automation off (agents moved every case), then it is turned on.
    manual, automated = sorted(versions, key=lambda v: v.version)
    assert (manual.version, manual.note) == (1, "Demo policy")
    assert manual.document == {**demo_policy_document(), "automation": {"apply": False}}
    assert automated.version == 2
    assert automated.document == demo_policy_document()
    assert automated.document["automation"] == {"apply": True}
    assert (active.policy_version, active.policy) == (2, automated.document)
    assert decided
    for outcome, decision in decided:
        assert outcome is not None
        assert decision["outcome"] == outcome
        assert decision["policy_version"] == 1

    ok("seed-demo")
    assert count(engine, policy_versions) == 2


@pytest.mark.parametrize(
    "secret",
    [None, DEFAULT_SECRET, "too-short-0123456789"],
    ids=["no-secret", "default-secret", "short-secret"],
)
def test_refuses_to_start_without_demo_mode_and_a_real_secret(
    database: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, secret: str | None
) -> None:
    monkeypatch.delenv("RETURNDESK_DEMO")
    if secret is not None:
        monkeypatch.setenv("RETURNDESK_SECRET_KEY", secret)
    for args in (("migrate",), ("seed-demo",), ("orders", "import", str(FIXTURE))):
        result = cli(*args)
        assert result.exit_code == 2, (args, result.output, result.exception)
        assert "RETURNDESK_SECRET_KEY" in result.output
    assert not (tmp_path / "cli.sqlite3").exists()
    monkeypatch.setenv("RETURNDESK_DEMO", "0")
    assert cli("migrate").exit_code == 2


def test_starts_without_demo_mode_with_a_real_secret(
    engine: Engine, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("RETURNDESK_DEMO")
    monkeypatch.setenv("RETURNDESK_SECRET_KEY", SECRET)
    assert "store: default" in ok("migrate")
    assert count(engine, stores) == 1


def test_calls_list_and_sweep(engine: Engine) -> None:
    ok("seed-demo")
    with engine.connect() as conn:
        number, case_id = conn.execute(
            select(return_cases.c.number, return_cases.c.id)
            .where(return_cases.c.status == CaseStatus.requested.value)
            .limit(1)
        ).one()
        agent = conn.execute(
            select(staff_users.c.id, staff_users.c.name, staff_users.c.store_id).where(
                staff_users.c.role == Role.agent.value
            )
        ).first()
    assert agent is not None
    assert "no video calls" in ok("calls", "list", "--case", number)
    container = bootstrap()
    try:
        staff = Principal("staff", agent.id, Role.agent, agent.store_id, agent.name)
        start_call(container.uow, container.clock, container.tokens, staff, case_id=case_id,
                   link_minutes=5)  # fmt: skip
    finally:
        container.close()
    listed = ok("calls", "list", "--case", number)
    assert "waiting" in listed and "nobody joined" in listed and "consent not asked" in listed
    assert json.loads(ok("calls", "sweep")) == {
        "ended": 0,
        "recordings_finished": 0,
        "bookings_changed": 0,
    }


def test_carrier_events_import_and_integration_tokens(engine: Engine, tmp_path: Path) -> None:
    ok("seed-demo")
    with engine.connect() as conn:
        number, case_id = conn.execute(
            select(return_cases.c.number, return_cases.c.id)
            .where(return_cases.c.status == CaseStatus.awaiting_return.value)
            .limit(1)
        ).one()
    csv_file = tmp_path / "scans.csv"
    csv_file.write_text(
        "tracking_number,carrier,status,occurred_at,location,reference\n"
        f"1ZCLI0001,UPS,accepted,2026-11-20T10:00:00+00:00,Berlin,{number}\n"
        "1ZCLI0001,UPS,in_transit,2026-11-21T08:00:00+00:00,Leipzig,\n"
        "1ZCLI0001,UPS,teleported,2026-11-21T09:00:00+00:00,,\n"
        "1ZNOBODY,UPS,accepted,2026-11-21T09:00:00+00:00,,\n",
        encoding="utf-8",
    )
    first = cli("carrier-events", "import", str(csv_file))
    assert first.exit_code == 1, first.output  # the bad rows are listed, the others recorded
    assert "row 4: invalid_row" in first.output and "row 5: unknown_tracking_number" in first.output
    assert '"recorded": 2' in first.output and '"moved": 1' in first.output
    with engine.connect() as conn:
        status, tracking = conn.execute(
            select(return_cases.c.status, return_cases.c.return_tracking_number).where(
                return_cases.c.id == case_id
            )
        ).one()
    assert (status, tracking) == ("in_transit", "1ZCLI0001")
    again = cli("carrier-events", "import", str(csv_file))
    assert '"recorded": 0' in again.output and '"duplicates": 2' in again.output

    created = ok("integrations", "create", "--name", "UPS webhook", "--scope", "carrier_events")
    token = created.strip().splitlines()[-1]
    assert token.startswith("rdi_")
    token_id = created.split()[0]
    assert "revoked" in ok("integrations", "revoke", token_id)
    refused = cli("integrations", "create", "--name", "x", "--scope", "everything")
    assert refused.exit_code == 1 and "invalid_scopes" in refused.output
