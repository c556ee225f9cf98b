"""Who is asking, and the checks every handler makes before it does anything."""

from __future__ import annotations

from dataclasses import dataclass

from returndesk.domain.access import Permission, Role, has_permission
from returndesk.domain.cases.model import Actor
from returndesk.domain.errors import NotFound, PermissionDenied


@dataclass(frozen=True, slots=True)
class Principal:
    kind: str  # "staff" | "buyer" | "system"
    id: str
    role: Role
    store_id: str | None  # None: a platform admin (every store)
    name: str = ""
    order_id: str | None = None  # buyers: the one order their session is for

    @property
    def is_platform(self) -> bool:
        return self.role is Role.platform_admin

    def actor(self) -> Actor:
        if self.kind == "system":  # the software itself: shown as "System", not as a role
            return Actor.system(self.name[:200] or "ReturnDesk")
        return Actor(self.kind, self.id, self.name[:200], self.role)

    def require(self, permission: Permission) -> None:
        if not has_permission(self.role, permission):
            raise PermissionDenied(f"a {self.role} may not do this ({permission})")

    def check_store(self, store_id: str) -> None:
        """Data of another store is reported as missing, never as forbidden."""
        if not self.is_platform and self.store_id != store_id:
            raise NotFound("not found")

    def check_order(self, store_id: str, order_id: str) -> None:
        self.check_store(store_id)
        if self.role is Role.buyer and self.order_id != order_id:
            raise NotFound("not found")


SYSTEM = Principal("system", "system", Role.platform_admin, None, "ReturnDesk")
