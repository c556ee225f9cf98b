"""Webhook endpoints: register, list, rotate the secret, stop; deliveries and replays."""

from __future__ import annotations

from returndesk.domain.access import Permission
from returndesk.domain.errors import NotFound
from returndesk.domain.ids import new_id
from returndesk.domain.webhooks import (
    DeliveryView,
    Secret,
    WebhookEndpoint,
    check_events,
    check_url_shape,
    new_secret,
)
from returndesk.services.ports import Clock, UnitOfWork, UnitOfWorkFactory
from returndesk.services.principal import Principal
from returndesk.services.stores import resolve_store


def register_endpoint(
    uow_factory: UnitOfWorkFactory,
    clock: Clock,
    principal: Principal,
    url: str,
    events: list[str],
    store_slug: str | None = None,
) -> WebhookEndpoint:
    """A new endpoint with a fresh secret; it receives events from now on."""
    principal.require(Permission.webhook_write)
    now = clock()
    with uow_factory(write=True) as uow:
        store = resolve_store(uow, principal, store_slug)
        endpoint = WebhookEndpoint(
            id=new_id(),
            store_id=store.id,
            url=check_url_shape(url.strip()),
            events=check_events(events),
            secrets=(Secret(new_secret(), now),),
            created_at=now,
        )
        uow.webhooks.add(endpoint)
        uow.commit()
        return endpoint


def list_endpoints(
    uow_factory: UnitOfWorkFactory, principal: Principal, store_slug: str | None = None
) -> list[WebhookEndpoint]:
    principal.require(Permission.webhook_read)
    with uow_factory() as uow:
        return uow.webhooks.for_store(resolve_store(uow, principal, store_slug).id)


def _endpoint(uow: UnitOfWork, principal: Principal, endpoint_id: str) -> WebhookEndpoint:
    endpoint = uow.webhooks.get(endpoint_id)
    if endpoint is None:
        raise NotFound("webhook endpoint not found", code="webhook_not_found")
    try:
        principal.check_store(endpoint.store_id)
    except NotFound:
        raise NotFound("webhook endpoint not found", code="webhook_not_found") from None
    return endpoint


def rotate_secret(
    uow_factory: UnitOfWorkFactory, clock: Clock, principal: Principal, endpoint_id: str
) -> WebhookEndpoint:
    """A new secret; the old one keeps signing for a day so receivers can switch over."""
    principal.require(Permission.webhook_write)
    with uow_factory(write=True) as uow:
        endpoint = _endpoint(uow, principal, endpoint_id).rotated(clock())
        uow.webhooks.save(endpoint)
        uow.commit()
        return endpoint


def deactivate(uow_factory: UnitOfWorkFactory, principal: Principal, endpoint_id: str) -> None:
    principal.require(Permission.webhook_write)
    with uow_factory(write=True) as uow:
        endpoint = _endpoint(uow, principal, endpoint_id)
        uow.webhooks.save(
            WebhookEndpoint(
                endpoint.id, endpoint.store_id, endpoint.url, endpoint.events,
                endpoint.secrets, endpoint.created_at, active=False,
            )
        )  # fmt: skip
        uow.commit()


def list_deliveries(
    uow_factory: UnitOfWorkFactory, principal: Principal, endpoint_id: str
) -> list[DeliveryView]:
    principal.require(Permission.webhook_read)
    with uow_factory() as uow:
        _endpoint(uow, principal, endpoint_id)
        return uow.webhooks.deliveries(endpoint_id)


def replay_delivery(
    uow_factory: UnitOfWorkFactory,
    clock: Clock,
    principal: Principal,
    endpoint_id: str,
    delivery_id: str,
) -> None:
    """Send a delivery again with the same webhook-id (receivers that deduplicate skip it)."""
    principal.require(Permission.webhook_write)
    with uow_factory(write=True) as uow:
        _endpoint(uow, principal, endpoint_id)
        if not uow.webhooks.replay(endpoint_id, delivery_id, clock()):
            raise NotFound("delivery not found", code="delivery_not_found")
        uow.commit()
