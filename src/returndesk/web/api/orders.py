"""Orders: create/update from platforms, read for buyers and staff."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Path, Query, Response

from returndesk.domain.errors import NotFound
from returndesk.services.orders import (
    LineInput,
    OrderInput,
    OrderView,
    ShipmentInput,
    get_order,
    upsert_order,
)
from returndesk.web.deps import ContainerDep, PrincipalDep
from returndesk.web.schemas import OrderIn, iso, money, summary_out

router = APIRouter(prefix="/api/v1", tags=["orders"])


def order_out(view: OrderView) -> dict[str, Any]:
    order = view.order
    return {
        "id": order.id,
        "number": order.number,
        "email": order.email,
        "buyer_name": order.buyer_name,
        "market": order.market,
        "currency": order.currency,
        "language": order.language,
        "placed_at": order.placed_at.isoformat(),
        "delivered_at": order.delivered_at.isoformat() if order.delivered_at else None,
        "total_paid": money(order.total_paid.amount, order.currency),
        "shipping_paid": money(order.shipping_paid, order.currency),
        "payment": {"provider": order.payment_provider, "reference": order.payment_reference}
        if order.payment_provider
        else None,
        "lines": [
            {
                "sku": ln.sku,
                "title": ln.title,
                "quantity": ln.quantity,
                "unit_price": money(ln.unit_price, order.currency),
                "paid_amount": money(ln.paid_amount, order.currency),
                "category": ln.category,
                "serial_numbers": list(ln.serial_numbers),
                "returnable_quantity": view.returnability[ln.sku].returnable_quantity,
                "final_sale": view.returnability[ln.sku].final_sale,
                "return_window_ends_at": iso(view.returnability[ln.sku].change_of_mind_until),
                "fault_window_ends_at": iso(view.returnability[ln.sku].fault_until),
                "blocked_code": view.returnability[ln.sku].blocked_code,
            }
            for ln in order.lines
        ],
        "shipments": [
            {
                "carrier": s.carrier,
                "tracking_number": s.tracking_number,
                "shipped_at": iso(s.shipped_at),
                "delivered_at": iso(s.delivered_at),
            }
            for s in order.shipments
        ],
        "returns": [summary_out(c) for c in view.cases],
    }


def order_input(body: OrderIn) -> OrderInput:
    return OrderInput(
        number=body.number,
        email=body.email,
        market=body.market,
        currency=body.currency,
        language=body.language,
        placed_at=body.placed_at,
        buyer_name=body.buyer_name,
        shipping_paid=body.shipping_paid,
        payment_provider=body.payment.provider if body.payment else "",
        payment_reference=body.payment.reference if body.payment else "",
        lines=tuple(
            LineInput(
                sku=ln.sku,
                title=ln.title,
                quantity=ln.quantity,
                unit_price=ln.unit_price,
                paid_amount=ln.paid_amount,
                category=ln.category,
                serial_numbers=tuple(ln.serial_numbers),
            )
            for ln in body.lines
        ),
        shipments=tuple(
            ShipmentInput(s.carrier, s.tracking_number, s.shipped_at, s.delivered_at)
            for s in body.shipments
        ),
    )


@router.post("/orders", status_code=201)
def create_or_update_order(
    body: OrderIn, response: Response, principal: PrincipalDep, container: ContainerDep
) -> dict[str, Any]:
    data = order_input(body)
    result = upsert_order(container.uow, principal, data, body.store)
    if not result.created:
        response.status_code = 200
    view = get_order(container.uow, principal, result.order.number, container.clock, body.store)
    return order_out(view)


@router.get("/orders/{number:path}")
def read_order(
    principal: PrincipalDep,
    container: ContainerDep,
    number: str = Path(max_length=64),
    store: str | None = Query(default=None, max_length=63, pattern=r"^[a-z0-9-]+$"),
) -> dict[str, Any]:
    if "\x00" in number:
        raise NotFound("order not found", code="order_not_found")
    return order_out(get_order(container.uow, principal, number, container.clock, store))
