"""Staff accounts and log-in."""

from __future__ import annotations

from returndesk.domain.access import STAFF_ROLES, Permission, Role
from returndesk.domain.business_time import check_timezone
from returndesk.domain.errors import AuthenticationFailed, Conflict, ValidationFailed
from returndesk.domain.ids import new_id
from returndesk.domain.orders import check_language
from returndesk.domain.stores import StaffUser, normalize_email
from returndesk.services.ports import Clock, PasswordHasher, UnitOfWorkFactory
from returndesk.services.principal import Principal
from returndesk.services.stores import resolve_store

MIN_PASSWORD = 10
# Verifying against a real hash for unknown emails keeps both paths equally slow.
_DUMMY_PASSWORD = "not-a-real-password-0000"  # noqa: S105
_dummy_hashes: dict[int, str] = {}


def _dummy_hash(hasher: PasswordHasher) -> str:
    key = id(hasher)
    if key not in _dummy_hashes:
        _dummy_hashes[key] = hasher.hash(_DUMMY_PASSWORD)
    return _dummy_hashes[key]


def create_staff_user(
    uow_factory: UnitOfWorkFactory,
    hasher: PasswordHasher,
    clock: Clock,
    principal: Principal,
    *,
    email: str,
    role: Role,
    password: str,
    name: str = "",
    language: str = "en",
    timezone: str = "UTC",
    store_slug: str | None = None,
) -> StaffUser:
    principal.require(Permission.staff_write)
    if role not in STAFF_ROLES:
        raise ValidationFailed(f"{role.value} is not a staff role", code="invalid_role")
    if role is Role.platform_admin and not principal.is_platform:
        raise ValidationFailed(
            "only a platform admin can create a platform admin", code="invalid_role"
        )
    if len(password) < MIN_PASSWORD or len(password) > 1024:
        raise ValidationFailed(
            f"a password has {MIN_PASSWORD} to 1024 characters", code="weak_password"
        )
    check_language(language)
    check_timezone(timezone)
    address = normalize_email(email)
    with uow_factory(write=True) as uow:
        store_id = (
            None if role is Role.platform_admin else resolve_store(uow, principal, store_slug).id
        )
        if uow.staff.get_by_email(address) is not None:
            raise Conflict(f"{address} already has an account", code="email_taken")
        user = StaffUser(
            id=new_id(),
            store_id=store_id,
            email=address,
            name=name.strip()[:200] or address.split("@")[0],
            role=role,
            password_hash=hasher.hash(password),
            language=language,
            timezone=timezone,
            created_at=clock(),
        )
        uow.staff.add(user)
        uow.commit()
        return user


def list_staff(uow_factory: UnitOfWorkFactory, principal: Principal) -> list[StaffUser]:
    principal.require(Permission.staff_read)
    with uow_factory() as uow:
        return uow.staff.list(principal.store_id)


def authenticate(
    uow_factory: UnitOfWorkFactory, hasher: PasswordHasher, email: str, password: str
) -> StaffUser:
    with uow_factory() as uow:
        try:
            user = uow.staff.get_by_email(normalize_email(email))
        except ValidationFailed:
            user = None
    if user is None or not user.active:
        hasher.verify(_dummy_hash(hasher), password)
        raise AuthenticationFailed("wrong email or password", code="invalid_credentials")
    if not hasher.verify(user.password_hash, password):
        raise AuthenticationFailed("wrong email or password", code="invalid_credentials")
    return user


def staff_principal(user: StaffUser) -> Principal:
    return Principal("staff", user.id, user.role, user.store_id, user.name)
