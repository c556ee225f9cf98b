"""The buyer portal: order look-up, the return wizard, case status with timeline."""

from __future__ import annotations

import re
import uuid
from collections.abc import Callable
from datetime import datetime
from typing import Annotated

from fastapi import APIRouter, Path, Request
from fastapi.responses import RedirectResponse, Response
from starlette.datastructures import FormData

from returndesk.adapters.labels import qr_svg
from returndesk.bootstrap import Container
from returndesk.domain.access import Role
from returndesk.domain.cases.model import LineRequest
from returndesk.domain.cases.reasons import REASON_TREE, ReasonCode
from returndesk.domain.cases.status import TERMINAL, CaseStatus, Resolution
from returndesk.domain.cases.transitions import allowed_targets
from returndesk.domain.errors import DomainError, ValidationFailed
from returndesk.domain.logistics import RefundStatus
from returndesk.domain.markets import market_zone
from returndesk.domain.notifications import buyer_sees_decision
from returndesk.domain.scheduling import booking_open, group_by_day
from returndesk.services.buyers import start_buyer_session
from returndesk.services.calls import open_call_of
from returndesk.services.carrier_events import declare_sent
from returndesk.services.evidence import list_evidence
from returndesk.services.exchanges import get_exchange
from returndesk.services.orders import get_order
from returndesk.services.principal import Principal
from returndesk.services.refunds import list_refunds
from returndesk.services.return_labels import (
    label_available,
    label_data,
    return_address,
    return_method,
)
from returndesk.services.returns import (
    MoveCase,
    OpenReturn,
    get_case,
    get_timeline,
    open_return,
    transition_case,
)
from returndesk.services.scheduling import (
    book_call,
    booking_of,
    call_slots,
    cancel_booking,
)
from returndesk.web.live import case_stream
from returndesk.web.pages.forms import field, int_field, read_form
from returndesk.web.pages.i18n import BUYER_LANGUAGES, negotiate
from returndesk.web.pages.rendering import Page, check_csrf, csrf_token
from returndesk.web.pages.return_label import label_response
from returndesk.web.pages.sessions import container_of, cookie_session
from returndesk.web.problems import HttpProblem
from returndesk.web.ratelimit import limiter

router = APIRouter()
NEXT_URL = re.compile(r"/portal/returns/[0-9a-f-]{36}")
COOKIE = "rd_buyer"
LANG_COOKIE = "rd_lang"
TZ_COOKIE = "rd_tz"
CaseId = Annotated[str, Path(pattern=r"^[0-9a-f-]{36}$")]


def _buyer(request: Request) -> tuple[Principal, str] | None:
    return cookie_session(request, COOKIE, "buyer")


def _page(request: Request, fallback_language: str = "en", market: str | None = None) -> Page:
    language = negotiate(
        request.query_params.get("lang") or request.cookies.get(LANG_COOKIE),
        request.headers.get("accept-language", "") if fallback_language == "en" else "",
        BUYER_LANGUAGES,
        fallback_language,
    )
    default_tz = market_zone(market)
    return Page(language, request.cookies.get(TZ_COOKIE), default_tz, BUYER_LANGUAGES)


def _remember_language(request: Request, response: Response) -> Response:
    chosen = request.query_params.get("lang")
    if chosen in BUYER_LANGUAGES:
        response.set_cookie(LANG_COOKIE, chosen, max_age=365 * 86400, samesite="lax")
    return response


def _to_lookup() -> RedirectResponse:
    return RedirectResponse("/", status_code=303)


def _next_url(value: str | None) -> str:
    """Where to go after signing in: only a case page of the portal (links in emails)."""
    return value if value and NEXT_URL.fullmatch(value) else ""


@router.get("/")
def lookup(request: Request) -> Response:
    page = _page(request)
    next_url = _next_url(request.query_params.get("next"))
    response = page.render(request, "portal/lookup.html", error=None, next_url=next_url)
    return _remember_language(request, response)


@router.post("/portal/session")
async def lookup_submit(request: Request) -> Response:
    container = container_of(request)
    form = await read_form(request)
    page = _page(request)
    number, email = field(form, "order_number", 64), field(form, "email", 320)
    try:
        limiter(request).check(request, "buyer-session", number.lower())
        principal = start_buyer_session(container.uow, number, email)
    except (DomainError, HttpProblem) as exc:
        code = exc.code if exc.code in ("rate_limited",) else "invalid_order_credentials"
        status = 429 if code == "rate_limited" else 401
        return page.render(
            request,
            "portal/lookup.html",
            status_code=status,
            error=code,
            number=number,
            email=email,
            next_url=_next_url(field(form, "next", 100)),
        )
    token = container.tokens.issue(
        principal, container.clock(), container.settings.buyer_token_ttl_seconds
    )
    response = RedirectResponse(
        _next_url(field(form, "next", 100)) or "/portal/order", status_code=303
    )
    response.set_cookie(COOKIE, token, httponly=True, samesite="lax", max_age=86400)
    return response


@router.post("/portal/logout")
def logout() -> Response:
    response = _to_lookup()
    response.delete_cookie(COOKIE)
    return response


def _order_page(
    request: Request,
    principal: Principal,
    token: str,
    error: str | None = None,
    status_code: int = 200,
) -> Response:
    container = container_of(request)
    with container.uow() as uow:
        order = uow.orders.get(principal.order_id or "")
    if order is None:
        return _to_lookup()
    view = get_order(container.uow, principal, order.number, container.clock)
    page = _page(request, view.order.language, view.order.market)
    response = page.render(
        request,
        "portal/order.html",
        status_code=status_code,
        view=view,
        reason_tree=REASON_TREE,
        resolutions=list(Resolution),
        csrf=csrf_token(container.settings.secret_key, token),
        submission_id=str(uuid.uuid4()),
        error=error,
    )
    return _remember_language(request, response)


@router.get("/portal/order")
def order_page(request: Request) -> Response:
    buyer = _buyer(request)
    if buyer is None:
        return _to_lookup()
    return _order_page(request, *buyer)


@router.post("/portal/returns")
async def submit_return(request: Request) -> Response:
    buyer = _buyer(request)
    if buyer is None:
        return _to_lookup()
    principal, token = buyer
    container = container_of(request)
    form = await read_form(request)
    if not check_csrf(container.settings.secret_key, token, field(form, "csrf", 64)):
        return _order_page(request, principal, token, "generic", 400)
    try:
        picked = [
            i
            for i in range(min(int_field(form, "line_count"), 500))
            if field(form, f"pick_{i}") == "1"
        ]
        comment = field(form, "comment", 2000)
        lines = tuple(
            LineRequest(
                sku=field(form, f"sku_{i}", 100),
                quantity=int_field(form, f"qty_{i}"),
                reason=ReasonCode(field(form, f"reason_{i}", 40)),
                comment=comment if n == 0 else "",  # one comment for the request, kept once
            )
            for n, i in enumerate(picked)
        )
        resolution = Resolution(field(form, "resolution", 40))
    except ValueError:
        return _order_page(request, principal, token, "invalid_form", 422)
    with container.uow() as uow:
        order = uow.orders.get(principal.order_id or "")
    if order is None:
        return _to_lookup()
    try:
        opened = open_return(
            container.uow,
            container.clock,
            principal,
            OpenReturn(order.number, lines, resolution),
            idempotency_key=field(form, "submission_id", 64) or None,
        )
    except DomainError as exc:
        return _order_page(request, principal, token, exc.code, 422)
    return RedirectResponse(f"/portal/returns/{opened.case.id}", status_code=303)


def _case_page(
    request: Request, principal: Principal, token: str, case_id: str, error: str | None = None
) -> Response:
    container = container_of(request)
    try:
        case = get_case(container.uow, principal, case_id)
    except DomainError:
        return _to_lookup()
    timeline = get_timeline(container.uow, principal, case_id)
    evidence = list_evidence(container.uow, principal, case_id)
    page = _page(request, case.language, case.market)
    method = return_method(case)
    return _remember_language(
        request,
        page.render(
            request,
            "portal/case.html",
            case=case,
            timeline=timeline,
            evidence=evidence,
            open_call=open_call_of(container.uow, container.clock, principal, case_id),
            return_method=method,
            label_ready=label_available(case),
            drop_off=(return_address(case) or {}).get("drop_off") if method == "drop_off" else None,
            drop_off_qr=qr_svg(case.rma) if method == "drop_off" else None,
            refunds=[
                r
                for r in list_refunds(container.uow, principal, case_id)
                if r.status is RefundStatus.succeeded
            ],
            exchange=get_exchange(container.uow, principal, case_id),
            booking=booking_of(container.uow, principal, case_id),
            booking_offered=booking_open(case, (e.kind for e in timeline)),
            decision_visible=buyer_sees_decision(case.status.value),
            can_add_evidence=case.status not in TERMINAL,
            can_cancel=CaseStatus.canceled in allowed_targets(case.status, Role.buyer),
            csrf=csrf_token(container.settings.secret_key, token),
            error=error,
        ),
    )


@router.get("/portal/returns/{case_id}")
def case_page(request: Request, case_id: CaseId) -> Response:
    buyer = _buyer(request)
    if buyer is None:  # e.g. a link in an email: sign in, then come back here
        return RedirectResponse(f"/?next=/portal/returns/{case_id}", status_code=303)
    return _case_page(request, *buyer, case_id)


@router.get("/portal/returns/{case_id}/label.pdf")
def case_label(request: Request, case_id: CaseId) -> Response:
    """The return label and packing slip (PDF) for the signed-in buyer's return."""
    buyer = _buyer(request)
    if buyer is None:
        return RedirectResponse(f"/?next=/portal/returns/{case_id}", status_code=303)
    try:
        data = label_data(container_of(request).uow, buyer[0], case_id)
    except DomainError:
        return RedirectResponse(f"/portal/returns/{case_id}", status_code=303)
    return label_response(data)


CaseAction = Callable[[Principal, Container, FormData], object]


async def _case_action(request: Request, case_id: str, action: CaseAction) -> Response:
    """A form posted on the buyer's case page: signed in, CSRF checked, the action run; a
    refusal shows the page again with its reason, success goes back to the page."""
    buyer = _buyer(request)
    if buyer is None:
        return _to_lookup()
    principal, token = buyer
    container = container_of(request)
    form = await read_form(request)
    if not check_csrf(container.settings.secret_key, token, field(form, "csrf", 64)):
        return _case_page(request, principal, token, case_id, "generic")
    try:
        action(principal, container, form)
    except DomainError as exc:
        return _case_page(request, principal, token, case_id, exc.code)
    return RedirectResponse(f"/portal/returns/{case_id}", status_code=303)


@router.post("/portal/returns/{case_id}/parcel")
async def parcel_sent(request: Request, case_id: CaseId) -> Response:
    """The buyer says the parcel left: carrier and tracking number."""
    return await _case_action(
        request,
        case_id,
        lambda principal, container, form: declare_sent(
            container.uow,
            container.clock,
            principal,
            case_id,
            field(form, "carrier", 60),
            field(form, "tracking_number", 64),
        ),
    )


@router.get("/portal/returns/{case_id}/events")
async def case_events(request: Request, case_id: CaseId) -> Response:
    """The buyer's case page listens here (Server-Sent Events, the session cookie)."""
    buyer = _buyer(request)
    if buyer is None:
        return Response(status_code=401)
    try:
        return await case_stream(request, container_of(request), buyer[0], case_id)
    except DomainError:
        return Response(status_code=404)


@router.post("/portal/returns/{case_id}/cancel")
async def cancel_case(request: Request, case_id: CaseId) -> Response:
    return await _case_action(
        request,
        case_id,
        lambda principal, container, form: transition_case(
            container.uow,
            container.clock,
            principal,
            MoveCase(case_id, CaseStatus.canceled, int_field(form, "version")),
        ),
    )


@router.get("/portal/returns/{case_id}/call-booking")
def booking_page(request: Request, case_id: CaseId) -> Response:
    """Pick a time for a video call: the free slots, by day, in the buyer's time zone."""
    buyer = _buyer(request)
    if buyer is None:
        return RedirectResponse(f"/?next=/portal/returns/{case_id}/call-booking", status_code=303)
    principal, token = buyer
    container = container_of(request)
    try:
        case = get_case(container.uow, principal, case_id)
    except DomainError:
        return _to_lookup()
    page = _page(request, case.language, case.market)
    tz_name = str(page.tz.key)
    offer = call_slots(container.uow, container.clock, principal, case_id, timezone=tz_name)
    if not offer.open_to_buyer and offer.booking is None:
        return RedirectResponse(f"/portal/returns/{case_id}", status_code=303)
    return _remember_language(
        request,
        page.render(
            request,
            "portal/booking.html",
            case=case,
            offer=offer,
            days=group_by_day(offer.slots, tz_name),
            csrf=csrf_token(container.settings.secret_key, token),
        ),
    )


@router.post("/portal/returns/{case_id}/call-booking")
async def book_slot(request: Request, case_id: CaseId) -> Response:
    """The buyer books (or moves) their video call."""
    return await _case_action(
        request,
        case_id,
        lambda principal, container, form: book_call(
            container.uow,
            container.clock,
            principal,
            case_id,
            starts_at=_slot_time(field(form, "starts_at", 40)),
            timezone=field(form, "timezone", 64) or "UTC",
        ),
    )


@router.post("/portal/returns/{case_id}/call-booking/cancel")
async def cancel_slot(request: Request, case_id: CaseId) -> Response:
    return await _case_action(
        request,
        case_id,
        lambda principal, container, form: cancel_booking(
            container.uow, container.clock, principal, case_id
        ),
    )


def _slot_time(raw: str) -> datetime:
    try:
        starts_at = datetime.fromisoformat(raw)
    except ValueError:
        raise ValidationFailed("pick one of the times shown", code="invalid_slot") from None
    if starts_at.utcoffset() is None:
        raise ValidationFailed("pick one of the times shown", code="invalid_slot")
    return starts_at
