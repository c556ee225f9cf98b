"""Store administration: return policy basics, staff accounts, the reason list."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Query

from returndesk.domain.cases.reasons import REASON_TREE
from returndesk.services.staff import create_staff_user, list_staff
from returndesk.services.stores import get_policy, update_policy
from returndesk.web.deps import ContainerDep, MaybePrincipal, PrincipalDep
from returndesk.web.schemas import PolicyIn, StaffIn, policy_out

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


@router.get("/policy")
def read_policy(
    principal: PrincipalDep,
    container: ContainerDep,
    store: str | None = Query(default=None, max_length=63, pattern=r"^[a-z0-9-]+$"),
) -> dict[str, Any]:
    return policy_out(get_policy(container.uow, principal, store))


@router.put("/policy")
def write_policy(
    body: PolicyIn, principal: PrincipalDep, container: ContainerDep
) -> dict[str, Any]:
    policy = update_policy(
        container.uow,
        principal,
        body.store,
        return_window_days=body.return_window_days,
        fault_window_days=body.fault_window_days,
        non_returnable_categories=(
            frozenset(body.non_returnable_categories)
            if body.non_returnable_categories is not None
            else None
        ),
    )
    return policy_out(policy)


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
