"""Buyer emails end to end: a real SMTP server on loopback (aiosmtpd), the buyer's language,
HTML + text, one email per change, retries, the EU withdrawal acknowledgment."""

from __future__ import annotations

import copy
import email
import email.policy
import time
from collections.abc import Callable, Iterator
from datetime import UTC, datetime
from email.message import EmailMessage
from typing import TYPE_CHECKING, Any, TypeVar

import pytest
from babel.numbers import format_currency
from sqlalchemy import func, select

from returndesk.adapters.db.tables import outbox
from returndesk.domain.policy.document import DEFAULT_DOCUMENT
from returndesk.web.pages.i18n import translations
from servers.smtp import SmtpSink, body

if TYPE_CHECKING:  # tests/e2e/conftest.py, handed over by fixtures
    from conftest import Api, AppFactory

T = TypeVar("T")
SENDER = "returns@shop.example"
APPROVED = "Your return is approved"  # the start of the decision section's English label
EMAIL_ID = "em_01900000-0000-7000-8000-000000000000"  # well formed, never issued


@pytest.fixture
def smtp(request: pytest.FixtureRequest) -> Iterator[SmtpSink]:
    """The sink; `@pytest.mark.parametrize("smtp", [{...}], indirect=True)` configures it."""
    with SmtpSink(**getattr(request, "param", {})) as sink:
        yield sink


@pytest.fixture
def settings_overrides(request: pytest.FixtureRequest, smtp: SmtpSink) -> dict[str, object]:
    """The app sends through the sink; an indirect parameter adds settings."""
    return {"smtp_url": smtp.url, "mail_from": SENDER, **getattr(request, "param", {})}


# --- helpers ---------------------------------------------------------------------------------


def eventually(check: Callable[[], T | None], what: str, timeout: float = 15.0) -> T:
    """Poll `check` until it returns something truthy (no fixed sleeps)."""
    deadline = time.monotonic() + timeout
    while True:
        value = check()
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {what}")
        time.sleep(0.05)


def fanned_out(api: Api) -> None:
    """Wait until the dispatcher has turned every committed outbox message into deliveries:
    after this, an email that was not written will never be."""

    def done() -> bool:
        with api.container.engine.connect() as conn:
            waiting = conn.execute(
                select(func.count()).select_from(outbox).where(outbox.c.dispatched_at.is_(None))
            ).scalar_one()
        return int(waiting) == 0

    eventually(done, "the outbox to be fanned out")


def emails_of(api: Api, case: dict[str, Any], who: str = "agent") -> list[dict[str, Any]]:
    response = api.get(who, f"/api/v1/returns/{case['id']}/emails")
    assert response.status_code == 200, response.text
    items: list[dict[str, Any]] = response.json()["items"]
    return items


def one_email(api: Api, email_id: str, who: str = "agent") -> dict[str, Any]:
    response = api.get(who, f"/api/v1/emails/{email_id}")
    assert response.status_code == 200, response.text
    found: dict[str, Any] = response.json()
    return found


def email_when(
    api: Api, email_id: str, test: Callable[[dict[str, Any]], bool], what: str
) -> dict[str, Any]:
    def check() -> dict[str, Any] | None:
        found = one_email(api, email_id)
        return found if test(found) else None

    return eventually(check, f"email {email_id}: {what}")


def sent_emails_of(api: Api, case: dict[str, Any], count: int) -> list[dict[str, Any]]:
    """The case's emails once there are `count` of them and every one was sent."""

    def check() -> list[dict[str, Any]] | None:
        items = emails_of(api, case)
        if len(items) == count and all(e["status"] == "sent" for e in items):
            return items
        return None

    return eventually(check, f"{count} sent emails of {case['number']}")


def by_id(smtp: SmtpSink, email_id: str) -> EmailMessage:
    message = smtp.unique().get(f"<{email_id}@shop.example>")
    assert message is not None, (email_id, list(smtp.unique()))
    return message


def same_text(sent: str, stored: str) -> bool:
    """Bodies as stored and as they came over SMTP (which ends lines with CRLF)."""
    return sent.replace("\r\n", "\n").strip() == stored.replace("\r\n", "\n").strip()


def moment(value: str) -> datetime:
    return datetime.fromisoformat(value)


def put_order(api: Api, number: str, email_address: str, **overrides: Any) -> None:
    created = api.put_order(
        api.order_payload(api.container.clock(), number=number, email=email_address, **overrides)
    )
    assert created.status_code == 201, created.text


def automation_on(api: Api) -> None:
    """Save the default policy with automation on: new cases move on by the decision."""
    document = {**copy.deepcopy(DEFAULT_DOCUMENT), "automation": {"apply": True}}
    response = api.put("supervisor", "/api/v1/policy", json={"document": document})
    assert response.status_code == 200, response.text


def money(amount: int, currency: str, locale: str) -> str:
    """A refund as an email shows it (no-break spaces made plain, for comparing text)."""
    return format_currency(amount / 100, currency, locale=locale).replace("\xa0", " ")


def plain(message: EmailMessage) -> str:
    return body(message, "plain").replace("\xa0", " ")


def german() -> Any:
    """The compiled German catalogue; the test fails (does not skip) while it lacks the email."""
    catalogue = translations("de")
    assert catalogue.gettext("Hello,") != "Hello,", "the de catalogue has no email wording yet"
    return catalogue


# --- the first email -------------------------------------------------------------------------


def test_opening_a_return_sends_one_email_in_html_and_text(api: Api, smtp: SmtpSink) -> None:
    case = api.open_return()
    [message] = smtp.wait_for(1)
    assert message["To"] == "ana@example.com"
    assert case["number"] in str(message["Subject"])
    assert str(message["Message-ID"]).endswith("@shop.example>")
    text, html = body(message, "plain"), body(message, "html")
    assert "Linen shirt" in text and "Linen shirt" in html
    assert f"/portal/returns/{case['id']}" in text
    [listed] = sent_emails_of(api, case, 1)
    assert str(message["Message-ID"]) == f"<{listed['id']}@shop.example>"
    assert str(message["Subject"]) == listed["subject"]
    assert listed["to"] == api.BUYER_EMAIL and listed["language"] == "en"
    # Automation is off by default: the engine's decision is advice for staff, so the buyer
    # hears only that the request arrived.
    assert case["status"] == "requested"
    assert listed["sections"] == ["received"]
    assert listed["kind"] == "received" and listed["urgent"] is False
    assert listed["subject"] == f"We received your return request {case['number']}"
    assert listed["attempts"] == 1 and listed["last_error"] is None
    assert moment(listed["sent_at"]) >= moment(listed["created_at"])
    assert "SHIRT-M" in text and case["number"] in text
    assert "Hello," in text and "Hello," in html


# --- later steps ------------------------------------------------------------------------------


def test_each_step_the_buyer_must_know_about_sends_one_email(
    api: Api, smtp: SmtpSink, clock: Any
) -> None:
    case = api.open_return("buyer", api.return_payload(quantity=2))
    [opened] = sent_emails_of(api, case, 1)

    def step(who: str, to: str, **body_: Any) -> None:
        nonlocal case
        clock.advance(minutes=5)
        case = api.moved(who, case, to, **body_)
        fanned_out(api)

    # A person looking at it is no news for the buyer.
    step("agent", "under_review")
    assert [e["id"] for e in emails_of(api, case)] == [opened["id"]]

    step("agent", "approved")
    approved_case = case
    step("agent", "awaiting_return")
    step("warehouse", "in_transit", note="UPS scan")  # nothing: the buyer shipped it
    step("warehouse", "received", lines=[{"sku": "SHIRT-M", "quantity": 2}])
    step("warehouse", "inspected")
    step("agent", "refund_pending", refund_amount=4000, note="kept the tags")
    step("agent", "refunded")
    step("supervisor", "closed")
    assert case["refunded_amount"] == {"amount": 4000, "currency": "USD"}

    emails = sent_emails_of(api, case, 5)
    assert [e["kind"] for e in emails] == [
        "received",
        "decision",
        "return_instructions",
        "item_received",
        "refund_issued",
    ]
    assert [e["sections"] for e in emails] == [
        ["received"],
        ["decision"],
        ["return_instructions"],
        ["item_received"],
        ["refund_issued"],
    ]
    assert emails[0]["id"] == opened["id"]
    assert len({e["id"] for e in emails}) == 5
    created = [moment(e["created_at"]) for e in emails]
    assert created == sorted(created) and len(set(created)) == 5  # one per transaction

    # The mailbox got each of them once, with the same subject the API shows.
    smtp.wait_for(5)
    assert len(smtp.messages) == 5 == len(smtp.unique())
    messages = [by_id(smtp, e["id"]) for e in emails]
    for listed, message in zip(emails, messages, strict=True):
        assert str(message["Subject"]) == listed["subject"]
        assert message["To"] == api.BUYER_EMAIL
        assert message["X-ReturnDesk-Case"] == case["number"]
        full = one_email(api, listed["id"])
        assert same_text(body(message, "plain"), full["text"])
        assert same_text(body(message, "html"), full["html"])

    received, approved, instructions, arrived, refunded = messages
    assert APPROVED not in plain(received)  # the decision waited for a person
    assert str(approved["Subject"]) == f"Your return {case['number']} is approved"
    assert f"{APPROVED}. Please send the item back." in plain(approved)
    # The decision the agent applied, with the refund the engine expected.
    expected = approved_case["decision"]["refund"]
    expected_refund = money(expected["amount"], expected["currency"], "en_US")
    assert f"Expected refund: {expected_refund}" in plain(approved), plain(approved)
    assert str(instructions["Subject"]) == f"Return {case['number']}: how to send your item back"
    assert f"write the return number {case['number']} on the parcel" in body(instructions, "plain")
    assert str(arrived["Subject"]) == f"We received your returned item: return {case['number']}"
    assert "arrived at our warehouse" in body(arrived, "plain")
    assert str(refunded["Subject"]) == (f"Your refund for return {case['number']} has been issued")
    amount = format_currency(40, "USD", locale="en_US")
    assert amount == "$40.00"
    assert f"We have issued your refund of {amount}." in body(refunded, "plain")
    assert amount in body(refunded, "html")
    assert 'data-section="refund_issued"' in body(refunded, "html")
    assert 'data-section="item_received"' not in body(refunded, "html")
    for message in messages[1:]:  # only the first email lists the items again
        assert "SHIRT-M" not in body(message, "plain")
        assert f"/portal/returns/{case['id']}" in body(message, "plain")


def test_with_automation_on_the_first_email_also_has_the_decision_and_how_to_send_it_back(
    api: Api, smtp: SmtpSink, clock: Any
) -> None:
    # Off (the default): the case waits for a person, the email only says it arrived.
    waiting = api.open_return()
    assert waiting["status"] == "requested"
    [received] = sent_emails_of(api, waiting, 1)
    assert received["sections"] == ["received"] and received["kind"] == "received"
    message = by_id(smtp, received["id"])
    for part in (plain(message), body(message, "html")):
        assert APPROVED not in part
        assert "approved" not in part.lower()
        assert "Please write the return number" not in part
    assert 'data-section="decision"' not in body(message, "html")

    # On: the engine's approval is applied in the same transaction as the opening, and the
    # buyer gets one email that says all of it.
    automation_on(api)
    clock.advance(minutes=5)
    moved = api.open_return()
    assert moved["status"] == "awaiting_return"
    assert moved["decision"]["outcome"] == "approve_return"
    [listed] = sent_emails_of(api, moved, 1)
    assert listed["sections"] == ["received", "decision", "return_instructions"]
    assert listed["kind"] == "return_instructions" and listed["urgent"] is False
    subject = f"Return {moved['number']}: how to send your item back"
    assert listed["subject"] == subject
    message = by_id(smtp, listed["id"])
    assert str(message["Subject"]) == subject
    text, html = plain(message), body(message, "html")
    assert f"We received your return request {moved['number']}" in text
    assert "SHIRT-M" in text
    assert f"{APPROVED}. Please send the item back." in text and APPROVED in html
    refund = moved["decision"]["refund"]
    assert f"Expected refund: {money(refund['amount'], refund['currency'], 'en_US')}" in text
    assert f"Please write the return number {moved['number']} on the parcel." in text
    smtp.wait_for(2)
    time.sleep(0.6)  # several dispatcher ticks: no second email for the same transaction
    assert len(smtp.messages) == 2
    assert [e["id"] for e in emails_of(api, moved)] == [listed["id"]]


def test_a_label_free_return_tells_the_buyer_to_show_the_qr_code(api: Api, smtp: SmtpSink) -> None:
    document = {
        **copy.deepcopy(DEFAULT_DOCUMENT),
        "automation": {"apply": True},
        "return_addresses": [
            {
                "markets": ["US"],
                "name": "US returns partner",
                "lines": ["400 Commerce Way", "Reno, NV 89502"],
                "local": True,
                "drop_off": "UPS Access Point",
            }
        ],
    }
    assert api.put("supervisor", "/api/v1/policy", json={"document": document}).status_code == 200
    case = api.open_return()
    assert (case["status"], case["return_method"]) == ("awaiting_return", "drop_off")
    assert case["decision"]["return_address"]["drop_off"] == "UPS Access Point"
    [listed] = sent_emails_of(api, case, 1)
    message = by_id(smtp, listed["id"])
    wanted = "show its QR code at any UPS Access Point drop-off point"
    assert wanted in plain(message)
    assert 'data-section="drop_off"' in body(message, "html")
    assert 'data-section="label"' not in body(message, "html")  # nothing to print
    page = api.get("buyer", f"/api/v1/returns/{case['id']}/label.pdf")
    assert page.status_code == 200  # a printer is still welcome


def test_a_canceled_return_sends_nothing_more(api: Api, smtp: SmtpSink) -> None:
    case = api.open_return()
    sent_emails_of(api, case, 1)
    api.moved("buyer", case, "canceled")
    fanned_out(api)
    assert len(emails_of(api, case)) == 1
    assert len(smtp.messages) == 1


# --- the buyer's language and the EU withdrawal ------------------------------------------------


def test_a_german_buyer_gets_german_email(api: Api, smtp: SmtpSink) -> None:
    de = german()
    put_order(api, "DE-7", "jonas@example.de", market="DE", currency="EUR", language="de")
    case = api.open_return("agent", api.return_payload("DE-7", reason="defective"))
    first = sent_emails_of(api, case, 1)[0]
    case = api.moved("agent", case, "under_review")
    case = api.moved("agent", case, "approved")
    case = api.moved("agent", case, "awaiting_return")
    emails = sent_emails_of(api, case, 3)
    assert emails[0]["id"] == first["id"]
    assert all(e["language"] == "de" and e["to"] == "jonas@example.de" for e in emails)

    instructions = by_id(smtp, emails[2]["id"])
    subject = de.gettext("Return %(number)s: how to send your item back") % {
        "number": case["number"]
    }
    assert subject != f"Return {case['number']}: how to send your item back"
    assert str(instructions["Subject"]) == subject == emails[2]["subject"]
    approved = by_id(smtp, emails[1]["id"])
    assert str(approved["Subject"]) == de.gettext("Your return %(number)s is approved") % {
        "number": case["number"]
    }
    for listed in emails:
        message = by_id(smtp, listed["id"])
        text, html = body(message, "plain"), body(message, "html")
        for wording in ("Hello,", "See your return at any time:"):
            assert de.gettext(wording) in text, (wording, text)
            assert wording not in text
        assert de.gettext("Hello,") in html and '<html lang="de">' in html
        assert "Hello," not in html
    written = de.gettext("Please write the return number %(number)s on the parcel.") % {
        "number": case["number"]
    }
    assert written in body(instructions, "plain")
    # Money the German way, in the decision the agent's approval sent (the first email,
    # with automation off, has no decision section and so no refund).
    assert [e["sections"] for e in emails] == [
        ["received"],
        ["decision"],
        ["return_instructions"],
    ]
    refund = case["decision"]["refund"]
    assert refund["currency"] == "EUR"
    euros = money(refund["amount"], "EUR", "de_DE")
    approved_text = plain(approved)
    assert f"{de.gettext('Expected refund')}: {euros}" in approved_text, (euros, approved_text)
    assert euros not in plain(by_id(smtp, first["id"]))


def test_the_email_names_its_language_in_a_header(api: Api, smtp: SmtpSink) -> None:
    """RFC 3282 Content-Language on the message (the sender sets it from the case)."""
    put_order(api, "DE-6", "mia@example.de", market="DE", currency="EUR", language="de")
    case = api.open_return("agent", api.return_payload("DE-6", reason="defective"))
    [listed] = sent_emails_of(api, case, 1)
    assert listed["language"] == "de"
    message = by_id(smtp, listed["id"])
    assert message["Content-Language"] == "de", str(message)[:600]


def test_an_eu_withdrawal_is_acknowledged_with_its_time_in_utc(
    api: Api, smtp: SmtpSink, clock: Any
) -> None:
    put_order(api, "DE-8", "lena@example.de", market="DE", currency="EUR", language="de")
    clock.advance(minutes=7, seconds=13)  # a time that is not the order's
    token = api.buyer_token("DE-8", "lena@example.de")
    opened = api.client.post(
        "/api/v1/returns",
        json=api.return_payload("DE-8", reason="changed_mind"),
        headers={"Authorization": f"Bearer {token}"},
    )
    assert opened.status_code == 201, opened.text
    case = opened.json()
    staff_view = api.get("agent", f"/api/v1/returns/{case['id']}").json()
    assert staff_view["decision"]["rights"] == {"SHIRT-M": "withdrawal"}

    [listed] = sent_emails_of(api, case, 1)
    assert listed["kind"] == "withdrawal_ack"
    assert listed["urgent"] is True
    assert "withdrawal_ack" in listed["sections"] and "received" in listed["sections"]
    de = german()
    subject = de.gettext("Acknowledgment of your withdrawal: return %(number)s") % {
        "number": case["number"]
    }
    assert listed["subject"] == subject
    message = by_id(smtp, listed["id"])
    assert str(message["Subject"]) == subject
    requested = moment(case["created_at"]).astimezone(UTC)
    assert requested == clock().astimezone(UTC)
    stamp = requested.strftime("%Y-%m-%d %H:%M:%S UTC")
    text, html = body(message, "plain"), body(message, "html")
    assert stamp in text and stamp in html
    assert 'data-section="withdrawal_ack"' in html
    durable = de.gettext(
        "Please keep this email: it is your acknowledgment of receipt on a durable medium."
    )
    assert durable in text

    # A US buyer changing their mind has no statutory withdrawal: an ordinary email.
    us = api.open_return("buyer", api.return_payload(reason="changed_mind"))
    [ordinary] = sent_emails_of(api, us, 1)
    assert ordinary["kind"] != "withdrawal_ack" and ordinary["urgent"] is False
    assert "withdrawal_ack" not in ordinary["sections"]
    assert "UTC" not in body(by_id(smtp, ordinary["id"]), "plain")


# --- failures and retries -----------------------------------------------------------------------


@pytest.mark.parametrize("smtp", [{"refuse_first": 2}], indirect=True, ids=["451x2"])
def test_a_temporary_smtp_failure_is_retried_until_it_arrives_once(
    api: Api, smtp: SmtpSink, clock: Any
) -> None:
    case = api.open_return()
    [listed] = eventually(lambda: emails_of(api, case), "the email row")
    first = email_when(api, listed["id"], lambda e: e["attempts"] == 1, "first attempt")
    assert first["status"] == "pending"
    assert "451" in first["last_error"]
    assert first["sent_at"] is None
    retry_at = moment(first["next_attempt_at"])
    assert retry_at > clock()  # a backoff, not a busy loop
    time.sleep(0.6)  # several dispatcher ticks: nothing is tried before its time
    assert one_email(api, listed["id"])["attempts"] == 1
    assert smtp.messages == []

    clock.advance(minutes=1)
    second = email_when(api, listed["id"], lambda e: e["attempts"] == 2, "second attempt")
    assert second["status"] == "pending" and "451" in second["last_error"]
    assert moment(second["next_attempt_at"]) > clock()
    clock.advance(minutes=2)
    sent = email_when(api, listed["id"], lambda e: e["status"] == "sent", "sent")
    assert sent["attempts"] == 3
    assert sent["last_error"] is None
    assert moment(sent["sent_at"]) == clock()
    assert smtp.refused == 2
    [message] = smtp.wait_for(1)
    assert str(message["Message-ID"]) == f"<{listed['id']}@shop.example>"
    clock.advance(minutes=30)
    time.sleep(0.6)
    assert len(smtp.messages) == 1
    assert one_email(api, listed["id"])["attempts"] == 3


@pytest.mark.parametrize("smtp", [{"reject_all": True}], indirect=True, ids=["550"])
def test_a_permanent_smtp_failure_is_given_up_and_can_be_retried(
    api: Api, smtp: SmtpSink, clock: Any
) -> None:
    case = api.open_return()
    [listed] = eventually(lambda: emails_of(api, case), "the email row")
    dead = email_when(api, listed["id"], lambda e: e["status"] == "dead", "given up")
    assert dead["attempts"] == 1
    assert "550" in dead["last_error"]
    assert dead["next_attempt_at"] is None and dead["sent_at"] is None
    assert listed["id"] in {
        e["id"]
        for e in api.get("agent", "/api/v1/emails", params={"status": "dead"}).json()["items"]
    }
    assert listed["id"] not in {
        e["id"]
        for e in api.get("agent", "/api/v1/emails", params={"status": "sent"}).json()["items"]
    }
    clock.advance(hours=1)  # a permanent failure is not retried by itself
    time.sleep(0.6)
    assert one_email(api, listed["id"])["attempts"] == 1

    # Retried while the server still refuses: tried once more, given up again.
    again = api.post("agent", f"/api/v1/emails/{listed['id']}/retry")
    assert again.status_code == 202, again.text
    assert again.json()["id"] == listed["id"]
    assert again.json()["last_error"] is None
    email_when(api, listed["id"], lambda e: e["attempts"] == 2 and e["status"] == "dead", "dead")

    # The server accepts mail again: a retry sends it, with the same Message-ID.
    smtp.reject_all = False
    retried = api.post("agent", f"/api/v1/emails/{listed['id']}/retry")
    assert retried.status_code == 202, retried.text
    assert retried.json()["status"] in ("pending", "sent")
    sent = email_when(api, listed["id"], lambda e: e["status"] == "sent", "sent")
    assert sent["attempts"] == 3 and sent["last_error"] is None
    [message] = smtp.wait_for(1)
    assert str(message["Message-ID"]) == f"<{listed['id']}@shop.example>"
    # A retry of an email that was sent changes nothing and sends nothing.
    noop = api.post("agent", f"/api/v1/emails/{listed['id']}/retry")
    assert noop.status_code == 202 and noop.json()["status"] == "sent"
    assert noop.json()["attempts"] == 3
    time.sleep(0.6)
    assert len(smtp.messages) == 1


def test_the_retry_of_a_pending_email_does_not_send_it_twice(
    api: Api, smtp: SmtpSink, clock: Any
) -> None:
    smtp.refuse_first = 1
    case = api.open_return()
    [listed] = eventually(lambda: emails_of(api, case), "the email row")
    email_when(api, listed["id"], lambda e: e["attempts"] == 1, "first attempt")
    response = api.post("agent", f"/api/v1/emails/{listed['id']}/retry")
    assert response.status_code == 202
    assert response.json()["status"] == "pending" and response.json()["attempts"] == 1
    clock.advance(minutes=1)
    email_when(api, listed["id"], lambda e: e["status"] == "sent", "sent")
    time.sleep(0.6)
    assert len(smtp.messages) == 1


# --- who may see what --------------------------------------------------------------------------


def test_buyers_see_only_their_own_emails_and_staff_see_the_store(api: Api, smtp: SmtpSink) -> None:
    put_order(api, api.OTHER_ORDER_NUMBER, api.OTHER_BUYER_EMAIL)
    api.tokens["other"] = api.buyer_token(api.OTHER_ORDER_NUMBER, api.OTHER_BUYER_EMAIL)
    mine = api.open_return("buyer")
    theirs = api.open_return("other", api.return_payload(api.OTHER_ORDER_NUMBER))
    [my_email] = sent_emails_of(api, mine, 1)
    [their_email] = sent_emails_of(api, theirs, 1)
    assert their_email["to"] == api.OTHER_BUYER_EMAIL

    seen = emails_of(api, mine, who="buyer")
    assert [e["id"] for e in seen] == [my_email["id"]]
    assert seen[0]["subject"] == my_email["subject"]
    # The other buyer's case is as missing as a case that does not exist.
    refused = api.get("other", f"/api/v1/returns/{mine['id']}/emails")
    missing = api.get("other", "/api/v1/returns/0190f4a2-0000-7000-8000-000000000000/emails")
    assert api.problem(refused, 404)["code"] == api.problem(missing, 404)["code"]
    assert my_email["id"] not in refused.text and api.BUYER_EMAIL not in refused.text
    assert [e["id"] for e in emails_of(api, theirs, who="other")] == [their_email["id"]]

    # The store's outbox and single emails are for staff only.
    api.problem(api.get("buyer", "/api/v1/emails"), 403)
    api.problem(api.get("buyer", f"/api/v1/emails/{my_email['id']}"), 403)
    api.problem(api.get(None, "/api/v1/emails"), 401)
    api.problem(api.get(None, f"/api/v1/returns/{mine['id']}/emails"), 401)
    for role in ("agent", "warehouse", "supervisor", "admin"):
        listed = api.get(role, "/api/v1/emails")
        assert listed.status_code == 200, (role, listed.text)
        items = listed.json()["items"]
        assert {e["id"] for e in items} == {my_email["id"], their_email["id"]}, role
        assert all("text" not in e and "html" not in e for e in items)
        full = api.get(role, f"/api/v1/emails/{their_email['id']}")
        assert full.status_code == 200, (role, full.text)
        assert full.json()["to"] == api.OTHER_BUYER_EMAIL
        assert "Linen shirt" in full.json()["text"] and "<html" in full.json()["html"]
    newest_first = [e["id"] for e in api.get("agent", "/api/v1/emails").json()["items"]]
    assert newest_first == [their_email["id"], my_email["id"]]


def test_a_buyer_cannot_retry_or_read_emails_through_retry(api: Api, smtp: SmtpSink) -> None:
    """Retrying is a staff action: a buyer learns nothing of another buyer's email from it."""
    put_order(api, api.OTHER_ORDER_NUMBER, api.OTHER_BUYER_EMAIL)
    theirs = api.open_return("agent", api.return_payload(api.OTHER_ORDER_NUMBER))
    mine = api.open_return("buyer")
    [their_email] = sent_emails_of(api, theirs, 1)
    [my_email] = sent_emails_of(api, mine, 1)
    for email_id in (their_email["id"], my_email["id"]):
        response = api.post("buyer", f"/api/v1/emails/{email_id}/retry")
        api.client_error(response)
        assert api.OTHER_BUYER_EMAIL not in response.text
        assert their_email["subject"] not in response.text


@pytest.mark.parametrize(
    ("method", "path", "status"),
    [
        ("GET", f"/api/v1/emails/{EMAIL_ID}", 404),
        ("POST", f"/api/v1/emails/{EMAIL_ID}/retry", 404),
        ("GET", "/api/v1/emails/em_not-an-id", 422),
        ("GET", "/api/v1/emails/01900000-0000-7000-8000-000000000000", 422),
        ("GET", "/api/v1/emails/em_01900000-0000-7000-8000-000000000000x", 422),
        ("POST", "/api/v1/emails/%00/retry", 422),
        ("GET", "/api/v1/emails?status=lost", 422),
        ("GET", "/api/v1/returns/not-a-case/emails", 422),
        ("GET", "/api/v1/returns/0190f4a2-0000-7000-8000-000000000000/emails", 404),
    ],
)
def test_bad_email_ids_are_client_errors(api: Api, method: str, path: str, status: int) -> None:
    response = api.request("agent", method, path)
    problem = api.problem(response, status)
    if status == 404 and "/returns/" not in path:
        assert problem["code"] == "email_not_found"


# --- transports and dispatchers ---------------------------------------------------------------


@pytest.mark.parametrize("settings_overrides", [{}], ids=["no-smtp"])
def test_without_smtp_emails_are_written_to_the_outbox_folder(api: Api) -> None:
    case = api.open_return()
    [listed] = sent_emails_of(api, case, 1)
    folder = api.container.settings.home / "outbox"
    path = folder / f"{listed['id']}.eml"
    assert path.is_file(), sorted(p.name for p in folder.iterdir())
    assert [p.name for p in folder.iterdir()] == [path.name]  # no partial files left behind
    message = email.message_from_bytes(path.read_bytes(), policy=email.policy.default)
    assert isinstance(message, EmailMessage)
    domain = api.container.settings.mail_from.rpartition("@")[2]
    assert str(message["Message-ID"]) == f"<{listed['id']}@{domain}>"
    assert message["X-ReturnDesk-Email-Id"] == listed["id"]
    assert message["To"] == api.BUYER_EMAIL
    assert str(message["Subject"]) == listed["subject"]
    full = one_email(api, listed["id"])
    assert same_text(body(message, "plain"), full["text"])
    assert f"/portal/returns/{case['id']}" in body(message, "html")


def test_two_dispatchers_send_each_email_once(
    start_app: AppFactory, api: Api, smtp: SmtpSink
) -> None:
    """A second app process on the same database runs its own dispatcher with the same SMTP
    server: the lease on each email keeps them from sending it twice."""
    start_app(smtp_url=smtp.url, mail_from=SENDER)
    cases = []
    for number in ("3001", "3002", "3003", "3004", "3005"):
        put_order(api, number, f"buyer-{number}@example.com")
        cases.append(api.open_return("agent", api.return_payload(number)))
    cases.append(api.open_return("buyer"))
    smtp.wait_for(len(cases))
    sent = [sent_emails_of(api, case, 1)[0] for case in cases]
    time.sleep(1.0)  # a second copy would be on its way by now
    ids = [str(m["Message-ID"]) for m in smtp.messages]
    assert len(ids) == len(cases) == len(set(ids)), ids
    assert set(ids) == {f"<{e['id']}@shop.example>" for e in sent}
    assert all(e["attempts"] == 1 for e in sent)
    assert sorted(m["To"] for m in smtp.messages) == sorted(
        [f"buyer-{n}@example.com" for n in ("3001", "3002", "3003", "3004", "3005")]
        + [api.BUYER_EMAIL]
    )


@pytest.mark.parametrize("settings_overrides", [{"dispatch": False}], indirect=True, ids=["idle"])
def test_an_email_whose_lease_ran_out_is_sent_once_by_another_dispatcher(
    start_app: AppFactory, api: Api, smtp: SmtpSink, clock: Any
) -> None:
    """Dispatcher A leases an email and stalls (a process that hung, or died, mid-send); once
    the lease runs out, dispatcher B sends it; A's late attempt with its old lease sends
    nothing. Driven tick by tick (no dispatcher thread runs), so nothing here is a race."""
    _, other = start_app(dispatch=False, smtp_url=smtp.url, mail_from=SENDER)
    first, second = api.container.build_dispatcher(), other.build_dispatcher()
    try:
        case = api.open_return()
        assert first.fan_out() >= 1
        assert second.fan_out() == 0  # fanned out once, whoever does it
        a, b = first.channels["email"], second.channels["email"]
        [(email_id, lease_a)] = a.schedule(clock(), set())
        assert [e["id"] for e in emails_of(api, case)] == [email_id]
        assert b.schedule(clock(), set()) == []  # leased: due for nobody else
        clock.advance(seconds=api.container.settings.delivery_lease_seconds - 1)
        assert b.schedule(clock(), set()) == []
        clock.advance(seconds=2)  # A's lease has run out
        [(same_id, lease_b)] = b.schedule(clock(), set())
        assert same_id == email_id and lease_b != lease_a
        assert a.schedule(clock(), set()) == []
        a.execute(email_id, lease_a)  # A wakes up late: its lease is gone
        assert smtp.messages == []
        assert one_email(api, email_id)["attempts"] == 0
        b.execute(email_id, lease_b)
        [message] = smtp.wait_for(1)
        assert str(message["Message-ID"]) == f"<{email_id}@shop.example>"
        b.execute(email_id, lease_b)  # the same job delivered twice by a queue
        a.execute(email_id, lease_a)
        assert len(smtp.messages) == 1
        sent = one_email(api, email_id)
        assert sent["status"] == "sent" and sent["attempts"] == 1
        clock.advance(minutes=10)
        assert a.schedule(clock(), set()) == b.schedule(clock(), set()) == []
    finally:
        first.stop()
        second.stop()
