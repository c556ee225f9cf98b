"""Teams and shifts in the console: who works when, who is online, service-level targets; the
agent's own presence (renewed by the console while it is open) and time off; reassigning a
case."""

from __future__ import annotations

from datetime import date, datetime, timedelta
from urllib.parse import urlsplit
from zoneinfo import ZoneInfo

from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse, RedirectResponse, Response
from starlette.datastructures import FormData

from returndesk.domain.access import Permission, has_permission
from returndesk.domain.business_time import DAY_NAMES
from returndesk.domain.cases.reasons import ReasonCode
from returndesk.domain.errors import DomainError, ValidationFailed
from returndesk.domain.routing_rules import RoutingRule
from returndesk.domain.scheduling import CallBooking
from returndesk.domain.sla import SlaTargets
from returndesk.domain.teams import SKILL_NAMES, PresenceStatus
from returndesk.services.principal import Principal
from returndesk.services.routing_rules import edit_routing_rules, routing_rules
from returndesk.services.scheduling import add_time_off, list_time_off, remove_time_off
from returndesk.services.staff import list_staff
from returndesk.services.staff_inbox import unread_count
from returndesk.services.teams import (
    HoursInput,
    MemberInput,
    TeamInput,
    add_member,
    create_team,
    list_targets,
    list_teams,
    reassign,
    remove_member,
    set_presence,
    set_targets,
)
from returndesk.web.pages.console import (
    CaseId,
    can_open_settings,
    case_form_post,
    case_page_with_error,
    console_page,
    remember_language,
    signed_in_staff,
    staff_form,
    to_login,
)
from returndesk.web.pages.forms import field, int_field
from returndesk.web.pages.rendering import csrf_token
from returndesk.web.pages.sessions import container_of

router = APIRouter(prefix="/console")
COMMON_ZONES = (
    "America/New_York", "America/Chicago", "America/Los_Angeles", "America/Sao_Paulo",
    "America/Mexico_City", "Europe/London", "Europe/Berlin", "Europe/Paris", "Europe/Madrid",
    "Asia/Shanghai", "Asia/Tokyo", "Australia/Sydney", "UTC",
)  # fmt: skip


def _split(text: str) -> tuple[str, ...]:
    return tuple(part.strip() for part in text.replace(";", ",").split(",") if part.strip())


def _render(
    request: Request,
    principal: Principal,
    token: str,
    *,
    status_code: int = 200,
    error: str | None = None,
    detail: str = "",
    kept: dict[str, str] | None = None,
    calls_in_time_off: list[CallBooking] | None = None,
) -> Response:
    container = container_of(request)
    can_edit = has_permission(principal.role, Permission.team_write)
    people: dict[str, str] = {}
    if can_edit and principal.store_id is not None:
        people = {u.id: u.name for u in list_staff(container.uow, principal) if u.active}
    try:
        away = list_time_off(container.uow, container.clock, principal, None if people else "me")
    except DomainError:  # a platform admin: no store, no time off
        away = []
    response = console_page(request).render(
        request,
        "console/teams.html",
        status_code=status_code,
        principal=principal,
        can_settings=can_open_settings(principal),
        can_edit=can_edit,
        people=people,
        time_off=away,
        calls_in_time_off=calls_in_time_off,
        teams=list_teams(container.uow, container.clock, principal, None),
        rules=routing_rules(container.uow, principal),
        reasons=[r.value for r in ReasonCode],
        targets=sorted(list_targets(container.uow, principal).items()),
        case_types=["default", *(r.value for r in ReasonCode)],
        days=DAY_NAMES,
        zones=COMMON_ZONES,
        skills=SKILL_NAMES,
        now=container.clock(),
        csrf=csrf_token(container.settings.secret_key, token),
        error=error,
        detail=detail,
        kept=kept,  # what was typed into a refused form, shown again
    )
    return remember_language(request, response)


def _local(text: str, tz: ZoneInfo) -> datetime:
    """A datetime-local field ("YYYY-MM-DDTHH:MM"), in the viewer's time zone."""
    try:
        return datetime.fromisoformat(text).replace(tzinfo=tz)
    except ValueError:
        raise ValidationFailed(
            "a date and time, like 2026-12-24T09:00", code="invalid_time_off"
        ) from None


@router.get("/teams")
def teams_page(request: Request) -> Response:
    staff = signed_in_staff(request)
    if staff is None:
        return to_login()
    return _render(request, *staff)


@router.post("/teams")
async def teams_post(request: Request) -> Response:
    posted = await staff_form(request)
    if posted is None:
        return to_login()
    principal, token, container, form = (
        posted.principal,
        posted.token,
        posted.container,
        posted.form,
    )
    if not posted.csrf_ok:
        return _render(request, principal, token, status_code=400, error="generic")
    action = field(form, "action", 20)
    try:
        if action == "team":
            hours = []
            for n in ("1", "2"):
                days = tuple(d for d in DAY_NAMES if field(form, f"day{n}-{d}", 3))
                start, end = field(form, f"start{n}", 5), field(form, f"end{n}", 5)
                if days or n == "1":
                    hours.append(HoursInput(days, start, end))
            closed = tuple(date.fromisoformat(d) for d in _split(field(form, "closed", 4000)))
            create_team(
                container.uow,
                container.clock,
                principal,
                TeamInput(
                    name=field(form, "name", 100),
                    timezone=field(form, "timezone", 64),
                    hours=tuple(hours),
                    holiday_country=field(form, "holiday_country", 2) or None,
                    closed_dates=closed,
                    languages=_split(field(form, "languages", 300)),
                    markets=tuple(m.upper() for m in _split(field(form, "markets", 400))),
                ),
            )
        elif action == "member":
            add_member(
                container.uow,
                principal,
                field(form, "team", 36),
                MemberInput(
                    email=field(form, "email", 320),
                    languages=_split(field(form, "languages", 300)),
                    markets=tuple(m.upper() for m in _split(field(form, "markets", 400))),
                    capacity=int_field(form, "capacity", -1),
                    skills=tuple(s for s in SKILL_NAMES if field(form, f"skill-{s}", 3)),
                ),
            )
        elif action == "remove":
            remove_member(
                container.uow, principal, field(form, "team", 36), field(form, "staff", 36)
            )
        elif action == "time_off":
            tz = console_page(request).tz
            added = add_time_off(
                container.uow,
                container.clock,
                principal,
                field(form, "staff", 36) or "me",
                starts_at=_local(field(form, "starts_at", 16), tz),
                ends_at=_local(field(form, "ends_at", 16), tz),
                note=field(form, "note", 200),
            )
            if added.calls:  # booked calls fall in it: say which, for someone to move them
                return _render(request, principal, token, calls_in_time_off=added.calls)
        elif action == "time_off_remove":
            remove_time_off(
                container.uow, principal, field(form, "staff", 36), field(form, "time_off", 36)
            )
        elif action in ("rule", "rule_remove", "rule_up"):
            _change_rules(request, principal, action, form)
        elif action == "targets":
            set_targets(
                container.uow,
                principal,
                field(form, "case_type", 32),
                SlaTargets(
                    int_field(form, "first_response", 0),
                    int_field(form, "next_response", 0),
                    int_field(form, "resolution", 0),
                ),
            )
        else:
            return _render(request, principal, token, status_code=400, error="invalid_form")
    except (ValueError, DomainError) as exc:  # ValueError: a closed date not YYYY-MM-DD
        code = exc.code if isinstance(exc, DomainError) else "invalid_hours"
        detail = exc.detail if isinstance(exc, DomainError) else ""
        kept = {key: field(form, key, 4000) for key in form if key != "csrf"}
        return _render(
            request, principal, token, status_code=422, error=code, detail=detail, kept=kept
        )
    return RedirectResponse("/console/teams", status_code=303)


@router.post("/presence")
async def presence_post(request: Request) -> Response:
    """The agent's presence: set from the header's menu and renewed by the console every 30 s
    (a fetch answers how many of their notifications are unread, for the header's count; a
    plain form post goes back to the page it came from)."""
    posted = await staff_form(request)
    if posted is None or not posted.csrf_ok:
        return Response(status_code=401 if posted is None else 400)
    principal, container, form = posted.principal, posted.container, posted.form
    raw = field(form, "status", 10)
    if raw not in PresenceStatus.__members__:
        return Response(status_code=422)
    ttl = timedelta(seconds=container.settings.presence_ttl_seconds)
    try:
        set_presence(container.uow, container.clock, principal, PresenceStatus(raw), ttl)
    except DomainError:
        return Response(status_code=422)
    if request.headers.get("x-requested-with") == "fetch":
        return JSONResponse({"unread_notifications": unread_count(container.uow, principal)})
    back = urlsplit(request.headers.get("referer", ""))
    target = back.path if back.path.startswith("/console") else "/console"
    return RedirectResponse(target, status_code=303)


@router.post("/cases/{case_id}/assignment")
async def assignment_post(request: Request, case_id: CaseId) -> Response:
    posted = await case_form_post(request, case_id)
    if isinstance(posted, Response):
        return posted
    principal, token, container, form = posted
    where = f"/console/cases/{case_id}"
    target = field(form, "target", 80)  # "team:<id>" or "agent:<id>"
    kind, _, target_id = target.partition(":")
    try:
        reassign(
            container.uow,
            container.clock,
            principal,
            case_id,
            team_id=target_id if kind == "team" else None,
            assignee_id=target_id if kind == "agent" else None,
            reason=field(form, "reason", 500),
        )
    except DomainError as exc:
        return case_page_with_error(request, principal, token, case_id, exc.code, 422)
    return RedirectResponse(where, status_code=303)


def _change_rules(request: Request, principal: Principal, action: str, form: FormData) -> None:
    """Add a rule at the end, remove one, or move one up. The rule is named as well as placed:
    a page opened before somebody else's change never removes or moves another rule."""
    container = container_of(request)
    if action == "rule":
        added = RoutingRule(
            name=field(form, "name", 100),
            languages=frozenset(_split(field(form, "languages", 300))),
            markets=frozenset(_split(field(form, "markets", 400))),
            reasons=frozenset(str(r)[:40] for r in form.getlist("reasons")[:30]),
            team_id=field(form, "team", 36) or None,
            skill=field(form, "skill", 40) or None,
        )
        edit_routing_rules(container.uow, container.clock, principal, lambda rs: [*rs, added])
        return
    index, name = int_field(form, "position", 0) - 1, field(form, "rule", 100)

    def change(rules: list[RoutingRule]) -> list[RoutingRule]:
        if not 0 <= index < len(rules) or rules[index].name != name:
            raise ValidationFailed("that rule is not there any more", code="rule_not_found")
        rules = list(rules)
        if action == "rule_remove":
            del rules[index]
        elif index > 0:
            rules[index - 1], rules[index] = rules[index], rules[index - 1]
        return rules

    edit_routing_rules(container.uow, container.clock, principal, change)
