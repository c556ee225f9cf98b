"""The FastAPI app factory."""

from __future__ import annotations

from fastapi import FastAPI
from fastapi.staticfiles import StaticFiles

from returndesk import __version__
from returndesk.bootstrap import Container, bootstrap
from returndesk.services.assistant import MAX_PHOTO_BYTES
from returndesk.services.calls import MAX_STILL_BYTES
from returndesk.services.recordings import MAX_CHUNK_BYTES
from returndesk.web import call_signals
from returndesk.web.access import ACCESS
from returndesk.web.api import (
    admin,
    assistant,
    auth,
    bookings,
    calls,
    emails,
    evidence,
    exchanges,
    help_articles,
    integrations,
    logistics,
    notifications,
    orders,
    policy,
    references,
    returns,
    stats,
    teams,
    webhooks,
)
from returndesk.web.bodylimit import BodyLimitMiddleware
from returndesk.web.deps import MaybePrincipal
from returndesk.web.pages import STATIC_DIR
from returndesk.web.pages import router as pages_router
from returndesk.web.pages.admin import MAX_IMPORT_BYTES
from returndesk.web.problems import install_problem_handlers
from returndesk.web.ratelimit import GuessLimiter

# A recording's chunks (PUT .../recordings/{id}/chunks/{seq}), on the API and the pages.
CHUNK_PATH = (
    r"/(?:api/v1/returns|api/v1/calls|portal/returns|console/cases)/[0-9a-f-]{36}"
    r"/recordings/[0-9a-f-]{36}/chunks/[0-9]{1,6}"
)


def create_app(container: Container | None = None) -> FastAPI:
    container = container or bootstrap()
    app = FastAPI(
        title="ReturnDesk",
        version=__version__,
        description="After-sales for cross-border e-commerce: returns, decisions, evidence.",
    )
    app.state.container = container
    app.state.limiter = GuessLimiter(container.settings.buyer_session_rate)
    app.state.chat_limiter = GuessLimiter(container.settings.assistant_message_rate)
    install_problem_handlers(app)

    @app.get("/healthz", tags=["meta"])
    def healthz(_: MaybePrincipal) -> dict[str, str]:
        return {"status": "ok"}

    for module in (
        auth,
        orders,
        returns,
        policy,
        webhooks,
        emails,
        evidence,
        references,
        admin,
        assistant,
        help_articles,
        stats,
        teams,
        calls,
        bookings,
        logistics,
        exchanges,
        integrations,
        notifications,
    ):
        app.include_router(module.router)
    app.include_router(call_signals.router)
    app.include_router(pages_router)
    app.mount("/static", StaticFiles(directory=STATIC_DIR), name="static")
    _check_access_table(app)
    if container.settings.dispatch:
        container.start_dispatcher()
    app.add_middleware(
        BodyLimitMiddleware,
        max_bytes=container.settings.max_body_bytes,
        larger={"/console/admin/import": MAX_IMPORT_BYTES + 65_536},  # room for the form parts
        streamed=("/api/v1/uploads/", "/portal/uploads/", "/console/uploads/"),
        patterns=(
            (CHUNK_PATH, MAX_CHUNK_BYTES + 1024),
            ("/api/v1/references", 30 * 1024 * 1024 + 1024),
            (r"/api/v1/calls/[0-9a-f-]{36}/stills", MAX_STILL_BYTES + 1024),
            ("/api/v1/assistant/photos", MAX_PHOTO_BYTES + 1024),
            ("/portal/chat/photos", MAX_PHOTO_BYTES + 1024),
            ("/console/references", 30 * 1024 * 1024 + 65_536),
        ),
    )
    return app


def _check_access_table(app: FastAPI) -> None:
    """Every API route must have exactly one entry in the access table, and vice versa."""
    routes = {
        (method.upper(), path)
        for path, operations in app.openapi()["paths"].items()
        for method in operations
    }
    missing = routes - ACCESS.keys()
    stale = ACCESS.keys() - routes
    if missing or stale:
        raise RuntimeError(f"access table out of date: missing {missing}, stale {stale}")
