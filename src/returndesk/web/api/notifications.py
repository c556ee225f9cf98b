"""The signed-in member of staff's notifications (the console's inbox) over HTTP.

Each notification is what an email to them said, as facts (`kind`, the case, `data`: the
clock, the call's time...), for a client to word in its own language; the console shows them
in the viewer's language and time zone."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Query
from pydantic import Field, model_validator

from returndesk.domain.notifications import StaffNotification
from returndesk.services import staff_inbox
from returndesk.web.deps import ContainerDep, PrincipalDep
from returndesk.web.schemas import Body, iso

router = APIRouter(prefix="/api/v1/notifications", tags=["notifications"])
NotificationId = Annotated[str, Field(pattern=r"^nt_[0-9a-zA-Z_-]{1,61}$")]


def notification_out(found: StaffNotification) -> dict[str, Any]:
    return {
        "id": found.id,
        "kind": found.notice.value.removeprefix("staff_"),
        "case_id": found.case_id,
        "case_number": found.case_number,
        "conversation_id": found.conversation_id,
        "data": dict(found.data),
        "created_at": iso(found.created_at),
        "read_at": iso(found.read_at),
    }


class MarkRead(Body):
    ids: list[NotificationId] | None = Field(default=None, min_length=1, max_length=100)
    all: bool = False

    @model_validator(mode="after")
    def one_of(self) -> MarkRead:
        if (self.ids is None) == (not self.all):
            raise ValueError("give either ids or all: true")
        return self


@router.get("")
def list_notifications(
    container: ContainerDep,
    principal: PrincipalDep,
    unread: bool = False,
    limit: Annotated[int, Query(ge=1, le=staff_inbox.MAX_PAGE)] = 50,
    before: Annotated[str | None, Query(pattern=r"^nt_[0-9a-zA-Z_-]{1,61}$")] = None,
) -> dict[str, Any]:
    found = staff_inbox.inbox(
        container.uow, principal, unread_only=unread, limit=limit, before=before
    )
    return {
        "items": [notification_out(n) for n in found.items],
        "unread": found.unread,
        "next_before": found.next_before,
    }


@router.post("/read")
def mark_read(body: MarkRead, container: ContainerDep, principal: PrincipalDep) -> dict[str, int]:
    changed, left = staff_inbox.mark_read(
        container.uow, container.clock, principal, None if body.all else body.ids
    )
    return {"marked": changed, "unread": left}
