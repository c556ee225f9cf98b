"""Concurrent writers on one database, on SQLite and PostgreSQL: versions, units, keys."""

from __future__ import annotations

import threading
from collections import Counter
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import replace
from typing import TypeVar

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
from sqlalchemy import func, select
from sqlalchemy.exc import SQLAlchemyError

from returndesk.adapters.db.tables import exchanges
from returndesk.adapters.payments import StripeRefunds
from returndesk.bootstrap import Container
from returndesk.domain.cases.status import CaseStatus, Resolution
from returndesk.domain.errors import DomainError, StaleVersion
from returndesk.services.exchanges import OrderExchange, get_exchange, order_exchange
from returndesk.services.orders import get_order, upsert_order
from returndesk.services.principal import SYSTEM
from returndesk.services.receiving import ReceiveParcel, receive
from returndesk.services.refunds import RequestRefund, list_refunds, request_refund
from returndesk.services.returns import (
    MoveCase,
    get_case,
    get_timeline,
    open_return,
    transition_case,
)
from servers.stripe import API_KEY, LocalStripe

THREADS = 8
T = TypeVar("T")


def race(work: Callable[[int], T], threads: int = THREADS) -> list[T | BaseException]:
    """Run `work(i)` in `threads` threads released at the same moment; results or errors."""
    barrier = threading.Barrier(threads, timeout=30)

    def one(i: int) -> T | BaseException:
        barrier.wait()
        try:
            return work(i)
        except Exception as exc:
            return exc

    with ThreadPoolExecutor(max_workers=threads) as pool:
        return list(pool.map(one, range(threads)))


def no_database_errors(outcomes: list[object]) -> None:
    leaked = [o for o in outcomes if isinstance(o, SQLAlchemyError)]
    assert not leaked, f"database errors leaked out of the handlers: {leaked!r}"
    unexpected = [
        o for o in outcomes if isinstance(o, BaseException) and not isinstance(o, DomainError)
    ]
    assert not unexpected, f"unexpected errors: {unexpected!r}"


def test_stale_version_is_refused(container: Container, clock) -> None:
    add_order(container, "1001")
    opened = open_case(container, "1001")
    _, agent_a = add_staff(container, "a@shop.example")
    _, agent_b = add_staff(container, "b@shop.example")
    seen_by_a = get_case(container.uow, agent_a, opened.case.id)
    seen_by_b = get_case(container.uow, agent_b, opened.case.id)
    assert seen_by_a.version == seen_by_b.version == 1

    clock.advance(minutes=1)
    moved, _ = transition_case(
        container.uow,
        clock,
        agent_a,
        MoveCase(seen_by_a.id, CaseStatus.approved, seen_by_a.version),
    )
    assert moved.version == 2
    before = count_rows(container.engine)
    clock.advance(minutes=1)
    with pytest.raises(StaleVersion) as failure:
        transition_case(
            container.uow,
            clock,
            agent_b,
            MoveCase(seen_by_b.id, CaseStatus.declined, seen_by_b.version, note="no"),
        )
    assert failure.value.code == "version_mismatch"
    assert count_rows(container.engine) == before
    now = get_case(container.uow, SYSTEM, opened.case.id)
    assert (now.status, now.version) == (CaseStatus.approved, 2)
    timeline = get_timeline(container.uow, SYSTEM, opened.case.id)
    assert [(e.kind, e.to_status, e.actor.id) for e in timeline] == [
        ("case_opened", CaseStatus.requested, "system"),
        ("decision_made", None, "system"),
        ("status_changed", CaseStatus.approved, agent_a.id),
    ]
    # Reloading and retrying with the current version works.
    moved, _ = transition_case(
        container.uow,
        clock,
        agent_b,
        MoveCase(now.id, CaseStatus.awaiting_return, now.version),
    )
    assert moved.version == 3


def test_racing_for_the_last_unit(container: Container, clock) -> None:
    add_order(container, "1001", lines=(line("SKU-A", 3, 400, 1000),))
    open_case(container, "1001", ("SKU-A", 2))
    before = count_rows(container.engine)

    outcomes = race(lambda i: open_case(container, "1001", ("SKU-A", 1)))

    no_database_errors(outcomes)
    winners = [o for o in outcomes if not isinstance(o, BaseException)]
    losers = [o for o in outcomes if isinstance(o, DomainError)]
    assert len(winners) == 1, outcomes
    assert [e.code for e in losers] == ["quantity_exceeds_purchased"] * (THREADS - 1)
    assert winners[0].case.lines[0].refundable_amount == 1000 - 666
    after = count_rows(container.engine)
    assert after["return_cases"] == before["return_cases"] + 1
    assert after["case_events"] == before["case_events"] + 2  # case_opened, decision_made
    assert after["outbox"] == before["outbox"] + 2
    view = get_order(container.uow, SYSTEM, "1001", clock)
    assert view.returnability["SKU-A"].returnable_quantity == 0
    assert sum(c.refundable_total for c in view.cases) == 1000


def test_racing_for_units_of_several_lines(container: Container, clock) -> None:
    """Eight buyers, five units: exactly five returns, never more units than were bought."""
    add_order(container, "1001", lines=(line("SKU-A", 5, 200, 999),))

    outcomes = race(lambda i: open_case(container, "1001", ("SKU-A", 1)))

    no_database_errors(outcomes)
    winners = [o for o in outcomes if not isinstance(o, BaseException)]
    assert len(winners) == 5
    assert Counter(getattr(o, "code", "ok") for o in outcomes) == {
        "ok": 5,
        "quantity_exceeds_purchased": 3,
    }
    assert sum(w.case.lines[0].refundable_amount for w in winners) == 999


def test_racing_with_the_same_idempotency_key(container: Container, clock) -> None:
    """A client retrying in a hurry: one case, every request gets it back, none fails."""
    add_order(container, "1001")

    outcomes = race(lambda i: open_case(container, "1001", ("SKU-A", 1), key="retry-1"))

    no_database_errors(outcomes)
    errors = [o for o in outcomes if isinstance(o, BaseException)]
    assert not errors, errors
    ids = {o.case.id for o in outcomes}  # type: ignore[union-attr]
    assert len(ids) == 1
    assert sorted(o.replayed for o in outcomes) == [False] + [True] * (THREADS - 1)  # type: ignore[union-attr]
    assert count_rows(container.engine)["return_cases"] == 1
    assert count_rows(container.engine)["idempotency_keys"] == 1


def test_racing_transitions_of_one_case(container: Container, clock) -> None:
    add_order(container, "1001")
    opened = open_case(container, "1001")
    _, agent = add_staff(container, "agent@shop.example")
    targets = [
        (CaseStatus.under_review, ""),
        (CaseStatus.approved, ""),
        (CaseStatus.declined, "outside policy"),
        (CaseStatus.needs_evidence, "photo please"),
    ]
    clock.advance(seconds=1)  # the timeline orders by time first

    def move(i: int) -> object:
        to, note = targets[i % len(targets)]
        return transition_case(container.uow, clock, agent, MoveCase(opened.case.id, to, 1, note))

    outcomes = race(move)

    no_database_errors(outcomes)
    winners = [o for o in outcomes if not isinstance(o, BaseException)]
    stale = [o for o in outcomes if isinstance(o, StaleVersion)]
    assert len(winners) == 1, outcomes
    assert len(stale) == THREADS - 1, outcomes
    assert {e.code for e in stale} == {"version_mismatch"}
    case, event = winners[0]  # type: ignore[misc]
    stored = get_case(container.uow, SYSTEM, opened.case.id)
    assert (stored.status, stored.version) == (case.status, 2)
    timeline = get_timeline(container.uow, SYSTEM, opened.case.id)
    assert [e.kind for e in timeline][:2] == ["case_opened", "decision_made"]
    assert [e.id for e in timeline][2:] == [event.id]
    assert count_rows(container.engine)["outbox"] == 3


@pytest.mark.parametrize("mode", ["manual", "stripe"])
def test_refunds_written_at_once_never_pass_what_was_paid(
    container: Container, clock, mode: str
) -> None:
    """Eight refunds of everything, each with its own key, at the same moment: one is paid,
    the others are refused (the bound, or the case's version moved under them). Through
    Stripe the check must hold before the provider is called: Stripe gets one refund."""
    with LocalStripe() as stripe_server:
        data = order_input("1001", now=container.clock())
        intent = stripe_server.pay(10**6, "USD")
        upsert_order(
            container.uow, SYSTEM,
            replace(data, payment_provider="stripe", payment_reference=intent),
        )  # fmt: skip
        opened = open_case(container, "1001")
        case, _ = transition_case(
            container.uow, clock, SYSTEM, MoveCase(opened.case.id, CaseStatus.approved, 1)
        )
        bound = case.refund_bound()
        providers = {"stripe": StripeRefunds(API_KEY, stripe_server.base_url, 10)}

        def refund(i: int) -> str:
            command = RequestRefund(case.id, mode, f"race-{i}", reference=f"bank {i}", final=False)
            return request_refund(container.uow, clock, SYSTEM, providers, command).refund.id

        outcomes = race(refund)
        made_at_stripe = stripe_server.refunds_made()
    no_database_errors(outcomes)
    paid = [o for o in outcomes if isinstance(o, str)]
    refused = Counter(o.code for o in outcomes if isinstance(o, DomainError))
    assert len(paid) == 1, (paid, refused)
    assert set(refused) <= {"refund_exceeds_paid", "version_mismatch", "busy"}, refused
    refunds = list_refunds(container.uow, SYSTEM, case.id)
    assert [(r.amount, r.status.value) for r in refunds] == [(bound, "succeeded")]
    assert get_case(container.uow, SYSTEM, case.id).refunded_amount == bound
    assert len(made_at_stripe) == (1 if mode == "stripe" else 0)


def test_exchanges_ordered_at_once_make_one(container: Container, clock) -> None:
    """Eight agents order the same case's replacement at the same moment (no store adapter:
    for export): one exchange is written and run once; the others get it back, or are told
    the case moved or the exchange is being made."""
    add_order(container, "1001")
    opened = open_return(
        container.uow, clock, SYSTEM, open_command("1001", resolution=Resolution.exchange)
    )
    case, _ = transition_case(
        container.uow, clock, SYSTEM, MoveCase(opened.case.id, CaseStatus.approved, 1)
    )
    case, _ = transition_case(
        container.uow, clock, SYSTEM,
        MoveCase(case.id, CaseStatus.awaiting_return, case.version),
    )  # fmt: skip
    receive(container.uow, clock, SYSTEM, ReceiveParcel(code=case.rma, lines=()))

    def order(i: int) -> str:
        command = OrderExchange(case.id, None, instant=False)
        return order_exchange(container.uow, clock, SYSTEM, {}, None, command).exchange.id

    outcomes = race(order)
    no_database_errors(outcomes)
    made = {o for o in outcomes if isinstance(o, str)}
    refused = Counter(o.code for o in outcomes if isinstance(o, DomainError))
    assert len(made) == 1, (made, refused)
    # the case moved under them, or the first one's run was still under way
    assert set(refused) <= {"version_mismatch", "busy", "exchange_in_progress"}, refused
    exchange = get_exchange(container.uow, SYSTEM, case.id)
    assert exchange is not None and exchange.id in made
    with container.engine.connect() as conn:
        rows = conn.execute(select(func.count()).select_from(exchanges)).scalar_one()
    assert rows == 1
