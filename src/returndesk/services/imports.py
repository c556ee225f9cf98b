"""Bulk order import (a platform export): each order saved on its own, all or nothing."""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass, field

from returndesk.domain.errors import DomainError
from returndesk.services.orders import OrderInput, upsert_order
from returndesk.services.ports import UnitOfWorkFactory
from returndesk.services.principal import Principal


@dataclass(frozen=True, slots=True)
class Rejection:
    row: int  # the file line where the record starts (header = 1)
    order_number: str
    code: str
    message: str


@dataclass(slots=True)
class ImportReport:
    rows_read: int = 0
    created: int = 0
    updated: int = 0
    rejected: list[Rejection] = field(default_factory=list)

    @property
    def orders_rejected(self) -> int:
        return len({r.order_number or f"row {r.row}" for r in self.rejected})


def import_orders(
    uow_factory: UnitOfWorkFactory,
    principal: Principal,
    orders: Iterable[tuple[int, OrderInput]],
    report: ImportReport,
    *,
    store_slug: str | None = None,
    on_saved: Callable[[], None] | None = None,
) -> ImportReport:
    """Save parsed orders (first row, input) through the same handler as the API.

    `report` arrives holding what the parser already refused; orders the domain refuses are
    added to it. One order's failure never stops the others.
    """
    for first_row, order in orders:
        try:
            result = upsert_order(uow_factory, principal, order, store_slug)
        except DomainError as exc:
            report.rejected.append(Rejection(first_row, order.number, exc.code, exc.detail))
        else:
            report.created += result.created
            report.updated += not result.created
        if on_saved is not None:
            on_saved()
    report.rejected.sort(key=lambda r: (r.row, r.order_number))
    return report
