"""Webhooks for the store's other systems: endpoints, secrets, deliveries, replays."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Path, Response
from pydantic import Field
from starlette.concurrency import run_in_threadpool

from returndesk.adapters.webhooks import check_destination
from returndesk.bootstrap import Container
from returndesk.domain.access import Permission
from returndesk.domain.webhooks import DeliveryView, WebhookEndpoint
from returndesk.services.principal import Principal
from returndesk.services.webhooks import (
    deactivate,
    list_deliveries,
    list_endpoints,
    register_endpoint,
    replay_delivery,
    rotate_secret,
)
from returndesk.web.deps import ContainerDep, PrincipalDep
from returndesk.web.schemas import Body, Slug, iso

router = APIRouter(prefix="/api/v1", tags=["webhooks"])
EndpointId = Annotated[str, Path(pattern=r"^[0-9a-f-]{36}$")]
DeliveryId = Annotated[str, Path(pattern=r"^msg_[0-9a-f_-]{1,70}$")]
EventName = Annotated[str, Field(min_length=1, max_length=60, pattern=r"^[a-z_.*]+$")]


class WebhookIn(Body):
    url: Annotated[str, Field(min_length=8, max_length=2000)]
    events: list[EventName] = Field(min_length=1, max_length=20)
    store: Slug | None = None


def endpoint_out(endpoint: WebhookEndpoint, *, with_secret: bool = False) -> dict[str, Any]:
    out: dict[str, Any] = {
        "id": endpoint.id,
        "url": endpoint.url,
        "events": sorted(endpoint.events),
        "active": endpoint.active,
        "created_at": endpoint.created_at.isoformat(),
    }
    if with_secret:
        out["secret"] = endpoint.secrets[-1].value
    return out


def delivery_out(d: DeliveryView) -> dict[str, Any]:
    return {
        "id": d.id,
        "type": d.topic,
        "case_id": d.case_id,
        "status": d.status,
        "attempts": d.attempts,
        "next_attempt_at": iso(d.next_attempt_at),
        "last_status": d.last_status,
        "last_error": d.last_error,
        "created_at": iso(d.created_at),
        "delivered_at": iso(d.delivered_at),
        "history": [
            {"at": iso(a.at), "status": a.status, "error": a.error, "duration_ms": a.duration_ms}
            for a in d.history
        ],
    }


@router.post("/webhooks", status_code=201)
async def create_webhook(
    body: WebhookIn, principal: PrincipalDep, container: ContainerDep
) -> dict[str, Any]:
    """Register an endpoint; the answer carries its signing secret (shown once)."""
    allow = container.settings.webhook_allow_private
    endpoint = await run_in_threadpool(
        _register, container, principal, body.url, body.events, body.store, allow
    )
    return endpoint_out(endpoint, with_secret=True)


def _register(
    container: Container,
    principal: Principal,
    url: str,
    events: list[str],
    store: str | None,
    allow: bool,
) -> WebhookEndpoint:
    principal.require(Permission.webhook_write)  # before resolving anything for the caller
    check_destination(url, allow)
    return register_endpoint(container.uow, container.clock, principal, url, events, store)


@router.get("/webhooks")
def webhooks(principal: PrincipalDep, container: ContainerDep) -> dict[str, Any]:
    return {"items": [endpoint_out(e) for e in list_endpoints(container.uow, principal)]}


@router.post("/webhooks/{endpoint_id}/secret")
def rotate(
    endpoint_id: EndpointId, principal: PrincipalDep, container: ContainerDep
) -> dict[str, Any]:
    """A new secret; the previous one keeps signing for 24 hours."""
    endpoint = rotate_secret(container.uow, container.clock, principal, endpoint_id)
    return endpoint_out(endpoint, with_secret=True)


@router.delete("/webhooks/{endpoint_id}", status_code=204)
def stop(endpoint_id: EndpointId, principal: PrincipalDep, container: ContainerDep) -> Response:
    deactivate(container.uow, principal, endpoint_id)
    return Response(status_code=204)


@router.get("/webhooks/{endpoint_id}/deliveries")
def deliveries(
    endpoint_id: EndpointId, principal: PrincipalDep, container: ContainerDep
) -> dict[str, Any]:
    return {
        "items": [delivery_out(d) for d in list_deliveries(container.uow, principal, endpoint_id)]
    }


@router.post("/webhooks/{endpoint_id}/deliveries/{delivery_id}/replay", status_code=202)
def replay(
    endpoint_id: EndpointId,
    delivery_id: DeliveryId,
    principal: PrincipalDep,
    container: ContainerDep,
) -> dict[str, str]:
    replay_delivery(container.uow, container.clock, principal, endpoint_id, delivery_id)
    return {"status": "queued"}
