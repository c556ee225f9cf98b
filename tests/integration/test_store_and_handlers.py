"""Handlers over the real SQL store, on SQLite and PostgreSQL: orders, returns, tenancy, queue."""

from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import UTC, datetime, timedelta, timezone

import pytest
from builders import (
    add_order,
    add_staff,
    count_rows,
    line,
    open_case,
    open_command,
    order_input,
)
from sqlalchemy import delete, func, select, text, update
from sqlalchemy.exc import DBAPIError

from returndesk.adapters.db import repositories
from returndesk.adapters.db.tables import (
    case_events,
    order_lines,
    orders,
    outbox,
    return_cases,
    shipments,
)
from returndesk.bootstrap import Container
from returndesk.domain.access import Role
from returndesk.domain.cases.model import LineRequest, ReturnCase
from returndesk.domain.cases.reasons import ReasonCode
from returndesk.domain.cases.status import CaseStatus, Resolution
from returndesk.domain.errors import (
    Conflict,
    DomainError,
    NotFound,
    PermissionDenied,
    ValidationFailed,
)
from returndesk.services.buyers import start_buyer_session
from returndesk.services.orders import LineInput, ShipmentInput, get_order, upsert_order
from returndesk.services.ports import CaseQuery, CaseSummary
from returndesk.services.principal import SYSTEM, Principal
from returndesk.services.returns import (
    MoveCase,
    OpenReturn,
    count_by_status,
    get_case,
    get_timeline,
    list_cases,
    open_return,
    transition_case,
)
from returndesk.services.stores import create_store

# --- orders ------------------------------------------------------------------------------------


def _order_rows(container: Container) -> dict[str, int]:
    with container.engine.connect() as conn:
        return {
            t.name: conn.execute(select(func.count()).select_from(t)).scalar_one()
            for t in (orders, order_lines, shipments)
        }


def test_upsert_creates_then_updates_by_number(container: Container, clock) -> None:
    now = clock()
    first = upsert_order(
        container.uow,
        SYSTEM,
        order_input(
            "1001",
            now=now,
            lines=(line("SKU-A", 3, 400, 1000), line("SKU-B", 1, 2500, 2500)),
            shipments=(ShipmentInput("UPS", "T-1", now - timedelta(days=5)),),
        ),
    )
    assert first.created is True
    created = get_order(container.uow, SYSTEM, "1001", clock).order
    assert created.id == first.order.id
    ids = {ln.sku: ln.id for ln in created.lines}
    assert [s.tracking_number for s in created.shipments] == ["T-1"]

    second = upsert_order(
        container.uow,
        SYSTEM,
        order_input(
            " 1001 ",
            now=now,
            email="New.Address@Example.com",
            lines=(line("SKU-C", 2, 700, 1300), line("SKU-A", 5, 400, 1900)),
            shipments=(
                ShipmentInput("DHL", "T-2", now - timedelta(days=4), now - timedelta(days=1)),
                ShipmentInput("DHL", "T-3", now - timedelta(days=3)),
            ),
        ),
    )
    assert second.created is False
    updated = get_order(container.uow, SYSTEM, "1001", clock).order
    assert updated.id == created.id
    assert updated.email == "new.address@example.com"
    # Lines follow the new input's order; SKU-A keeps its id, SKU-B is gone, SKU-C is new.
    assert [(ln.sku, ln.quantity, ln.paid_amount) for ln in updated.lines] == [
        ("SKU-C", 2, 1300),
        ("SKU-A", 5, 1900),
    ]
    assert updated.lines[1].id == ids["SKU-A"]
    assert updated.lines[0].id not in ids.values()
    # Shipments are replaced, not merged.
    assert sorted(s.tracking_number for s in updated.shipments) == ["T-2", "T-3"]
    assert _order_rows(container) == {"orders": 1, "order_lines": 2, "shipments": 2}


def test_order_line_in_return_cannot_be_removed_or_reduced(container: Container, clock) -> None:
    now = clock()
    original = add_order(container, "1001")
    open_case(container, "1001", ("SKU-A", 2))
    before = get_order(container.uow, SYSTEM, "1001", clock).order
    rows_before = _order_rows(container)

    attempts = {
        "removed": (line("SKU-B", 1, 2500, 2500),),
        "reduced": (line("SKU-A", 1, 400, 300), line("SKU-B", 1, 2500, 2500)),
    }
    for lines in attempts.values():
        changed = replace(
            order_input("1001", now=now, email="other@example.com", lines=lines),
            shipments=(ShipmentInput("DHL", "NEW-TRACK", now - timedelta(days=1)),),
            buyer_name="Someone Else",
        )
        with pytest.raises(ValidationFailed) as failure:
            upsert_order(container.uow, SYSTEM, changed)
        assert failure.value.code == "line_in_return"
        after = get_order(container.uow, SYSTEM, "1001", clock).order
        assert after == before  # header, lines, ids and shipments all untouched
        assert _order_rows(container) == rows_before

    # Keeping the returned units (or adding more) is fine.
    kept = replace(original, lines=(line("SKU-A", 2, 400, 700), line("SKU-B", 1, 2500, 2500)))
    assert upsert_order(container.uow, SYSTEM, kept).created is False
    assert get_order(container.uow, SYSTEM, "1001", clock).order.lines[0].id == before.lines[0].id


def test_line_of_a_canceled_return_cannot_be_removed(container: Container, clock) -> None:
    """The canceled case still shows the line in its history, so the line must stay.

    The refusal is the same as for a line in an open return: a retry can never succeed, so it
    must not be reported as a transient conflict (nor leak a database error).
    """
    add_order(container, "1001")
    opened = open_case(container, "1001", ("SKU-A", 1))
    transition_case(
        container.uow,
        clock,
        SYSTEM,
        MoveCase(opened.case.id, CaseStatus.canceled, 1, note="duplicate"),
    )
    before = get_order(container.uow, SYSTEM, "1001", clock).order
    smaller = order_input("1001", now=clock(), lines=(line("SKU-B", 1, 2500, 2500),))
    with pytest.raises(ValidationFailed) as failure:
        upsert_order(container.uow, SYSTEM, smaller)
    assert failure.value.code == "line_in_return"
    assert get_order(container.uow, SYSTEM, "1001", clock).order == before
    case = get_case(container.uow, SYSTEM, opened.case.id)
    assert [(ln.sku, ln.quantity) for ln in case.lines] == [("SKU-A", 1)]
    # Its units are free again, though: reducing the line to nothing held is fine.
    reduced = order_input(
        "1001", now=clock(), lines=(line("SKU-A", 1, 400, 300), line("SKU-B", 1, 2500, 2500))
    )
    assert upsert_order(container.uow, SYSTEM, reduced).created is False


def test_amounts_and_datetimes_round_trip_exactly(container: Container, clock) -> None:
    huge = 9_007_199_254_740_993  # 2**53 + 1: a float would lose the last unit
    placed = datetime(2024, 3, 5, 14, 23, 11, 123456, tzinfo=timezone(timedelta(hours=-8)))
    nepal = timezone(timedelta(hours=5, minutes=45))
    shipped = (clock() - timedelta(days=3)).replace(microsecond=654321).astimezone(nepal)
    delivered = (clock() - timedelta(days=1)).replace(microsecond=999999)
    data = replace(
        order_input(
            "JP-77",
            now=clock(),
            market="JP",
            currency="JPY",
            lines=(
                LineInput("BIG", "Huge", 1, huge, huge),
                LineInput("ODD", "Odd", 7, 143, 999, serial_numbers=("S1", "S2")),
            ),
            shipments=(ShipmentInput("Japan Post", "JP-1", shipped, delivered),),
        ),
        placed_at=placed,
    )
    upsert_order(container.uow, SYSTEM, data)
    order = get_order(container.uow, SYSTEM, "JP-77", clock).order
    assert order.language == "ja"
    assert [(ln.unit_price, ln.paid_amount) for ln in order.lines] == [(huge, huge), (143, 999)]
    assert order.lines[1].serial_numbers == ("S1", "S2")
    values = [order.placed_at, order.shipments[0].shipped_at, order.shipments[0].delivered_at]
    assert values == [placed, shipped, delivered]
    for value in values:
        assert value is not None
        assert value.tzinfo is UTC
    assert order.placed_at.replace(tzinfo=None) == datetime(2024, 3, 5, 22, 23, 11, 123456)
    with container.engine.connect() as conn:
        stored = conn.execute(select(order_lines.c.paid_amount).order_by(order_lines.c.position))
        assert [row[0] for row in stored] == [huge, 999]

    # The case's own timestamps and amounts come back exactly too.
    clock.advance(microseconds=424242)
    opened = open_case(container, "JP-77", ("ODD", 3), ("BIG", 1))
    case = get_case(container.uow, SYSTEM, opened.case.id)
    assert case.created_at == case.updated_at == clock()
    assert case.created_at.tzinfo is UTC
    assert [ln.refundable_amount for ln in case.lines] == [999 * 3 // 7, huge]
    summary = list_cases(container.uow, SYSTEM, CaseQuery(store_id=None)).items[0]
    assert summary.created_at == clock()
    assert summary.refundable_total == 999 * 3 // 7 + huge
    event = get_timeline(container.uow, SYSTEM, case.id)[0]
    assert event.at == clock()
    assert event.at.tzinfo is UTC


def test_naive_datetimes_are_refused_and_store_nothing(container: Container, clock) -> None:
    data = replace(order_input("1001", now=clock()), placed_at=datetime(2024, 1, 1, 12, 0))
    with pytest.raises(ValidationFailed) as failure:
        upsert_order(container.uow, SYSTEM, data)
    assert failure.value.code == "naive_datetime"
    assert _order_rows(container) == {"orders": 0, "order_lines": 0, "shipments": 0}


# --- returns through the handlers --------------------------------------------------------------


def test_open_read_and_timeline(container: Container, clock) -> None:
    add_order(container, "1001", email="Buyer@Example.com")
    _, agent = add_staff(container, "agent@shop.example")
    opened = open_return(
        container.uow,
        clock,
        agent,
        OpenReturn(
            "1001",
            (
                LineRequest("SKU-A", 2, ReasonCode.wrong_size, "  too small  "),
                LineRequest("SKU-B", 1, ReasonCode.defective),
            ),
            Resolution.exchange,
        ),
    )
    assert opened.replayed is False
    case = get_case(container.uow, agent, opened.case.id)
    assert case.number == opened.case.number
    assert case.number.startswith("R-")
    assert case.status is CaseStatus.requested
    assert case.version == 1
    assert case.preferred_resolution is Resolution.exchange
    assert case.buyer_email == "buyer@example.com"
    assert (case.market, case.language, case.currency) == ("US", "en", "USD")
    assert [(ln.sku, ln.quantity, ln.reason, ln.comment) for ln in case.lines] == [
        ("SKU-A", 2, ReasonCode.wrong_size, "too small"),
        ("SKU-B", 1, ReasonCode.defective, ""),
    ]
    assert [ln.refundable_amount for ln in case.lines] == [666, 2500]
    # The default policy decides but does not act: the case waits in `requested`.
    assert case.decision is not None
    assert case.decision == opened.case.decision
    assert case.decision["outcome"] == "offer_exchange"
    assert case.decision["policy_version"] == 0
    assert case.decision["refund"]["amount"] == 666 + 2500
    assert case.decision["rights"] == {"SKU-A": "store_change_of_mind", "SKU-B": "store_fault"}

    clock.advance(hours=1)
    moved, event = transition_case(
        container.uow,
        clock,
        agent,
        MoveCase(case.id, CaseStatus.needs_evidence, 1, note="photo please"),
    )
    assert moved.version == 2
    timeline = get_timeline(container.uow, agent, case.id)
    assert [(e.kind, e.from_status, e.to_status) for e in timeline] == [
        ("case_opened", None, CaseStatus.requested),
        ("decision_made", None, None),
        ("status_changed", CaseStatus.requested, CaseStatus.needs_evidence),
    ]
    assert timeline[2] == event
    assert timeline[2].note == "photo please"
    assert timeline[0].actor.id == agent.id
    assert timeline[0].actor.role is Role.agent
    assert timeline[1].actor.kind == "system"
    assert timeline[1].data == case.decision
    assert timeline[0].data["lines"][0] == {"sku": "SKU-A", "quantity": 2, "reason": "wrong_size"}
    assert get_case(container.uow, agent, case.id).status is CaseStatus.needs_evidence


def test_refundable_amounts_split_exactly(container: Container, clock) -> None:
    add_order(container, "1001", lines=(line("SKU-A", 3, 400, 1000),))
    amounts = [
        open_case(container, "1001", ("SKU-A", 1)).case.lines[0].refundable_amount for _ in range(3)
    ]
    assert amounts == [333, 333, 334]
    assert sum(amounts) == 1000

    add_order(container, "1002", lines=(line("SKU-A", 3, 400, 1000),))
    two = open_case(container, "1002", ("SKU-A", 1)).case
    rest = open_case(container, "1002", ("SKU-A", 2)).case
    assert (two.lines[0].refundable_amount, rest.lines[0].refundable_amount) == (333, 667)
    # What the database holds agrees with the objects handed back.
    stored = get_case(container.uow, SYSTEM, rest.id)
    assert stored.lines[0].refundable_amount == 667


def test_canceling_frees_units(container: Container, clock) -> None:
    add_order(container, "1001", lines=(line("SKU-A", 3, 400, 1000),))
    cases = [open_case(container, "1001", ("SKU-A", 1)).case for _ in range(3)]
    with pytest.raises(ValidationFailed) as failure:
        open_case(container, "1001", ("SKU-A", 1))
    assert failure.value.code == "quantity_exceeds_purchased"
    view = get_order(container.uow, SYSTEM, "1001", clock)
    assert view.returnability["SKU-A"].returnable_quantity == 0
    assert view.returnability["SKU-A"].blocked_code == "already_returned"

    buyer = start_buyer_session(container.uow, "1001", "buyer@example.com")
    transition_case(container.uow, clock, buyer, MoveCase(cases[0].id, CaseStatus.canceled, 1))
    assert (
        get_order(container.uow, SYSTEM, "1001", clock).returnability["SKU-A"].returnable_quantity
        == 1
    )
    again = open_case(container, "1001", ("SKU-A", 1)).case
    # The two that still hold units have 333 + 334; the new one gets exactly the rest.
    assert again.lines[0].refundable_amount == 333
    with pytest.raises(ValidationFailed):
        open_case(container, "1001", ("SKU-A", 1))


def test_idempotent_open_replays_the_same_case(container: Container, clock) -> None:
    add_order(container, "1001")
    first = open_case(container, "1001", ("SKU-A", 1), key="key-1")
    clock.advance(minutes=5)
    second = open_case(container, "1001", ("SKU-A", 1), key="key-1")
    assert first.replayed is False
    assert second.replayed is True
    assert second.case.id == first.case.id
    assert second.case.number == first.case.number
    assert count_rows(container.engine) == {
        "return_cases": 1,
        "return_case_lines": 1,
        "case_events": 2,  # case_opened, decision_made
        "outbox": 2,
        "idempotency_keys": 1,
    }

    # Replays still work once the units are gone to other returns.
    open_case(container, "1001", ("SKU-A", 2))
    third = open_case(container, "1001", ("SKU-A", 1), key="key-1")
    assert (third.replayed, third.case.id) == (True, first.case.id)

    with pytest.raises(Conflict) as failure:
        open_case(container, "1001", ("SKU-A", 2), key="key-1")
    assert failure.value.code == "idempotency_key_reused"
    with pytest.raises(Conflict):
        open_return(
            container.uow,
            clock,
            SYSTEM,
            replace(open_command("1001", ("SKU-A", 1)), preferred_resolution=Resolution.repair),
            "key-1",
        )
    assert count_rows(container.engine)["return_cases"] == 2


def test_idempotency_keys_belong_to_their_principal(container: Container, clock) -> None:
    add_order(container, "1001")
    _, agent = add_staff(container, "agent@shop.example")
    buyer = start_buyer_session(container.uow, "#1001", " BUYER@example.com ")
    ids = {
        principal.kind: open_case(container, "1001", ("SKU-A", 1), principal=principal, key="k")
        for principal in (SYSTEM, agent, buyer)
    }
    assert all(not opened.replayed for opened in ids.values())
    assert len({opened.case.id for opened in ids.values()}) == 3
    # Each principal still gets its own case back on replay.
    for principal in (SYSTEM, agent, buyer):
        replay = open_case(container, "1001", ("SKU-A", 1), principal=principal, key="k")
        assert replay.replayed is True
        assert replay.case.id == ids[principal.kind].case.id
    assert count_rows(container.engine)["idempotency_keys"] == 3


# --- store isolation ---------------------------------------------------------------------------


@dataclass(frozen=True)
class TwoStores:
    agent_a: Principal
    admin_a: Principal
    agent_b: Principal
    case_a: ReturnCase  # store "default", order 1001
    case_a2: ReturnCase  # store "default", order 1002
    case_b: ReturnCase  # store "second", its own order 1001


def _two_stores(container: Container, clock) -> TwoStores:
    _, agent_a = add_staff(container, "agent@a.example")
    _, admin_a = add_staff(container, "admin@a.example", Role.admin)
    create_store(container.uow, clock, slug="second", name="Second shop", default_currency="EUR")
    _, agent_b = add_staff(container, "agent@b.example", store_slug="second")
    add_order(container, "1001", store_slug="default")
    add_order(container, "1002", store_slug="default", email="other@example.com")
    # The same order number and email in another store is another order.
    add_order(container, "1001", store_slug="second", market="DE", currency="EUR")
    return TwoStores(
        agent_a,
        admin_a,
        agent_b,
        open_case(container, "1001", store_slug="default").case,
        open_case(container, "1002", store_slug="default").case,
        open_case(container, "1001", store_slug="second").case,
    )


def test_staff_never_see_another_store(container: Container, clock) -> None:
    world = _two_stores(container, clock)
    agent_a, agent_b, admin_a = world.agent_a, world.agent_b, world.admin_a
    case_a, case_a2, case_b = world.case_a, world.case_a2, world.case_b

    for reader, foreign in ((agent_a, case_b), (agent_b, case_a)):
        with pytest.raises(NotFound) as failure:
            get_case(container.uow, reader, foreign.id)
        assert failure.value.code == "case_not_found"
        assert not isinstance(failure.value, PermissionDenied)
        with pytest.raises(NotFound):
            get_timeline(container.uow, reader, foreign.id)
        with pytest.raises(NotFound):
            transition_case(
                container.uow,
                clock,
                reader,
                MoveCase(foreign.id, CaseStatus.under_review, 1),
            )
    assert get_case(container.uow, SYSTEM, case_b.id).version == 1

    # Asking for the other store's queue explicitly still gets one's own.
    for asked in (None, case_b.store_id):
        page = list_cases(container.uow, agent_a, CaseQuery(store_id=asked))
        assert {s.id for s in page.items} == {case_a.id, case_a2.id}
    page_b = list_cases(container.uow, agent_b, CaseQuery(store_id=case_a.store_id))
    assert [s.id for s in page_b.items] == [case_b.id]
    assert count_by_status(container.uow, agent_b) == {CaseStatus.requested: 1}
    assert count_by_status(container.uow, agent_a) == {CaseStatus.requested: 2}
    # Orders of the other store are missing too, and a store's admin cannot write there.
    with pytest.raises(NotFound):
        get_order(container.uow, agent_a, "1001", clock, store_slug="second")
    with pytest.raises(NotFound):
        upsert_order(container.uow, admin_a, order_input("9999", now=clock()), store_slug="second")
    with pytest.raises(NotFound):
        open_case(container, "1001", principal=agent_a, store_slug="second")
    assert get_order(container.uow, agent_a, "1001", clock).order.market == "US"
    assert get_order(container.uow, agent_b, "1001", clock).order.market == "DE"


def test_platform_admin_sees_every_store(container: Container, clock) -> None:
    world = _two_stores(container, clock)
    everything = {world.case_a.id, world.case_a2.id, world.case_b.id}
    page = list_cases(container.uow, SYSTEM, CaseQuery(store_id=None))
    assert {s.id for s in page.items} == everything
    only_b = list_cases(container.uow, SYSTEM, CaseQuery(store_id=world.case_b.store_id))
    assert [s.id for s in only_b.items] == [world.case_b.id]
    assert count_by_status(container.uow, SYSTEM) == {CaseStatus.requested: 3}
    for case_id in everything:
        assert get_case(container.uow, SYSTEM, case_id).id == case_id
    moved, _ = transition_case(
        container.uow,
        clock,
        SYSTEM,
        MoveCase(world.case_b.id, CaseStatus.under_review, 1),
    )
    assert moved.status is CaseStatus.under_review


def test_buyer_reads_only_cases_of_its_order(container: Container, clock) -> None:
    world = _two_stores(container, clock)
    buyer = start_buyer_session(container.uow, "1001", "buyer@example.com", "default")
    assert buyer.role is Role.buyer
    own = get_case(container.uow, buyer, world.case_a.id)
    assert own.order_number == "1001"
    assert [e.kind for e in get_timeline(container.uow, buyer, own.id)] == [
        "case_opened",
        "decision_made",
    ]
    for foreign in (world.case_a2, world.case_b):  # same store other order; other store
        with pytest.raises(NotFound):
            get_case(container.uow, buyer, foreign.id)
        with pytest.raises(NotFound):
            get_timeline(container.uow, buyer, foreign.id)
        with pytest.raises(NotFound):
            transition_case(
                container.uow,
                clock,
                buyer,
                MoveCase(foreign.id, CaseStatus.canceled, 1),
            )
    with pytest.raises(NotFound):
        get_order(container.uow, buyer, "1002", clock)
    with pytest.raises(NotFound):
        open_case(container, "1002", principal=buyer)
    with pytest.raises(PermissionDenied):
        list_cases(container.uow, buyer, CaseQuery(store_id=None))
    view = get_order(container.uow, buyer, "1001", clock)
    assert [c.id for c in view.cases] == [own.id]
    # The other store's buyer with the same number and email gets that store's order only.
    buyer_b = start_buyer_session(container.uow, "1001", "buyer@example.com", "second")
    assert buyer_b.order_id != buyer.order_id
    assert get_case(container.uow, buyer_b, world.case_b.id).market == "DE"
    with pytest.raises(NotFound):
        get_case(container.uow, buyer_b, own.id)


# --- the queue ---------------------------------------------------------------------------------


def _queue(container: Container, clock) -> dict[str, CaseSummary]:
    """Cases across markets and languages, a day apart, some moved on later."""
    add_order(container, "US-1", email="ann@example.com", market="US")
    add_order(container, "DE-1", email="bea@example.com", market="DE", currency="EUR")
    add_order(container, "JP-1", email="cho@example.com", market="JP", currency="JPY")
    add_order(container, "BR-1", email="dan@example.com", market="BR", currency="BRL")
    add_order(container, "CH-1", email="eve@example.com", market="CH", currency="CHF")
    add_order(container, "US-2", email="fay@example.com", market="US", language="es")
    opened = {}
    for number in ("US-1", "DE-1", "JP-1", "BR-1", "CH-1", "US-2"):
        clock.advance(days=1)
        opened[number] = open_case(container, number).case
    clock.advance(days=1)
    transition_case(
        container.uow, clock, SYSTEM, MoveCase(opened["US-1"].id, CaseStatus.under_review, 1)
    )
    clock.advance(days=1)
    transition_case(
        container.uow, clock, SYSTEM, MoveCase(opened["JP-1"].id, CaseStatus.approved, 1)
    )
    page = list_cases(container.uow, SYSTEM, CaseQuery(store_id=None, limit=100))
    by_id = {s.id: s for s in page.items}
    return {number: by_id[case.id] for number, case in opened.items()}


def _numbers(container: Container, query: CaseQuery, cases: dict[str, CaseSummary]) -> list[str]:
    names = {summary.id: number for number, summary in cases.items()}
    return [names[s.id] for s in list_cases(container.uow, SYSTEM, query).items]


def test_queue_filters(container: Container, clock) -> None:
    cases = _queue(container, clock)
    q = CaseQuery(store_id=None, sort="created_at")

    def numbers(**kwargs: object) -> list[str]:
        return _numbers(container, replace(q, **kwargs), cases)  # type: ignore[arg-type]

    assert numbers() == ["US-1", "DE-1", "JP-1", "BR-1", "CH-1", "US-2"]
    assert numbers(statuses=(CaseStatus.requested,)) == ["DE-1", "BR-1", "CH-1", "US-2"]
    assert numbers(statuses=(CaseStatus.under_review, CaseStatus.approved)) == ["US-1", "JP-1"]
    assert numbers(statuses=(CaseStatus.refunded,)) == []
    assert numbers(market="US") == ["US-1", "US-2"]
    assert numbers(market="JP") == ["JP-1"]
    assert numbers(language="de") == ["DE-1", "CH-1"]
    assert numbers(language="es") == ["US-2"]
    assert numbers(language="pt-BR") == ["BR-1"]
    assert numbers(market="US", language="en") == ["US-1"]
    assert numbers(market="DE", statuses=(CaseStatus.approved,)) == []
    # q: a case number (any case), an order number (with or without "#"), an email (any case).
    jp = cases["JP-1"]
    assert numbers(q=jp.number) == ["JP-1"]
    assert numbers(q=f"  {jp.number.lower()} ") == ["JP-1"]
    assert numbers(q="DE-1") == ["DE-1"]
    assert numbers(q="#BR-1") == ["BR-1"]
    assert numbers(q="Eve@Example.COM") == ["CH-1"]
    assert numbers(q="nobody@example.com") == []
    assert numbers(q="fay@example.com", market="DE") == []
    # created_after is inclusive, created_before exclusive.
    de, ch = cases["DE-1"].created_at, cases["CH-1"].created_at
    assert numbers(created_after=de, created_before=ch) == ["DE-1", "JP-1", "BR-1"]
    assert numbers(created_after=ch) == ["CH-1", "US-2"]
    assert numbers(created_before=de) == ["US-1"]
    # Bounds in another time zone mean the same instants.
    tokyo = timezone(timedelta(hours=9))
    assert numbers(created_after=de.astimezone(tokyo), created_before=ch.astimezone(tokyo)) == [
        "DE-1",
        "JP-1",
        "BR-1",
    ]


def test_queue_sorts(container: Container, clock) -> None:
    cases = _queue(container, clock)
    by_created = ["US-1", "DE-1", "JP-1", "BR-1", "CH-1", "US-2"]
    # US-1 and JP-1 were moved on after every case was opened (US-1 first).
    by_updated = ["DE-1", "BR-1", "CH-1", "US-2", "US-1", "JP-1"]
    expected = {
        "created_at": by_created,
        "-created_at": by_created[::-1],
        "updated_at": by_updated,
        "-updated_at": by_updated[::-1],
    }
    for sort, order in expected.items():
        assert _numbers(container, CaseQuery(store_id=None, sort=sort), cases) == order, sort
    default = _numbers(container, CaseQuery(store_id=None), cases)
    assert default == expected["-created_at"]


def _walk(container: Container, query: CaseQuery) -> list[CaseSummary]:
    seen: list[CaseSummary] = []
    cursor = None
    for _ in range(100):
        page = list_cases(container.uow, SYSTEM, replace(query, cursor=cursor))
        assert len(page.items) <= query.limit
        seen.extend(page.items)
        cursor = page.next_cursor
        if cursor is None:
            return seen
        assert page.items, "a page with a cursor but no items"
    raise AssertionError("pagination does not end")


@pytest.mark.parametrize("sort", ["created_at", "-created_at", "updated_at", "-updated_at"])
def test_keyset_pagination_with_equal_timestamps(container: Container, clock, sort: str) -> None:
    """Clock frozen: most cases share created_at; every case comes back exactly once."""
    for i in range(4):
        add_order(container, f"P-{i}", lines=(line("SKU-A", 9, 100, 900),))
    ids = []
    for i in range(4):
        for _ in range(6):  # 24 cases at one instant in four batches of six
            ids.append(open_case(container, f"P-{i}", ("SKU-A", 1)).case.id)
    clock.advance(seconds=1)
    ids.append(open_case(container, "P-0", ("SKU-A", 1)).case.id)  # one later case
    clock.advance(seconds=1)
    for case_id in ids[:5]:  # a few get a later updated_at, sharing it too
        transition_case(container.uow, clock, SYSTEM, MoveCase(case_id, CaseStatus.under_review, 1))

    everything = list_cases(container.uow, SYSTEM, CaseQuery(store_id=None, sort=sort, limit=200))
    assert len(everything.items) == 25
    assert everything.next_cursor is None
    for limit in (1, 4, 7, 24, 25):
        walked = _walk(container, CaseQuery(store_id=None, sort=sort, limit=limit))
        walked_ids = [s.id for s in walked]
        assert len(walked_ids) == len(set(walked_ids)) == 25, limit
        assert set(walked_ids) == set(ids)
        assert walked_ids == [s.id for s in everything.items], limit
    key = "created_at" if sort.endswith("created_at") else "updated_at"
    rows = [(getattr(s, key), s.id) for s in everything.items]
    assert rows == sorted(rows, reverse=sort.startswith("-"))

    # With filters the walk is complete too.
    filtered = _walk(
        container,
        CaseQuery(store_id=None, sort=sort, limit=3, statuses=(CaseStatus.requested,)),
    )
    assert len(filtered) == len({s.id for s in filtered}) == 20


# --- atomicity and the append-only timeline ----------------------------------------------------


def test_failed_transition_leaves_nothing(container: Container, clock) -> None:
    add_order(container, "1001")
    opened = open_case(container, "1001", key="k-1")
    before = count_rows(container.engine)
    for move in (
        MoveCase(opened.case.id, CaseStatus.declined, 1),  # guard: a note is required
        MoveCase(opened.case.id, CaseStatus.refunded, 1),  # not in the table
        MoveCase(opened.case.id, CaseStatus.under_review, 1, refund_amount=10),
    ):
        with pytest.raises(DomainError):
            transition_case(container.uow, clock, SYSTEM, move)
    assert count_rows(container.engine) == before
    case = get_case(container.uow, SYSTEM, opened.case.id)
    assert (case.status, case.version) == (CaseStatus.requested, 1)


def test_failed_open_leaves_nothing(container: Container, clock) -> None:
    add_order(container, "1001")
    open_case(container, "1001", ("SKU-A", 1))
    before = count_rows(container.engine)
    bad_seconds = [("SKU-B", 2), ("NOPE", 1), ("SKU-A", 1)]  # too many; unknown; listed twice
    for second in bad_seconds:
        with pytest.raises(ValidationFailed):
            open_case(container, "1001", ("SKU-A", 1), second, key=f"key-{second[0]}")
    assert count_rows(container.engine) == before
    # The keys were not burnt: the same keys with a good body work now.
    good = open_case(container, "1001", ("SKU-A", 1), key="key-NOPE")
    assert good.replayed is False


class Boom(RuntimeError):
    pass


def test_failure_after_writes_rolls_everything_back(
    container: Container, clock, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The case row, its lines and its events are written before the outbox: all or nothing."""
    add_order(container, "1001")
    opened = open_case(container, "1001")
    before = count_rows(container.engine)

    def fail(self: object, messages: object) -> None:
        raise Boom("outbox down")

    monkeypatch.setattr(repositories.SqlOutbox, "add", fail)
    with pytest.raises(Boom):
        open_case(container, "1001", ("SKU-A", 1), ("SKU-B", 1), key="k-2")
    with pytest.raises(Boom):
        transition_case(
            container.uow, clock, SYSTEM, MoveCase(opened.case.id, CaseStatus.approved, 1)
        )
    assert count_rows(container.engine) == before
    case = get_case(container.uow, SYSTEM, opened.case.id)
    assert (case.status, case.version) == (CaseStatus.requested, 1)
    monkeypatch.undo()
    assert (
        get_order(container.uow, SYSTEM, "1001", clock).returnability["SKU-B"].returnable_quantity
        == 1
    )


def test_every_event_has_one_outbox_message(container: Container, clock) -> None:
    add_order(container, "1001")
    opened = open_case(container, "1001", ("SKU-A", 2))
    version = 1
    for step in (CaseStatus.approved, CaseStatus.awaiting_return, CaseStatus.received):
        clock.advance(minutes=10)
        case, _ = transition_case(
            container.uow, clock, SYSTEM, MoveCase(opened.case.id, step, version)
        )
        version = case.version
    open_case(container, "1001", ("SKU-B", 1))
    with container.engine.connect() as conn:
        events = conn.execute(select(case_events.c.id, case_events.c.kind)).all()
        messages = conn.execute(select(outbox.c.topic, outbox.c.payload)).all()
    assert len(events) == 7  # each case: case_opened, decision_made; then 3 moves of the first
    by_event = {}
    for topic, payload in messages:
        by_event.setdefault(payload["event_id"], []).append((topic, payload))
    assert set(by_event) == {event_id for event_id, _ in events}
    for event_id, kind in events:
        [(topic, payload)] = by_event[event_id]
        assert topic == f"case.{kind}"
        assert payload["kind"] == kind
    last = next(p for msgs in by_event.values() for _, p in msgs if p["to_status"] == "received")
    assert (last["case_id"], last["version"], last["status"]) == (opened.case.id, 4, "received")
    assert last["data"]["received"] == [{"sku": "SKU-A", "quantity": 2, "condition": "intact"}]


def test_case_events_are_append_only(container: Container, clock) -> None:
    add_order(container, "1001")
    open_case(container, "1001")
    statements = (
        update(case_events).values(note="rewritten"),
        delete(case_events),
        text("UPDATE case_events SET kind = 'tampered'"),
        text("DELETE FROM case_events"),
    )
    for statement in statements:
        with pytest.raises(DBAPIError), container.engine.begin() as conn:
            conn.execute(statement)
    timeline = get_timeline(container.uow, SYSTEM, count_case_id(container))
    assert [(e.kind, e.note) for e in timeline] == [("case_opened", ""), ("decision_made", "")]
    # Deleting the case would cascade into its events: refused as well.
    with pytest.raises(DBAPIError), container.engine.begin() as conn:
        conn.execute(delete(return_cases))
    assert count_rows(container.engine)["case_events"] == 2


def test_case_events_cannot_be_wiped_in_bulk(container: Container, clock) -> None:
    """TRUNCATE skips row triggers on PostgreSQL; the timeline must survive it too."""
    add_order(container, "1001")
    open_case(container, "1001")
    wipe = "TRUNCATE case_events" if container.engine.dialect.name == "postgresql" else None
    with pytest.raises(DBAPIError), container.engine.begin() as conn:
        conn.execute(text(wipe or "DELETE FROM case_events"))
    assert count_rows(container.engine)["case_events"] == 2


def count_case_id(container: Container) -> str:
    with container.engine.connect() as conn:
        return conn.execute(select(return_cases.c.id)).scalar_one()
