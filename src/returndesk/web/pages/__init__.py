"""Server-rendered pages: the buyer portal and the agent console."""

from __future__ import annotations

from fastapi import APIRouter

from returndesk.web.pages import (
    admin,
    call_pages,
    chat,
    console,
    conversations_console,
    dashboard_console,
    emails_console,
    evidence_pages,
    help_pages,
    logistics_console,
    notifications_console,
    policy,
    portal,
    references_console,
    teams_console,
    webhooks,
)
from returndesk.web.pages.rendering import STATIC_DIR

__all__ = ["STATIC_DIR", "router"]

router = APIRouter(include_in_schema=False)
router.include_router(portal.router)
router.include_router(chat.router)
router.include_router(help_pages.router)
router.include_router(conversations_console.router)
router.include_router(console.router)
router.include_router(admin.router)
router.include_router(policy.router)
router.include_router(webhooks.router)
router.include_router(emails_console.router)
router.include_router(evidence_pages.router)
router.include_router(references_console.router)
router.include_router(teams_console.router)
router.include_router(dashboard_console.router)
router.include_router(call_pages.router)
router.include_router(logistics_console.router)
router.include_router(notifications_console.router)
