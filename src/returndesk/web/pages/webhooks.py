"""Webhooks in the console: endpoints, their deliveries with every attempt, replays."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Path, Request
from fastapi.responses import RedirectResponse, Response
from starlette.concurrency import run_in_threadpool

from returndesk.adapters.webhooks import check_destination
from returndesk.domain.access import Permission, has_permission
from returndesk.domain.errors import DomainError
from returndesk.domain.webhooks import ALL, EVENT_TYPES
from returndesk.services.principal import Principal
from returndesk.services.webhooks import (
    deactivate,
    list_deliveries,
    list_endpoints,
    register_endpoint,
    replay_delivery,
    rotate_secret,
)
from returndesk.web.pages.console import (
    can_open_settings,
    console_page,
    remember_language,
    signed_in_staff,
    to_login,
)
from returndesk.web.pages.forms import field, read_form
from returndesk.web.pages.rendering import check_csrf, csrf_token
from returndesk.web.pages.sessions import container_of

router = APIRouter(prefix="/console/webhooks")
EndpointId = Annotated[str, Path(pattern=r"^[0-9a-f-]{36}$")]


def _staff(request: Request) -> tuple[Principal, str] | None:
    staff = signed_in_staff(request)
    if staff is None or not has_permission(staff[0].role, Permission.webhook_read):
        return None
    return staff


def _render(
    request: Request,
    principal: Principal,
    token: str,
    *,
    status_code: int = 200,
    error: str | None = None,
    error_detail: str = "",
    secret: str | None = None,
    url: str = "",
) -> Response:
    container = container_of(request)
    endpoints = list_endpoints(container.uow, principal)
    deliveries = {e.id: list_deliveries(container.uow, principal, e.id)[:20] for e in endpoints}
    response = console_page(request).render(
        request,
        "console/webhooks.html",
        status_code=status_code,
        principal=principal,
        can_settings=can_open_settings(principal),
        can_edit=has_permission(principal.role, Permission.webhook_write),
        endpoints=endpoints,
        deliveries=deliveries,
        event_types=EVENT_TYPES,
        csrf=csrf_token(container.settings.secret_key, token),
        error=error,
        error_detail=error_detail,
        secret=secret,
        url=url,
    )
    return remember_language(request, response)


@router.get("")
def webhooks_page(request: Request) -> Response:
    staff = _staff(request)
    if staff is None:
        return to_login()
    return _render(request, *staff)


@router.post("")
async def act(request: Request) -> Response:
    """Add an endpoint (its secret is shown once), rotate a secret, stop, or replay."""
    staff = _staff(request)
    if staff is None:
        return to_login()
    principal, token = staff
    container = container_of(request)
    form = await read_form(request)
    if not check_csrf(container.settings.secret_key, token, field(form, "csrf", 64)):
        return _render(request, principal, token, status_code=400, error="generic")
    action = field(form, "action", 20)
    target = field(form, "endpoint", 36)
    url = field(form, "url", 2000)
    try:
        if action == "add":
            events = [e for e in form.getlist("events") if isinstance(e, str)][:20] or [ALL]
            allow = container.settings.webhook_allow_private

            def add() -> Any:
                principal.require(Permission.webhook_write)
                check_destination(url, allow)
                return register_endpoint(container.uow, container.clock, principal, url, events)

            endpoint = await run_in_threadpool(add)
            return _render(request, principal, token, secret=endpoint.secrets[-1].value)
        if action == "rotate":
            endpoint = rotate_secret(container.uow, container.clock, principal, target)
            return _render(request, principal, token, secret=endpoint.secrets[-1].value)
        if action == "stop":
            deactivate(container.uow, principal, target)
        elif action == "replay":
            replay_delivery(
                container.uow, container.clock, principal, target, field(form, "delivery", 80)
            )
    except DomainError as exc:
        status = 403 if exc.code == "forbidden" else 404 if exc.code.endswith("not_found") else 422
        return _render(
            request, principal, token, status_code=status, error=exc.code,
            error_detail=exc.detail, url=url,
        )  # fmt: skip
    return RedirectResponse("/console/webhooks", status_code=303)
