"""A member of staff's notifications in the console: what they were told about cases and chats
(a missed service level, a video call booked with them, a chat waiting past its promised
answer...), newest first, read or not. Each person sees and marks only their own."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from returndesk.domain.errors import NotFound, PermissionDenied, ValidationFailed
from returndesk.domain.notifications import StaffNotification
from returndesk.services.ports import Clock, UnitOfWorkFactory
from returndesk.services.principal import Principal

MAX_PAGE = 100
MAX_IDS = 100


@dataclass(frozen=True, slots=True)
class Inbox:
    items: list[StaffNotification]
    unread: int
    next_before: str | None  # the id to ask `before` for the next page; None: no more


def _staff_id(principal: Principal) -> str:
    if principal.kind != "staff":
        raise PermissionDenied("notifications are for members of staff")
    return principal.id


def inbox(
    uow_factory: UnitOfWorkFactory,
    principal: Principal,
    *,
    unread_only: bool = False,
    limit: int = 50,
    before: str | None = None,
) -> Inbox:
    staff_id = _staff_id(principal)
    if not 1 <= limit <= MAX_PAGE:
        raise ValidationFailed(f"limit is 1 to {MAX_PAGE}", code="invalid_limit")
    with uow_factory() as uow:
        if before is not None and uow.inbox.get(staff_id, before) is None:
            raise ValidationFailed("before names none of your notifications", code="invalid_before")
        items = uow.inbox.list(staff_id, unread_only=unread_only, limit=limit + 1, before=before)
        unread = uow.inbox.unread(staff_id)
    more = len(items) > limit
    items = items[:limit]
    return Inbox(items, unread, items[-1].id if more and items else None)


def unread_count(uow_factory: UnitOfWorkFactory, principal: Principal) -> int:
    with uow_factory() as uow:
        return uow.inbox.unread(_staff_id(principal))


def mark_read(
    uow_factory: UnitOfWorkFactory,
    clock: Clock,
    principal: Principal,
    ids: Sequence[str] | None,
) -> tuple[int, int]:
    """Mark the given notifications (all, when None) read: (how many changed, unread left).
    Another person's notification, or one already read, is left as it is."""
    staff_id = _staff_id(principal)
    if ids is not None and not 1 <= len(ids) <= MAX_IDS:
        raise ValidationFailed(f"ids holds 1 to {MAX_IDS} notifications", code="invalid_ids")
    with uow_factory(write=True) as uow:
        changed = uow.inbox.mark_read(staff_id, ids, clock())
        left = uow.inbox.unread(staff_id)
        uow.commit()
    return changed, left


def open_notification(
    uow_factory: UnitOfWorkFactory, clock: Clock, principal: Principal, notification_id: str
) -> StaffNotification:
    """One's own notification, marked read (to go to its case, or its chat)."""
    staff_id = _staff_id(principal)
    with uow_factory(write=True) as uow:
        found = uow.inbox.get(staff_id, notification_id)
        if found is None:
            raise NotFound("no such notification", code="notification_not_found")
        uow.inbox.mark_read(staff_id, [found.id], clock())
        uow.commit()
    return found
