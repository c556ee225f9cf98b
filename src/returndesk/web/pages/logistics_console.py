"""The console's parcel and money pages: the warehouse scan-and-grade page (phone camera, USB
scanner gun or typing), a case's label, its refunds (execute, record, retry) and its exchange
(replacement order, card hold, the export of orders to make by hand)."""

from __future__ import annotations

import csv
import io
import uuid
from typing import Annotated

from fastapi import APIRouter, Path, Request
from fastapi.responses import RedirectResponse, Response
from starlette.concurrency import run_in_threadpool
from starlette.datastructures import FormData, UploadFile

from returndesk.domain.access import Permission, has_permission
from returndesk.domain.errors import DomainError
from returndesk.domain.logistics import Disposition, Grade
from returndesk.domain.money import Money
from returndesk.services.carrier_events import CSV_COLUMNS, ImportReport, import_scans
from returndesk.services.exchanges import (
    OrderExchange,
    exchanges_to_ship,
    order_exchange,
    record_replacement,
    retry_exchange,
    settle_hold_by_hand,
)
from returndesk.services.principal import Principal
from returndesk.services.receiving import (
    EXPECTING_PARCEL,
    LineIn,
    ReceiveParcel,
    inspection_checklists,
    lookup,
    receive,
    restock_counts,
)
from returndesk.services.refunds import RequestRefund, request_refund, retry_refund
from returndesk.services.return_labels import label_data
from returndesk.services.returns import get_case
from returndesk.web.api.exchanges import to_ship_csv
from returndesk.web.pages.console import (
    _act,
    can_open_settings,
    case_form_post,
    console_page,
    remember_language,
    signed_in_staff,
    staff_form,
    to_login,
)
from returndesk.web.pages.forms import field, int_field
from returndesk.web.pages.rendering import check_csrf, csrf_token
from returndesk.web.pages.return_label import label_response
from returndesk.web.pages.sessions import container_of

router = APIRouter(prefix="/console")
CaseId = Annotated[str, Path(pattern=r"^[0-9a-f-]{36}$")]
MAX_SCANS_BYTES = 5_000_000
RefundId = Annotated[str, Path(pattern=r"^[0-9a-f-]{36}$")]


@router.get("/cases/{case_id}/label.pdf")
def case_label(request: Request, case_id: CaseId) -> Response:
    staff = signed_in_staff(request)
    if staff is None:
        return to_login()
    try:
        data = label_data(container_of(request).uow, staff[0], case_id)
    except DomainError:
        return RedirectResponse(f"/console/cases/{case_id}", status_code=303)
    return label_response(data)


def _amount(raw: str, currency: str) -> int | None:
    raw = raw.strip()
    if not raw:
        return None
    if "," in raw and "." not in raw:  # "49,99" as typed in many locales
        raw = raw.replace(",", ".")
    return Money.from_decimal(raw, currency).amount


@router.post("/cases/{case_id}/refunds")
async def refund(request: Request, case_id: CaseId) -> Response:
    post = await case_form_post(request, case_id)
    if isinstance(post, Response):
        return post
    principal, token, container, form = post
    kept = {
        "refund_reference": field(form, "reference", 200),
        "refund_value": field(form, "amount", 20),
        "refund_note": field(form, "note", 4000),
    }
    try:
        amount = _amount(kept["refund_value"], field(form, "currency", 3))
    except DomainError:
        return _act(request, principal, token, case_id, kept, _invalid)
    command = RequestRefund(
        case_id=case_id,
        provider=field(form, "mode", 40) or "manual",
        key=field(form, "key", 64) or str(uuid.uuid4()),
        amount=amount,
        reference=kept["refund_reference"],
        final=field(form, "final", 5) == "1",
        note=kept["refund_note"],
    )
    providers = container.payment_providers()
    return _act(
        request, principal, token, case_id, kept,
        lambda: request_refund(container.uow, container.clock, principal, providers, command),
    )  # fmt: skip


@router.post("/cases/{case_id}/refunds/{refund_id}/retry")
async def retry(request: Request, case_id: CaseId, refund_id: RefundId) -> Response:
    post = await case_form_post(request, case_id)
    if isinstance(post, Response):
        return post
    principal, token, container, _form = post
    providers = container.payment_providers()
    return _act(
        request, principal, token, case_id, {},
        lambda: retry_refund(
            container.uow, container.clock, principal, providers, case_id, refund_id
        ),
    )  # fmt: skip


# --- exchanges -------------------------------------------------------------------------------


@router.post("/cases/{case_id}/exchange")
async def exchange(request: Request, case_id: CaseId) -> Response:
    """Create the replacement order: one replacement sku per returned line (the same sku
    unless the agent typed another), instant or not."""
    post = await case_form_post(request, case_id)
    if isinstance(post, Response):
        return post
    principal, token, container, form = post
    try:
        case = get_case(container.uow, principal, case_id)
    except DomainError:
        return RedirectResponse("/console", status_code=303)
    lines = tuple(
        (ln.sku, ln.quantity, field(form, f"replacement-{i}", 100) or ln.sku)
        for i, ln in enumerate(case.lines)
    )
    command = OrderExchange(case_id, lines, field(form, "instant", 5) == "1")
    return _act(
        request, principal, token, case_id, {},
        lambda: order_exchange(
            container.uow, container.clock, principal, container.holding_providers(),
            container.store_orders(), command,
        ),
    )  # fmt: skip


@router.post("/cases/{case_id}/exchange/retry")
async def exchange_retry(request: Request, case_id: CaseId) -> Response:
    post = await case_form_post(request, case_id)
    if isinstance(post, Response):
        return post
    principal, token, container, _form = post
    return _act(
        request, principal, token, case_id, {},
        lambda: retry_exchange(
            container.uow, container.clock, principal, container.holding_providers(),
            container.store_orders(), case_id,
        ),
    )  # fmt: skip


@router.post("/cases/{case_id}/exchange/order")
async def exchange_order(request: Request, case_id: CaseId) -> Response:
    """The replacement order made by hand in the shop system (from the export)."""
    post = await case_form_post(request, case_id)
    if isinstance(post, Response):
        return post
    principal, token, container, form = post
    reference = field(form, "order_reference", 200)
    return _act(
        request, principal, token, case_id, {"exchange_reference": reference},
        lambda: record_replacement(
            container.uow, container.clock, principal, case_id, reference
        ),
    )  # fmt: skip


@router.post("/cases/{case_id}/exchange/hold")
async def exchange_hold(request: Request, case_id: CaseId) -> Response:
    """Charge or let go an instant exchange's open card hold (a parcel held for review)."""
    post = await case_form_post(request, case_id)
    if isinstance(post, Response):
        return post
    principal, token, container, form = post
    action = field(form, "action", 10)
    if action not in ("capture", "release"):
        return _act(request, principal, token, case_id, {}, _invalid)
    return _act(
        request, principal, token, case_id, {},
        lambda: settle_hold_by_hand(
            container.uow, container.clock, principal, container.holding_providers(),
            case_id, capture=action == "capture",
        ),
    )  # fmt: skip


@router.get("/exchanges/to-ship.csv")
def exchanges_export(request: Request) -> Response:
    """The exchanges waiting for an order made by hand, for a spreadsheet (signed-in staff)."""
    staff = signed_in_staff(request)
    if staff is None:
        return to_login()
    try:
        found = exchanges_to_ship(container_of(request).uow, staff[0])
    except DomainError:
        return RedirectResponse("/console", status_code=303)
    return Response(
        to_ship_csv(found),
        media_type="text/csv; charset=utf-8",
        headers={"Content-Disposition": 'attachment; filename="exchanges-to-ship.csv"'},
    )


def _checks(form: FormData, index: int, items: tuple[str, ...]) -> dict[str, bool] | None:
    """The checklist as ticked (a ticked item passed); nothing ticked: not answered."""
    ticked = {v for v in form.getlist(f"passed_{index}") if isinstance(v, str)}
    if not ticked & set(items):
        return None
    return {item: item in ticked for item in items}


def _invalid() -> None:
    raise DomainError("invalid form", code="invalid_form")


# --- the warehouse page ------------------------------------------------------------------


def _warehouse_page(
    request: Request,
    principal: Principal,
    token: str,
    *,
    code: str = "",
    error: str | None = None,
    done_id: str | None = None,
    status_code: int = 200,
    scan_report: ImportReport | None = None,
) -> Response:
    container = container_of(request)
    page = console_page(request)
    if not has_permission(principal.role, Permission.warehouse_receive):
        return RedirectResponse("/console", status_code=303)
    found = None
    if code:
        try:
            found = lookup(container.uow, principal, code)
        except DomainError as exc:
            if error is None:
                error, status_code = exc.code, 404 if exc.code == "unknown_code" else 422
    done = None
    if done_id:
        try:
            done = get_case(container.uow, principal, done_id)
        except DomainError:
            done = None
    warehouse = request.query_params.get("warehouse") or request.cookies.get("rd_warehouse")
    response = page.render(
        request,
        "console/warehouse.html",
        status_code=status_code,
        principal=principal,
        can_settings=can_open_settings(principal),
        code=code,
        found=found,
        expecting=found is not None and found.status in EXPECTING_PARCEL,
        checklists=inspection_checklists(container.uow, found) if found else {},
        done=done,
        error=error,
        grades=[g.value for g in Grade],
        dispositions=[d.value for d in Disposition],
        warehouse=warehouse or container.settings.default_warehouse,
        restock=restock_counts(container.uow, principal)[:50],
        can_import_scans=has_permission(principal.role, Permission.carrier_event_write),
        scan_report=scan_report,
        csrf=csrf_token(container.settings.secret_key, token),
    )
    return remember_language(request, response)


@router.get("/warehouse")
def warehouse(request: Request) -> Response:
    staff = signed_in_staff(request)
    if staff is None:
        return to_login()
    code = (request.query_params.get("code") or "").replace("\x00", "")[:100].strip()
    done = request.query_params.get("done") or None
    if done is not None and len(done) != 36:
        done = None
    return _warehouse_page(request, *staff, code=code, done_id=done)


@router.post("/warehouse/receipts")
async def warehouse_receive(request: Request) -> Response:
    posted = await staff_form(request)
    if posted is None:
        return to_login()
    principal, token, container, form = (
        posted.principal,
        posted.token,
        posted.container,
        posted.form,
    )
    code = field(form, "code", 100)
    if not posted.csrf_ok:
        return _warehouse_page(
            request, principal, token, code=code, error="generic", status_code=400
        )
    warehouse = field(form, "warehouse", 40) or container.settings.default_warehouse
    try:
        lines: list[LineIn] = []
        if field(form, "mode", 10) == "graded":
            checklists = inspection_checklists(
                container.uow, lookup(container.uow, principal, code)
            )
            for i in range(min(int_field(form, "line_count"), 500)):
                count = int_field(form, f"quantity_{i}")
                if count <= 0:
                    continue
                sku = field(form, f"sku_{i}", 100)
                disposition = field(form, f"disposition_{i}", 40)
                lines.append(
                    LineIn(
                        sku=sku,
                        quantity=count,
                        grade=Grade(field(form, f"grade_{i}", 40) or "resellable"),
                        disposition=Disposition(disposition) if disposition else None,
                        checks=_checks(form, i, checklists.get(sku, ())),
                    )
                )
            if not lines:
                raise ValueError("nothing received")
        done = receive(
            container.uow,
            container.clock,
            principal,
            ReceiveParcel(code, tuple(lines), warehouse, field(form, "note", 4000)),
        )
    except ValueError:
        return _warehouse_page(
            request, principal, token, code=code, error="invalid_form", status_code=422
        )
    except DomainError as exc:
        return _warehouse_page(
            request, principal, token, code=code, error=exc.code, status_code=422
        )
    container.after_parcel_moved(done.case.id)
    response = RedirectResponse(f"/console/warehouse?done={done.case.id}", status_code=303)
    response.set_cookie("rd_warehouse", warehouse, max_age=365 * 86400, samesite="lax")
    return response


@router.post("/warehouse/carrier-scans")
async def carrier_scans_upload(request: Request) -> Response:
    """A carrier's CSV export of return-parcel scans (the columns of `returndesk carrier-events
    import`), row by row; the page shows what was recorded, moved, already known or refused."""
    staff = signed_in_staff(request)
    if staff is None:
        return to_login()
    principal, token = staff
    container = container_of(request)

    def refused(code: str, status: int) -> Response:
        return _warehouse_page(request, principal, token, error=code, status_code=status)

    try:
        form = await request.form(max_files=1, max_fields=10)
    except Exception:
        return refused("invalid_form", 400)
    try:
        if not check_csrf(container.settings.secret_key, token, field(form, "csrf", 64)):
            return refused("generic", 400)
        if not has_permission(principal.role, Permission.carrier_event_write):
            return refused("forbidden", 403)
        upload = form.get("file")
        if not isinstance(upload, UploadFile):
            return refused("file_required", 422)
        data = await upload.read(MAX_SCANS_BYTES + 1)
    finally:
        await form.close()  # uploads are spooled to temporary files
    if len(data) > MAX_SCANS_BYTES:
        return refused("file_too_large", 413)
    try:
        reader = csv.DictReader(io.StringIO(data.decode("utf-8-sig"), newline=""))
        if set(CSV_COLUMNS[:4]) - set(reader.fieldnames or ()):
            return refused("missing_columns", 422)
        rows = list(reader)
    except UnicodeDecodeError:
        return refused("invalid_encoding", 422)
    except csv.Error:
        return refused("invalid_csv", 422)
    # up to 100k rows, one transaction each: off the event loop
    report = await run_in_threadpool(import_scans, container.uow, container.clock, principal, rows)
    if report.moved:
        container.sweep_after_scans()
    return _warehouse_page(request, principal, token, scan_report=report)
