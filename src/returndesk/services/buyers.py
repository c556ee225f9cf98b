"""Buyer sessions: order number + email gives access to that one order and its returns."""

from __future__ import annotations

import hmac

from returndesk.domain.access import Role
from returndesk.domain.errors import AuthenticationFailed, NotFound, ValidationFailed
from returndesk.domain.stores import normalize_email
from returndesk.services.ports import UnitOfWorkFactory
from returndesk.services.principal import SYSTEM, Principal
from returndesk.services.stores import resolve_store


def start_buyer_session(
    uow_factory: UnitOfWorkFactory, order_number: str, email: str, store_slug: str | None = None
) -> Principal:
    """A wrong email and an unknown order get the same answer, so orders cannot be probed."""
    failure = AuthenticationFailed(
        "no order matches that number and email", code="invalid_order_credentials"
    )
    try:
        address = normalize_email(email)
    except ValidationFailed:
        raise failure from None
    with uow_factory() as uow:
        try:
            store = resolve_store(uow, SYSTEM, store_slug)
        except (NotFound, ValidationFailed):
            raise failure from None
        number = order_number.strip()
        order = uow.orders.get_by_number(store.id, number)
        if order is None and number.startswith("#"):
            order = uow.orders.get_by_number(store.id, number[1:])
        if order is None or not hmac.compare_digest(order.email, address):
            raise failure
        return Principal(
            "buyer", order.id, Role.buyer, order.store_id, order.buyer_name or order.email, order.id
        )
