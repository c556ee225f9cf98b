"""Warehouse receiving: a scanned RMA, the units that came in, their grades and dispositions.

One scan is one unit of work: the case moves (received or partly received, then inspected),
the receipt and restock counts are written, and a grade that holds the refund (counterfeit
suspected, an empty box, a wrong item) sends the case to a person, all or nothing.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

from returndesk.domain.access import Permission, Role
from returndesk.domain.cases.model import (
    MAX_NOTE,
    Actor,
    ReceiptLine,
    ReturnCase,
    TransitionRequest,
)
from returndesk.domain.cases.status import CaseStatus, ReceiptCondition
from returndesk.domain.errors import Conflict, NotFound, ValidationFailed
from returndesk.domain.ids import new_id
from returndesk.domain.inspection import check_answers, checklist
from returndesk.domain.logistics import (
    GRADE_CONDITION,
    HOLDS_REFUND,
    Disposition,
    Grade,
    Receipt,
    ReceivedLine,
    check_warehouse,
    clean_scan,
    recovered_value,
)
from returndesk.services.exchanges import ship_if_settled
from returndesk.services.policies import store_policy
from returndesk.services.ports import Clock, UnitOfWork, UnitOfWorkFactory
from returndesk.services.principal import Principal
from returndesk.services.return_address import PARCEL_DUE
from returndesk.services.returns import load_case
from returndesk.services.work import keep_up

# Where a parcel can arrive: the buyer has been told to send it, it is on its way, or a carrier
# reported it delivered (received, not graded yet).
EXPECTING_PARCEL = PARCEL_DUE | {CaseStatus.received}


@dataclass(frozen=True, slots=True)
class LineIn:
    sku: str
    quantity: int
    grade: Grade = Grade.resellable
    disposition: Disposition | None = None  # None: the grade's usual one
    checks: Mapping[str, bool] | None = None  # the inspection checklist's answers


@dataclass(frozen=True, slots=True)
class ReceiveParcel:
    code: str  # the RMA as scanned (label barcode or QR)
    lines: tuple[LineIn, ...] = ()  # empty: every unit still due arrived, resellable
    warehouse: str = "main"
    note: str = ""


@dataclass(frozen=True, slots=True)
class Received:
    case: ReturnCase
    receipt: Receipt
    held: bool  # the refund is held and a person reviews the case


def find_by_code(uow: UnitOfWork, principal: Principal, code: str) -> ReturnCase:
    """The case a scanned code names, in this principal's store."""
    value = clean_scan(code)
    store = None if principal.is_platform else principal.store_id
    case_id = uow.cases.id_by_number(store, value)
    if case_id is None:
        raise NotFound(f"no return has the code {value}", code="unknown_code", scanned=value)
    return load_case(uow, principal, case_id)


def lookup(uow_factory: UnitOfWorkFactory, principal: Principal, code: str) -> ReturnCase:
    """What a scan shows before anything is booked: the case and the units still due."""
    principal.require(Permission.warehouse_receive)
    with uow_factory() as uow:
        return find_by_code(uow, principal, code)


def inspection_checklists(
    uow_factory: UnitOfWorkFactory, case: ReturnCase
) -> dict[str, tuple[str, ...]]:
    """What to check on each returned sku of a case the principal already read: by the
    product's category, from the store's policy or the built-in lists."""
    with uow_factory() as uow:
        order = uow.orders.get(case.order_id)
        policy = store_policy(uow, case.store_id)
        custom = policy.inspection_checklists if policy else {}
    categories = {line.id: line.category for line in order.lines} if order else {}
    return {
        line.sku: checklist(categories.get(line.order_line_id, "general"), custom)
        for line in case.lines
    }


def receive(
    uow_factory: UnitOfWorkFactory, clock: Clock, principal: Principal, command: ReceiveParcel
) -> Received:
    principal.require(Permission.warehouse_receive)
    warehouse = check_warehouse(command.warehouse)
    note = command.note.strip()
    if len(note) > MAX_NOTE:
        raise ValidationFailed("the note is too long", code="note_too_long")
    with uow_factory(write=True) as uow:
        case = find_by_code(uow, principal, command.code)
        if case.status not in EXPECTING_PARCEL:
            raise Conflict(
                f"return {case.rma} is {case.status.value}: it is not expecting a parcel",
                code="not_expecting_parcel",
                case_status=case.status.value,
                rma=case.rma,
            )
        version = case.version
        delivered = case.status is CaseStatus.received  # by the carrier: grade what is here
        lines = _lines(case, command.lines, delivered)
        now = clock()
        actor = principal.actor()
        role: Role | None = principal.role if principal.kind != "system" else None
        units = _units(lines)
        if delivered:
            case.grade(units)
            complete = True
        else:
            complete = not case.outstanding_after(units)
            target = CaseStatus.received if complete else CaseStatus.partially_received
            case.transition(actor, TransitionRequest(target, role, note, receipt=units), now)
        receipt = Receipt(new_id(), case.store_id, case.id, warehouse, lines, actor.name, now, note)
        graded = "; ".join(
            f"{ln.quantity} x {ln.sku}: {ln.grade.value}, {ln.disposition.value}" for ln in lines
        )
        if complete or receipt.holds_refund:
            inspected = TransitionRequest(
                CaseStatus.inspected, role, f"Graded at {warehouse}: {graded}."
            )
            case.transition(actor, inspected, now)
        if receipt.holds_refund:
            grades = sorted({ln.grade.value for ln in lines if ln.grade in HOLDS_REFUND})
            hold = TransitionRequest(
                CaseStatus.escalated,
                None,
                f"Refund held: the warehouse graded {', '.join(grades)}. A person reviews it.",
            )
            case.transition(Actor.system("Warehouse check"), hold, now)
        _book_costs(uow, case, lines)
        # An exchange whose replacement is already out (instant, or ordered by hand): done.
        ship_if_settled(case, uow.logistics.exchange(case.id), now)
        uow.logistics.add_receipt(receipt)
        for line in lines:
            if line.disposition is Disposition.restock:
                uow.logistics.restock(case.store_id, warehouse, line.sku, line.quantity, now)
        keep_up(uow, case)
        uow.cases.save(case, version)
        uow.commit()
        return Received(case, receipt, receipt.holds_refund)


def _book_costs(uow: UnitOfWork, case: ReturnCase, lines: tuple[ReceivedLine, ...]) -> None:
    """The store policy's economics: the return lane it pays (if the store pays shipping), its
    handling cost, and the resale value of the units by their disposition."""
    policy = store_policy(uow, case.store_id)
    if policy is None:  # pragma: no cover - stores are never deleted
        return
    store_pays = (case.decision or {}).get("return_shipping_paid_by") == "store"
    lane = policy.return_cost.get(case.market, {}).get(case.currency, 0) if store_pays else 0
    unit_paid = {ln.sku: ln.refundable_amount // ln.quantity for ln in case.lines}
    case.book_costs(
        return_shipping=lane,
        handling=policy.handling_cost.get(case.currency, 0),
        recovered=recovered_value(lines, unit_paid, policy.resale_bp, policy.resale_faulty_bp),
    )


def _lines(
    case: ReturnCase, given: tuple[LineIn, ...], delivered: bool
) -> tuple[ReceivedLine, ...]:
    if not given:  # a plain scan: everything still due (or delivered) came in as new
        due = [
            (ln.sku, ln.received_quantity if delivered else ln.quantity - ln.received_quantity)
            for ln in case.lines
        ]
        return tuple(
            ReceivedLine.of(sku, quantity, Grade.resellable, None)
            for sku, quantity in due
            if quantity > 0
        )
    if len(given) > 500:
        raise ValidationFailed("too many lines", code="too_many_lines")
    return tuple(
        ReceivedLine.of(
            ln.sku, ln.quantity, ln.grade, ln.disposition, check_answers(ln.sku, ln.checks or {})
        )
        for ln in given
    )


_WORST_FIRST = (
    ReceiptCondition.counterfeit_suspected,
    ReceiptCondition.empty_box,
    ReceiptCondition.wrong_item,
    ReceiptCondition.damaged,
    ReceiptCondition.intact,
)


def _units(lines: tuple[ReceivedLine, ...]) -> tuple[ReceiptLine, ...]:
    """Units per sku for the case (one sku may be graded in parts: 1 new, 1 damaged); the
    case line keeps the worst condition seen."""
    quantity: dict[str, int] = {}
    conditions: dict[str, set[ReceiptCondition]] = {}
    for line in lines:
        quantity[line.sku] = quantity.get(line.sku, 0) + line.quantity
        conditions.setdefault(line.sku, set()).add(GRADE_CONDITION[line.grade])
    return tuple(
        ReceiptLine(sku, count, next(c for c in _WORST_FIRST if c in conditions[sku]))
        for sku, count in quantity.items()
    )


def restock_counts(
    uow_factory: UnitOfWorkFactory, principal: Principal, warehouse: str | None = None
) -> list[tuple[str, str, int]]:
    """(warehouse, sku, units restocked): the principal's store (a platform admin: all)."""
    principal.require(Permission.warehouse_receive)
    with uow_factory() as uow:
        return uow.logistics.restock_counts(principal.store_id, warehouse)
