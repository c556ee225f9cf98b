"""The return label and packing slip of a case, and how the buyer sends the item back."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from returndesk.domain.access import Permission
from returndesk.domain.cases.model import ReturnCase
from returndesk.domain.cases.status import CaseStatus
from returndesk.domain.errors import Conflict
from returndesk.domain.orders import Order
from returndesk.services.ports import UnitOfWorkFactory
from returndesk.services.principal import Principal
from returndesk.services.return_address import PARCEL_DUE
from returndesk.services.returns import load_case

_SENT_BACK = ("approve_return", "offer_exchange")
# While the parcel is due (or on its way: a lost label can be printed again).
LABEL_STATUSES = PARCEL_DUE | {CaseStatus.approved}


def return_method(case: ReturnCase) -> str | None:
    """keep (no return: refund without the item), drop_off (no printer needed: a QR code shown
    at a carrier's drop-off point), local (an address in the buyer's country), origin (back to
    the store's own warehouse), or None (nothing to send, or not decided)."""
    decision = case.decision or {}
    if case.status is CaseStatus.approved and decision.get("outcome") == "approve_returnless":
        return "keep"
    address = return_address(case)
    if address is None or case.status not in LABEL_STATUSES:
        return None
    if address.get("drop_off"):
        return "drop_off"
    return "local" if address.get("local") else "origin"


def return_address(case: ReturnCase) -> dict[str, Any] | None:
    """The case's own (fixed when the parcel became due), else what the decision names."""
    if case.return_address is not None:
        return case.return_address
    decision = case.decision or {}
    address = decision.get("return_address")
    if not isinstance(address, dict) or decision.get("outcome") not in _SENT_BACK:
        return None
    return address


def label_available(case: ReturnCase) -> bool:
    return return_method(case) in ("local", "origin", "drop_off")


@dataclass(frozen=True, slots=True)
class LabelData:
    case: ReturnCase
    order: Order
    store_name: str
    address: dict[str, Any]


def label_data(uow_factory: UnitOfWorkFactory, principal: Principal, case_id: str) -> LabelData:
    """What the label shows; only while the buyer has a parcel to send."""
    principal.require(Permission.case_read)
    with uow_factory() as uow:
        case = load_case(uow, principal, case_id)
        address = return_address(case)
        if not label_available(case) or address is None:
            raise Conflict(
                f"return {case.rma} has no parcel to send ({case.status.value})",
                code="no_label",
                case_status=case.status.value,
                method=return_method(case),
            )
        order = uow.orders.get(case.order_id)
        store = uow.stores.get(case.store_id)
    assert order is not None and store is not None
    return LabelData(case, order, store.name, address)
