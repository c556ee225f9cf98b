"""Repositories: rows <-> domain objects, written by hand so the domain stays framework-free."""

from __future__ import annotations

import base64
import json
from collections.abc import Sequence
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import (
    Connection,
    Row,
    delete,
    exists,
    func,
    insert,
    literal,
    select,
    tuple_,
    union,
    update,
)
from sqlalchemy.sql.elements import ColumnElement

from returndesk.adapters.db.tables import (
    case_events,
    case_work,
    idempotency_keys,
    order_lines,
    orders,
    outbox,
    policy_versions,
    refunds,
    return_case_lines,
    return_cases,
    shipments,
    staff_users,
    stores,
)
from returndesk.adapters.db.types import UTCDateTime
from returndesk.adapters.rules.compiler import PolicyCompiler
from returndesk.domain.access import Role
from returndesk.domain.cases.model import (
    Actor,
    CaseLine,
    LineUsage,
    ReturnCase,
    TimelineEvent,
)
from returndesk.domain.cases.reasons import ReasonCode
from returndesk.domain.cases.status import CaseStatus, ReceiptCondition, Resolution
from returndesk.domain.errors import StaleVersion
from returndesk.domain.ids import new_id
from returndesk.domain.orders import Order, OrderLine, Shipment
from returndesk.domain.policy.document import DEFAULT_DOCUMENT, Policy
from returndesk.domain.stores import StaffUser, Store
from returndesk.services.ports import (
    CasePage,
    CaseQuery,
    CaseSummary,
    IdempotencyRecord,
    OutboxMessage,
    PolicyVersion,
    ReplayItem,
)


def _store(row: Row[Any]) -> Store:
    return Store(
        id=row.id,
        slug=row.slug,
        name=row.name,
        default_currency=row.default_currency,
        timezone=row.timezone,
        created_at=row.created_at,
        policy_version=row.policy_version,
    )


class SqlStoreRepository:
    def __init__(self, conn: Connection) -> None:
        self._conn = conn

    def get(self, store_id: str) -> Store | None:
        row = self._conn.execute(select(stores).where(stores.c.id == store_id)).first()
        return _store(row) if row else None

    def get_by_slug(self, slug: str) -> Store | None:
        row = self._conn.execute(select(stores).where(stores.c.slug == slug)).first()
        return _store(row) if row else None

    def list(self) -> list[Store]:
        return [_store(r) for r in self._conn.execute(select(stores).order_by(stores.c.created_at))]

    def add(self, store: Store) -> None:
        self._conn.execute(
            insert(stores).values(
                id=store.id,
                slug=store.slug,
                name=store.name,
                default_currency=store.default_currency,
                timezone=store.timezone,
                policy=DEFAULT_DOCUMENT,
                policy_version=0,
                created_at=store.created_at,
            )
        )


def _policy_version(row: Row[Any]) -> PolicyVersion:
    return PolicyVersion(
        store_id=row.store_id,
        version=row.version,
        document=dict(row.document),
        created_at=row.created_at,
        created_by=row.created_by,
        note=row.note,
    )


class SqlPolicyRepository:
    """Versions of each store's policy document; `stores.policy` mirrors the active one."""

    def __init__(self, conn: Connection, compiler: PolicyCompiler) -> None:
        self._conn = conn
        self._compiler = compiler

    def active(self, store: Store) -> tuple[PolicyVersion, Policy]:
        row = self._conn.execute(
            select(stores.c.policy, stores.c.policy_version).where(stores.c.id == store.id)
        ).one()
        document = dict(row.policy)
        version = PolicyVersion(store.id, row.policy_version, document, None, "", "")
        return version, self._compiler.cached(store.id, row.policy_version, document)

    def get(self, store_id: str, version: int) -> PolicyVersion | None:
        row = self._conn.execute(
            select(policy_versions).where(
                policy_versions.c.store_id == store_id, policy_versions.c.version == version
            )
        ).first()
        return _policy_version(row) if row else None

    def compiled(self, store_id: str, version: int) -> Policy | None:
        if version == 0:
            return self._compiler.cached(store_id, 0, DEFAULT_DOCUMENT)
        found = self.get(store_id, version)
        if found is None:
            return None
        return self._compiler.cached(store_id, version, found.document)

    def list(self, store_id: str) -> list[PolicyVersion]:
        rows = self._conn.execute(
            select(policy_versions)
            .where(policy_versions.c.store_id == store_id)
            .order_by(policy_versions.c.version.desc())
        )
        return [_policy_version(r) for r in rows]

    def add(self, version: PolicyVersion) -> None:
        self._conn.execute(
            insert(policy_versions).values(
                store_id=version.store_id,
                version=version.version,
                document=version.document,
                created_at=version.created_at,
                created_by=version.created_by,
                note=version.note,
            )
        )
        self._conn.execute(
            update(stores)
            .where(stores.c.id == version.store_id)
            .values(policy=version.document, policy_version=version.version)
        )

    def compile(self, document: dict[str, Any]) -> Policy:
        return self._compiler.compile(document)


def _staff(row: Row[Any]) -> StaffUser:
    return StaffUser(
        id=row.id,
        store_id=row.store_id,
        email=row.email,
        name=row.name,
        role=Role(row.role),
        password_hash=row.password_hash,
        language=row.language,
        timezone=row.timezone,
        created_at=row.created_at,
        active=row.active,
    )


class SqlStaffRepository:
    def __init__(self, conn: Connection) -> None:
        self._conn = conn

    def get(self, user_id: str) -> StaffUser | None:
        row = self._conn.execute(select(staff_users).where(staff_users.c.id == user_id)).first()
        return _staff(row) if row else None

    def get_by_email(self, email: str) -> StaffUser | None:
        row = self._conn.execute(select(staff_users).where(staff_users.c.email == email)).first()
        return _staff(row) if row else None

    def list(self, store_id: str | None) -> list[StaffUser]:
        stmt = select(staff_users).order_by(staff_users.c.email)
        if store_id is not None:
            stmt = stmt.where(staff_users.c.store_id == store_id)
        return [_staff(r) for r in self._conn.execute(stmt)]

    def _values(self, user: StaffUser) -> dict[str, Any]:
        return {
            "id": user.id,
            "store_id": user.store_id,
            "email": user.email,
            "name": user.name,
            "role": user.role.value,
            "password_hash": user.password_hash,
            "language": user.language,
            "timezone": user.timezone,
            "active": user.active,
            "created_at": user.created_at,
        }

    def add(self, user: StaffUser) -> None:
        self._conn.execute(insert(staff_users).values(self._values(user)))

    def update(self, user: StaffUser) -> None:
        self._conn.execute(
            update(staff_users).where(staff_users.c.id == user.id).values(self._values(user))
        )


class SqlOrderRepository:
    def __init__(self, conn: Connection) -> None:
        self._conn = conn

    def _load(self, row: Row[Any] | None) -> Order | None:
        return None if row is None else self.load_many([row])[0]

    def load_many(self, rows: Sequence[Row[Any]]) -> list[Order]:
        """Orders from their rows, with lines and shipments read in two queries for all."""
        ids = [row.id for row in rows]
        lines: dict[str, list[OrderLine]] = {i: [] for i in ids}
        ships: dict[str, list[Shipment]] = {i: [] for i in ids}
        for ln in self._conn.execute(
            select(order_lines)
            .where(order_lines.c.order_id.in_(ids))
            .order_by(order_lines.c.order_id, order_lines.c.position)
        ):
            lines[ln.order_id].append(
                OrderLine(
                    id=ln.id,
                    sku=ln.sku,
                    title=ln.title,
                    quantity=ln.quantity,
                    unit_price=ln.unit_price,
                    paid_amount=ln.paid_amount,
                    category=ln.category,
                    serial_numbers=tuple(ln.serial_numbers),
                )
            )
        for sh in self._conn.execute(
            select(shipments)
            .where(shipments.c.order_id.in_(ids))
            .order_by(shipments.c.order_id, shipments.c.shipped_at)
        ):
            ships[sh.order_id].append(
                Shipment(
                    id=sh.id,
                    carrier=sh.carrier,
                    tracking_number=sh.tracking_number,
                    shipped_at=sh.shipped_at,
                    delivered_at=sh.delivered_at,
                )
            )
        return [
            Order(
                id=row.id,
                store_id=row.store_id,
                number=row.number,
                email=row.email,
                market=row.market,
                currency=row.currency,
                language=row.language,
                placed_at=row.placed_at,
                buyer_name=row.buyer_name,
                shipping_paid=row.shipping_paid,
                payment_provider=row.payment_provider,
                payment_reference=row.payment_reference,
                lines=lines[row.id],
                shipments=ships[row.id],
            )
            for row in rows
        ]

    def get_by_number(self, store_id: str, number: str) -> Order | None:
        return self._load(
            self._conn.execute(
                select(orders).where(orders.c.store_id == store_id, orders.c.number == number)
            ).first()
        )

    def get(self, order_id: str) -> Order | None:
        return self._load(self._conn.execute(select(orders).where(orders.c.id == order_id)).first())

    def _insert_lines(self, order_id: str, lines: list[tuple[int, OrderLine]]) -> None:
        if not lines:
            return
        self._conn.execute(
            insert(order_lines),
            [
                {
                    "id": ln.id,
                    "order_id": order_id,
                    "position": position,
                    "sku": ln.sku,
                    "title": ln.title,
                    "quantity": ln.quantity,
                    "unit_price": ln.unit_price,
                    "paid_amount": ln.paid_amount,
                    "category": ln.category,
                    "serial_numbers": list(ln.serial_numbers),
                }
                for position, ln in lines
            ],
        )

    def _insert_shipments(self, order: Order) -> None:
        if not order.shipments:
            return
        self._conn.execute(
            insert(shipments),
            [
                {
                    "id": s.id,
                    "order_id": order.id,
                    "carrier": s.carrier,
                    "tracking_number": s.tracking_number,
                    "shipped_at": s.shipped_at,
                    "delivered_at": s.delivered_at,
                }
                for s in order.shipments
            ],
        )

    def _header(self, order: Order) -> dict[str, Any]:
        return {
            "email": order.email,
            "buyer_name": order.buyer_name,
            "market": order.market,
            "currency": order.currency,
            "language": order.language,
            "placed_at": order.placed_at,
            "shipping_paid": order.shipping_paid,
            "payment_provider": order.payment_provider,
            "payment_reference": order.payment_reference,
        }

    def add(self, order: Order) -> None:
        self._conn.execute(
            insert(orders).values(
                id=order.id, store_id=order.store_id, number=order.number, lock_version=0,
                **self._header(order),
            )
        )  # fmt: skip
        self._insert_lines(order.id, list(enumerate(order.lines)))
        self._insert_shipments(order)

    def replace(self, order: Order) -> None:
        """Rewrite an order; line ids stay (stable by sku), so returns still point at them."""
        self._conn.execute(
            update(orders).where(orders.c.id == order.id).values(self._header(order))
        )
        existing = set(
            self._conn.scalars(select(order_lines.c.id).where(order_lines.c.order_id == order.id))
        )
        fresh: list[tuple[int, OrderLine]] = []
        for position, ln in enumerate(order.lines):
            if ln.id not in existing:
                fresh.append((position, ln))
                continue
            self._conn.execute(
                update(order_lines)
                .where(order_lines.c.id == ln.id)
                .values(
                    position=position,
                    title=ln.title,
                    quantity=ln.quantity,
                    unit_price=ln.unit_price,
                    paid_amount=ln.paid_amount,
                    category=ln.category,
                    serial_numbers=list(ln.serial_numbers),
                )
            )
        removed = existing - {ln.id for ln in order.lines}
        if removed:
            self._conn.execute(delete(order_lines).where(order_lines.c.id.in_(removed)))
        self._insert_lines(order.id, fresh)
        self._conn.execute(delete(shipments).where(shipments.c.order_id == order.id))
        self._insert_shipments(order)

    def lock(self, order_id: str) -> None:
        self._conn.execute(
            update(orders)
            .where(orders.c.id == order_id)
            .values(lock_version=orders.c.lock_version + 1)
        )

    def lines_in_returns(self, order_id: str) -> set[str]:
        return set(
            self._conn.scalars(
                select(return_case_lines.c.order_line_id)
                .join(return_cases, return_cases.c.id == return_case_lines.c.case_id)
                .where(return_cases.c.order_id == order_id)
                .distinct()
            )
        )

    def line_usage(self, order_id: str) -> dict[str, LineUsage]:
        stmt = (
            select(
                return_case_lines.c.order_line_id,
                func.sum(return_case_lines.c.quantity),
                func.sum(return_case_lines.c.refundable_amount),
            )
            .join(return_cases, return_cases.c.id == return_case_lines.c.case_id)
            .where(return_cases.c.order_id == order_id, return_cases.c.holds_quantity.is_(True))
            .group_by(return_case_lines.c.order_line_id)
        )
        return {
            line_id: LineUsage(int(qty), int(amount))
            for line_id, qty, amount in self._conn.execute(stmt)
        }


def _event(row: Row[Any]) -> TimelineEvent:
    return TimelineEvent(
        id=row.id,
        case_id=row.case_id,
        at=row.at,
        kind=row.kind,
        actor=Actor(
            row.actor_kind,
            row.actor_id,
            row.actor_name,
            Role(row.actor_role) if row.actor_role else None,
        ),
        from_status=CaseStatus(row.from_status) if row.from_status else None,
        to_status=CaseStatus(row.to_status) if row.to_status else None,
        note=row.note,
        data=dict(row.data),
    )


def event_payload(case: ReturnCase, event: TimelineEvent) -> dict[str, Any]:
    """The JSON an outbox message carries; receivers deduplicate on event_id."""
    return {
        "event_id": event.id,
        "case_id": case.id,
        "case_number": case.number,
        "order_number": case.order_number,
        "kind": event.kind,
        "at": event.at.isoformat(),
        "from_status": event.from_status.value if event.from_status else None,
        "to_status": event.to_status.value if event.to_status else None,
        "status": case.status.value,
        "version": case.version,
        "actor": {"kind": event.actor.kind, "id": event.actor.id, "name": event.actor.name},
        "note": event.note,
        "data": event.data,
    }


def _summary(row: Row[Any]) -> CaseSummary:
    return CaseSummary(
        id=row.id,
        store_id=row.store_id,
        number=row.number,
        order_number=row.order_number,
        buyer_email=row.buyer_email,
        market=row.market,
        language=row.language,
        currency=row.currency,
        status=CaseStatus(row.status),
        preferred_resolution=row.preferred_resolution,
        created_at=row.created_at,
        updated_at=row.updated_at,
        version=row.version,
        line_count=row.line_count,
        refundable_total=row.refundable_total,
        decision_outcome=row.decision_outcome,
    )


_SORTS = {
    "created_at": (return_cases.c.created_at, False),
    "-created_at": (return_cases.c.created_at, True),
    "updated_at": (return_cases.c.updated_at, False),
    "-updated_at": (return_cases.c.updated_at, True),
}
SORT_KEYS = tuple(_SORTS)


def encode_cursor(value: tuple[str, str]) -> str:
    return base64.urlsafe_b64encode(json.dumps(list(value)).encode()).decode().rstrip("=")


def decode_cursor(text: str) -> tuple[str, str] | None:
    """None for anything that is not a cursor we made."""
    try:
        raw = base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))
        data = json.loads(raw)
    except (ValueError, UnicodeDecodeError):
        return None
    if (
        isinstance(data, list)
        and len(data) == 2
        and all(isinstance(part, str) and len(part) <= 64 for part in data)
    ):
        try:
            at = datetime.fromisoformat(data[0])
            if at.utcoffset() is None:
                return None
            at = at.astimezone(UTC)
        except (ValueError, OverflowError):
            return None
        if not data[1] or "\x00" in data[1]:
            return None
        return at.isoformat(), data[1]
    return None


def _work_filters(query: CaseQuery) -> list[ColumnElement[bool]]:
    """Who handles the case and its service levels, as EXISTS over case_work (by primary key)."""
    w = case_work.c
    conds: list[ColumnElement[bool]] = []
    if query.assignee_id is not None:
        mine = w.assignee_id == query.assignee_id if query.assignee_id else w.assignee_id.is_(None)
        conds.append(mine)
    if query.team_id is not None:
        conds.append(w.team_id == query.team_id)
    if query.breached is not None:
        conds.append(w.breached.is_(query.breached))
    if not conds:
        return []
    return [exists().where(w.case_id == return_cases.c.id, *conds)]


def _search(term: str, store_id: str | None) -> ColumnElement[bool]:
    """Exact match on case number, order number or buyer email, as a union of index lookups.

    The caller leaves the store out of the outer WHERE (it is in every branch), so the planner
    drives from these few ids instead of scanning the store's cases in sort order.
    """
    c = return_cases.c
    store = [c.store_id == store_id] if store_id is not None else []
    by_number = select(c.id).where(*store, c.number == term.upper())
    if "@" in term:
        other = select(c.id).where(*store, c.buyer_email == term.lower())
    else:
        other = select(c.id).where(*store, c.order_number.in_({term, term.lstrip("#")}))
    return c.id.in_(union(by_number, other))


def _case_line(r: Row[Any]) -> CaseLine:
    return CaseLine(
        order_line_id=r.order_line_id,
        sku=r.sku,
        title=r.title,
        quantity=r.quantity,
        reason=ReasonCode(r.reason),
        comment=r.comment,
        refundable_amount=r.refundable_amount,
        received_quantity=r.received_quantity,
        condition=ReceiptCondition(r.condition) if r.condition else None,
    )


class SqlCaseRepository:
    def __init__(self, conn: Connection, outbox_: SqlOutbox) -> None:
        self._conn = conn
        self._outbox = outbox_

    def _lines(self, case_id: str) -> list[CaseLine]:
        rows = self._conn.execute(
            select(return_case_lines)
            .where(return_case_lines.c.case_id == case_id)
            .order_by(return_case_lines.c.position)
        )
        return [_case_line(r) for r in rows]

    def buyer_history(self, store_id: str, email: str, since: datetime) -> tuple[int, int]:
        row = self._conn.execute(
            select(func.count(), func.coalesce(func.sum(return_cases.c.refunded_amount), 0)).where(
                return_cases.c.store_id == store_id,
                return_cases.c.buyer_email == email,
                return_cases.c.created_at >= since,
            )
        ).one()
        return int(row[0]), int(row[1])

    def count_since(self, store_id: str, since: datetime) -> int:
        stmt = select(func.count()).where(
            return_cases.c.store_id == store_id, return_cases.c.created_at >= since
        )
        return int(self._conn.execute(stmt).scalar_one())

    def replay(
        self, store_id: str, since: datetime, after: tuple[datetime, str] | None, limit: int
    ) -> list[ReplayItem]:
        conds: list[ColumnElement[bool]] = [
            return_cases.c.store_id == store_id,
            return_cases.c.created_at >= since,
        ]
        if after is not None:
            key = tuple_(return_cases.c.created_at, return_cases.c.id)
            conds.append(
                key
                > tuple_(literal(after[0], UTCDateTime), literal(after[1], return_cases.c.id.type))
            )
        cases = self._conn.execute(
            select(return_cases)
            .where(*conds)
            .order_by(return_cases.c.created_at, return_cases.c.id)
            .limit(limit)
        ).all()
        if not cases:
            return []
        lines: dict[str, list[CaseLine]] = {c.id: [] for c in cases}
        for r in self._conn.execute(
            select(return_case_lines)
            .where(return_case_lines.c.case_id.in_(list(lines)))
            .order_by(return_case_lines.c.case_id, return_case_lines.c.position)
        ):
            lines[r.case_id].append(_case_line(r))
        order_ids = sorted({c.order_id for c in cases})
        order_rows = self._conn.execute(select(orders).where(orders.c.id.in_(order_ids))).all()
        loaded = SqlOrderRepository(self._conn).load_many(order_rows)
        by_id = {o.id: o for o in loaded}
        return [
            ReplayItem(
                case_id=c.id,
                number=c.number,
                created_at=c.created_at,
                buyer_email=c.buyer_email,
                preferred_resolution=Resolution(c.preferred_resolution),
                order=by_id[c.order_id],
                lines=lines[c.id],
                decision=c.decision,
            )
            for c in cases
        ]

    def refund_candidates(self, providers: list[str], limit: int) -> list[str]:
        """Cases a policy refund may be due on: received, inspected or kept (approved), a
        refund wanted, the order paid through one of `providers`, no refund yet."""
        none_yet = ~exists().where(refunds.c.case_id == return_cases.c.id)
        rows = self._conn.execute(
            select(return_cases.c.id)
            .join(orders, orders.c.id == return_cases.c.order_id)
            .where(
                return_cases.c.status.in_(
                    [CaseStatus.inspected.value, CaseStatus.received.value,
                     CaseStatus.approved.value]
                ),
                return_cases.c.preferred_resolution == Resolution.refund.value,
                orders.c.payment_provider.in_(providers),
                none_yet,
            )
            .order_by(return_cases.c.updated_at, return_cases.c.id)
            .limit(limit)
        )  # fmt: skip
        return [str(r.id) for r in rows]

    def awaiting_parcel(self, opened_before: datetime, limit: int) -> list[str]:
        """Cases still waiting for the buyer's parcel, opened before a moment (oldest first)."""
        rows = self._conn.execute(
            select(return_cases.c.id)
            .where(
                return_cases.c.status == CaseStatus.awaiting_return.value,
                return_cases.c.created_at <= opened_before,
            )
            .order_by(return_cases.c.created_at, return_cases.c.id)
            .limit(limit)
        )
        return [str(r.id) for r in rows]

    def id_by_tracking(self, store_id: str, tracking_number: str) -> str | None:
        """The open return whose parcel has this tracking number (the newest, if reused)."""
        found = self._conn.execute(
            select(return_cases.c.id)
            .where(
                return_cases.c.store_id == store_id,
                return_cases.c.return_tracking_number == tracking_number,
            )
            .order_by(return_cases.c.created_at.desc())
            .limit(1)
        ).scalar()
        return str(found) if found is not None else None

    def id_by_number(self, store_id: str | None, number: str) -> str | None:
        """The case with this reference (its RMA) in the store (None: any store)."""
        query = select(return_cases.c.id).where(return_cases.c.number == number)
        if store_id is not None:
            query = query.where(return_cases.c.store_id == store_id)
        found = self._conn.execute(query).scalar()
        return str(found) if found is not None else None

    def get(self, case_id: str) -> ReturnCase | None:
        row = self._conn.execute(select(return_cases).where(return_cases.c.id == case_id)).first()
        if row is None:
            return None
        return ReturnCase(
            id=row.id,
            store_id=row.store_id,
            number=row.number,
            order_id=row.order_id,
            order_number=row.order_number,
            buyer_email=row.buyer_email,
            market=row.market,
            language=row.language,
            currency=row.currency,
            status=CaseStatus(row.status),
            preferred_resolution=Resolution(row.preferred_resolution),
            lines=self._lines(row.id),
            created_at=row.created_at,
            updated_at=row.updated_at,
            version=row.version,
            holds_quantity=row.holds_quantity,
            refund_amount=row.refund_amount,
            refunded_amount=row.refunded_amount,
            decision=row.decision,
            return_tracking_number=row.return_tracking_number,
            return_carrier=row.return_carrier,
            return_address=row.return_address,
            return_shipping_cost=row.return_shipping_cost,
            handling_cost=row.handling_cost,
            payment_fees=row.payment_fees,
            recovered_value=row.recovered_value,
        )

    def _row_values(self, case: ReturnCase) -> dict[str, Any]:
        return {
            "decision": case.decision,
            "decision_outcome": case.decision["outcome"] if case.decision else None,
            "status": case.status.value,
            "holds_quantity": case.holds_quantity,
            "refund_amount": case.refund_amount,
            "refunded_amount": case.refunded_amount,
            "updated_at": case.updated_at,
            "return_tracking_number": case.return_tracking_number,
            "return_carrier": case.return_carrier,
            "return_address": case.return_address,
            "return_shipping_cost": case.return_shipping_cost,
            "handling_cost": case.handling_cost,
            "payment_fees": case.payment_fees,
            "recovered_value": case.recovered_value,
        }

    def add(self, case: ReturnCase) -> None:
        self._conn.execute(
            insert(return_cases).values(
                id=case.id,
                store_id=case.store_id,
                number=case.number,
                order_id=case.order_id,
                order_number=case.order_number,
                buyer_email=case.buyer_email,
                market=case.market,
                language=case.language,
                currency=case.currency,
                preferred_resolution=case.preferred_resolution.value,
                version=case.version,
                line_count=len(case.lines),
                refundable_total=sum(ln.refundable_amount for ln in case.lines),
                created_at=case.created_at,
                **self._row_values(case),
            )
        )
        self._conn.execute(
            insert(return_case_lines),
            [
                {
                    "case_id": case.id,
                    "position": i,
                    "order_line_id": ln.order_line_id,
                    "sku": ln.sku,
                    "title": ln.title,
                    "quantity": ln.quantity,
                    "reason": ln.reason.value,
                    "comment": ln.comment,
                    "refundable_amount": ln.refundable_amount,
                    "received_quantity": ln.received_quantity,
                    "condition": ln.condition.value if ln.condition else None,
                }
                for i, ln in enumerate(case.lines)
            ],
        )
        self._append_events(case)

    def save(self, case: ReturnCase, expected_version: int) -> None:
        """Optimistic concurrency: the row changes only if nobody changed it since it was read."""
        result = self._conn.execute(
            update(return_cases)
            .where(return_cases.c.id == case.id, return_cases.c.version == expected_version)
            .values(version=expected_version + 1, **self._row_values(case))
        )
        if result.rowcount != 1:
            raise StaleVersion("the case changed since you loaded it: reload and try again")
        case.version = expected_version + 1
        for i, ln in enumerate(case.lines):
            self._conn.execute(
                update(return_case_lines)
                .where(return_case_lines.c.case_id == case.id, return_case_lines.c.position == i)
                .values(
                    received_quantity=ln.received_quantity,
                    condition=ln.condition.value if ln.condition else None,
                )
            )
        self._append_events(case)

    def add_events(self, case: ReturnCase) -> None:
        """Append the case's new timeline entries (and their outbox messages) without touching
        the case itself: notes about the case, such as who handles it or a missed service
        level, must not make an agent's open page stale."""
        self._append_events(case)

    def _append_events(self, case: ReturnCase) -> None:
        events = case.new_events
        if not events:
            return
        self._conn.execute(
            insert(case_events),
            [
                {
                    "id": e.id,
                    "case_id": case.id,
                    "at": e.at,
                    "kind": e.kind,
                    "actor_kind": e.actor.kind,
                    "actor_id": e.actor.id,
                    "actor_name": e.actor.name,
                    "actor_role": e.actor.role.value if e.actor.role else None,
                    "from_status": e.from_status.value if e.from_status else None,
                    "to_status": e.to_status.value if e.to_status else None,
                    "note": e.note,
                    "data": e.data,
                }
                for e in events
            ],
        )
        self._outbox.add(
            [
                OutboxMessage(
                    id=new_id(),
                    store_id=case.store_id,
                    topic=f"case.{e.kind}",
                    payload=event_payload(case, e),
                    created_at=e.at,
                )
                for e in events
            ]
        )
        case.new_events = []

    def timeline(self, case_id: str) -> list[TimelineEvent]:
        rows = self._conn.execute(
            select(case_events)
            .where(case_events.c.case_id == case_id)
            .order_by(case_events.c.at, case_events.c.id)
        )
        return [_event(r) for r in rows]

    def query(self, query: CaseQuery) -> CasePage:
        column, descending = _SORTS[query.sort]
        conds: list[ColumnElement[bool]] = []
        if query.store_id is not None and not query.q:
            conds.append(return_cases.c.store_id == query.store_id)
        if query.statuses:
            conds.append(return_cases.c.status.in_([s.value for s in query.statuses]))
        if query.market:
            conds.append(return_cases.c.market == query.market)
        if query.language:
            conds.append(return_cases.c.language == query.language)
        if query.outcome:
            conds.append(return_cases.c.decision_outcome == query.outcome)
        if query.created_after:
            conds.append(return_cases.c.created_at >= query.created_after)
        if query.created_before:
            conds.append(return_cases.c.created_at < query.created_before)
        if query.q:
            conds.append(_search(query.q.strip(), query.store_id))
        conds.extend(_work_filters(query))
        if query.cursor is not None:
            # Row-value comparison: one index range scan on (store, sort key, id) at any depth.
            key = tuple_(column, return_cases.c.id)
            after = tuple_(
                literal(datetime.fromisoformat(query.cursor[0]), UTCDateTime),
                literal(query.cursor[1], return_cases.c.id.type),
            )
            conds.append(key < after if descending else key > after)
        order = (
            (column.desc(), return_cases.c.id.desc()) if descending else (column, return_cases.c.id)
        )
        stmt = select(return_cases).where(*conds).order_by(*order).limit(query.limit + 1)
        rows = self._conn.execute(stmt).all()
        items = [_summary(r) for r in rows[: query.limit]]
        next_cursor = None
        if len(rows) > query.limit:
            last = items[-1]
            last_at = last.created_at if query.sort.endswith("created_at") else last.updated_at
            next_cursor = (last_at.isoformat(), last.id)
        return CasePage(items, next_cursor)

    def for_order(self, order_id: str) -> list[CaseSummary]:
        rows = self._conn.execute(
            select(return_cases)
            .where(return_cases.c.order_id == order_id)
            .order_by(return_cases.c.created_at.desc())
        )
        return [_summary(r) for r in rows]

    def count_by_status(self, store_id: str | None) -> dict[CaseStatus, int]:
        stmt = select(return_cases.c.status, func.count()).group_by(return_cases.c.status)
        if store_id is not None:
            stmt = stmt.where(return_cases.c.store_id == store_id)
        return {CaseStatus(status): int(n) for status, n in self._conn.execute(stmt)}


class SqlIdempotencyRepository:
    def __init__(self, conn: Connection) -> None:
        self._conn = conn

    def get(self, store_id: str, principal: str, key: str) -> IdempotencyRecord | None:
        row = self._conn.execute(
            select(idempotency_keys).where(
                idempotency_keys.c.store_id == store_id,
                idempotency_keys.c.principal == principal,
                idempotency_keys.c.key == key,
            )
        ).first()
        if row is None:
            return None
        return IdempotencyRecord(
            row.store_id, row.principal, row.key, row.request_hash, row.case_id, row.created_at
        )

    def add(self, record: IdempotencyRecord) -> None:
        self._conn.execute(
            insert(idempotency_keys).values(
                store_id=record.store_id,
                principal=record.principal,
                key=record.key,
                request_hash=record.request_hash,
                case_id=record.case_id,
                created_at=record.created_at,
            )
        )


class SqlOutbox:
    def __init__(self, conn: Connection) -> None:
        self._conn = conn
        self.written: list[OutboxMessage] = []  # handed to the after-commit hook

    def add(self, messages: Sequence[OutboxMessage]) -> None:
        if not messages:
            return
        self.written.extend(messages)
        self._conn.execute(
            insert(outbox),
            [
                {
                    "id": m.id,
                    "store_id": m.store_id,
                    "topic": m.topic,
                    "payload": m.payload,
                    "created_at": m.created_at,
                    "dispatched_at": None,
                    "attempts": 0,
                }
                for m in messages
            ],
        )
