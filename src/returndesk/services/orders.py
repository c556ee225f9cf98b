"""Import and read orders; show a buyer what is returnable."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime

from returndesk.domain.access import Permission
from returndesk.domain.cases.model import LineUsage, Returnability
from returndesk.domain.errors import NotFound, ValidationFailed
from returndesk.domain.ids import new_id
from returndesk.domain.orders import MARKET_LANGUAGES, Order, OrderLine, Shipment
from returndesk.domain.policy.engine import line_returnability
from returndesk.domain.stores import normalize_email
from returndesk.services.ports import CaseSummary, Clock, UnitOfWorkFactory
from returndesk.services.principal import Principal
from returndesk.services.stores import resolve_store


@dataclass(frozen=True, slots=True)
class LineInput:
    sku: str
    title: str
    quantity: int
    unit_price: int
    paid_amount: int
    category: str = "general"
    serial_numbers: tuple[str, ...] = ()


@dataclass(frozen=True, slots=True)
class ShipmentInput:
    carrier: str
    tracking_number: str
    shipped_at: datetime | None = None
    delivered_at: datetime | None = None


@dataclass(frozen=True, slots=True)
class OrderInput:
    """An order as a platform or an export describes it. Amounts in minor units."""

    number: str
    email: str
    market: str
    currency: str
    placed_at: datetime
    lines: tuple[LineInput, ...]
    language: str | None = None  # default: the market's main language
    shipments: tuple[ShipmentInput, ...] = ()
    buyer_name: str = ""
    shipping_paid: int = 0  # minor units paid for outbound delivery
    payment_provider: str = ""
    payment_reference: str = ""


@dataclass(frozen=True, slots=True)
class UpsertResult:
    order: Order
    created: bool


def build_order(store_id: str, data: OrderInput, existing: Order | None) -> Order:
    """Validate the input into an Order, keeping line/shipment ids stable on update."""
    old_lines = {line.sku: line.id for line in existing.lines} if existing else {}
    old_ships = {s.tracking_number: s.id for s in existing.shipments} if existing else {}
    market = data.market.strip().upper()
    language = data.language or MARKET_LANGUAGES.get(market, "en")
    return Order(
        id=existing.id if existing else new_id(),
        store_id=store_id,
        number=data.number.strip(),
        email=normalize_email(data.email),
        market=market,
        currency=data.currency.strip().upper(),
        language=language,
        placed_at=data.placed_at,
        buyer_name=data.buyer_name.strip()[:200],
        shipping_paid=data.shipping_paid,
        payment_provider=data.payment_provider.strip().lower(),
        payment_reference=data.payment_reference.strip(),
        lines=[
            OrderLine(
                id=old_lines.get(li.sku, new_id()),
                sku=li.sku,
                title=li.title.strip()[:300] or li.sku,
                quantity=li.quantity,
                unit_price=li.unit_price,
                paid_amount=li.paid_amount,
                category=(li.category.strip().lower() or "general")[:60],
                serial_numbers=tuple(s.strip() for s in li.serial_numbers if s.strip()),
            )
            for li in data.lines
        ],
        shipments=[
            Shipment(
                id=old_ships.get(s.tracking_number, new_id()),
                carrier=s.carrier.strip()[:60],
                tracking_number=s.tracking_number.strip()[:100],
                shipped_at=s.shipped_at,
                delivered_at=s.delivered_at,
            )
            for s in data.shipments
        ],
    )


def upsert_order(
    uow_factory: UnitOfWorkFactory,
    principal: Principal,
    data: OrderInput,
    store_slug: str | None = None,
) -> UpsertResult:
    """Create an order, or update it by number. Lines already in a return must stay."""
    principal.require(Permission.order_write)
    with uow_factory(write=True) as uow:
        store = resolve_store(uow, principal, store_slug)
        existing = uow.orders.get_by_number(store.id, data.number.strip())
        order = build_order(store.id, data, existing)
        if existing is None:
            uow.orders.add(order)
        else:
            usage = uow.orders.line_usage(existing.id)
            kept = {line.id: line for line in order.lines}
            for line_id in uow.orders.lines_in_returns(existing.id):
                line = kept.get(line_id)
                # Any return (even a canceled one) keeps its line; open ones keep their units.
                if line is None or line.quantity < usage.get(line_id, LineUsage()).quantity:
                    raise ValidationFailed(
                        "a line that is being returned cannot be removed or reduced",
                        code="line_in_return",
                    )
            uow.orders.replace(order)
        uow.commit()
        return UpsertResult(order, existing is None)


@dataclass(frozen=True, slots=True)
class OrderView:
    order: Order
    returnability: dict[str, Returnability]
    cases: list[CaseSummary] = field(default_factory=list)


def get_order(
    uow_factory: UnitOfWorkFactory,
    principal: Principal,
    number: str,
    clock: Clock,
    store_slug: str | None = None,
) -> OrderView:
    principal.require(Permission.order_read)
    with uow_factory() as uow:
        store = resolve_store(uow, principal, store_slug)
        order = uow.orders.get_by_number(store.id, number)
        if order is None:
            raise NotFound(f"order {number} not found", code="order_not_found")
        principal.check_order(order.store_id, order.id)
        usage = uow.orders.line_usage(order.id)
        now = clock()
        _, policy = uow.policies.active(store)
        returnability = {
            line.sku: line_returnability(order, line, usage.get(line.id, LineUsage()), policy, now)
            for line in order.lines
        }
        return OrderView(order, returnability, uow.cases.for_order(order.id))
