"""Integration tokens: create (the secret is shown once), list, revoke, and authenticate."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta

from returndesk.domain.access import Permission, Role
from returndesk.domain.errors import AuthenticationFailed, NotFound
from returndesk.domain.ids import new_id
from returndesk.domain.integrations import (
    IntegrationToken,
    check_scopes,
    compose,
    new_secret,
    secret_hash,
    split,
)
from returndesk.services.ports import Clock, UnitOfWorkFactory
from returndesk.services.principal import Principal
from returndesk.services.stores import resolve_store

# last_used_at is written at most this often per token (a busy webhook must not write per call).
_TOUCH_EVERY = timedelta(minutes=5)


@dataclass(frozen=True, slots=True)
class Created:
    token: IntegrationToken
    secret: str  # the whole token to hand to the other system; never shown again


def create_token(
    uow_factory: UnitOfWorkFactory,
    clock: Clock,
    principal: Principal,
    name: str,
    scopes: list[str],
    store_slug: str | None = None,
) -> Created:
    principal.require(Permission.integration_manage)
    secret = new_secret()
    chosen = check_scopes(scopes)
    with uow_factory(write=True) as uow:
        token = IntegrationToken(
            id=new_id(),
            store_id=resolve_store(uow, principal, store_slug).id,
            name=name.strip(),
            scopes=chosen,
            secret_hash=secret_hash(secret),
            created_by=principal.actor().name[:200],
            created_at=clock(),
        )
        uow.integrations.add(token)
        uow.commit()
    return Created(token, compose(token.id, secret))


def list_tokens(
    uow_factory: UnitOfWorkFactory, principal: Principal, store_slug: str | None = None
) -> list[IntegrationToken]:
    principal.require(Permission.integration_manage)
    with uow_factory() as uow:
        return uow.integrations.for_store(resolve_store(uow, principal, store_slug).id)


def revoke_token(
    uow_factory: UnitOfWorkFactory, clock: Clock, principal: Principal, token_id: str
) -> IntegrationToken:
    principal.require(Permission.integration_manage)
    with uow_factory(write=True) as uow:
        token = uow.integrations.get(token_id)
        if token is None or (not principal.is_platform and token.store_id != principal.store_id):
            raise NotFound("token not found", code="token_not_found")
        if token.revoked_at is None:
            token.revoked_at = clock()
            uow.integrations.save(token)
            uow.commit()
        return token


def authenticate(uow_factory: UnitOfWorkFactory, clock: Clock, presented: str) -> Principal:
    """The principal an integration token stands for; any mismatch reads the same."""
    parts = split(presented)
    refused = AuthenticationFailed("the token is invalid or revoked", code="invalid_token")
    if parts is None:
        raise refused
    token_id, secret = parts
    with uow_factory() as uow:
        token = uow.integrations.get(token_id)
    if token is None or token.revoked_at is not None or not token.matches(secret):
        raise refused
    now = clock()
    if token.last_used_at is None or now - token.last_used_at >= _TOUCH_EVERY:
        token.last_used_at = now
        with uow_factory(write=True) as uow:
            uow.integrations.save(token)
            uow.commit()
    return Principal("integration", token.id, Role.integration, token.store_id, token.name)
