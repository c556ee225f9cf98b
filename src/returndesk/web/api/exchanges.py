"""Exchanges executed: the replacement order and an instant exchange's card hold
(docs/logistics.md)."""

from __future__ import annotations

import csv
import io
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Query, Response

from returndesk.domain.cases.model import ReturnCase
from returndesk.domain.exchanges import Exchange
from returndesk.domain.orders import Order
from returndesk.services.exchanges import (
    OrderExchange,
    exchanges_to_ship,
    get_exchange,
    order_exchange,
    record_replacement,
    retry_exchange,
    settle_hold_by_hand,
)
from returndesk.web.api.returns import CaseId
from returndesk.web.api.stats import csv_cell
from returndesk.web.deps import ContainerDep, PrincipalDep
from returndesk.web.problems import HttpProblem
from returndesk.web.schemas import ExchangeIn, HoldActionIn, ReplacementOrderIn, exchange_out

router = APIRouter(prefix="/api/v1", tags=["exchanges"])


@router.get("/returns/{case_id}/exchange")
def case_exchange(case_id: CaseId, principal: PrincipalDep, container: ContainerDep) -> Any:
    exchange = get_exchange(container.uow, principal, case_id)
    if exchange is None:
        raise HttpProblem(404, "exchange_not_found", "this return has no exchange")
    return exchange_out(exchange, principal.role)


@router.post("/returns/{case_id}/exchange", status_code=201)
def create_exchange(
    case_id: CaseId,
    body: ExchangeIn,
    response: Response,
    principal: PrincipalDep,
    container: ContainerDep,
) -> dict[str, Any]:
    """Make the replacement order (through the store, or for export), holding the returned
    units' value on the buyer's card first for an instant exchange. Asked again: the same
    exchange (200), its missing steps retried."""
    lines = (
        None
        if body.lines is None
        else tuple((ln.sku, ln.quantity, ln.replacement_sku or ln.sku) for ln in body.lines)
    )
    result = order_exchange(
        container.uow,
        container.clock,
        principal,
        container.holding_providers(),
        container.store_orders(),
        OrderExchange(case_id, lines, body.instant),
    )
    if result.replayed:
        response.status_code = 200
    return exchange_out(result.exchange, principal.role)


@router.post("/returns/{case_id}/exchange/retry")
def retry_failed_exchange(
    case_id: CaseId, principal: PrincipalDep, container: ContainerDep
) -> dict[str, Any]:
    result = retry_exchange(
        container.uow,
        container.clock,
        principal,
        container.holding_providers(),
        container.store_orders(),
        case_id,
    )
    return exchange_out(result.exchange, principal.role)


@router.post("/returns/{case_id}/exchange/order")
def record_replacement_order(
    case_id: CaseId, body: ReplacementOrderIn, principal: PrincipalDep, container: ContainerDep
) -> dict[str, Any]:
    """A store without an adapter: the replacement order staff made by hand."""
    exchange = record_replacement(
        container.uow, container.clock, principal, case_id, body.order_reference
    )
    return exchange_out(exchange, principal.role)


@router.post("/returns/{case_id}/exchange/hold")
def settle_exchange_hold(
    case_id: CaseId, body: HoldActionIn, principal: PrincipalDep, container: ContainerDep
) -> dict[str, Any]:
    """A person charges (capture) or lets go (release) an instant exchange's open card hold:
    for a parcel held for review (graded fake, empty or wrong)."""
    exchange = settle_hold_by_hand(
        container.uow,
        container.clock,
        principal,
        container.holding_providers(),
        case_id,
        capture=body.action == "capture",
    )
    return exchange_out(exchange, principal.role)


@router.get("/exchanges/to-ship", response_model=None)
def exchanges_waiting(
    principal: PrincipalDep,
    container: ContainerDep,
    format: Annotated[Literal["json", "csv"], Query()] = "json",
) -> dict[str, Any] | Response:
    """Exchanges waiting for a replacement order made by hand (the export), oldest first."""
    found = exchanges_to_ship(container.uow, principal)
    if format == "csv":
        return Response(
            to_ship_csv(found),
            media_type="text/csv; charset=utf-8",
            headers={"Content-Disposition": 'attachment; filename="exchanges-to-ship.csv"'},
        )
    return {
        "items": [
            {
                "case_id": case.id,
                "rma": case.rma,
                "order_number": order.number,
                "email": order.email,
                "buyer_name": order.buyer_name,
                "market": order.market,
                "exchange": exchange_out(exchange, principal.role),
            }
            for exchange, case, order in found
        ]
    }


def to_ship_csv(found: list[tuple[Exchange, ReturnCase, Order]]) -> str:
    """One row per replacement line: what a person needs to make the order in the shop."""
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(
        [
            "rma",
            "case_id",
            "order_number",
            "email",
            "buyer_name",
            "market",
            "sku",
            "title",
            "quantity",
            "instant",
        ]
    )
    for exchange, case, order in found:
        for line in exchange.lines:
            writer.writerow(
                [
                    case.rma,
                    case.id,
                    csv_cell(order.number),
                    csv_cell(order.email),
                    csv_cell(order.buyer_name),
                    order.market,
                    csv_cell(line.replacement_sku),
                    csv_cell(line.title),
                    line.quantity,
                    "yes" if exchange.instant else "no",
                ]
            )
    return out.getvalue()
