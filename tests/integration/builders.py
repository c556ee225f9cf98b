"""Builders shared by the integration tests: orders, staff, returns, and raw row counts."""

from __future__ import annotations

from datetime import datetime, timedelta

from sqlalchemy import Engine, func, select

from returndesk.adapters.db.tables import (
    case_events,
    idempotency_keys,
    outbox,
    return_case_lines,
    return_cases,
)
from returndesk.bootstrap import Container
from returndesk.domain.access import Role
from returndesk.domain.cases.model import LineRequest
from returndesk.domain.cases.reasons import ReasonCode
from returndesk.domain.cases.status import Resolution
from returndesk.domain.stores import StaffUser
from returndesk.services.orders import LineInput, OrderInput, ShipmentInput, upsert_order
from returndesk.services.principal import SYSTEM, Principal
from returndesk.services.returns import Opened, OpenReturn, open_return
from returndesk.services.staff import create_staff_user, staff_principal

PASSWORD = "correct horse battery staple"

CASE_TABLES = (return_cases, return_case_lines, case_events, outbox, idempotency_keys)


def line(
    sku: str = "SKU-A",
    quantity: int = 3,
    unit_price: int = 400,
    paid_amount: int = 1000,
    *,
    title: str = "",
    category: str = "general",
) -> LineInput:
    return LineInput(
        sku=sku,
        title=title or f"Item {sku}",
        quantity=quantity,
        unit_price=unit_price,
        paid_amount=paid_amount,
        category=category,
    )


def order_input(
    number: str = "1001",
    *,
    now: datetime,
    email: str = "buyer@example.com",
    market: str = "US",
    currency: str = "USD",
    language: str | None = None,
    lines: tuple[LineInput, ...] | None = None,
    shipments: tuple[ShipmentInput, ...] | None = None,
    buyer_name: str = "Jane Buyer",
) -> OrderInput:
    """An order placed ten days before `now` and delivered two days before it."""
    placed = now - timedelta(days=10)
    return OrderInput(
        number=number,
        email=email,
        market=market,
        currency=currency,
        placed_at=placed,
        lines=lines if lines is not None else (line("SKU-A"), line("SKU-B", 1, 2500, 2500)),
        language=language,
        shipments=(
            shipments
            if shipments is not None
            else (
                ShipmentInput(
                    "UPS", f"TRK-{number}", placed + timedelta(days=1), now - timedelta(days=2)
                ),
            )
        ),
        buyer_name=buyer_name,
    )


def add_order(
    container: Container,
    number: str = "1001",
    *,
    store_slug: str | None = None,
    **kwargs: object,
) -> OrderInput:
    data = order_input(number, now=container.clock(), **kwargs)  # type: ignore[arg-type]
    upsert_order(container.uow, SYSTEM, data, store_slug)
    return data


def add_staff(
    container: Container,
    email: str,
    role: Role = Role.agent,
    *,
    store_slug: str | None = None,
) -> tuple[StaffUser, Principal]:
    user = create_staff_user(
        container.uow,
        container.hasher,
        container.clock,
        SYSTEM,
        email=email,
        role=role,
        password=PASSWORD,
        store_slug=store_slug,
    )
    return user, staff_principal(user)


def open_command(
    order_number: str = "1001",
    *items: tuple[str, int],
    reason: ReasonCode = ReasonCode.changed_mind,
    resolution: Resolution = Resolution.refund,
    store_slug: str | None = None,
) -> OpenReturn:
    requested = items or (("SKU-A", 1),)
    return OpenReturn(
        order_number=order_number,
        lines=tuple(LineRequest(sku, qty, reason) for sku, qty in requested),
        preferred_resolution=resolution,
        store_slug=store_slug,
    )


def open_case(
    container: Container,
    order_number: str = "1001",
    *items: tuple[str, int],
    principal: Principal = SYSTEM,
    key: str | None = None,
    store_slug: str | None = None,
) -> Opened:
    return open_return(
        container.uow,
        container.clock,
        principal,
        open_command(order_number, *items, store_slug=store_slug),
        key,
    )


def count_rows(engine: Engine) -> dict[str, int]:
    """Rows in every table a case touches, read straight from the database."""
    with engine.connect() as conn:
        return {
            table.name: conn.execute(select(func.count()).select_from(table)).scalar_one()
            for table in CASE_TABLES
        }
