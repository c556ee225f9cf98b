"""The policy editor in the console: the active version, edit as TOML, versions with diffs,
and what-if simulation against past cases."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Annotated, Any

from fastapi import APIRouter, Path, Request
from fastapi.responses import RedirectResponse, Response

from returndesk.adapters.jobs import Progress
from returndesk.domain.access import Permission, has_permission
from returndesk.domain.cases.reasons import REASON_TREE
from returndesk.domain.errors import DomainError, StaleVersion
from returndesk.domain.policy.decision import DeclineReason, EvidenceKind, Outcome
from returndesk.domain.policy.law import Payer
from returndesk.policies.files import parse_text, to_toml
from returndesk.services.policies import (
    check_document,
    diff_versions,
    get_active,
    get_version,
    list_versions,
    save_policy,
    simulate,
)
from returndesk.services.principal import Principal
from returndesk.web.pages.console import (
    can_open_settings,
    console_page,
    remember_language,
    signed_in_staff,
    to_login,
)
from returndesk.web.pages.forms import field, int_field, read_form
from returndesk.web.pages.rendering import check_csrf, csrf_token
from returndesk.web.pages.sessions import container_of

router = APIRouter(prefix="/console/policy")
MAX_TEXT = 1_000_000


def _render(
    request: Request,
    principal: Principal,
    token: str,
    *,
    text: str | None = None,
    note: str = "",
    since: str = "",
    status_code: int = 200,
    message: str | None = None,
    error: str | None = None,
    error_detail: str = "",
    rule_form: dict[str, Any] | None = None,
) -> Response:
    container = container_of(request)
    active = get_active(container.uow, principal, None)
    versions = list_versions(container.uow, principal, None)
    default_since = (container.clock() - timedelta(days=90)).date().isoformat()
    response = console_page(request).render(
        request,
        "console/policy.html",
        status_code=status_code,
        principal=principal,
        can_settings=can_open_settings(principal),
        can_edit=has_permission(principal.role, Permission.policy_write),
        active=active,
        versions=versions,
        text=to_toml(active.document) if text is None else text,
        note=note,
        since=since or default_since,
        csrf=csrf_token(container.settings.secret_key, token),
        message=message,
        error=error,
        error_detail=error_detail,
        rules=list(active.document.get("rules", [])),
        rule_form=rule_form or {},
        outcomes=[o.value for o in Outcome],
        evidence_kinds=[k.value for k in EvidenceKind],
        decline_reasons=[r.value for r in DeclineReason],
        payers=[p.value for p in Payer],
        reason_tree=REASON_TREE,
        reason_codes={r.value for g in REASON_TREE for r in g.reasons},
    )
    return remember_language(request, response)


def _staff(request: Request) -> tuple[Principal, str] | None:
    staff = signed_in_staff(request)
    if staff is None or not has_permission(staff[0].role, Permission.policy_read):
        return None
    return staff


@router.get("")
def policy_page(request: Request) -> Response:
    staff = _staff(request)
    if staff is None:
        return to_login()
    return _render(request, *staff)


@router.get("/export")
def export(request: Request) -> Response:
    staff = _staff(request)
    if staff is None:
        return to_login()
    active = get_active(container_of(request).uow, staff[0], None)
    return Response(
        to_toml(active.document),
        media_type="application/toml",
        headers={"Content-Disposition": f'attachment; filename="policy-v{active.version}.toml"'},
    )


@router.post("")
async def act(request: Request) -> Response:
    """Validate, save, or simulate the text in the editor."""
    staff = _staff(request)
    if staff is None:
        return to_login()
    principal, token = staff
    container = container_of(request)
    form = await read_form(request)
    text = field(form, "document", MAX_TEXT)
    note = field(form, "note", 2000)
    since = field(form, "since", 10)
    kept: dict[str, Any] = {"text": text, "note": note, "since": since}
    if not check_csrf(container.settings.secret_key, token, field(form, "csrf", 64)):
        return _render(request, principal, token, status_code=400, error="generic", **kept)
    action = field(form, "action", 20)
    try:
        document = parse_text(text)
        if action == "save":
            save_policy(
                container.uow,
                container.clock,
                principal,
                None,
                document,
                note=note,
                expected_version=int_field(form, "version", -1),
            )
            return RedirectResponse("/console/policy?saved=1", status_code=303)
        if action == "simulate":
            try:
                start = datetime.fromisoformat(since).replace(tzinfo=UTC)
            except ValueError:
                return _render(
                    request, principal, token, status_code=422, error="invalid_form", **kept
                )
            check_document(container.uow, document)  # refuse a bad draft before starting
            uow = container.uow

            def work(progress: Progress) -> dict[str, Any]:
                report = simulate(uow, principal, None, document, start, progress=progress)
                return report.to_dict()

            job = container.jobs.submit(_owner(principal), "policy_simulation", work)
            return RedirectResponse(f"/console/policy/simulations/{job.id}", status_code=303)
        check_document(container.uow, document)
        return _render(request, principal, token, message="policy_valid", **kept)
    except StaleVersion:
        return _render(request, principal, token, status_code=409, error="version_mismatch", **kept)
    except DomainError as exc:
        status = 403 if exc.code == "forbidden" else 422
        return _render(
            request,
            principal,
            token,
            status_code=status,
            error=exc.code,
            error_detail=exc.detail,
            **kept,
        )


RULE_FIELDS = {
    "rule_id": 64, "description": 200, "markets": 200, "categories": 400, "when": 2000,
    "outcome": 40, "evidence": 40, "decline_reason": 40, "fee": 10, "payer": 20,
}  # fmt: skip


def _split(text: str) -> list[str]:
    return [part.strip() for part in text.replace(";", ",").split(",") if part.strip()]


def rule_from_form(values: dict[str, Any]) -> dict[str, Any]:
    """A store rule from the rule form: only what was filled in, as the document spells it."""
    rule: dict[str, Any] = {"id": values["rule_id"]}
    if values["description"]:
        rule["description"] = values["description"]
    for key in ("markets", "categories"):
        items = _split(values[key])
        if items:
            rule[key] = [i.upper() if key == "markets" else i.lower() for i in items]
    if values["reasons"]:
        rule["reasons"] = list(values["reasons"])
    if values["when"]:
        rule["when"] = values["when"]
    then: dict[str, Any] = {}
    for key in ("outcome", "evidence", "decline_reason"):
        if values[key]:
            then[key] = values[key]
    if values["payer"]:
        then["return_shipping_paid_by"] = values["payer"]
    if values["fee"]:
        try:
            fee = float(values["fee"].replace(",", "."))
        except ValueError:
            raise DomainError("the fee is not a number", code="invalid_form") from None
        then["restocking_fee_percent"] = int(fee) if fee.is_integer() else fee
    rule["then"] = then
    return rule


@router.post("/rules")
async def edit_rules(request: Request) -> Response:
    """The decision-table editor: add a rule, move one up, or delete one; each change is
    checked whole and saved as a new version (or refused, changing nothing)."""
    staff = _staff(request)
    if staff is None:
        return to_login()
    principal, token = staff
    container = container_of(request)
    form = await read_form(request)
    values: dict[str, Any] = {name: field(form, name, size) for name, size in RULE_FIELDS.items()}
    values["reasons"] = [r for r in form.getlist("reasons") if isinstance(r, str)][:50]
    if not check_csrf(container.settings.secret_key, token, field(form, "csrf", 64)):
        return _render(request, principal, token, status_code=400, error="generic")
    op = field(form, "op", 10)
    try:
        active = get_active(container.uow, principal, None)
        document = dict(active.document)
        rules = [dict(r) for r in document.get("rules", []) if isinstance(r, dict)]
        target = field(form, "target", 64)
        index = next((i for i, r in enumerate(rules) if r.get("id") == target), None)
        if op == "add":
            rules.append(rule_from_form(values))
            note = f"Added rule {values['rule_id']}"
        elif op == "delete" and index is not None:
            del rules[index]
            note = f"Deleted rule {target}"
        elif op == "up" and index:
            rules[index - 1], rules[index] = rules[index], rules[index - 1]
            note = f"Moved rule {target} up"
        else:
            return RedirectResponse("/console/policy", status_code=303)
        document["rules"] = rules
        save_policy(
            container.uow, container.clock, principal, None, document,
            note=note, expected_version=int_field(form, "version", -1),
        )  # fmt: skip
    except StaleVersion:
        return _render(
            request, principal, token, status_code=409, error="version_mismatch",
            rule_form=values,
        )  # fmt: skip
    except DomainError as exc:
        return _render(
            request, principal, token, status_code=403 if exc.code == "forbidden" else 422,
            error=exc.code, error_detail=exc.detail, rule_form=values,
        )  # fmt: skip
    return RedirectResponse("/console/policy?saved=1", status_code=303)


def _owner(principal: Principal) -> str:
    return f"{principal.kind}:{principal.id}"


@router.get("/simulations/{job_id}")
def simulation_page(
    request: Request, job_id: Annotated[str, Path(pattern=r"^[0-9a-f-]{36}$")]
) -> Response:
    """A running simulation's progress (the page refreshes itself), then its report."""
    staff = _staff(request)
    if staff is None:
        return to_login()
    principal, _ = staff
    job = container_of(request).jobs.get(job_id, _owner(principal))
    if job is None:
        return RedirectResponse("/console/policy", status_code=303)
    response = console_page(request).render(
        request,
        "console/policy_simulation.html",
        principal=principal,
        can_settings=can_open_settings(principal),
        job=job,
    )
    return remember_language(request, response)


@router.get("/versions/{number}")
def version_page(request: Request, number: Annotated[int, Path(ge=1, le=10**9)]) -> Response:
    staff = _staff(request)
    if staff is None:
        return to_login()
    principal, _ = staff
    container = container_of(request)
    try:
        found = get_version(container.uow, principal, None, number)
    except DomainError:
        return RedirectResponse("/console/policy", status_code=303)
    diff: list[str] = []
    if number > 1:
        try:
            diff = diff_versions(get_version(container.uow, principal, None, number - 1), found)
        except DomainError:
            diff = []
    response = console_page(request).render(
        request,
        "console/policy_version.html",
        principal=principal,
        can_settings=can_open_settings(principal),
        version=found,
        text=to_toml(found.document),
        diff=diff,
    )
    return remember_language(request, response)
