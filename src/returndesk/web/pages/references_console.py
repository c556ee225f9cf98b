"""Reference photos in the console: what each product looks like when it leaves, so photos of
returned items can be compared with it."""

from __future__ import annotations

import tempfile
from pathlib import Path as FilePath
from typing import Annotated

from fastapi import APIRouter, Path, Request
from fastapi.responses import RedirectResponse, Response
from starlette.concurrency import run_in_threadpool
from starlette.datastructures import UploadFile

from returndesk.domain.access import Permission, has_permission
from returndesk.domain.errors import DomainError
from returndesk.services.principal import Principal
from returndesk.services.references import (
    add_reference,
    list_references,
    reference_file,
    remove_reference,
)
from returndesk.web.api.evidence import serve_blob
from returndesk.web.pages.console import (
    can_open_settings,
    console_page,
    remember_language,
    signed_in_staff,
    to_login,
)
from returndesk.web.pages.forms import field
from returndesk.web.pages.rendering import check_csrf, csrf_token
from returndesk.web.pages.sessions import container_of

router = APIRouter(prefix="/console/references")
ReferenceId = Annotated[str, Path(pattern=r"^[0-9a-f-]{36}$")]
MAX_BYTES = 30 * 1024 * 1024


def _render(
    request: Request, principal: Principal, token: str, *, status_code: int = 200,
    error: str | None = None, sku: str = "",
) -> Response:  # fmt: skip
    container = container_of(request)
    response = console_page(request).render(
        request,
        "console/references.html",
        status_code=status_code,
        principal=principal,
        can_settings=can_open_settings(principal),
        can_edit=has_permission(principal.role, Permission.order_write),
        references=list_references(container.uow, principal),
        csrf=csrf_token(container.settings.secret_key, token),
        error=error,
        sku=sku,
    )
    return remember_language(request, response)


@router.get("")
def references_page(request: Request) -> Response:
    staff = signed_in_staff(request)
    if staff is None:
        return to_login()
    return _render(request, *staff)


@router.post("")
async def references_post(request: Request) -> Response:
    staff = signed_in_staff(request)
    if staff is None:
        return to_login()
    principal, token = staff
    container = container_of(request)
    try:
        form = await request.form(max_files=1, max_fields=10)
    except Exception:
        return _render(request, principal, token, status_code=400, error="invalid_form")
    try:
        if not check_csrf(container.settings.secret_key, token, field(form, "csrf", 64)):
            return _render(request, principal, token, status_code=400, error="generic")
        sku = field(form, "sku", 100)
        if field(form, "action", 20) == "delete":
            try:
                remove_reference(container.uow, principal, field(form, "reference", 36))
            except DomainError as exc:
                return _render(request, principal, token, status_code=422, error=exc.code)
            return RedirectResponse("/console/references", status_code=303)
        upload = form.get("file")
        if not isinstance(upload, UploadFile):
            return _render(request, principal, token, status_code=422, error="file_required",
                           sku=sku)  # fmt: skip
        data = await upload.read(MAX_BYTES + 1)
        filename = upload.filename or "reference.jpg"
    finally:
        await form.close()
    if len(data) > MAX_BYTES:
        return _render(request, principal, token, status_code=413, error="file_too_large")
    with tempfile.TemporaryDirectory(prefix="reference-") as folder:
        source = FilePath(folder) / "photo"
        source.write_bytes(data)
        try:
            await run_in_threadpool(
                lambda: add_reference(
                    container.uow, container.clock, container.files, principal, sku=sku,
                    source=source, filename=filename,
                )
            )  # fmt: skip
        except DomainError as exc:
            return _render(request, principal, token, status_code=422, error=exc.code, sku=sku)
    return RedirectResponse("/console/references", status_code=303)


@router.get("/{reference_id}")
async def reference_image(request: Request, reference_id: ReferenceId) -> Response:
    staff = signed_in_staff(request)
    if staff is None:
        return Response(status_code=401)
    container = container_of(request)
    photo = reference_file(container.uow, staff[0], reference_id)
    return await serve_blob(container, photo.sha256, photo.filename, photo.media_type, False)
