"""Stores (tenants): the single-store default and creation. Policies: services/policies.py."""

from __future__ import annotations

from returndesk.domain.errors import Conflict, NotFound, ValidationFailed
from returndesk.domain.ids import new_id
from returndesk.domain.money import check_currency
from returndesk.domain.stores import Store, check_slug
from returndesk.services.ports import Clock, UnitOfWork, UnitOfWorkFactory
from returndesk.services.principal import Principal


def resolve_store(uow: UnitOfWork, principal: Principal, slug: str | None) -> Store:
    """The store a request acts on: the principal's own, or for a platform admin the one named.

    A deployment with a single store needs no slug anywhere.
    """
    if principal.store_id is not None:
        store = uow.stores.get(principal.store_id)
        if store is None or (slug is not None and slug != store.slug):
            raise NotFound("store not found", code="store_not_found")
        return store
    if slug is not None:
        found = uow.stores.get_by_slug(slug)
        if found is None:
            raise NotFound(f"store {slug!r} not found", code="store_not_found")
        return found
    stores = uow.stores.list()
    if len(stores) == 1:
        return stores[0]
    if not stores:
        raise NotFound("no store exists yet: run `returndesk migrate`", code="store_not_found")
    raise ValidationFailed("several stores exist: name one", code="store_required")


def create_store(
    uow_factory: UnitOfWorkFactory,
    clock: Clock,
    *,
    slug: str,
    name: str,
    default_currency: str = "USD",
    timezone: str = "UTC",
) -> Store:
    check_slug(slug)
    check_currency(default_currency)
    with uow_factory(write=True) as uow:
        if uow.stores.get_by_slug(slug) is not None:
            raise Conflict(f"store {slug!r} exists", code="store_exists")
        store = Store(new_id(), slug, name.strip() or slug, default_currency, timezone, clock())
        uow.stores.add(store)
        uow.commit()
        return store


def ensure_default_store(uow_factory: UnitOfWorkFactory, clock: Clock) -> Store:
    """Every deployment has at least one store, so a single-store shop never has to make one."""
    with uow_factory() as uow:
        stores = uow.stores.list()
        if stores:
            return stores[0]
    return create_store(uow_factory, clock, slug="default", name="My store")
