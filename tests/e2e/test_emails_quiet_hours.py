"""Quiet hours: ordinary buyer emails wait for the end of the window in the buyer's time zone;
the EU withdrawal acknowledgment (a legal duty) goes out at once, whatever the hour.

The window is set from the test's clock, so that it does not depend on when the suite runs: it
covers the whole day but one hour, the hour that starts an hour from now in New York (where
the US buyer lives). Berlin (the German buyer) is six hours ahead, deep inside the window.
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING, Any
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import func, select

from returndesk.adapters.db.tables import outbox
from servers.smtp import SmtpSink, body

if TYPE_CHECKING:  # tests/e2e/conftest.py, handed over by fixtures
    from conftest import Api

SENDER = "returns@shop.example"
NEW_YORK = ZoneInfo("America/New_York")
BERLIN = ZoneInfo("Europe/Berlin")


@pytest.fixture
def smtp() -> Iterator[SmtpSink]:
    with SmtpSink() as sink:
        yield sink


def window_end(now: datetime) -> datetime:
    """When the quiet window of these tests ends for a New York buyer (in UTC)."""
    local = now.astimezone(NEW_YORK).replace(second=0, microsecond=0)
    return (local + timedelta(hours=1)).astimezone(UTC)


@pytest.fixture
def settings_overrides(smtp: SmtpSink, clock: Any) -> dict[str, object]:
    local = clock().astimezone(NEW_YORK)
    end, start = local + timedelta(hours=1), local + timedelta(hours=2)
    return {
        "smtp_url": smtp.url,
        "mail_from": SENDER,
        "quiet_hours": f"{start:%H:%M}-{end:%H:%M}",
    }


def emails_of(api: Api, case: dict[str, Any]) -> list[dict[str, Any]]:
    response = api.get("agent", f"/api/v1/returns/{case['id']}/emails")
    assert response.status_code == 200, response.text
    items: list[dict[str, Any]] = response.json()["items"]
    return items


def wait_for_emails(
    api: Api, case: dict[str, Any], count: int, status: str, timeout: float = 15.0
) -> list[dict[str, Any]]:
    deadline = time.monotonic() + timeout
    while True:
        items = emails_of(api, case)
        if len(items) == count and all(e["status"] == status for e in items):
            return items
        if time.monotonic() > deadline:
            raise AssertionError(f"expected {count} {status} emails, got {items}")
        time.sleep(0.05)


def fanned_out(api: Api, timeout: float = 15.0) -> None:
    deadline = time.monotonic() + timeout
    while True:
        with api.container.engine.connect() as conn:
            waiting = conn.execute(
                select(func.count()).select_from(outbox).where(outbox.c.dispatched_at.is_(None))
            ).scalar_one()
        if waiting == 0:
            return
        if time.monotonic() > deadline:
            raise AssertionError("the outbox was not fanned out")
        time.sleep(0.05)


def moment(value: str) -> datetime:
    return datetime.fromisoformat(value)


def test_the_withdrawal_acknowledgment_ignores_quiet_hours_and_the_rest_waits(
    api: Api, smtp: SmtpSink, clock: Any
) -> None:
    now = clock()
    created = api.put_order(
        api.order_payload(
            now, number="DE-9", email="lena@example.de", market="DE", currency="EUR", language="de"
        )
    )
    assert created.status_code == 201, created.text
    token = api.buyer_token("DE-9", "lena@example.de")
    opened = api.client.post(
        "/api/v1/returns",
        json=api.return_payload("DE-9", reason="changed_mind"),
        headers={"Authorization": f"Bearer {token}"},
    )
    assert opened.status_code == 201, opened.text
    withdrawal = opened.json()

    # The acknowledgment goes out at once, in the middle of the Berlin buyer's quiet hours.
    [ack] = wait_for_emails(api, withdrawal, 1, "sent")
    assert ack["kind"] == "withdrawal_ack" and ack["urgent"] is True
    assert moment(ack["not_before"]) == moment(ack["created_at"]) == now
    assert moment(ack["sent_at"]) == now
    [message] = smtp.wait_for(1)
    assert message["To"] == "lena@example.de"
    assert now.strftime("%Y-%m-%d %H:%M:%S UTC") in body(message, "plain")

    # A US buyer's ordinary email waits for the window to end in New York.
    us = api.open_return("buyer")
    fanned_out(api)
    [waiting] = wait_for_emails(api, us, 1, "pending")
    assert waiting["urgent"] is False and waiting["attempts"] == 0
    assert moment(waiting["created_at"]) == now
    release = window_end(now)
    assert moment(waiting["not_before"]) == release
    assert moment(waiting["next_attempt_at"]) == release
    assert now + timedelta(minutes=59) <= release <= now + timedelta(hours=1)
    # A later email of the same case waits too, behind the first one.
    clock.advance(minutes=5)
    api.moved("agent", us, "approved")
    # The German case's next, ordinary email waits for the morning in Berlin.
    api.moved("agent", withdrawal, "approved")
    fanned_out(api)
    us_emails = wait_for_emails(api, us, 2, "pending")
    assert [e["kind"] for e in us_emails] == ["received", "decision"]
    assert moment(us_emails[1]["not_before"]) == release
    de_emails = emails_of(api, withdrawal)
    assert [e["status"] for e in de_emails] == ["sent", "pending"]
    assert moment(de_emails[1]["not_before"]) > release + timedelta(hours=2)
    time.sleep(0.6)  # several dispatcher ticks: nothing else is sent
    assert len(smtp.messages) == 1

    # Just before the end of the window: still waiting.
    clock.now = release - timedelta(seconds=1)
    time.sleep(0.6)
    assert len(smtp.messages) == 1
    assert [e["status"] for e in emails_of(api, us)] == ["pending", "pending"]

    # Past it: both go out, in order, and the German one still waits for its own morning.
    clock.advance(minutes=2)
    sent = wait_for_emails(api, us, 2, "sent")
    assert all(moment(e["sent_at"]) == clock() for e in sent)
    messages = smtp.wait_for(3)
    assert [str(m["Message-ID"]) for m in messages[1:]] == [
        f"<{e['id']}@shop.example>" for e in sent
    ]
    assert [e["status"] for e in emails_of(api, withdrawal)] == ["sent", "pending"]
    time.sleep(0.6)
    assert len(smtp.messages) == 3
