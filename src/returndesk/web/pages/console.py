"""The agent console: log-in, the queue, a case with its timeline and actions."""

from __future__ import annotations

import uuid
from collections.abc import Callable
from dataclasses import dataclass
from datetime import timedelta
from typing import Annotated, Any

from fastapi import APIRouter, Path, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from starlette.datastructures import FormData

from returndesk.adapters.db.repositories import SORT_KEYS, decode_cursor, encode_cursor
from returndesk.bootstrap import Container
from returndesk.domain.access import Permission, Role, has_permission
from returndesk.domain.cases.model import ReceiptLine
from returndesk.domain.cases.status import TERMINAL, CaseStatus, ReceiptCondition
from returndesk.domain.cases.transitions import allowed_targets
from returndesk.domain.errors import DomainError, StaleVersion
from returndesk.domain.money import Money
from returndesk.domain.orders import SUPPORTED_LANGUAGES
from returndesk.domain.policy.decision import EvidenceKind, Outcome
from returndesk.domain.policy.engine import FINDINGS, MAJOR_FAILURE
from returndesk.services.assistant import case_conversations
from returndesk.services.calls import list_calls
from returndesk.services.emails import case_emails
from returndesk.services.evidence import list_evidence
from returndesk.services.exchanges import exchange_options
from returndesk.services.ports import CaseQuery
from returndesk.services.principal import Principal
from returndesk.services.refunds import REFUNDABLE, refundable_remaining, refunds_and_receipts
from returndesk.services.retention import erase_evidence, get_hold, place_hold, release_hold
from returndesk.services.return_labels import label_available, return_method
from returndesk.services.returns import (
    MoveCase,
    OverrideDecision,
    Redecide,
    count_by_status,
    get_case,
    get_timeline,
    list_cases,
    override_decision,
    redecide,
    replay_decision,
    transition_case,
)
from returndesk.services.scheduling import booking_of
from returndesk.services.staff import authenticate, staff_principal
from returndesk.services.staff_inbox import unread_count
from returndesk.services.teams import current_presence, list_teams, work_view, work_views
from returndesk.web.live import case_stream, queue_stream
from returndesk.web.pages.forms import field, int_field, read_form
from returndesk.web.pages.i18n import CONSOLE_LANGUAGES, negotiate
from returndesk.web.pages.rendering import Page, check_csrf, csrf_token
from returndesk.web.pages.sessions import container_of, cookie_session
from returndesk.web.problems import HttpProblem
from returndesk.web.ratelimit import limiter

router = APIRouter(prefix="/console")
COOKIE = "rd_staff"
LANG_COOKIE = "rd_console_lang"
TZ_COOKIE = "rd_tz"
CaseId = Annotated[str, Path(pattern=r"^[0-9a-f-]{36}$")]
MARKETS = ("US", "GB", "BR", "JP", "DE", "FR", "ES")


SETTINGS_PERMISSIONS = (Permission.policy_write, Permission.staff_read, Permission.order_write)


def can_open_settings(principal: Principal) -> bool:
    """Supervisors and admins see the settings page (each section by its own permission)."""
    return any(has_permission(principal.role, p) for p in SETTINGS_PERMISSIONS)


def signed_in_staff(request: Request) -> tuple[Principal, str] | None:
    return cookie_session(request, COOKIE, "staff")


class ConsolePage(Page):
    """A console page: for a signed-in member of staff the header also carries their presence
    (the console renews it while open, see static/presence.js) and how many of their
    notifications are unread (the renewal's answer updates it)."""

    def render(
        self, request: Request, template: str, status_code: int = 200, **context: Any
    ) -> HTMLResponse:
        staff = signed_in_staff(request)
        if staff is not None and "presence" not in context:
            container = container_of(request)
            context["presence"] = current_presence(container.uow, container.clock, staff[0])
            context["presence_csrf"] = csrf_token(container.settings.secret_key, staff[1])
            context["unread_notifications"] = unread_count(container.uow, staff[0])
        return super().render(request, template, status_code, **context)


def console_page(request: Request, tz_default: str = "UTC") -> Page:
    language = negotiate(
        request.query_params.get("lang") or request.cookies.get(LANG_COOKIE),
        request.headers.get("accept-language", ""),
        CONSOLE_LANGUAGES,
    )
    return ConsolePage(language, request.cookies.get(TZ_COOKIE), tz_default, CONSOLE_LANGUAGES)


def remember_language(request: Request, response: Response) -> Response:
    chosen = request.query_params.get("lang")
    if chosen in CONSOLE_LANGUAGES:
        response.set_cookie(LANG_COOKIE, chosen, max_age=365 * 86400, samesite="lax")
    return response


def to_login() -> RedirectResponse:
    return RedirectResponse("/console/login", status_code=303)


@router.get("/login")
def login_page(request: Request) -> Response:
    return remember_language(
        request, console_page(request).render(request, "console/login.html", error=None)
    )


@router.post("/login")
async def login_submit(request: Request) -> Response:
    container = container_of(request)
    form = await read_form(request)
    email, password = field(form, "email", 320), field(form, "password", 1024)
    try:
        limiter(request).check(request, "staff-login", email.lower())
        user = authenticate(container.uow, container.hasher, email, password)
    except (DomainError, HttpProblem) as exc:
        code = "rate_limited" if exc.code == "rate_limited" else "invalid_credentials"
        return console_page(request).render(
            request, "console/login.html", status_code=401, error=code, email=email
        )
    token = container.tokens.issue(
        staff_principal(user), container.clock(), container.settings.token_ttl_seconds
    )
    response = RedirectResponse("/console", status_code=303)
    response.set_cookie(COOKIE, token, httponly=True, samesite="lax", max_age=8 * 3600)
    if user.language in CONSOLE_LANGUAGES and not request.cookies.get(LANG_COOKIE):
        response.set_cookie(LANG_COOKIE, user.language, max_age=365 * 86400, samesite="lax")
    return response


@router.post("/logout")
def logout() -> Response:
    response = to_login()
    response.delete_cookie(COOKIE)
    return response


@router.get("")
def queue(request: Request) -> Response:
    staff = signed_in_staff(request)
    if staff is None:
        return to_login()
    principal, _ = staff
    container = container_of(request)
    params = request.query_params
    statuses = tuple(CaseStatus(s) for s in params.getlist("status") if s in CaseStatus.__members__)
    market = params.get("market") if params.get("market") in MARKETS else None
    language = params.get("language") if params.get("language") in SUPPORTED_LANGUAGES else None
    outcome = params.get("outcome") if params.get("outcome") in Outcome.__members__ else None
    sort = params.get("sort") if params.get("sort") in SORT_KEYS else "-created_at"
    q = (params.get("q") or "").replace("\x00", "")[:320].strip() or None
    age = params.get("age", "")
    now = container.clock()
    created_before = now - timedelta(days=int(age)) if age in ("1", "3", "7", "14", "30") else None
    raw_cursor = params.get("cursor")
    cursor = decode_cursor(raw_cursor) if raw_cursor and len(raw_cursor) < 400 else None
    handled = params.get("handled", "")
    query = CaseQuery(
        store_id=principal.store_id,
        assignee_id={"me": principal.id, "nobody": ""}.get(handled),
        breached=True if params.get("breached") == "1" else None,
        statuses=statuses,
        market=market,
        language=language,
        outcome=outcome,
        q=q,
        created_before=created_before,
        sort=sort or "-created_at",
        cursor=cursor,
        limit=50,
    )
    result = list_cases(container.uow, principal, query)
    counts = count_by_status(container.uow, principal)
    works = work_views(container.uow, principal, [c.id for c in result.items])
    next_params = None
    if result.next_cursor:
        kept = [(k, v) for k, v in params.multi_items() if k != "cursor"]
        next_params = [*kept, ("cursor", encode_cursor(result.next_cursor))]
    page = console_page(request)
    return remember_language(
        request,
        page.render(
            request,
            "console/queue.html",
            principal=principal,
            can_settings=can_open_settings(principal),
            result=result,
            counts=counts,
            statuses=list(CaseStatus),
            selected_statuses={s.value for s in statuses},
            markets=MARKETS,
            languages=SUPPORTED_LANGUAGES,
            market=market,
            language=language,
            outcomes=[o.value for o in Outcome],
            outcome=outcome,
            sort=sort,
            sorts=SORT_KEYS,
            q=q or "",
            age=age,
            next_params=next_params,
            now=now,
            works=works,
            handled=handled,
            breached=params.get("breached") == "1",
        ),
    )


def _case_page(
    request: Request,
    principal: Principal,
    token: str,
    case_id: str,
    error: str | None = None,
    status_code: int = 200,
    kept: dict[str, str] | None = None,
) -> Response:
    """The case page; after a failed action it keeps what the agent typed (`kept`)."""
    container = container_of(request)
    try:
        case = get_case(container.uow, principal, case_id)
    except DomainError:
        return RedirectResponse("/console", status_code=303)
    timeline = get_timeline(container.uow, principal, case_id)
    emails = case_emails(container.uow, principal, case_id)
    conversations = (
        case_conversations(container.uow, principal, case_id)
        if has_permission(principal.role, Permission.conversation_read)
        else []
    )
    evidence = list_evidence(container.uow, principal, case_id)
    refunds, receipts, exchange = refunds_and_receipts(container.uow, principal, case_id)
    work = work_view(container.uow, principal, case_id)
    can_assign = has_permission(principal.role, Permission.case_assign)
    teams = list_teams(container.uow, container.clock, principal, None) if can_assign else []
    role: Role | None = principal.role
    replays: bool | None = None
    if case.decision is not None and has_permission(principal.role, Permission.policy_read):
        try:
            replays = replay_decision(container.uow, principal, case_id).matches
        except DomainError:
            replays = None
    response = console_page(request).render(
        request,
        "console/case.html",
        status_code=status_code,
        principal=principal,
        can_settings=can_open_settings(principal),
        case=case,
        timeline=timeline,
        emails=emails,
        conversations=conversations,
        evidence=evidence,
        can_export=has_permission(principal.role, Permission.case_list),
        can_manage_evidence=has_permission(principal.role, Permission.evidence_manage),
        hold=get_hold(container.uow, principal, case_id),
        can_add_evidence=case.status not in TERMINAL
        and has_permission(principal.role, Permission.evidence_write),
        targets=allowed_targets(case.status, role),
        can_override=has_permission(principal.role, Permission.decision_override),
        evidence_kinds=[k.value for k in EvidenceKind],
        findings=[*FINDINGS, MAJOR_FAILURE],
        replays=replays,
        outcomes=[o.value for o in Outcome],
        conditions=list(ReceiptCondition),
        work=work,
        calls=list_calls(container.uow, principal, case_id),
        booking=booking_of(container.uow, principal, case_id),
        refunds=refunds,
        receipts=receipts,
        return_method=return_method(case),
        label_ready=label_available(case),
        can_refund=case.status in REFUNDABLE
        and has_permission(principal.role, Permission.refund_write),
        refund_modes=["manual", *sorted(container.payment_providers())],
        refund_key=str(uuid.uuid4()),
        refund_remaining=refundable_remaining(case, refunds),
        exchange=exchange,
        can_refund_role=has_permission(principal.role, Permission.refund_write),
        exchange_options=None if exchange else exchange_options(container.uow, principal, case),
        can_call=case.status not in TERMINAL
        and has_permission(principal.role, Permission.call_start),
        can_assign=can_assign,
        assign_teams=teams,
        now=container.clock(),
        csrf=csrf_token(container.settings.secret_key, token),
        error=error,
        **(kept or {}),
    )
    return remember_language(request, response)


def case_page_with_error(
    request: Request, principal: Principal, token: str, case_id: str, error: str, status: int
) -> Response:
    """The case page showing why an action posted from it was refused."""
    return _case_page(request, principal, token, case_id, error, status)


@router.get("/events")
async def queue_events(request: Request) -> Response:
    """The queue page listens here for changed cases (Server-Sent Events, the cookie)."""
    staff = signed_in_staff(request)
    if staff is None:
        return Response(status_code=401)
    return await queue_stream(request, container_of(request), staff[0])


@router.get("/cases/{case_id}/events")
async def case_events(request: Request, case_id: CaseId) -> Response:
    staff = signed_in_staff(request)
    if staff is None:
        return Response(status_code=401)
    try:
        return await case_stream(request, container_of(request), staff[0], case_id)
    except DomainError:
        return Response(status_code=404)


@router.get("/cases/{case_id}")
def case_page(request: Request, case_id: CaseId) -> Response:
    staff = signed_in_staff(request)
    if staff is None:
        return to_login()
    return _case_page(request, *staff, case_id)


@dataclass(frozen=True, slots=True)
class StaffForm:
    """A console form post from a signed-in member of staff; `csrf_ok`: its token is valid
    (when it is not, the caller shows its page again with the form's values)."""

    principal: Principal
    token: str
    container: Container
    form: FormData
    csrf_ok: bool


async def staff_form(request: Request) -> StaffForm | None:
    """The posted form and who posted it; None: nobody is signed in."""
    staff = signed_in_staff(request)
    if staff is None:
        return None
    principal, token = staff
    container = container_of(request)
    form = await read_form(request)
    valid = check_csrf(container.settings.secret_key, token, field(form, "csrf", 64))
    return StaffForm(principal, token, container, form, valid)


async def case_form_post(
    request: Request, case_id: str
) -> tuple[Principal, str, Container, FormData] | Response:
    """A form post on a case page from a signed-in agent with a valid CSRF token."""
    posted = await staff_form(request)
    if posted is None:
        return to_login()
    if not posted.csrf_ok:
        return _case_page(request, posted.principal, posted.token, case_id, "generic", 400)
    return posted.principal, posted.token, posted.container, posted.form


def _act(
    request: Request,
    principal: Principal,
    token: str,
    case_id: str,
    kept: dict[str, str],
    action: Callable[[], object],
) -> Response:
    """Run a case action; on refusal show the case again with the reason and what was typed."""
    try:
        action()
    except StaleVersion:
        return _case_page(request, principal, token, case_id, "version_mismatch", 409, kept)
    except DomainError as exc:
        return _case_page(request, principal, token, case_id, exc.code, 422, kept)
    return RedirectResponse(f"/console/cases/{case_id}", status_code=303)


@router.post("/cases/{case_id}/transition")
async def transition(request: Request, case_id: CaseId) -> Response:
    post = await case_form_post(request, case_id)
    if isinstance(post, Response):
        return post
    principal, token, container, form = post
    note = field(form, "note", 4000)
    refund_raw = field(form, "refund_amount", 20)
    kept = {"note": note, "refund_amount": refund_raw}
    try:
        target = CaseStatus(field(form, "to", 40))
        refund = None
        if target is CaseStatus.refund_pending and refund_raw:
            if "," in refund_raw and "." not in refund_raw:  # "49,99" as typed in many locales
                refund_raw = refund_raw.replace(",", ".")
            refund = Money.from_decimal(refund_raw, field(form, "currency", 3)).amount
        receipt: tuple[ReceiptLine, ...] = ()
        if target in (CaseStatus.received, CaseStatus.partially_received):
            receipt = tuple(
                ReceiptLine(
                    sku=field(form, f"sku_{i}", 100),
                    quantity=int_field(form, f"received_{i}"),
                    condition=ReceiptCondition(field(form, f"condition_{i}", 40) or "intact"),
                )
                for i in range(min(int_field(form, "line_count"), 500))
                if int_field(form, f"received_{i}") > 0
            )
    except (ValueError, DomainError):
        return _case_page(request, principal, token, case_id, "invalid_form", 422, kept)
    command = MoveCase(
        case_id=case_id,
        to=target,
        expected_version=int_field(form, "version"),
        note=note,
        refund_amount=refund,
        receipt=receipt,
    )
    return _act(
        request, principal, token, case_id, kept,
        lambda: transition_case(container.uow, container.clock, principal, command),
    )  # fmt: skip


@router.post("/cases/{case_id}/decision")
async def override(request: Request, case_id: CaseId) -> Response:
    post = await case_form_post(request, case_id)
    if isinstance(post, Response):
        return post
    principal, token, container, form = post
    note = field(form, "override_note", 4000)
    kept = {"override_note": note}
    try:
        outcome = Outcome(field(form, "outcome", 40))
    except ValueError:
        return _case_page(request, principal, token, case_id, "invalid_form", 422, kept)
    command = OverrideDecision(case_id, outcome, note, int_field(form, "version"))
    return _act(
        request, principal, token, case_id, kept,
        lambda: override_decision(container.uow, container.clock, principal, command),
    )  # fmt: skip


@router.post("/cases/{case_id}/redecide")
async def decide_again(request: Request, case_id: CaseId) -> Response:
    post = await case_form_post(request, case_id)
    if isinstance(post, Response):
        return post
    principal, token, container, form = post
    try:
        evidence = frozenset(
            EvidenceKind(k) for k in form.getlist("evidence") if isinstance(k, str)
        )
        known = {*FINDINGS, MAJOR_FAILURE}
        findings = frozenset(f for f in form.getlist("findings") if isinstance(f, str))
        if not findings <= known:
            raise ValueError("unknown finding")
    except ValueError:
        return _case_page(request, principal, token, case_id, "invalid_form", 422)
    command = Redecide(case_id, int_field(form, "version"), evidence, findings)
    return _act(
        request, principal, token, case_id, {},
        lambda: redecide(container.uow, container.clock, principal, command),
    )  # fmt: skip


@router.post("/cases/{case_id}/evidence/hold")
async def evidence_hold(request: Request, case_id: CaseId) -> Response:
    """Place or release a legal hold on the case's evidence."""
    post = await case_form_post(request, case_id)
    if isinstance(post, Response):
        return post
    principal, token, container, form = post
    reason = field(form, "reason", 500)
    if field(form, "action", 20) == "release":
        return _act(
            request, principal, token, case_id, {},
            lambda: release_hold(container.uow, container.clock, principal, case_id),
        )  # fmt: skip
    return _act(
        request, principal, token, case_id, {"hold_reason": reason},
        lambda: place_hold(container.uow, container.clock, principal, case_id, reason),
    )  # fmt: skip


@router.post("/cases/{case_id}/evidence/erase")
async def evidence_erase(request: Request, case_id: CaseId) -> Response:
    """Delete the case's evidence files (an erasure request); refused under a legal hold."""
    post = await case_form_post(request, case_id)
    if isinstance(post, Response):
        return post
    principal, token, container, form = post
    reason = field(form, "reason", 500)
    return _act(
        request, principal, token, case_id, {"erase_reason": reason},
        lambda: erase_evidence(
            container.uow, container.clock, container.files, principal, case_id, reason
        ),
    )  # fmt: skip
