"""Exchanges executed over the API, on SQLite and PostgreSQL: an instant exchange holds the
returned units' value on the buyer's card through the official `stripe` client (against
tests/servers/stripe.py) and releases it when the carrier scans the parcel, or captures it when
the parcel is never sent; a store without an adapter exports the replacement orders and staff
record the one they made."""

from __future__ import annotations

import time
from collections.abc import Iterator
from typing import TYPE_CHECKING, Any

import pytest
from test_logistics import POLICY, scan

from returndesk.services.exchanges import sweep_holds
from returndesk.services.return_window import sweep_unsent
from servers.stripe import API_KEY, LocalStripe

if TYPE_CHECKING:
    from conftest import Api

PAID = 2 * 2250  # two shirts of the shared order
INSTANT = {**POLICY, "exchange": {"enabled": True, "instant": True}}


@pytest.fixture
def local_stripe() -> Iterator[LocalStripe]:
    with LocalStripe() as server:
        yield server


@pytest.fixture
def settings_overrides(local_stripe: LocalStripe) -> dict[str, object]:
    return {
        "stripe_api_key": API_KEY,
        "stripe_api_base": local_stripe.base_url,
        "payment_timeout_seconds": 1.0,
    }


def exchange_case(
    api: Api, local_stripe: LocalStripe, policy: dict[str, Any] = INSTANT, **pay: Any
) -> dict[str, Any]:
    """The shared order paid through Stripe; two shirts returned for another size."""
    assert api.put("admin", "/api/v1/policy", json={"document": policy}).status_code == 200
    intent = local_stripe.pay(54000, "USD", **pay)
    order = api.order_payload(
        api.container.clock(), payment={"provider": "stripe", "reference": intent}
    )
    assert api.put_order(order).status_code in (200, 201)
    case = api.open_return("buyer", api.return_payload(quantity=2, resolution="exchange"))
    assert case["status"] == "awaiting_return", case
    return {**case, "intent": intent}


def order_exchange(api: Api, case: dict[str, Any], **body: Any) -> Any:
    return api.post("agent", f"/api/v1/returns/{case['id']}/exchange", json=body)


def settled(api: Api, case_id: str, hold: str) -> dict[str, Any]:
    """The exchange once the background follow-up after a scan has moved its hold."""
    deadline = time.monotonic() + 10
    while True:
        found: dict[str, Any] = api.get("agent", f"/api/v1/returns/{case_id}/exchange").json()
        if found["hold"]["status"] == hold or time.monotonic() > deadline:
            return found
        time.sleep(0.05)


def email_sections(api: Api, case_id: str, wanted: set[str]) -> dict[str, dict[str, Any]]:
    """The case's emails by their exchange sections, once every wanted one was written."""
    deadline = time.monotonic() + 15
    while True:
        items = api.get("agent", f"/api/v1/returns/{case_id}/emails").json()["items"]
        found = {s: e for e in items for s in e["sections"] if s in wanted}
        if set(found) == wanted or time.monotonic() > deadline:
            return found
        time.sleep(0.1)


def kinds(api: Api, who: str, case_id: str) -> list[str]:
    items = api.get(who, f"/api/v1/returns/{case_id}/timeline").json()["items"]
    return [e["kind"] for e in items]


def test_an_exchanges_authorisation_is_released_on_scan(
    api: Api, local_stripe: LocalStripe
) -> None:
    case = exchange_case(api, local_stripe)
    made = order_exchange(
        api,
        case,
        instant=True,
        lines=[{"sku": "SHIRT-M", "quantity": 2, "replacement_sku": "SHIRT-L"}],
    )
    assert made.status_code == 201, made.text
    exchange = made.json()
    # No store adapter here: the replacement waits to be made by hand; the card is held.
    assert (exchange["status"], exchange["channel"]) == ("to_ship", "export")
    assert exchange["hold"] == {
        "status": "authorised",
        "amount": {"amount": PAID, "currency": "USD"},
    }
    [hold] = local_stripe.holds()
    assert (hold.status, hold.amount, hold.currency) == ("requires_capture", PAID, "usd")
    original = local_stripe.intents[case["intent"]]
    assert (hold.customer, hold.payment_method) == (original.customer, original.payment_method)
    assert hold.metadata == {
        "rma": case["rma"],
        "case_id": case["id"],
        "exchange_id": exchange["id"],
    }
    sent = [r for r in local_stripe.requests if r["path"] == "/v1/payment_intents"]
    assert sent[0]["headers"]["idempotency-key"] == f"returndesk-hold-{exchange['id']}"
    assert (sent[0]["form"]["capture_method"], sent[0]["form"]["off_session"]) == ("manual", "true")

    # The export lists it; staff make the order in their shop and name it.
    listed = api.get("agent", "/api/v1/exchanges/to-ship?format=csv")
    assert listed.status_code == 200
    rows = listed.text.splitlines()
    assert rows[0].startswith("rma,case_id,order_number") and len(rows) == 2
    assert f"{case['rma']},{case['id']}" in rows[1] and "SHIRT-L" in rows[1]
    recorded = api.post(
        "agent", f"/api/v1/returns/{case['id']}/exchange/order", json={"order_reference": "#5001"}
    )
    assert recorded.status_code == 200, recorded.text
    assert (recorded.json()["status"], recorded.json()["order"]) == ("ordered", "#5001")
    assert api.get("agent", "/api/v1/exchanges/to-ship").json()["items"] == []

    # The buyer saying "I sent it" is not proof: the hold stays.
    said = api.post(
        "buyer",
        f"/api/v1/returns/{case['id']}/parcel",
        json={"carrier": "UPS", "tracking_number": "1ZEXCH0001"},
    )
    assert said.status_code == 200, said.text
    assert said.json()["status"] == "awaiting_return"  # the time to send it keeps running
    sweep_holds(api.container.uow, api.container.clock, api.container.holding_providers())
    assert hold.status == "requires_capture"
    # No refund beside the exchange.
    refused = api.post(
        "agent",
        f"/api/v1/returns/{case['id']}/refunds",
        json={"mode": "manual", "reference": "bank"},
        headers={"Idempotency-Key": "both-1"},
    )
    api.problem(refused, 409, "exchange_under_way")
    # The carrier's first scan releases it.
    scanned = scan(
        api,
        "integration",
        tracking_number="1ZEXCH0001",
        status="accepted",
        occurred_at="2026-11-21T09:00:00+00:00",
    )
    assert scanned.status_code in (200, 201), scanned.text
    done = settled(api, case["id"], "released")
    assert done["hold"]["status"] == "released"
    assert hold.status == "canceled"
    cancels = [r for r in local_stripe.requests if r["path"].endswith("/cancel")]
    assert [r["headers"]["idempotency-key"] for r in cancels] == [
        f"returndesk-released-{exchange['id']}"
    ]
    buyer = api.get("buyer", f"/api/v1/returns/{case['id']}").json()
    assert buyer["exchange"]["hold"]["status"] == "released"
    assert "hold_reference" not in buyer["exchange"]
    seen = kinds(api, "buyer", case["id"])
    assert [k for k in seen if k.startswith("exchange_")] == [
        "exchange_hold_placed",
        "exchange_ordered",
        "exchange_hold_released",
    ]
    # A second sweep changes nothing: the hold is let go once.
    sweep_holds(api.container.uow, api.container.clock, api.container.holding_providers())
    assert len([r for r in local_stripe.requests if r["path"].endswith("/cancel")]) == 1

    # The buyer was told each step by email, in their words and money.
    wanted = {"exchange_hold", "exchange_ordered", "exchange_hold_released"}
    emails = email_sections(api, case["id"], wanted)
    assert set(emails) == wanted, emails
    assert emails["exchange_hold"]["subject"] == (
        f"Return {case['number']}: your replacement ships now, secured by a card hold"
    )
    held = api.get("agent", f"/api/v1/emails/{emails['exchange_hold']['id']}").json()
    assert "$45.00 is held on your card (not charged)" in held["text"], held["text"]
    ordered = api.get("agent", f"/api/v1/emails/{emails['exchange_ordered']['id']}").json()
    assert "Your replacement is on its way: order #5001." in ordered["text"]

    # The parcel arrives and is graded: the exchange is complete.
    received = api.post("warehouse", "/api/v1/warehouse/receipts", json={"code": case["rma"]})
    assert received.status_code == 201, received.text
    deadline = time.monotonic() + 10
    while api.get("agent", f"/api/v1/returns/{case['id']}").json()["status"] != "exchange_shipped":
        assert time.monotonic() < deadline, "the inspected case never moved to exchange_shipped"
        time.sleep(0.05)


def test_an_instant_exchange_never_sent_is_charged(
    api: Api, local_stripe: LocalStripe, clock: Any
) -> None:
    case = exchange_case(api, local_stripe)
    made = order_exchange(api, case, instant=True)
    assert made.status_code == 201, made.text
    exchange_id = made.json()["id"]
    assert made.json()["lines"] == [
        {
            "sku": "SHIRT-M",
            "title": made.json()["lines"][0]["title"],
            "quantity": 2,
            "replacement_sku": "SHIRT-M",
        }
    ]
    recorded = api.post(
        "agent", f"/api/v1/returns/{case['id']}/exchange/order", json={"order_reference": "#5002"}
    )
    assert recorded.status_code == 200
    clock.advance(days=15)
    api.refresh_tokens()
    swept = sweep_unsent(api.container.uow, api.container.clock, 14, 3)
    assert swept.expired == 1
    assert (
        sweep_holds(api.container.uow, api.container.clock, api.container.holding_providers()) == 1
    )
    [hold] = local_stripe.holds()
    assert hold.status == "succeeded"
    captures = [r for r in local_stripe.requests if r["path"].endswith("/capture")]
    assert [r["headers"]["idempotency-key"] for r in captures] == [
        f"returndesk-captured-{exchange_id}"
    ]
    after = api.get("buyer", f"/api/v1/returns/{case['id']}").json()
    assert after["status"] == "canceled"
    assert after["exchange"]["hold"]["status"] == "captured"
    assert "exchange_hold_captured" in kinds(api, "buyer", case["id"])
    charged = email_sections(api, case["id"], {"exchange_charged"})["exchange_charged"]
    text = api.get("agent", f"/api/v1/emails/{charged['id']}").json()["text"]
    assert "the $45.00 held on your card was charged for the replacement" in text, text


def test_an_exchange_is_refused_clearly_and_changes_nothing(
    api: Api, local_stripe: LocalStripe
) -> None:
    # The policy offers no instant exchanges: only after inspection.
    case = exchange_case(api, local_stripe, policy=POLICY)
    api.problem(order_exchange(api, case, instant=True), 409, "instant_exchange_not_offered")
    api.problem(order_exchange(api, case), 409, "exchange_not_allowed")
    api.problem(
        order_exchange(api, case, lines=[{"sku": "NOPE", "quantity": 1}]), 422, "unknown_line"
    )
    api.problem(
        order_exchange(api, case, lines=[{"sku": "SHIRT-M", "quantity": 3}]),
        422,
        "invalid_quantity",
    )
    assert api.post("buyer", f"/api/v1/returns/{case['id']}/exchange", json={}).status_code == 403
    assert local_stripe.requests == []
    assert api.get("agent", f"/api/v1/returns/{case['id']}").json()["exchange"] is None
    refund_case = api.open_return("buyer", api.return_payload(quantity=1))
    api.problem(order_exchange(api, refund_case), 409, "resolution_mismatch")


def test_a_declined_card_fails_the_instant_exchange_and_a_retry_works(
    api: Api, local_stripe: LocalStripe
) -> None:
    case = exchange_case(api, local_stripe, saved_card=False)
    failed = api.problem(order_exchange(api, case, instant=True), 502, "exchange_failed")
    assert (failed["step"], failed["provider_code"], failed["retryable"]) == (
        "hold",
        "no_saved_card",
        False,
    )
    staff = api.get("agent", f"/api/v1/returns/{case['id']}").json()["exchange"]
    assert (staff["status"], staff["hold"]["status"], staff["error"]["code"]) == (
        "failed",
        "failed",
        "no_saved_card",
    )
    assert "exchange_failed" in kinds(api, "agent", case["id"])
    assert "exchange_failed" not in kinds(api, "buyer", case["id"])
    assert local_stripe.holds() == []
    # The buyer saves a card with the store: the retry holds it, with the same key.
    original = local_stripe.intents[case["intent"]]
    original.customer, original.payment_method = "cus_saved", "pm_saved"
    retried = api.post("agent", f"/api/v1/returns/{case['id']}/exchange/retry")
    assert retried.status_code == 200, retried.text
    assert retried.json()["hold"]["status"] == "authorised"
    assert len(local_stripe.holds()) == 1
    # Asked again with the same lines: the same exchange, nothing new at Stripe.
    calls = len(local_stripe.requests)
    again = order_exchange(api, case, instant=True)
    assert (again.status_code, again.json()["id"]) == (200, retried.json()["id"])
    assert len(local_stripe.requests) == calls
    api.problem(order_exchange(api, case), 409, "exchange_exists")


def test_a_fake_sent_back_keeps_the_hold_for_the_review_which_charges_it(
    api: Api, local_stripe: LocalStripe
) -> None:
    case = exchange_case(api, local_stripe)
    one = [{"sku": "SHIRT-M", "quantity": 1, "replacement_sku": "SHIRT-L"}]
    made = order_exchange(api, case, instant=True, lines=one)
    assert made.status_code == 201, made.text
    assert made.json()["hold"]["amount"] == {"amount": PAID // 2, "currency": "USD"}  # one unit
    # Brought to the warehouse by hand (no carrier scan), and it is not our product.
    body = {
        "code": case["rma"],
        "lines": [{"sku": "SHIRT-M", "quantity": 2, "grade": "counterfeit_suspected"}],
    }
    received = api.post("warehouse", "/api/v1/warehouse/receipts", json=body)
    assert received.json()["case"]["status"] == "escalated", received.text
    time.sleep(0.3)  # the follow-up after the scan had its chance
    sweep_holds(api.container.uow, api.container.clock, api.container.holding_providers())
    [hold] = local_stripe.holds()
    assert hold.status == "requires_capture"  # kept for the person reviewing it
    escalated = api.get("supervisor", f"/api/v1/returns/{case['id']}").json()
    api.moved("supervisor", escalated, "declined", note="Not our product.")
    sweep_holds(api.container.uow, api.container.clock, api.container.holding_providers())
    assert hold.status == "requires_capture"  # the replacement left: a person decides
    assert (
        api.post(
            "buyer", f"/api/v1/returns/{case['id']}/exchange/hold", json={"action": "capture"}
        ).status_code
        == 403
    )
    charged = api.post(
        "supervisor", f"/api/v1/returns/{case['id']}/exchange/hold", json={"action": "capture"}
    )
    assert charged.status_code == 200, charged.text
    assert charged.json()["hold"]["status"] == "captured"
    assert hold.status == "succeeded"
    again = api.post(
        "supervisor", f"/api/v1/returns/{case['id']}/exchange/hold", json={"action": "release"}
    )
    api.problem(again, 409, "no_open_hold")
    entries = api.get("agent", f"/api/v1/returns/{case['id']}/timeline").json()["items"]
    [captured] = [e for e in entries if e["kind"] == "exchange_hold_captured"]
    assert captured["actor"]["role"] == "supervisor"


def test_a_declined_card_is_tried_again_with_a_new_key(api: Api, local_stripe: LocalStripe) -> None:
    case = exchange_case(api, local_stripe)
    local_stripe.decline_holds = True
    failed = api.problem(order_exchange(api, case, instant=True), 502, "exchange_failed")
    assert (failed["provider_code"], failed["retryable"]) == ("card_declined", False)
    buyer = api.get("buyer", f"/api/v1/returns/{case['id']}").json()["exchange"]
    assert (buyer["status"], buyer["hold"]["status"]) == ("pending", "pending")  # not "failed"
    local_stripe.decline_holds = False  # the buyer's bank lets it through now
    retried = api.post("agent", f"/api/v1/returns/{case['id']}/exchange/retry")
    assert retried.status_code == 200, retried.text
    assert retried.json()["hold"]["status"] == "authorised"
    keys = [
        r["headers"]["idempotency-key"]
        for r in local_stripe.requests
        if r["path"] == "/v1/payment_intents"
    ]
    exchange_id = retried.json()["id"]
    # the decline is not replayed: the second try is a new hold, with a key of its own
    assert keys == [f"returndesk-hold-{exchange_id}", f"returndesk-hold-{exchange_id}-1"]


def test_an_instant_exchanges_parcel_is_due_before_the_card_authorisation_lapses(
    api: Api, local_stripe: LocalStripe, clock: Any
) -> None:
    case = exchange_case(api, local_stripe)
    assert order_exchange(api, case, instant=True).status_code == 201
    recorded = api.post(
        "agent", f"/api/v1/returns/{case['id']}/exchange/order", json={"order_reference": "#5003"}
    )
    assert recorded.status_code == 200

    def sweep() -> Any:
        api.refresh_tokens()
        return sweep_unsent(api.container.uow, api.container.clock, 14, 3, hold_days=6)

    clock.advance(days=3, hours=1)  # three days before the hold's deadline: reminded
    assert (sweep().reminded, sweep().reminded) == (1, 0)
    clock.advance(days=2, hours=22)  # still inside the six days
    assert sweep().expired == 0
    clock.advance(hours=2)  # six days after the hold, well before the 14 days to send
    assert sweep().expired == 1
    assert sweep_holds(api.container.uow, api.container.clock, api.container.holding_providers())
    [hold] = local_stripe.holds()
    assert hold.status == "succeeded"  # captured while the authorisation still held
    entries = api.get("buyer", f"/api/v1/returns/{case['id']}/timeline").json()["items"]
    [reminder] = [e for e in entries if e["kind"] == "return_reminder"]
    [expired] = [e for e in entries if e["kind"] == "return_expired"]
    assert reminder["data"]["due_at"] == expired["data"]["due_at"]
