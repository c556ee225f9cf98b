"""Buyer emails as staff see them: the store's outbox, a case's emails, one email, a retry."""

from __future__ import annotations

from returndesk.domain.access import Permission
from returndesk.domain.errors import NotFound
from returndesk.domain.notifications import EmailView
from returndesk.services.ports import Clock, UnitOfWork, UnitOfWorkFactory
from returndesk.services.principal import Principal
from returndesk.services.returns import get_case
from returndesk.services.stores import resolve_store

STATUSES = ("pending", "sent", "dead")


def list_emails(
    uow_factory: UnitOfWorkFactory,
    principal: Principal,
    status: str | None = None,
    store_slug: str | None = None,
) -> list[EmailView]:
    principal.require(Permission.case_list)
    with uow_factory() as uow:
        store = resolve_store(uow, principal, store_slug)
        return uow.emails.for_store(store.id, status if status in STATUSES else None)


def case_emails(
    uow_factory: UnitOfWorkFactory, principal: Principal, case_id: str
) -> list[EmailView]:
    """The buyer's emails of one case, for whoever may read the case (the buyer included).
    Emails to staff about the case (a booked call, a breach) are in the store's list only."""
    get_case(uow_factory, principal, case_id)
    with uow_factory() as uow:
        return [email for email in uow.emails.for_case(case_id) if email.to_buyer]


def _email(uow: UnitOfWork, principal: Principal, email_id: str) -> EmailView:
    email = uow.emails.get(email_id)
    if email is None:
        raise NotFound("email not found", code="email_not_found")
    try:
        principal.check_store(email.store_id)
    except NotFound:
        raise NotFound("email not found", code="email_not_found") from None
    return email


def get_email(uow_factory: UnitOfWorkFactory, principal: Principal, email_id: str) -> EmailView:
    principal.require(Permission.case_list)
    with uow_factory() as uow:
        return _email(uow, principal, email_id)


def retry_email(
    uow_factory: UnitOfWorkFactory, clock: Clock, principal: Principal, email_id: str
) -> EmailView:
    """Send a given-up email again; other states are left as they are (staff only)."""
    principal.require(Permission.case_list)
    principal.require(Permission.case_transition)
    with uow_factory(write=True) as uow:
        _email(uow, principal, email_id)
        uow.emails.retry(email_id, clock())
        uow.commit()
    with uow_factory() as uow:
        return _email(uow, principal, email_id)
