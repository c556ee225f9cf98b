"""Buyer emails: rendered at fan-out, sent over SMTP (or written to a folder), each exactly once
per receiver that deduplicates on its Message-ID.

Transports: `SmtpTransport` for `RETURNDESK_SMTP_URL` (`smtp://user:pass@host:587?starttls=1`
or `smtps://...`), `DirectoryTransport` otherwise (`RETURNDESK_HOME/outbox/<id>.eml`, the
demo's mailbox; the console shows the same messages from the database).
"""

from __future__ import annotations

import logging
import random
import secrets
import smtplib
import ssl
from collections import defaultdict
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime
from email.message import EmailMessage
from email.utils import format_datetime, formataddr, parseaddr
from pathlib import Path
from typing import Any, Protocol
from urllib.parse import parse_qs, unquote, urlsplit
from zoneinfo import ZoneInfo

from sqlalchemy import Connection, Engine, Row, insert, select, update

from returndesk.adapters.db.tables import (
    email_messages,
    return_case_lines,
    return_cases,
    staff_notifications,
    stores,
)
from returndesk.adapters.dispatch import LEASE_SECONDS, lease_heads, renew_lease, writing
from returndesk.adapters.staff_mail import StaffMail, StaffRenderer
from returndesk.domain.errors import ValidationFailed
from returndesk.domain.markets import market_zone
from returndesk.domain.notifications import (
    EmailFacts,
    EmailLine,
    EmailView,
    QuietHours,
    RenderedEmail,
    plan_email,
)
from returndesk.domain.webhooks import next_attempt
from returndesk.services.ports import Clock

log = logging.getLogger(__name__)
SMTP_TIMEOUT = 30.0

Renderer = Callable[[EmailFacts], RenderedEmail]
_jitter = random.Random()  # noqa: S311 - retry jitter; its own state, not the global one


class MailFailed(Exception):
    def __init__(self, detail: str, *, permanent: bool) -> None:
        super().__init__(detail)
        self.permanent = permanent


class MailTransport(Protocol):
    def send(self, message: EmailMessage) -> None: ...


@dataclass(frozen=True, slots=True)
class SmtpTransport:
    host: str
    port: int
    username: str = ""
    password: str = ""
    tls: bool = False  # SMTPS: TLS from the first byte
    starttls: bool = False

    @classmethod
    def from_url(cls, url: str) -> SmtpTransport:
        parts = urlsplit(url)
        if parts.scheme not in ("smtp", "smtps") or not parts.hostname:
            raise ValidationFailed(
                "RETURNDESK_SMTP_URL must look like smtp://user:pass@host:587?starttls=1",
                code="invalid_smtp_url",
            )
        query = parse_qs(parts.query)
        tls = parts.scheme == "smtps"
        return cls(
            host=parts.hostname,
            port=parts.port or (465 if tls else 25),
            username=unquote(parts.username or ""),
            password=unquote(parts.password or ""),
            tls=tls,
            starttls=query.get("starttls", ["0"])[0] in ("1", "true", "yes"),
        )

    def send(self, message: EmailMessage) -> None:
        try:
            smtp: smtplib.SMTP
            if self.tls:
                smtp = smtplib.SMTP_SSL(
                    self.host, self.port, timeout=SMTP_TIMEOUT, context=ssl.create_default_context()
                )
            else:
                smtp = smtplib.SMTP(self.host, self.port, timeout=SMTP_TIMEOUT)
            with smtp:
                if self.starttls:
                    smtp.starttls(context=ssl.create_default_context())
                if self.username:
                    smtp.login(self.username, self.password)
                smtp.send_message(message)
        except smtplib.SMTPRecipientsRefused as exc:
            codes = [code for code, _ in exc.recipients.values()]
            raise MailFailed(
                f"recipient refused: {exc.recipients}"[:300], permanent=all(c >= 500 for c in codes)
            ) from None
        except smtplib.SMTPResponseException as exc:
            raise MailFailed(
                f"SMTP {exc.smtp_code}: {exc.smtp_error!r}"[:300], permanent=exc.smtp_code >= 500
            ) from None
        except (smtplib.SMTPException, OSError) as exc:
            raise MailFailed(f"{type(exc).__name__}: {exc}"[:300], permanent=False) from None


@dataclass(frozen=True, slots=True)
class DirectoryTransport:
    """Writes each message to FOLDER/<id>.eml; the same message twice is one file."""

    folder: Path

    def send(self, message: EmailMessage) -> None:
        name = str(message["X-ReturnDesk-Email-Id"])
        self.folder.mkdir(parents=True, exist_ok=True)
        final = self.folder / f"{name}.eml"
        partial = self.folder / f".{name}.eml.tmp"
        try:
            partial.write_bytes(bytes(message))
            partial.replace(final)
        except OSError as exc:
            raise MailFailed(f"{type(exc).__name__}: {exc}"[:300], permanent=False) from None


def build_message(row: Row[Any], sender: str, store_name: str) -> EmailMessage:
    address = parseaddr(sender)[1] or "returns@localhost"
    domain = address.rpartition("@")[2] or "localhost"
    message = EmailMessage()
    message["From"] = formataddr((store_name, address))
    message["To"] = row.to_address
    message["Subject"] = row.subject
    message["Date"] = format_datetime(row.created_at)
    message["Message-ID"] = f"<{row.id}@{domain}>"
    message["Auto-Submitted"] = "auto-generated"
    message["X-ReturnDesk-Email-Id"] = row.id
    message["X-ReturnDesk-Case"] = row.case_number
    message.set_content(row.text_body)
    message.add_alternative(row.html_body, subtype="html")
    message["Content-Language"] = row.language  # after the body: set_content drops Content-*
    # Our own boundary: the email package would draw one from the global `random` state.
    message.set_boundary(f"==returndesk-{secrets.token_hex(16)}==")
    return message


class MailChannel:
    """Buyer emails: at most one per case and transaction, in the buyer's language."""

    name = "email"

    def __init__(
        self,
        engine: Engine,
        clock: Clock,
        transport: MailTransport,
        renderer: Renderer,
        *,
        sender: str,
        public_url: str,
        quiet_hours: QuietHours | None,
        lease_seconds: int = LEASE_SECONDS,
        staff_renderer: StaffRenderer | None = None,
    ) -> None:
        self.lease_seconds = lease_seconds
        self._engine = engine
        self._clock = clock
        self._transport = transport
        self._render = renderer
        self._sender = sender
        self._public_url = public_url.rstrip("/")
        self._quiet = quiet_hours
        self._render_staff = staff_renderer

    def fan_out(self, conn: Connection, rows: Sequence[Row[Any]], now: datetime) -> None:
        # One transaction's events share the case version they leave behind (and the time).
        groups: dict[tuple[str, int, datetime], list[Row[Any]]] = defaultdict(list)
        for row in rows:
            case_id = row.payload.get("case_id")
            if case_id and row.topic.startswith("case."):
                version = int(row.payload.get("version") or 0)
                groups[(str(case_id), version, row.created_at)].append(row)
        if not groups:
            return
        case_ids = sorted({key[0] for key in groups})
        cases = {
            r.id: r
            for r in conn.execute(
                select(return_cases, stores.c.name.label("store_name"))
                .join(stores, stores.c.id == return_cases.c.store_id)
                .where(return_cases.c.id.in_(case_ids))
            )
        }
        lines: dict[str, list[EmailLine]] = defaultdict(list)
        for ln in conn.execute(
            select(return_case_lines)
            .where(return_case_lines.c.case_id.in_(case_ids))
            .order_by(return_case_lines.c.case_id, return_case_lines.c.position)
        ):
            lines[ln.case_id].append(EmailLine(ln.title, ln.sku, ln.quantity))
        emails: list[dict[str, Any]] = []
        staff = (
            StaffMail(conn, self._public_url, self._render_staff) if self._render_staff else None
        )
        for (case_id, _, _), group in groups.items():
            case = cases.get(case_id)
            if case is None:
                continue
            if staff is not None:
                emails.extend(staff.emails(case, [r.payload for r in group], group[0].id, now))
            plan = plan_email(case.market, [r.payload for r in group])
            if plan is None:
                continue
            tz = market_zone(case.market)
            facts = EmailFacts(
                plan=plan,
                store_name=case.store_name,
                case_id=case.id,
                case_number=case.number,
                order_number=case.order_number,
                language=case.language,
                timezone=tz,
                link=f"{self._public_url}/portal/returns/{case.id}",
                currency=case.currency,
                lines=tuple(lines[case.id]),
                requested_at=case.created_at,
                refund_amount=case.refund_amount,
                refunded_amount=case.refunded_amount,
                current_decision=case.decision,
            )
            rendered = self._render(facts)
            send_at = now
            if not plan.urgent and self._quiet is not None:
                send_at = self._quiet.release(now, ZoneInfo(tz))
            emails.append(
                {
                    "id": f"em_{group[0].id}",
                    "store_id": case.store_id,
                    "case_id": case.id,
                    "case_number": case.number,
                    "outbox_id": group[0].id,
                    "kind": plan.primary.value,
                    "sections": [s.value for s in plan.sections],
                    "urgent": plan.urgent,
                    "to_address": case.buyer_email,
                    "language": case.language,
                    "subject": rendered.subject[:300],
                    "text_body": rendered.text,
                    "html_body": rendered.html,
                    "status": "pending",
                    "attempts": 0,
                    "not_before": send_at,
                    "next_attempt_at": send_at,
                    "created_at": group[0].created_at,
                }
            )
        if emails:
            conn.execute(insert(email_messages), emails)
        if staff is not None and staff.inbox:
            conn.execute(insert(staff_notifications), staff.inbox)

    def schedule(self, now: datetime, busy: set[str]) -> list[tuple[str, str]]:
        """Lease the oldest pending email of each case and recipient that is due: a case's
        emails to the buyer keep their order (one waiting for the morning holds the later ones
        back); an email to staff about the case never waits behind the buyer's."""
        queue = (email_messages.c.case_id, email_messages.c.to_address)
        return lease_heads(self._engine, email_messages, queue, now, busy, self.lease_seconds)

    def execute(self, delivery_id: str, lease: str) -> None:
        if not renew_lease(
            self._engine, email_messages, delivery_id, lease, self._clock(), self.lease_seconds
        ):
            return
        with self._engine.connect() as conn:
            row = conn.execute(
                select(email_messages, stores.c.name.label("store_name"))
                .join(stores, stores.c.id == email_messages.c.store_id)
                .where(email_messages.c.id == delivery_id)
            ).one()
        error: str | None = None
        permanent = False
        try:
            self._transport.send(build_message(row, self._sender, row.store_name))
        except MailFailed as exc:
            error, permanent = str(exc), exc.permanent
        at = self._clock()
        attempts = row.attempts + 1
        retry = None
        if error is not None and not permanent:
            retry = next_attempt(attempts, at, _jitter.random())
        if error is not None:
            log.warning("email %s to %s failed: %s", row.id, row.to_address, error)
        with writing(self._engine) as conn:
            conn.execute(
                update(email_messages)
                .where(email_messages.c.id == delivery_id, email_messages.c.lease == lease)
                .values(
                    attempts=attempts,
                    status="sent" if error is None else ("pending" if retry else "dead"),
                    sent_at=at if error is None else None,
                    next_attempt_at=retry,
                    last_error=error,
                    lease=None,
                )
            )


def transport_from_settings(smtp_url: str, home: Path) -> MailTransport:
    if smtp_url:
        return SmtpTransport.from_url(smtp_url)
    return DirectoryTransport(home / "outbox")


def _view(row: Row[Any], bodies: bool) -> EmailView:
    return EmailView(
        id=row.id,
        store_id=row.store_id,
        case_id=row.case_id,
        case_number=row.case_number,
        kind=row.kind,
        sections=tuple(row.sections),
        urgent=row.urgent,
        to_address=row.to_address,
        language=row.language,
        subject=row.subject,
        status=row.status,
        attempts=row.attempts,
        not_before=row.not_before,
        next_attempt_at=row.next_attempt_at,
        last_error=row.last_error,
        created_at=row.created_at,
        sent_at=row.sent_at,
        text_body=row.text_body if bodies else "",
        html_body=row.html_body if bodies else "",
    )


class SqlEmailRepository:
    def __init__(self, conn: Connection) -> None:
        self._conn = conn

    def for_store(
        self, store_id: str, status: str | None = None, limit: int = 200
    ) -> list[EmailView]:
        m = email_messages.c
        query = select(email_messages).where(m.store_id == store_id)
        if status:
            query = query.where(m.status == status)
        rows = self._conn.execute(query.order_by(m.created_at.desc(), m.id.desc()).limit(limit))
        return [_view(r, bodies=False) for r in rows]

    def for_case(self, case_id: str) -> list[EmailView]:
        m = email_messages.c
        rows = self._conn.execute(
            select(email_messages).where(m.case_id == case_id).order_by(m.created_at, m.id)
        )
        return [_view(r, bodies=False) for r in rows]

    def get(self, email_id: str) -> EmailView | None:
        row = self._conn.execute(
            select(email_messages).where(email_messages.c.id == email_id)
        ).first()
        return _view(row, bodies=True) if row else None

    def retry(self, email_id: str, now: datetime) -> bool:
        """Try a given-up email again (same Message-ID: it never arrived)."""
        m = email_messages.c
        result = self._conn.execute(
            update(email_messages)
            .where(m.id == email_id, m.status == "dead")
            .values(status="pending", next_attempt_at=now, last_error=None)
        )
        return bool(result.rowcount == 1)
