"""`returndesk serve | migrate | seed-demo | users create | orders import | policy ...`."""

from __future__ import annotations

import io
import json
from collections import Counter
from datetime import UTC, datetime
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn
from rich.table import Table

from returndesk.bootstrap import Container, bootstrap
from returndesk.cli.assistant import assistant_app
from returndesk.domain.access import Role
from returndesk.domain.errors import DomainError
from returndesk.services.principal import SYSTEM, Principal
from returndesk.services.staff import create_staff_user
from returndesk.services.stores import ensure_default_store
from returndesk.services.teams import list_teams, sweep_sla

app = typer.Typer(help="ReturnDesk: after-sales for cross-border e-commerce.", no_args_is_help=True)
users_app = typer.Typer(help="Staff accounts.", no_args_is_help=True)
orders_app = typer.Typer(help="Orders.", no_args_is_help=True)
app.add_typer(users_app, name="users")
app.add_typer(orders_app, name="orders")
policy_app = typer.Typer(help="The return policy: versions, checks, what-if.", no_args_is_help=True)
app.add_typer(policy_app, name="policy")
evidence_app = typer.Typer(
    help="Evidence: verify, export, legal holds, erasure, reference photos.", no_args_is_help=True
)
app.add_typer(evidence_app, name="evidence")
app.add_typer(assistant_app, name="assistant")
teams_app = typer.Typer(help="Teams, shifts and service levels.", no_args_is_help=True)
app.add_typer(teams_app, name="teams")
calls_app = typer.Typer(help="Video calls on cases.", no_args_is_help=True)
app.add_typer(calls_app, name="calls")
returns_app = typer.Typer(help="Return cases.", no_args_is_help=True)
app.add_typer(returns_app, name="returns")
carriers_app = typer.Typer(help="Return parcels' carrier scans.", no_args_is_help=True)
app.add_typer(carriers_app, name="carrier-events")
integrations_app = typer.Typer(help="Integration tokens for other systems.", no_args_is_help=True)
app.add_typer(integrations_app, name="integrations")
stats_app = typer.Typer(help="The supervisor's dashboard figures.", no_args_is_help=True)
app.add_typer(stats_app, name="stats")
console = Console()
StoreOption = Annotated[
    str | None, typer.Option("--store", help="store slug (default: the only store)")
]


def _container() -> Container:
    try:
        return bootstrap()
    except ValueError as exc:  # settings refused (e.g. the default secret outside demo mode)
        console.print(f"[red]{exc}[/red]")
        raise typer.Exit(2) from None


def _fail(exc: DomainError) -> typer.Exit:
    console.print(f"[red]{exc.code}[/red]: {exc.detail}")
    return typer.Exit(1)


@app.command()
def migrate() -> None:
    """Create or upgrade the database schema, and make sure a store exists."""
    from returndesk.adapters.db.migrate import upgrade

    container = _container()
    upgrade(container.engine)
    store = ensure_default_store(container.uow, container.clock)
    url = container.engine.url.render_as_string(hide_password=True)
    console.print(f"database ready ({url}); store: {store.slug}")


@app.command()
def serve(
    host: Annotated[str, typer.Option(help="address to listen on")] = "127.0.0.1",
    port: Annotated[int, typer.Option(help="port")] = 8000,
) -> None:
    """Serve the API, the buyer portal (/) and the agent console (/console)."""
    import uvicorn

    from returndesk.web.app import create_app

    uvicorn.run(
        create_app(_container()),
        host=host,
        port=port,
        log_level="info",
        timeout_graceful_shutdown=5,  # live event streams (SSE) do not end by themselves
    )


@app.command("seed-demo")
def seed_demo() -> None:
    """Load realistic demo data (orders in 7 markets, cases in every state, staff log-ins)."""
    from returndesk.adapters.db.migrate import upgrade
    from returndesk.demo import seed

    container = _container()
    upgrade(container.engine)
    result = seed(container)
    table = Table(title="Demo log-ins (agent console: /console)")
    table.add_column("role")
    table.add_column("email")
    table.add_column("password")
    for role, email, password in result.logins:
        table.add_row(role, email, password)
    console.print(table)
    buyers = Table(title="Demo buyers (portal: /)")
    buyers.add_column("market")
    buyers.add_column("order number")
    buyers.add_column("email")
    for market, number, email in result.buyers:
        buyers.add_row(market, number, email)
    console.print(buyers)
    console.print(
        f"{result.orders} orders, {result.cases} cases"
        + (" (already seeded)" if result.existed else "")
    )


@users_app.command("create")
def users_create(
    email: Annotated[str, typer.Option(help="log-in email")],
    role: Annotated[Role, typer.Option(help="agent, supervisor, warehouse, admin, platform_admin")],
    password: Annotated[str, typer.Option(prompt=True, hide_input=True, confirmation_prompt=True)],
    name: Annotated[str, typer.Option(help="display name")] = "",
    language: Annotated[str, typer.Option(help="console language: en or zh")] = "en",
    timezone: Annotated[str, typer.Option(help="IANA time zone")] = "UTC",
    store: StoreOption = None,
) -> None:
    """Create a staff account."""
    container = _container()
    try:
        user = create_staff_user(
            container.uow, container.hasher, container.clock, SYSTEM,
            email=email, role=role, password=password, name=name, language=language,
            timezone=timezone, store_slug=store,
        )  # fmt: skip
    except DomainError as exc:
        raise _fail(exc) from None
    console.print(f"created {user.role} {user.email}")


@orders_app.command("import")
def orders_import(
    file: Annotated[Path, typer.Argument(exists=True, dir_okay=False, readable=True)],
    store: StoreOption = None,
) -> None:
    """Import a Shopify order export (CSV). Each order is all or nothing; bad rows are listed."""
    from returndesk.adapters.importers.shopify_csv import parse_shopify_csv, start_report
    from returndesk.services.imports import import_orders

    container = _container()
    try:
        text = file.read_text(encoding="utf-8-sig")
    except UnicodeDecodeError:
        console.print("[red]invalid_encoding[/red]: the file is not UTF-8 text")
        raise typer.Exit(1) from None
    total_rows = max(text.count("\n") - 1, 1)
    with Progress(
        TextColumn("[bold]{task.description}"), BarColumn(), MofNCompleteColumn(),
        TimeElapsedColumn(), console=console,
    ) as progress:  # fmt: skip
        read_task = progress.add_task("reading rows", total=total_rows)
        try:
            parsed = parse_shopify_csv(
                io.StringIO(text), on_row=lambda n: progress.update(read_task, completed=n)
            )
        except DomainError as exc:
            raise _fail(exc) from None
        progress.update(read_task, completed=parsed.rows_read, total=parsed.rows_read)
        save_task = progress.add_task("saving orders", total=len(parsed.orders))
        report = import_orders(
            container.uow,
            SYSTEM,
            ((item.first_row, item.order) for item in parsed.orders),
            start_report(parsed),
            store_slug=store,
            on_saved=lambda: progress.advance(save_task),
        )
    summary = Table(title=f"Import of {file.name}")
    summary.add_column("result")
    summary.add_column("count", justify="right")
    summary.add_row("rows read", str(report.rows_read))
    summary.add_row("orders created", str(report.created))
    summary.add_row("orders updated", str(report.updated))
    summary.add_row("orders rejected", str(report.orders_rejected))
    summary.add_row("rows rejected", str(len(report.rejected)))
    console.print(summary)
    if report.rejected:
        why = Table(title="Rejected rows")
        for column in ("line", "order", "code", "why"):
            why.add_column(column)
        for r in report.rejected:
            why.add_row(str(r.row), r.order_number, r.code, r.message)
        console.print(why)
        by_code = Counter(r.code for r in report.rejected)
        console.print(", ".join(f"{code}: {n}" for code, n in by_code.most_common()))
    raise typer.Exit(1 if report.rejected and not (report.created or report.updated) else 0)


def _read_policy(file: Path) -> dict[str, Any]:
    from returndesk.policies.files import parse_text

    try:
        return parse_text(file.read_text(encoding="utf-8"))
    except UnicodeDecodeError:
        console.print("[red]invalid_encoding[/red]: the file is not UTF-8 text")
        raise typer.Exit(1) from None
    except DomainError as exc:
        raise _fail(exc) from None


PolicyFile = Annotated[Path, typer.Argument(exists=True, dir_okay=False, readable=True)]


@policy_app.command("export")
def policy_export(
    output: Annotated[
        Path | None, typer.Option("--output", "-o", help="file (default: stdout)")
    ] = None,
    version: Annotated[int | None, typer.Option(help="a saved version (default: active)")] = None,
    store: StoreOption = None,
) -> None:
    """Write the active (or a saved) policy version as TOML."""
    from returndesk.policies.files import to_toml
    from returndesk.services.policies import get_active, get_version

    container = _container()
    try:
        found = (
            get_active(container.uow, SYSTEM, store)
            if version is None
            else get_version(container.uow, SYSTEM, store, version)
        )
    except DomainError as exc:
        raise _fail(exc) from None
    text = to_toml(found.document)
    if output is None:
        typer.echo(text, nl=False)
    else:
        output.write_text(text, encoding="utf-8")
        console.print(f"version {found.version} written to {output}")


@policy_app.command("validate")
def policy_validate(file: PolicyFile) -> None:
    """Check a policy file (TOML or JSON) without saving it."""
    from returndesk.services.policies import check_document

    container = _container()
    try:
        policy = check_document(container.uow, _read_policy(file))
    except DomainError as exc:
        raise _fail(exc) from None
    console.print(f"valid: {len(policy.rules)} store rules")


@policy_app.command("import")
def policy_import(
    file: PolicyFile,
    note: Annotated[str, typer.Option(help="what changed and why")] = "",
    store: StoreOption = None,
) -> None:
    """Check a policy file and make it the next active version (nothing changes if invalid)."""
    from returndesk.services.policies import save_policy

    container = _container()
    try:
        saved = save_policy(
            container.uow, container.clock, SYSTEM, store, _read_policy(file),
            note=note or f"imported from {file.name}",
        )  # fmt: skip
    except DomainError as exc:
        raise _fail(exc) from None
    console.print(f"policy version {saved.version} is now active")


@policy_app.command("simulate")
def policy_simulate(
    policy: Annotated[Path, typer.Option("--policy", exists=True, dir_okay=False, help="draft")],
    since: Annotated[datetime, typer.Option(help="replay returns opened since (YYYY-MM-DD)")],
    report_file: Annotated[Path | None, typer.Option("--report", help="JSON report")] = None,
    store: StoreOption = None,
) -> None:
    """Replay past returns against a draft policy: outcomes, refunds, and which cases flip."""
    from returndesk.services.policies import simulate

    container = _container()
    draft = _read_policy(policy)
    start = since if since.tzinfo else since.replace(tzinfo=UTC)
    with Progress(
        TextColumn("[bold]{task.description}"), BarColumn(), MofNCompleteColumn(),
        TimeElapsedColumn(), console=console,
    ) as progress:  # fmt: skip
        task = progress.add_task("replaying returns", total=None)
        try:
            report = simulate(
                container.uow, SYSTEM, store, draft, start,
                progress=lambda done, total: progress.update(task, completed=done, total=total),
            )  # fmt: skip
        except DomainError as exc:
            raise _fail(exc) from None
    data = report.to_dict()
    outcomes = Table(title=f"{report.cases} returns since {start.date()}")
    for column in ("outcome", f"now (v{report.policy_before})", "draft"):
        outcomes.add_column(column)
    for row in data["outcomes"]:
        outcomes.add_row(row["outcome"], str(row["before"]), str(row["after"]))
    console.print(outcomes)
    refunds = Table(title="Refunds (minor units)")
    for column in ("currency", "now", "draft"):
        refunds.add_column(column)
    for row in data["refunds"]:
        refunds.add_row(row["currency"], str(row["before"]), str(row["after"]))
    console.print(refunds)
    console.print(f"{report.flips_total} returns would get a different outcome")
    target = report_file or Path(f"policy-simulation-{start.date()}.json")
    target.write_text(json.dumps(data, indent=2), encoding="utf-8")
    console.print(f"report written to {target}")


def _case_id(container: Container, case: str) -> str:
    """A case id, or the case with this number (R-...)."""
    from returndesk.services.ports import CaseQuery
    from returndesk.services.returns import list_cases

    case_id = case.strip()
    if case_id.upper().startswith("R-"):
        query = CaseQuery(store_id=None, q=case_id, limit=5)
        matches = [c for c in list_cases(container.uow, SYSTEM, query).items
                   if c.number == case_id.upper()]  # fmt: skip
        if not matches:
            console.print(f"[red]no case {case_id}[/red]")
            raise typer.Exit(2)
        case_id = matches[0].id
    return case_id


@evidence_app.command("export")
def evidence_export(
    case: Annotated[str, typer.Option("--case", help="the case id or its number (R-...)")],
    out: Annotated[Path, typer.Option("--out", help="the zip file to write")],
) -> None:
    """The dispute package: files, signed manifest, chain, summary, VERIFY.md and verify.sh."""
    from returndesk.services.exports import export_case

    container = _container()
    try:
        written = export_case(
            container.uow, container.clock, container.files, SYSTEM, _case_id(container, case), out
        )
    except DomainError as exc:
        raise _fail(exc) from None
    console.print(f"wrote {written} ({written.stat().st_size} bytes)")


@evidence_app.command("verify")
def evidence_verify(
    case: Annotated[str, typer.Option("--case", help="the case id or its number (R-...)")],
) -> None:
    """Re-hash every evidence file of a case and recompute its chain; exit 1 naming what was
    altered, removed or reordered."""
    from returndesk.services.evidence import verify_case

    container = _container()
    case_id = _case_id(container, case)
    try:
        result = verify_case(container.uow, container.clock, container.files, SYSTEM, case_id)
    except DomainError as exc:
        raise _fail(exc) from None
    if result.intact:
        console.print(
            f"{result.case_number}: {result.items} evidence item(s), every file and link intact"
        )
        return
    for problem in result.problems:
        where = f" [{problem.item_id}]" if problem.item_id else ""
        console.print(f"[red]{problem.code}[/red]{where}: {problem.detail}")
    console.print(f"{result.case_number}: {len(result.problems)} problem(s) found")
    raise typer.Exit(1)


@evidence_app.command("hold")
def evidence_hold(
    case: Annotated[str, typer.Option("--case", help="the case id or its number (R-...)")],
    reason: Annotated[str, typer.Option(help="why (a dispute, a claim, an authority's order)")],
    release: Annotated[bool, typer.Option("--release", help="release the hold instead")] = False,
) -> None:
    """Place (or release) a legal hold: no retention and no erasure while it is in place."""
    from returndesk.services.retention import place_hold, release_hold

    container = _container()
    case_id = _case_id(container, case)
    try:
        if release:
            release_hold(container.uow, container.clock, SYSTEM, case_id)
            console.print("legal hold released")
        else:
            hold = place_hold(container.uow, container.clock, SYSTEM, case_id, reason)
            console.print(f"legal hold in place since {hold.placed_at.isoformat()}: {hold.reason}")
    except DomainError as exc:
        raise _fail(exc) from None


@evidence_app.command("erase")
def evidence_erase(
    case: Annotated[str, typer.Option("--case", help="the case id or its number (R-...)")],
    reason: Annotated[str, typer.Option(help="e.g. the erasure request's reference")],
) -> None:
    """Delete a case's evidence files (an erasure request); the chain keeps each link."""
    from returndesk.services.retention import erase_evidence

    container = _container()
    try:
        done = erase_evidence(
            container.uow, container.clock, container.files, SYSTEM,
            _case_id(container, case), reason,
        )  # fmt: skip
    except DomainError as exc:
        raise _fail(exc) from None
    console.print(f"{done.erased} item(s) erased, {done.files_deleted} file(s) deleted")


@evidence_app.command("reference")
def evidence_reference(
    file: Annotated[Path, typer.Argument(exists=True, dir_okay=False, help="a JPEG/PNG/WebP")],
    sku: Annotated[str, typer.Option(help="the product it shows")],
    store: StoreOption = None,
) -> None:
    """Add a reference photo of a product: photos of returned items are compared with it."""
    from returndesk.services.references import add_reference

    container = _container()
    try:
        photo = add_reference(
            container.uow, container.clock, container.files, SYSTEM, sku=sku, source=file,
            filename=file.name, store_slug=store,
        )  # fmt: skip
    except DomainError as exc:
        raise _fail(exc) from None
    console.print(f"reference photo {photo.id} for {photo.sku} ({photo.sha256[:12]}…)")


@teams_app.command("list")
def teams_list(store: StoreOption = None) -> None:
    """Each team: time zone, on shift now or when next, members with presence and load."""
    container = _container()
    try:
        views = list_teams(container.uow, container.clock, SYSTEM, store)
    except DomainError as exc:
        raise _fail(exc) from None
    for view in views:
        team = view.team
        when = "on shift" if view.open_now else f"next shift {iso_or_never(view.opens_at)}"
        console.print(f"[bold]{team.name}[/bold] {team.timezone} · {when}")
        for m in view.members:
            console.print(
                f"  {m.user.email} {m.presence.value} {m.load}/{m.member.capacity} "
                + ",".join(sorted(m.member.languages or team.languages))
            )


@teams_app.command("sweep")
def teams_sweep() -> None:
    """Raise the service-level warnings and breaches that came due (the server does this every
    RETURNDESK_SLA_SWEEP_SECONDS; run it from cron where no server runs the jobs)."""
    container = _container()
    result = sweep_sla(container.uow, container.clock)
    console.print_json(
        data={
            "checked": result.checked,
            "warnings": result.warnings,
            "breaches": result.breaches,
            "chat_warnings": result.chat_warnings,
            "chat_breaches": result.chat_breaches,
        }
    )


@stats_app.command("refresh")
def stats_refresh() -> None:
    """Recount the dashboard's days that writes touched (the server does a little of it every
    minute; until then those days are counted from the case tables, which is slower). Run it
    after upgrading or a bulk import, or from cron where no server runs the jobs."""
    from returndesk.services.stats import refresh_stats

    container = _container()
    console.print_json(data={"days_recounted": refresh_stats(container.uow)})


@calls_app.command("list")
def calls_list(
    case: Annotated[str, typer.Option("--case", help="the case id or its number (R-...)")],
) -> None:
    """A case's video calls: status, duration, who took part, consent, recordings, stills."""
    from returndesk.services.calls import list_calls

    container = _container()
    case_id = _case_id(container, case)
    try:
        calls = list_calls(container.uow, SYSTEM, case_id)
    except DomainError as exc:
        raise _fail(exc) from None
    now = container.clock()
    for call in calls:
        people = ", ".join(f"{p.name} ({p.role.value})" for p in call.participants if p.joined_at)
        console.print(
            f"{call.created_at.isoformat()} [bold]{call.status.value}[/bold] "
            f"{int(call.duration(now).total_seconds())} s · {people or 'nobody joined'} · "
            f"consent {call.consent.value if call.consent else 'not asked'} · "
            f"{len(call.recording_ids)} recording(s), {len(call.still_ids)} still(s)"
        )
    if not calls:
        console.print("no video calls")


@calls_app.command("sweep")
def calls_sweep() -> None:
    """End calls whose links ran out, finish recordings their browsers left unfinished, send
    booked calls' reminders and record the booked calls nobody started (the server does this
    every 30 s; run it from cron where no server runs the jobs)."""
    from returndesk.services.calls import sweep_calls
    from returndesk.services.scheduling import sweep_bookings

    container = _container()
    result = sweep_calls(container.uow, container.clock, container.files)
    bookings = sweep_bookings(container.uow, container.clock)
    console.print_json(
        data={
            "ended": result.ended,
            "recordings_finished": result.recordings_finished,
            "bookings_changed": bookings,
        }
    )


def _store_principal(container: Container, store: str | None) -> Principal:
    """The command line acting as an admin of one store (the only one unless named)."""
    from returndesk.services.stores import resolve_store

    with container.uow() as uow:
        found = resolve_store(uow, SYSTEM, store)
    return Principal("system", "cli", Role.admin, found.id, "Command line")


@returns_app.command("sweep-unsent")
def returns_sweep_unsent() -> None:
    """Remind buyers whose parcel is not sent yet, and close returns whose time ran out
    (RETURNDESK_RETURN_SHIP_DAYS / _REMINDER_DAYS; the server does this every 10 minutes);
    then settle instant exchanges' card holds (released when scanned, captured when closed)."""
    from returndesk.services.exchanges import sweep_holds
    from returndesk.services.return_window import sweep_unsent

    container = _container()
    settings = container.settings
    result = sweep_unsent(
        container.uow,
        container.clock,
        settings.return_ship_days,
        settings.return_reminder_days,
        hold_days=settings.return_hold_ship_days,
    )
    holds = sweep_holds(container.uow, container.clock, container.holding_providers())
    console.print_json(
        data={
            "checked": result.checked,
            "reminded": result.reminded,
            "expired": result.expired,
            "holds_settled": holds,
        }
    )


@carriers_app.command("import")
def carrier_events_import(
    file: Annotated[Path, typer.Argument(exists=True, dir_okay=False, readable=True)],
    store: StoreOption = None,
) -> None:
    """Record a carrier's CSV export of return-parcel scans (tracking_number, carrier, status,
    occurred_at, location, reference): each row moves its case; duplicates change nothing."""
    import csv

    from returndesk.services.carrier_events import CSV_COLUMNS, import_scans

    container = _container()
    try:
        principal = _store_principal(container, store)
    except DomainError as exc:
        raise _fail(exc) from None
    with file.open(newline="", encoding="utf-8-sig") as handle:
        reader = csv.DictReader(handle)
        missing = set(CSV_COLUMNS[:4]) - set(reader.fieldnames or ())
        if missing:
            console.print(f"[red]missing columns[/red]: {', '.join(sorted(missing))}")
            raise typer.Exit(1)
        report = import_scans(container.uow, container.clock, principal, reader)
    from returndesk.services.refunds import sweep_due_refunds

    sweep_due_refunds(container.uow, container.clock, container.payment_providers())
    for row, code, detail in report.errors:
        console.print(f"row {row}: [red]{code}[/red] {detail}")
    console.print_json(
        data={
            "recorded": report.recorded,
            "moved": report.moved,
            "duplicates": report.duplicates,
            "errors": len(report.errors),
        }
    )
    if report.errors:
        raise typer.Exit(1)


@integrations_app.command("create")
def integrations_create(
    name: Annotated[str, typer.Option("--name", help="who will hold it, e.g. 'UPS webhook'")],
    scope: Annotated[list[str], typer.Option("--scope", help="repeatable: carrier_events")],
    store: StoreOption = None,
) -> None:
    """Create an integration token; it is printed once (only its hash is kept)."""
    from returndesk.services.integrations import create_token

    container = _container()
    try:
        made = create_token(container.uow, container.clock, SYSTEM, name, scope, store)
    except DomainError as exc:
        raise _fail(exc) from None
    console.print(f"{made.token.id} {made.token.name}: {', '.join(sorted(made.token.scopes))}")
    print(made.secret)  # plain stdout, for scripts


@integrations_app.command("revoke")
def integrations_revoke(token_id: Annotated[str, typer.Argument()]) -> None:
    """Revoke an integration token at once."""
    from returndesk.services.integrations import revoke_token

    container = _container()
    try:
        token = revoke_token(container.uow, container.clock, SYSTEM, token_id)
    except DomainError as exc:
        raise _fail(exc) from None
    console.print(f"revoked {token.id} ({token.name})")


def iso_or_never(value: datetime | None) -> str:
    return value.isoformat() if value else "never"
