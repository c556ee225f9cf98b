"""Store administration: staff accounts, the reason list. The policy: api/policy.py."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter

from returndesk.domain.cases.reasons import REASON_TREE
from returndesk.services.staff import create_staff_user, list_staff
from returndesk.web.deps import ContainerDep, MaybePrincipal, PrincipalDep
from returndesk.web.schemas import StaffIn

router = APIRouter(prefix="/api/v1", tags=["admin"])


@router.get("/reasons")
def reasons(_: MaybePrincipal) -> dict[str, Any]:
    """The reason hierarchy as codes; pages show them through the message catalogue."""
    return {
        "groups": [
            {"code": group.code, "reasons": [r.value for r in group.reasons]}
            for group in REASON_TREE
        ]
    }


@router.get("/staff")
def staff_list(principal: PrincipalDep, container: ContainerDep) -> dict[str, Any]:
    return {
        "items": [
            {
                "id": u.id,
                "email": u.email,
                "name": u.name,
                "role": u.role.value,
                "store_id": u.store_id,
                "language": u.language,
                "active": u.active,
            }
            for u in list_staff(container.uow, principal)
        ]
    }


@router.post("/staff", status_code=201)
def staff_create(body: StaffIn, principal: PrincipalDep, container: ContainerDep) -> dict[str, Any]:
    user = create_staff_user(
        container.uow,
        container.hasher,
        container.clock,
        principal,
        email=body.email,
        role=body.role,
        password=body.password,
        name=body.name,
        language=body.language,
        timezone=body.timezone,
        store_slug=body.store,
    )
    return {"id": user.id, "email": user.email, "role": user.role.value, "store_id": user.store_id}
