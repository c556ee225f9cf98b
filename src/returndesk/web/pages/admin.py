"""Store settings in the console: staff accounts, order import, a link to the policy."""

from __future__ import annotations

import io
from dataclasses import dataclass

from fastapi import APIRouter, Request
from fastapi.responses import RedirectResponse, Response
from starlette.datastructures import FormData, UploadFile

from returndesk.adapters.importers.shopify_csv import parse_shopify_csv, start_report
from returndesk.bootstrap import Container
from returndesk.domain.access import STAFF_ROLES, Permission, Role, has_permission
from returndesk.domain.errors import DomainError
from returndesk.domain.integrations import SCOPES
from returndesk.services.imports import ImportReport, import_orders
from returndesk.services.integrations import create_token, list_tokens, revoke_token
from returndesk.services.policies import get_active
from returndesk.services.principal import Principal
from returndesk.services.staff import create_staff_user, list_staff
from returndesk.web.pages.console import (
    can_open_settings,
    console_page,
    remember_language,
    signed_in_staff,
    to_login,
)
from returndesk.web.pages.forms import field, read_form
from returndesk.web.pages.i18n import CONSOLE_LANGUAGES
from returndesk.web.pages.rendering import check_csrf, csrf_token
from returndesk.web.pages.sessions import container_of

router = APIRouter(prefix="/console/admin")
MAX_IMPORT_BYTES = 20_000_000
NEW_TOKEN_COOKIE = "rd_new_token"  # noqa: S105 - a cookie name, not a secret


def _render(
    request: Request,
    principal: Principal,
    token: str,
    *,
    status_code: int = 200,
    message: str | None = None,
    error: str | None = None,
    report: ImportReport | None = None,
    form: dict[str, str] | None = None,
    new_token: str | None = None,
) -> Response:
    container = container_of(request)
    role = principal.role
    policy = (
        get_active(container.uow, principal, None)
        if has_permission(role, Permission.policy_read)
        else None
    )
    staff = (
        list_staff(container.uow, principal)
        if has_permission(role, Permission.staff_read)
        else None
    )
    creatable = [r for r in STAFF_ROLES if r is not Role.platform_admin or principal.is_platform]
    response = console_page(request).render(
        request,
        "console/admin.html",
        status_code=status_code,
        principal=principal,
        can_settings=True,
        policy=policy,
        staff=staff,
        can_create_staff=has_permission(role, Permission.staff_write),
        can_import=has_permission(role, Permission.order_write),
        tokens=list_tokens(container.uow, principal)
        if has_permission(role, Permission.integration_manage) and principal.store_id
        else None,
        new_token=new_token,
        scopes=sorted(SCOPES),
        roles=creatable,
        console_languages=CONSOLE_LANGUAGES,
        csrf=csrf_token(container.settings.secret_key, token),
        message=message,
        error=error,
        report=report,
        form=form or {},
    )
    return remember_language(request, response)


def _signed_in(request: Request) -> tuple[Principal, str] | None:
    staff = signed_in_staff(request)
    if staff is None or not can_open_settings(staff[0]):
        return None
    return staff


@router.get("")
def settings_page(request: Request) -> Response:
    staff = _signed_in(request)
    if staff is None:
        return to_login() if signed_in_staff(request) is None else _to_queue()
    secret = request.cookies.get(NEW_TOKEN_COOKIE)
    if secret and request.query_params.get("created") == "token":
        response = _render(request, *staff, message="token_created", new_token=secret[:200])
    else:
        response = _render(request, *staff)
    if secret:
        response.delete_cookie(NEW_TOKEN_COOKIE, path="/console/admin")
    return response


def _to_queue() -> Response:
    return RedirectResponse("/console", status_code=303)


@dataclass(frozen=True, slots=True)
class _Post:
    principal: Principal
    token: str
    container: Container
    form: FormData
    kept: dict[str, str]  # what the person typed, shown again if the action fails


async def _checked_post(request: Request, keep: dict[str, int] | None = None) -> _Post | Response:
    """A settings form post from a signed-in user with a valid CSRF token, or the page to show."""
    staff = _signed_in(request)
    if staff is None:
        return to_login()
    principal, token = staff
    container = container_of(request)
    form = await read_form(request)
    kept = {name: field(form, name, size) for name, size in (keep or {}).items()}
    if not check_csrf(container.settings.secret_key, token, field(form, "csrf", 64)):
        return _render(request, principal, token, status_code=400, error="generic", form=kept)
    return _Post(principal, token, container, form, kept)


def _refused(request: Request, post: _Post, error: DomainError | str) -> Response:
    code = error if isinstance(error, str) else error.code
    status = 403 if code == "forbidden" else 422
    return _render(
        request, post.principal, post.token, status_code=status, error=code, form=post.kept
    )


@router.post("/staff")
async def add_staff(request: Request) -> Response:
    post = await _checked_post(request, {"email": 320, "name": 200, "role": 32, "language": 8})
    if isinstance(post, Response):
        return post
    container, kept = post.container, post.kept
    try:
        create_staff_user(
            container.uow,
            container.hasher,
            container.clock,
            post.principal,
            email=kept["email"],
            role=Role(kept["role"]),
            password=field(post.form, "password", 1024),
            name=kept["name"],
            language=kept["language"] or "en",
        )
    except ValueError:
        return _refused(request, post, "invalid_form")
    except DomainError as exc:
        return _refused(request, post, exc)
    return _render(request, post.principal, post.token, message="staff_created")


@router.post("/import")
async def import_file(request: Request) -> Response:
    staff = _signed_in(request)
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
        if not has_permission(principal.role, Permission.order_write):
            return _render(request, principal, token, status_code=403, error="forbidden")
        upload = form.get("file")
        if not isinstance(upload, UploadFile):
            return _render(request, principal, token, status_code=422, error="file_required")
        data = await upload.read(MAX_IMPORT_BYTES + 1)
    finally:
        await form.close()  # uploads are spooled to temporary files
    if len(data) > MAX_IMPORT_BYTES:
        return _render(request, principal, token, status_code=413, error="file_too_large")
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError:
        return _render(request, principal, token, status_code=422, error="invalid_encoding")
    try:
        parsed = parse_shopify_csv(io.StringIO(text))
    except DomainError as exc:
        return _render(request, principal, token, status_code=422, error=exc.code)
    report = import_orders(
        container.uow,
        principal,
        ((item.first_row, item.order) for item in parsed.orders),
        start_report(parsed),
    )
    return _render(request, principal, token, report=report)


@router.post("/tokens")
async def add_token(request: Request) -> Response:
    """Create an integration token; the page shows the whole token this once."""
    post = await _checked_post(request, {"token_name": 100})
    if isinstance(post, Response):
        return post
    scopes = [s for s in post.form.getlist("scope") if isinstance(s, str)]
    try:
        made = create_token(
            post.container.uow,
            post.container.clock,
            post.principal,
            post.kept["token_name"],
            scopes,
        )
    except DomainError as exc:
        return _refused(request, post, exc)
    # Post, then redirect: a reload must not make a second token. The secret crosses the
    # redirect in a short-lived cookie only this page reads (and deletes), never in a URL.
    response = RedirectResponse("/console/admin?created=token", status_code=303)
    response.set_cookie(
        NEW_TOKEN_COOKIE, made.secret, max_age=60, httponly=True, samesite="strict",
        path="/console/admin",
    )  # fmt: skip
    return response


@router.post("/tokens/{token_id}/revoke")
async def revoke(request: Request, token_id: str) -> Response:
    post = await _checked_post(request)
    if isinstance(post, Response):
        return post
    try:
        revoke_token(post.container.uow, post.container.clock, post.principal, token_id[:36])
    except DomainError as exc:
        return _refused(request, post, exc)
    return _render(request, post.principal, post.token, message="token_revoked")
