"""Warehouse receipts, restock counts, refunds and exchanges in SQL (SQLite and PostgreSQL)."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import Connection, Row, insert, select, update

from returndesk.adapters.db.tables import (
    carrier_events,
    exchanges,
    refunds,
    restock_counts,
    warehouse_receipts,
)
from returndesk.domain.carriers import CarrierEvent, CarrierStatus
from returndesk.domain.exchanges import Exchange, ExchangeLine, ExchangeStatus, HoldStatus
from returndesk.domain.logistics import (
    Disposition,
    Grade,
    Receipt,
    ReceivedLine,
    Refund,
    RefundStatus,
)


def _receipt(row: Row[Any]) -> Receipt:
    return Receipt(
        id=row.id,
        store_id=row.store_id,
        case_id=row.case_id,
        warehouse=row.warehouse,
        lines=tuple(
            ReceivedLine(
                str(ln["sku"]),
                int(ln["quantity"]),
                Grade(ln["grade"]),
                Disposition(ln["disposition"]),
                tuple((str(c["item"]), bool(c["passed"])) for c in ln.get("checks", ())),
            )
            for ln in row.lines
        ),
        received_by=row.received_by,
        received_at=row.received_at,
        note=row.note,
    )


def _refund(row: Row[Any]) -> Refund:
    return Refund(
        id=row.id,
        store_id=row.store_id,
        case_id=row.case_id,
        provider=row.provider,
        kind=row.kind,
        amount=row.amount,
        currency=row.currency,
        key=row.key,
        status=RefundStatus(row.status),
        created_by=row.created_by,
        created_at=row.created_at,
        updated_at=row.updated_at,
        reference=row.reference,
        error_code=row.error_code,
        error=row.error,
        attempts=row.attempts,
        final=row.final,
    )


def _refund_values(refund: Refund) -> dict[str, Any]:
    return {
        "status": refund.status.value,
        "reference": refund.reference,
        "error_code": refund.error_code,
        "error": refund.error,
        "attempts": refund.attempts,
        "updated_at": refund.updated_at,
    }


def _exchange(row: Row[Any]) -> Exchange:
    return Exchange(
        id=row.id,
        store_id=row.store_id,
        case_id=row.case_id,
        lines=tuple(
            ExchangeLine(ln["sku"], ln["quantity"], ln["replacement_sku"], ln.get("title", ""))
            for ln in row.lines
        ),
        instant=row.instant,
        channel=row.channel,
        status=ExchangeStatus(row.status),
        currency=row.currency,
        created_by=row.created_by,
        created_at=row.created_at,
        updated_at=row.updated_at,
        order_reference=row.order_reference,
        order_name=row.order_name,
        hold_provider=row.hold_provider,
        hold_status=HoldStatus(row.hold_status),
        hold_reference=row.hold_reference,
        hold_amount=row.hold_amount,
        error_code=row.error_code,
        error=row.error,
        attempts=row.attempts,
        hold_tries=row.hold_tries,
    )


def _exchange_values(exchange: Exchange) -> dict[str, Any]:
    return {
        "status": exchange.status.value,
        "order_reference": exchange.order_reference,
        "order_name": exchange.order_name,
        "hold_provider": exchange.hold_provider,
        "hold_status": exchange.hold_status.value,
        "hold_reference": exchange.hold_reference,
        "hold_amount": exchange.hold_amount,
        "error_code": exchange.error_code,
        "error": exchange.error,
        "attempts": exchange.attempts,
        "hold_tries": exchange.hold_tries,
        "updated_at": exchange.updated_at,
    }


class SqlLogisticsRepository:
    def __init__(self, conn: Connection) -> None:
        self._conn = conn

    # --- receiving ------------------------------------------------------------------------

    def add_receipt(self, receipt: Receipt) -> None:
        self._conn.execute(
            insert(warehouse_receipts).values(
                id=receipt.id,
                store_id=receipt.store_id,
                case_id=receipt.case_id,
                warehouse=receipt.warehouse,
                lines=[line.to_dict() for line in receipt.lines],
                received_by=receipt.received_by,
                received_at=receipt.received_at,
                note=receipt.note,
            )
        )

    def receipts(self, case_id: str) -> list[Receipt]:
        rows = self._conn.execute(
            select(warehouse_receipts)
            .where(warehouse_receipts.c.case_id == case_id)
            .order_by(warehouse_receipts.c.received_at, warehouse_receipts.c.id)
        )
        return [_receipt(r) for r in rows]

    def restock(
        self, store_id: str, warehouse: str, sku: str, quantity: int, now: datetime
    ) -> None:
        key = (
            restock_counts.c.store_id == store_id,
            restock_counts.c.warehouse == warehouse,
            restock_counts.c.sku == sku,
        )
        done = self._conn.execute(
            update(restock_counts)
            .where(*key)
            .values(quantity=restock_counts.c.quantity + quantity, updated_at=now)
        )
        if done.rowcount == 0:
            self._conn.execute(
                insert(restock_counts).values(
                    store_id=store_id, warehouse=warehouse, sku=sku, quantity=quantity,
                    updated_at=now,
                )
            )  # fmt: skip

    def restock_counts(
        self, store_id: str | None, warehouse: str | None = None
    ) -> list[tuple[str, str, int]]:
        """(warehouse, sku, units restocked), by warehouse then sku (store None: every store)."""
        query = select(restock_counts.c.warehouse, restock_counts.c.sku, restock_counts.c.quantity)
        if store_id is not None:
            query = query.where(restock_counts.c.store_id == store_id)
        if warehouse is not None:
            query = query.where(restock_counts.c.warehouse == warehouse)
        rows = self._conn.execute(query.order_by(restock_counts.c.warehouse, restock_counts.c.sku))
        return [(r.warehouse, r.sku, int(r.quantity)) for r in rows]

    # --- carrier scans ----------------------------------------------------------------------

    def has_carrier_event(
        self, store_id: str, tracking_number: str, status: str, occurred_at: datetime
    ) -> bool:
        found = self._conn.execute(
            select(carrier_events.c.id).where(
                carrier_events.c.store_id == store_id,
                carrier_events.c.tracking_number == tracking_number,
                carrier_events.c.status == status,
                carrier_events.c.occurred_at == occurred_at,
            )
        ).first()
        return found is not None

    def add_carrier_event(self, event: CarrierEvent) -> None:
        self._conn.execute(
            insert(carrier_events).values(
                id=event.id,
                store_id=event.store_id,
                case_id=event.case_id,
                tracking_number=event.tracking_number,
                carrier=event.carrier,
                status=event.status.value,
                occurred_at=event.occurred_at,
                location=event.location,
                received_at=event.received_at,
            )
        )

    def carrier_events(self, case_id: str) -> list[CarrierEvent]:
        rows = self._conn.execute(
            select(carrier_events)
            .where(carrier_events.c.case_id == case_id)
            .order_by(carrier_events.c.occurred_at, carrier_events.c.id)
        )
        return [
            CarrierEvent(
                id=r.id,
                store_id=r.store_id,
                case_id=r.case_id,
                tracking_number=r.tracking_number,
                carrier=r.carrier,
                status=CarrierStatus(r.status),
                occurred_at=r.occurred_at,
                location=r.location,
                received_at=r.received_at,
            )
            for r in rows
        ]

    # --- refunds --------------------------------------------------------------------------

    def refund_by_key(self, case_id: str, key: str, *, for_update: bool = False) -> Refund | None:
        query = select(refunds).where(refunds.c.case_id == case_id, refunds.c.key == key)
        if for_update and self._conn.dialect.name == "postgresql":
            query = query.with_for_update()
        row = self._conn.execute(query).first()
        return _refund(row) if row else None

    def refund(self, refund_id: str) -> Refund | None:
        row = self._conn.execute(select(refunds).where(refunds.c.id == refund_id)).first()
        return _refund(row) if row else None

    def refunds(self, case_id: str) -> list[Refund]:
        rows = self._conn.execute(
            select(refunds)
            .where(refunds.c.case_id == case_id)
            .order_by(refunds.c.created_at, refunds.c.id)
        )
        return [_refund(r) for r in rows]

    def add_refund(self, refund: Refund) -> None:
        self._conn.execute(
            insert(refunds).values(
                id=refund.id,
                store_id=refund.store_id,
                case_id=refund.case_id,
                provider=refund.provider,
                kind=refund.kind,
                amount=refund.amount,
                currency=refund.currency,
                key=refund.key,
                final=refund.final,
                created_by=refund.created_by,
                created_at=refund.created_at,
                **_refund_values(refund),
            )
        )

    def save_refund(self, refund: Refund) -> None:
        self._conn.execute(
            update(refunds).where(refunds.c.id == refund.id).values(**_refund_values(refund))
        )

    # --- exchanges ------------------------------------------------------------------------

    def exchange(self, case_id: str, *, for_update: bool = False) -> Exchange | None:
        query = select(exchanges).where(exchanges.c.case_id == case_id)
        if for_update and self._conn.dialect.name == "postgresql":
            query = query.with_for_update()
        row = self._conn.execute(query).first()
        return _exchange(row) if row else None

    def exchanges(
        self, store_id: str | None, status: ExchangeStatus | None = None, limit: int = 1000
    ) -> list[Exchange]:
        query = select(exchanges).order_by(exchanges.c.created_at, exchanges.c.id).limit(limit)
        if store_id is not None:
            query = query.where(exchanges.c.store_id == store_id)
        if status is not None:
            query = query.where(exchanges.c.status == status.value)
        return [_exchange(r) for r in self._conn.execute(query)]

    def open_holds(self, limit: int = 10_000) -> list[str]:
        """Cases whose instant exchange still holds money on the buyer's card."""
        rows = self._conn.execute(
            select(exchanges.c.case_id)
            .where(exchanges.c.hold_status == HoldStatus.authorised.value)
            .order_by(exchanges.c.updated_at)
            .limit(limit)
        )
        return [r.case_id for r in rows]

    def add_exchange(self, exchange: Exchange) -> None:
        self._conn.execute(
            insert(exchanges).values(
                id=exchange.id,
                store_id=exchange.store_id,
                case_id=exchange.case_id,
                lines=[
                    {
                        "sku": ln.sku,
                        "quantity": ln.quantity,
                        "replacement_sku": ln.replacement_sku,
                        "title": ln.title,
                    }
                    for ln in exchange.lines
                ],
                instant=exchange.instant,
                channel=exchange.channel,
                currency=exchange.currency,
                created_by=exchange.created_by,
                created_at=exchange.created_at,
                **_exchange_values(exchange),
            )
        )

    def save_exchange(self, exchange: Exchange) -> None:
        self._conn.execute(
            update(exchanges)
            .where(exchanges.c.id == exchange.id)
            .values(**_exchange_values(exchange))
        )
