"""Return labels, warehouse receiving and refunds (docs/logistics.md)."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Header, Path, Query, Response

from returndesk.services.receiving import (
    LineIn,
    ReceiveParcel,
    inspection_checklists,
    lookup,
    receive,
    restock_counts,
)
from returndesk.services.refunds import (
    RequestRefund,
    list_refunds,
    request_refund,
    retry_refund,
)
from returndesk.services.return_labels import label_data
from returndesk.web.api.returns import CaseId, etag
from returndesk.web.deps import ContainerDep, PrincipalDep
from returndesk.web.pages.return_label import label_response
from returndesk.web.problems import HttpProblem
from returndesk.web.schemas import (
    ReceiptIn,
    RefundIn,
    case_out,
    receipt_out,
    refund_out,
    visible_refunds,
)

router = APIRouter(prefix="/api/v1", tags=["logistics"])

RefundId = Annotated[str, Path(pattern=r"^[0-9a-f-]{36}$")]


@router.get("/returns/{case_id}/label.pdf")
def return_label(case_id: CaseId, principal: PrincipalDep, container: ContainerDep) -> Response:
    return label_response(label_data(container.uow, principal, case_id))


@router.get("/warehouse/lookup")
def warehouse_lookup(
    principal: PrincipalDep,
    container: ContainerDep,
    code: Annotated[str, Query(min_length=1, max_length=100)],
) -> dict[str, Any]:
    """What a scan names before anything is booked: the case, its units, what is still due,
    and what to check on each (`checklists`: sku -> items)."""
    case = lookup(container.uow, principal, code)
    out = case_out(case, principal.role)
    out["checklists"] = {
        sku: list(items) for sku, items in inspection_checklists(container.uow, case).items()
    }
    return out


@router.post("/warehouse/receipts", status_code=201)
def warehouse_receipt(
    body: ReceiptIn, response: Response, principal: PrincipalDep, container: ContainerDep
) -> dict[str, Any]:
    command = ReceiveParcel(
        code=body.code,
        lines=tuple(
            LineIn(ln.sku, ln.quantity, ln.grade, ln.disposition, ln.checks) for ln in body.lines
        ),
        warehouse=body.warehouse or container.settings.default_warehouse,
        note=body.note,
    )
    done = receive(container.uow, container.clock, principal, command)
    container.after_parcel_moved(done.case.id)
    response.headers["ETag"] = etag(done.case.version)
    response.headers["Location"] = f"/api/v1/returns/{done.case.id}"
    return {
        "case": case_out(done.case, principal.role),
        "receipt": receipt_out(done.receipt),
        "refund_held": done.held,
    }


@router.get("/warehouse/restock")
def warehouse_restock(
    principal: PrincipalDep,
    container: ContainerDep,
    warehouse: Annotated[str | None, Query(max_length=40)] = None,
) -> dict[str, Any]:
    rows = restock_counts(container.uow, principal, warehouse)
    return {"items": [{"warehouse": w, "sku": s, "quantity": q} for w, s, q in rows]}


@router.get("/returns/{case_id}/refunds")
def case_refunds(
    case_id: CaseId, principal: PrincipalDep, container: ContainerDep
) -> dict[str, Any]:
    return {"items": visible_refunds(list_refunds(container.uow, principal, case_id), principal)}


@router.post("/returns/{case_id}/refunds", status_code=201)
def create_refund(
    case_id: CaseId,
    body: RefundIn,
    response: Response,
    principal: PrincipalDep,
    container: ContainerDep,
    idempotency_key: Annotated[
        str | None, Header(max_length=200, pattern=r"^[\x21-\x7e]+$")
    ] = None,
) -> dict[str, Any]:
    """Execute (through a provider) or record (manual) a refund; the key makes retries safe."""
    if idempotency_key is None:
        raise HttpProblem(
            428, "idempotency_key_required", "send an Idempotency-Key header with each refund"
        )
    command = RequestRefund(
        case_id=case_id,
        provider=body.mode,
        key=idempotency_key,
        amount=body.amount,
        currency=body.currency,
        reference=body.reference,
        final=body.final,
        note=body.note,
    )
    result = request_refund(
        container.uow, container.clock, principal, container.payment_providers(), command
    )
    if result.replayed:
        response.status_code = 200
        response.headers["Idempotent-Replayed"] = "true"
    return refund_out(result.refund, principal.role)


@router.post("/returns/{case_id}/refunds/{refund_id}/retry")
def retry_failed_refund(
    case_id: CaseId, refund_id: RefundId, principal: PrincipalDep, container: ContainerDep
) -> dict[str, Any]:
    result = retry_refund(
        container.uow,
        container.clock,
        principal,
        container.payment_providers(),
        case_id,
        refund_id,
    )
    return refund_out(result.refund, principal.role)
