"""Refunds through Stripe: the app's official `stripe` client talks to a local server that
speaks Stripe's wire protocol (tests/servers/stripe.py), on SQLite and PostgreSQL. A refund
whose answer never arrived (a client timeout after Stripe made it) is retried and still paid
once; a refusal is shown on the case and changes nothing else."""

from __future__ import annotations

import time
from collections.abc import Iterator
from typing import TYPE_CHECKING, Any

import pytest
from test_logistics import POLICY

from returndesk.domain.access import Role
from returndesk.services.principal import SYSTEM, Principal
from returndesk.services.receiving import ReceiveParcel, receive
from returndesk.services.refunds import sweep_due_refunds
from returndesk.services.returns import get_case
from servers.stripe import API_KEY, LocalStripe

if TYPE_CHECKING:
    from conftest import Api

PAID = 2 * 2250  # two shirts of the shared order


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


def inspected(api: Api, local_stripe: LocalStripe, charged: int = 54000) -> dict[str, Any]:
    """The shared order paid through Stripe; two shirts returned, received and inspected."""
    assert api.put("admin", "/api/v1/policy", json={"document": POLICY}).status_code == 200
    intent = local_stripe.pay(charged, "USD")
    order = api.order_payload(
        api.container.clock(), payment={"provider": "stripe", "reference": intent}
    )
    assert api.put_order(order).status_code in (200, 201)
    case = api.open_return("buyer", api.return_payload(quantity=2))
    done = api.post("warehouse", "/api/v1/warehouse/receipts", json={"code": case["rma"]})
    assert done.json()["case"]["status"] == "inspected", done.text
    return {**done.json()["case"], "intent": intent}


def stripe_refund(api: Api, case: dict[str, Any], key: str, **body: Any) -> Any:
    return api.post(
        "agent",
        f"/api/v1/returns/{case['id']}/refunds",
        json={"mode": "stripe", **body},
        headers={"Idempotency-Key": key},
    )


def test_a_refund_goes_through_stripe_with_its_idempotency_key(
    api: Api, local_stripe: LocalStripe
) -> None:
    case = inspected(api, local_stripe)
    response = stripe_refund(api, case, "refund-1")
    assert response.status_code == 201, response.text
    refund = response.json()
    assert refund["status"] == "succeeded" and refund["reference"].startswith("re_")
    sent = local_stripe.requests[-1]
    assert sent["path"] == "/v1/refunds"
    assert sent["headers"]["authorization"] == f"Bearer {API_KEY}"
    assert sent["headers"]["idempotency-key"] == f"returndesk-refund-{refund['id']}"
    assert sent["headers"]["user-agent"].startswith("Stripe/v1 PythonBindings/")
    assert sent["form"]["payment_intent"] == case["intent"]
    assert sent["form"]["amount"] == str(PAID)
    assert sent["form"]["metadata[rma]"] == case["rma"]
    made = local_stripe.refunds_made(case["intent"])
    assert [(r["id"], r["amount"], r["currency"]) for r in made] == [
        (refund["reference"], PAID, "usd")
    ]
    after = api.get("buyer", f"/api/v1/returns/{case['id']}").json()
    assert (after["status"], after["refunded_amount"]["amount"]) == ("refunded", PAID)
    # The same request again: the stored refund, and Stripe is not asked again.
    calls = len(local_stripe.requests)
    again = stripe_refund(api, case, "refund-1")
    assert (again.status_code, again.json()["id"]) == (200, refund["id"])
    assert len(local_stripe.requests) == calls


def test_a_refund_retried_after_a_timeout_is_executed_once(
    api: Api, local_stripe: LocalStripe
) -> None:
    case = inspected(api, local_stripe)
    local_stripe.delay_next(2.5)  # Stripe refunds at once, the answer comes after the timeout
    failed = stripe_refund(api, case, "slow-1", final=False)  # not the last: the case stays
    body = api.problem(failed, 502, "refund_failed")
    assert (body["provider_code"], body["retryable"]) == ("provider_unreachable", True)
    assert len(local_stripe.refunds_made(case["intent"])) == 1  # the money did move
    staff = api.get("agent", f"/api/v1/returns/{case['id']}").json()
    assert staff["status"] == "inspected"
    assert [(r["status"], r["error"]["code"]) for r in staff["refunds"]] == [
        ("failed", "provider_unreachable")
    ]
    staff_kinds = [
        e["kind"]
        for e in api.get("agent", f"/api/v1/returns/{case['id']}/timeline").json()["items"]
    ]
    assert "refund_failed" in staff_kinds
    buyer = api.get("buyer", f"/api/v1/returns/{case['id']}").json()
    assert buyer["refunds"] == []
    buyer_kinds = [
        e["kind"]
        for e in api.get("buyer", f"/api/v1/returns/{case['id']}/timeline").json()["items"]
    ]
    assert "refund_failed" not in buyer_kinds

    retried = api.post("agent", f"/api/v1/returns/{case['id']}/refunds/{body['refund_id']}/retry")
    assert retried.status_code == 200, retried.text
    assert (retried.json()["status"], retried.json()["attempts"]) == ("succeeded", 2)
    keys = {r["headers"]["idempotency-key"] for r in local_stripe.requests}
    assert keys == {f"returndesk-refund-{body['refund_id']}"}  # the same key both times
    made = local_stripe.refunds_made(case["intent"])
    assert len(made) == 1 and made[0]["id"] == retried.json()["reference"]
    after = api.get("agent", f"/api/v1/returns/{case['id']}").json()
    # The retry kept what the first request said: not the last refund, so no status move.
    assert (after["status"], after["refunded_amount"]["amount"]) == ("inspected", PAID)


def test_a_refund_stripe_refuses_changes_nothing_but_says_so(
    api: Api, local_stripe: LocalStripe
) -> None:
    case = inspected(api, local_stripe, charged=1000)  # less on the card than the refund
    refused = api.problem(stripe_refund(api, case, "big-1"), 502, "refund_failed")
    assert (refused["provider_code"], refused["retryable"]) == ("amount_too_large", False)
    after = api.get("agent", f"/api/v1/returns/{case['id']}").json()
    assert (after["status"], after["refunded_amount"]) == ("inspected", None)
    assert local_stripe.refunds_made() == []
    # The failed attempt does not use up what may be refunded: a smaller one goes through.
    smaller = stripe_refund(api, case, "small-1", amount=1000)
    assert smaller.status_code == 201, smaller.text
    assert api.get("agent", f"/api/v1/returns/{case['id']}").json()["status"] == "refunded"


def test_no_stripe_refund_without_a_stripe_payment(api: Api, local_stripe: LocalStripe) -> None:
    assert api.put("admin", "/api/v1/policy", json={"document": POLICY}).status_code == 200
    case = api.open_return("buyer", api.return_payload(quantity=1))
    api.problem(stripe_refund(api, case, "none-1"), 409, "no_payment_reference")
    assert local_stripe.requests == []


def automatic(api: Api, local_stripe: LocalStripe, timing: str) -> str:
    """The policy refunds by itself at `timing`; the shared order is paid through Stripe."""
    document = {**POLICY, "refund": {"timing": timing, "automatic": True}}
    assert api.put("admin", "/api/v1/policy", json={"document": document}).status_code == 200
    intent = local_stripe.pay(54000, "USD")
    order = api.order_payload(
        api.container.clock(), payment={"provider": "stripe", "reference": intent}
    )
    assert api.put_order(order).status_code in (200, 201)
    return intent


def settled(api: Api, case_id: str, status: str = "refunded") -> dict[str, Any]:
    deadline = time.monotonic() + 10
    while True:
        case: dict[str, Any] = api.get("agent", f"/api/v1/returns/{case_id}").json()
        if case["status"] == status or time.monotonic() > deadline:
            return case
        time.sleep(0.05)


def test_a_clean_parcel_is_refunded_when_the_policy_says(
    api: Api, local_stripe: LocalStripe
) -> None:
    intent = automatic(api, local_stripe, "after_inspection")
    clean, damaged, fake = (
        api.open_return("buyer", api.return_payload(quantity=q)) for q in (2, 1, 1)
    )
    receipt = api.post("warehouse", "/api/v1/warehouse/receipts", json={"code": clean["rma"]})
    assert receipt.status_code == 201
    done = settled(api, clean["id"])
    assert (done["status"], done["refunded_amount"]["amount"]) == ("refunded", PAID)
    assert [(r["provider"], r["idempotency_key"]) for r in done["refunds"]] == [
        ("stripe", f"auto-{clean['id']}")
    ]
    # A damaged unit (a person chooses the amount) and a suspected fake are left to people.
    for case, grade in ((damaged, "damaged"), (fake, "counterfeit_suspected")):
        body = {"code": case["rma"], "lines": [{"sku": "SHIRT-M", "quantity": 1, "grade": grade}]}
        assert api.post("warehouse", "/api/v1/warehouse/receipts", json=body).status_code == 201
    time.sleep(0.5)
    assert sweep_due_refunds(api.container.uow, api.container.clock, providers(api)).refunded == 0
    for case, status in ((damaged, "inspected"), (fake, "escalated")):
        now = api.get("agent", f"/api/v1/returns/{case['id']}").json()
        assert (now["status"], now["refunds"]) == (status, [])
    assert [r["amount"] for r in local_stripe.refunds_made(intent)] == [PAID]


def test_refunded_at_drop_off_then_settled_after_inspection(
    api: Api, local_stripe: LocalStripe
) -> None:
    intent = automatic(api, local_stripe, "at_drop_off")
    case = api.open_return("buyer", api.return_payload(quantity=2))
    event = {
        "tracking_number": "1ZDROP", "carrier": "UPS", "status": "accepted",
        "occurred_at": "2026-11-20T10:00:00+00:00", "reference": case["rma"],
    }  # fmt: skip
    assert api.post("integration", "/api/v1/carrier-events", json=event).status_code == 201
    # The refund is made after the event's commit, then noted on the case in a transaction of
    # its own: wait for the case to say so (Stripe having been called is not enough).
    deadline = time.monotonic() + 10
    while True:
        moving: dict[str, Any] = api.get("agent", f"/api/v1/returns/{case['id']}").json()
        if moving["refunded_amount"] is not None or time.monotonic() > deadline:
            break
        time.sleep(0.05)
    assert moving["status"] == "in_transit"
    assert moving["refunded_amount"]["amount"] == PAID  # the money went back at drop-off
    api.post("warehouse", "/api/v1/warehouse/receipts", json={"code": case["rma"]})
    done = settled(api, case["id"])
    assert done["status"] == "refunded"
    assert len(local_stripe.refunds_made(intent)) == 1  # settled, not paid again


def test_the_sweep_refunds_what_no_trigger_reached(api: Api, local_stripe: LocalStripe) -> None:
    automatic(api, local_stripe, "on_receipt")
    case = api.open_return("buyer", api.return_payload(quantity=2))
    warehouse = Principal("staff", "w", Role.warehouse, case_store(api, case["id"]), "Dock")
    receive(api.container.uow, api.container.clock, warehouse, ReceiveParcel(case["rma"]))
    assert api.get("agent", f"/api/v1/returns/{case['id']}").json()["status"] == "inspected"
    swept = sweep_due_refunds(api.container.uow, api.container.clock, providers(api))
    assert swept.refunded == 1
    assert api.get("agent", f"/api/v1/returns/{case['id']}").json()["status"] == "refunded"
    assert sweep_due_refunds(api.container.uow, api.container.clock, providers(api)).checked == 0


def providers(api: Api) -> Any:
    return api.container.payment_providers()


def case_store(api: Api, case_id: str) -> str:
    return get_case(api.container.uow, SYSTEM, case_id).store_id


def test_a_stripe_refund_books_the_payment_fee_the_store_does_not_get_back(
    api: Api, local_stripe: LocalStripe
) -> None:
    document = {**POLICY, "economics": {"payment_fee_percent": 2.9}}
    case = inspected(api, local_stripe)
    assert api.put("admin", "/api/v1/policy", json={"document": document}).status_code == 200
    assert stripe_refund(api, case, "fee-1").status_code == 201
    costs = api.get("agent", f"/api/v1/returns/{case['id']}").json()["costs"]
    assert costs["payment_fees"] == {"amount": PAID * 290 // 10_000, "currency": "USD"}
    assert costs["net"]["amount"] == (
        costs["recovered"]["amount"] - PAID - costs["handling"]["amount"]
        - costs["return_shipping"]["amount"] - PAID * 290 // 10_000
    )  # fmt: skip
    assert "payment_fees" not in api.get("buyer", f"/api/v1/returns/{case['id']}").json()
