"""The returns API end to end: orders, opening returns, the lifecycle, the queue, sessions."""

from __future__ import annotations

import base64
import json
from concurrent.futures import ThreadPoolExecutor
from typing import TYPE_CHECKING, Any
from urllib.parse import quote

import httpx
from sqlalchemy import func, select

from returndesk.adapters.db.tables import case_events, idempotency_keys, return_cases
from returndesk.bootstrap import Container
from returndesk.domain.cases.status import CaseStatus
from returndesk.domain.policy.document import DEFAULT_DOCUMENT

if TYPE_CHECKING:  # tests/e2e/conftest.py, handed over by fixtures
    from conftest import Api, AppFactory


def count_rows(container: Container, table: Any) -> int:
    with container.engine.connect() as conn:
        return int(conn.execute(select(func.count()).select_from(table)).scalar_one())


def b64(value: object) -> str:
    return base64.urlsafe_b64encode(json.dumps(value).encode()).decode().rstrip("=")


# --- meta ------------------------------------------------------------------------------------


def test_health_openapi_and_docs(client: httpx.Client) -> None:
    health = client.get("/healthz")
    assert health.status_code == 200
    assert health.json() == {"status": "ok"}

    schema = client.get("/openapi.json")
    assert schema.status_code == 200
    assert schema.json()["info"]["title"] == "ReturnDesk"
    assert "/api/v1/returns" in schema.json()["paths"]

    docs = client.get("/docs")
    assert docs.status_code == 200
    assert "text/html" in docs.headers["content-type"]


def test_reasons_and_me(api: Api) -> None:
    reasons = api.get(None, "/api/v1/reasons")
    assert reasons.status_code == 200
    codes = [code for group in reasons.json()["groups"] for code in group["reasons"]]
    assert "wrong_size" in codes and "defective" in codes

    api.problem(api.get(None, "/api/v1/me"), 401, "unauthenticated")
    me = api.get("supervisor", "/api/v1/me").json()
    assert me["kind"] == "staff" and me["role"] == "supervisor" and me["store_id"]
    buyer = api.get("buyer", "/api/v1/me").json()
    assert buyer["kind"] == "buyer" and buyer["role"] == "buyer" and buyer["order_id"]


# --- orders ----------------------------------------------------------------------------------


def test_order_create_update_and_returnable_quantities(api: Api) -> None:
    now = api.container.clock()
    body = api.order_payload(now, number="5005", email="Cy@Example.org")
    created = api.put_order(body)
    assert created.status_code == 201, created.text
    order = created.json()
    assert order["number"] == "5005"
    assert order["email"] == "cy@example.org"  # normalized
    assert order["language"] == "en"  # from the market
    assert order["total_paid"] == {"amount": 54000, "currency": "USD"}
    assert order["delivered_at"] is not None

    again = api.put_order({**body, "buyer_name": "Cy Renamed"})
    assert again.status_code == 200, again.text
    assert again.json()["id"] == order["id"]
    assert again.json()["buyer_name"] == "Cy Renamed"

    read = api.get("agent", "/api/v1/orders/5005")
    assert read.status_code == 200
    lines = {line["sku"]: line for line in read.json()["lines"]}
    assert lines["SHIRT-M"]["returnable_quantity"] == 20
    assert lines["LAMP-1"]["returnable_quantity"] == 1
    assert lines["SHIRT-M"]["unit_price"] == {"amount": 2500, "currency": "USD"}
    assert lines["SHIRT-M"]["return_window_ends_at"] is not None
    assert lines["SHIRT-M"]["blocked_code"] is None

    api.open_return("agent", api.return_payload("5005", quantity=6))
    api.open_return("agent", api.return_payload("5005", sku="LAMP-1", reason="defective"))
    after = api.get("agent", "/api/v1/orders/5005").json()
    lines = {line["sku"]: line for line in after["lines"]}
    assert lines["SHIRT-M"]["returnable_quantity"] == 14
    assert lines["LAMP-1"]["returnable_quantity"] == 0
    assert lines["LAMP-1"]["blocked_code"] == "already_returned"
    assert len(after["returns"]) == 2

    # A line that is in a return cannot shrink below what is being returned.
    shrunk = {**body, "lines": [{**body["lines"][0], "quantity": 5, "paid_amount": 10000}]}
    api.problem(api.put_order(shrunk), 422, "line_in_return")
    assert api.get("agent", "/api/v1/orders/5005").json()["lines"] == after["lines"]


def test_every_accepted_order_number_can_be_read_back(api: Api) -> None:
    """Order numbers may hold '#', '.', '_', '-' and '/': whatever was stored is addressable."""
    now = api.container.clock()
    for number in ("#9001", "B-9.0_1", "SO/2024/0042"):
        created = api.put_order(api.order_payload(now, number=number))
        assert created.status_code == 201, created.text
        read = api.get("agent", "/api/v1/orders/" + quote(number, safe=""))
        assert read.status_code == 200, (number, read.text)
        assert read.json()["number"] == number


# --- opening returns, idempotency ------------------------------------------------------------


def test_buyer_opens_a_return(api: Api) -> None:
    response = api.post("buyer", "/api/v1/returns", json=api.return_payload(quantity=2))
    assert response.status_code == 201, response.text
    case = response.json()
    assert case["status"] == "requested"
    assert case["version"] == 1
    assert case["order_number"] == api.ORDER_NUMBER
    assert case["buyer_email"] == api.BUYER_EMAIL
    assert case["number"].startswith("R-")
    assert response.headers["etag"] == '"1"'
    assert response.headers["location"] == f"/api/v1/returns/{case['id']}"
    assert "idempotent-replayed" not in response.headers
    assert case["lines"][0]["refundable_amount"] == {"amount": 4500, "currency": "USD"}
    assert "approved" not in case["allowed_transitions"]
    assert case["allowed_transitions"] == ["canceled"]

    read = api.get("buyer", f"/api/v1/returns/{case['id']}")
    assert read.status_code == 200
    assert read.headers["etag"] == '"1"'
    assert read.json()["id"] == case["id"]
    staff_view = api.get("agent", f"/api/v1/returns/{case['id']}").json()
    assert "approved" in staff_view["allowed_transitions"]


def test_idempotency_key(api: Api) -> None:
    body = api.return_payload(quantity=2)
    key = {"Idempotency-Key": "order-1001-attempt-1"}
    first = api.post("buyer", "/api/v1/returns", json=body, headers=key)
    assert first.status_code == 201, first.text
    assert "idempotent-replayed" not in first.headers

    replay = api.post("buyer", "/api/v1/returns", json=body, headers=key)
    assert replay.status_code in (200, 201), replay.text
    assert replay.headers["idempotent-replayed"] == "true"
    assert replay.json()["id"] == first.json()["id"]
    assert replay.headers["etag"] == first.headers["etag"]
    assert count_rows(api.container, return_cases) == 1
    assert count_rows(api.container, idempotency_keys) == 1

    other_body = api.return_payload(quantity=3)
    api.problem(
        api.post("buyer", "/api/v1/returns", json=other_body, headers=key),
        409,
        "idempotency_key_reused",
    )
    assert count_rows(api.container, return_cases) == 1

    # Another key is another request; the same key from someone else is theirs alone.
    second = api.post("buyer", "/api/v1/returns", json=body, headers={"Idempotency-Key": "k-2"})
    assert second.status_code == 201
    assert second.json()["id"] != first.json()["id"]
    by_agent = api.post("agent", "/api/v1/returns", json=body, headers=key)
    assert by_agent.status_code == 201
    assert by_agent.json()["id"] not in (first.json()["id"], second.json()["id"])
    assert "idempotent-replayed" not in by_agent.headers
    assert count_rows(api.container, return_cases) == 3


def test_open_return_refusals(api: Api, row_counts: Any) -> None:
    before = row_counts()
    api.problem(
        api.post("buyer", "/api/v1/returns", json=api.return_payload(sku="NOPE")),
        422,
        "unknown_sku",
    )
    api.problem(
        api.post("buyer", "/api/v1/returns", json=api.return_payload(quantity=21)),
        422,
        "quantity_exceeds_purchased",
    )
    api.problem(
        api.post("buyer", "/api/v1/returns", json=api.return_payload(order_number="404404")),
        404,
        "order_not_found",
    )
    twice = api.return_payload()
    twice["lines"] = twice["lines"] * 2
    api.problem(api.post("buyer", "/api/v1/returns", json=twice), 422, "duplicate_sku")
    assert row_counts() == before


def save_policy(api: Api, **sections: Any) -> dict[str, Any]:
    response = api.put(
        "admin", "/api/v1/policy", json={"document": {**DEFAULT_DOCUMENT, **sections}}
    )
    assert response.status_code == 200, response.text
    saved: dict[str, Any] = response.json()
    return saved


def test_policy_windows_and_final_sale(api: Api, clock: Any) -> None:
    """What the store's policy says decides what can be returned, and why not (US: no statute)."""
    saved = save_policy(
        api,
        windows={"change_of_mind_days": 30, "fault_days": 365},
        categories={"final_sale": ["home"], "non_returnable": []},
    )
    assert saved["version"] == 1
    assert saved["document"]["categories"]["final_sale"] == ["home"]
    lamp = api.get("buyer", f"/api/v1/orders/{api.ORDER_NUMBER}").json()["lines"][1]
    assert (lamp["sku"], lamp["final_sale"]) == ("LAMP-1", True)
    final = api.return_payload(sku="LAMP-1", reason="changed_mind")
    refused = api.problem(api.post("buyer", "/api/v1/returns", json=final), 422, "final_sale")
    assert refused["sku"] == "LAMP-1"
    assert count_rows(api.container, return_cases) == 0  # a declined return is not filed

    clock.advance(days=31)  # the order was delivered a day before the test began
    api.refresh_tokens()
    late = api.return_payload(reason="changed_mind")
    api.problem(api.post("buyer", "/api/v1/returns", json=late), 422, "window_ended")
    # Faults have a longer window, and final sale does not bar them.
    api.open_return("buyer", api.return_payload(reason="defective"))
    api.open_return("buyer", api.return_payload(sku="LAMP-1", reason="defective"))

    clock.advance(days=365)
    api.refresh_tokens()
    line = api.get("buyer", f"/api/v1/orders/{api.ORDER_NUMBER}").json()["lines"][0]
    assert line["blocked_code"] == "window_ended"
    faulty = api.return_payload(reason="defective")
    api.problem(api.post("buyer", "/api/v1/returns", json=faulty), 422, "window_ended")


def test_the_statutory_floor_outlasts_a_short_store_window(api: Api, clock: Any) -> None:
    """Changed with the policy engine: EU buyers may withdraw for 14 days, UK faults have 30."""
    save_policy(
        api,
        windows={"change_of_mind_days": 7, "fault_days": 10},
        categories={"final_sale": ["home"], "non_returnable": []},
    )
    now = clock()
    for number, market, currency in (("DE-1", "DE", "EUR"), ("GB-1", "GB", "GBP")):
        created = api.put_order(
            api.order_payload(now, number=number, market=market, currency=currency)
        )
        assert created.status_code == 201, created.text
    clock.advance(days=12)  # 13 days after delivery
    api.refresh_tokens()
    us = api.return_payload(reason="changed_mind")
    api.problem(api.post("agent", "/api/v1/returns", json=us), 422, "window_ended")
    eu = api.open_return("agent", api.return_payload("DE-1", reason="changed_mind"))
    assert eu["decision"]["rights"] == {"SHIRT-M": "withdrawal"}
    assert "Directive 2011/83/EU Art. 9" in eu["decision"]["legal_basis"]
    # Final sale gives way to the withdrawal right as well, while it lasts.
    lamp = api.get("agent", "/api/v1/orders/DE-1").json()["lines"][1]
    assert lamp["final_sale"] is False
    api.open_return("agent", api.return_payload("DE-1", sku="LAMP-1", reason="changed_mind"))

    uk_fault = api.open_return("agent", api.return_payload("GB-1", reason="defective"))
    assert uk_fault["decision"]["rights"] == {"SHIRT-M": "statutory_fault"}
    api.problem(
        api.post("agent", "/api/v1/returns", json=api.return_payload(reason="defective")),
        422,
        "window_ended",
    )

    clock.advance(days=20)  # 33 days after delivery: past every floor but the EU's fault right
    api.refresh_tokens()
    for number in ("DE-1", "GB-1"):
        late = api.return_payload(number, quantity=1, reason="changed_mind")
        late["lines"][0]["quantity"] = 1
        api.problem(api.post("agent", "/api/v1/returns", json=late), 422, "window_ended")
    api.problem(
        api.post("agent", "/api/v1/returns", json=api.return_payload("GB-1", reason="defective")),
        422,
        "window_ended",
    )
    eu_fault = api.open_return("agent", api.return_payload("DE-1", reason="defective"))
    assert eu_fault["decision"]["rights"] == {"SHIRT-M": "statutory_fault"}


def test_each_case_records_the_decision_and_buyers_see_less_of_it(api: Api) -> None:
    case = api.open_return("buyer", api.return_payload(quantity=2))
    # The default policy only suggests: the case waits for a person.
    assert case["status"] == "requested"
    staff = api.get("agent", f"/api/v1/returns/{case['id']}").json()["decision"]
    assert staff["outcome"] == "approve_return"
    assert staff["policy_version"] == 0
    assert staff["responsibility"] == "buyer"
    assert staff["refund"]["amount"] == 4500
    assert [r["code"] for r in staff["reasons"]] == ["store_window"]
    buyer = api.get("buyer", f"/api/v1/returns/{case['id']}").json()["decision"]
    assert set(buyer) == {
        "outcome",
        "decline_reason",
        "refund",
        "return_shipping_paid_by",
        "evidence_requested",
        "legal_basis",
        "return_address",
    }
    assert {key: staff[key] for key in buyer} == buyer
    timeline = api.get("agent", f"/api/v1/returns/{case['id']}/timeline").json()["items"]
    assert [e["kind"] for e in timeline] == ["case_opened", "decision_made"]
    assert timeline[1]["actor"]["kind"] == "system"
    assert timeline[1]["data"] == staff


def test_automation_moves_new_cases_on_by_the_decision(api: Api) -> None:
    save_policy(api, automation={"apply": True})
    approved = api.open_return("buyer", api.return_payload(quantity=2))
    assert approved["decision"]["outcome"] == "approve_return"
    # Opened and moved on in one write: still the case's first version.
    assert (approved["status"], approved["version"]) == ("awaiting_return", 1)
    timeline = api.get("agent", f"/api/v1/returns/{approved['id']}/timeline").json()["items"]
    assert [(e["kind"], e["to_status"]) for e in timeline] == [
        ("case_opened", "requested"),
        ("decision_made", None),
        ("status_changed", "approved"),
        ("status_changed", "awaiting_return"),
    ]
    assert timeline[2]["actor"]["kind"] == "system"
    assert "policy version 1" in timeline[2]["note"]
    api.moved("warehouse", approved, "in_transit", note="UPS scan")

    save_policy(api, automation={"apply": True}, evidence={"by_reason": {"defective": "photo"}})
    evidence = api.open_return("buyer", api.return_payload(reason="defective"))
    assert evidence["decision"]["outcome"] == "request_evidence"
    assert evidence["decision"]["evidence_requested"] == "photo"
    assert evidence["status"] == "needs_evidence"

    exchange = api.open_return("buyer", api.return_payload(resolution="exchange"))
    assert exchange["decision"]["outcome"] == "offer_exchange"
    assert exchange["status"] == "awaiting_return"


# --- the lifecycle ---------------------------------------------------------------------------


def test_transition_preconditions_and_refusals(api: Api) -> None:
    case = api.open_return("buyer", api.return_payload(quantity=2))
    path = f"/api/v1/returns/{case['id']}/transitions"

    missing = api.post("agent", path, json={"to": "approved"})
    api.problem(missing, 428, "precondition_required")
    stale = api.post("agent", path, json={"to": "approved"}, headers={"If-Match": '"7"'})
    assert api.problem(stale, 412, "version_mismatch")["current_version"] == 1
    api.problem(
        api.post("agent", path, json={"to": "approved"}, headers={"If-Match": "yesterday"}),
        400,
        "invalid_if_match",
    )
    illegal = api.problem(api.move("agent", case, "closed"), 409, "invalid_transition")
    assert illegal["from"] == "requested" and illegal["to"] == "closed"
    api.problem(api.move("agent", case, "declined"), 422, "note_required")
    api.problem(api.move("agent", case, "declined", note="   "), 422, "note_required")
    api.problem(api.move("buyer", case, "approved"), 403, "transition_not_permitted")
    api.problem(api.move("warehouse", case, "approved"), 403, "transition_not_permitted")
    api.problem(api.move("agent", case, "approved", refund_amount=100), 422, "unexpected_refund")
    api.problem(
        api.move("agent", case, "approved", lines=[{"sku": "SHIRT-M", "quantity": 1}]),
        422,
        "unexpected_receipt",
    )

    # None of that changed the case.
    read = api.get("agent", f"/api/v1/returns/{case['id']}")
    assert read.json()["status"] == "requested"
    assert read.json()["version"] == 1
    assert read.headers["etag"] == '"1"'
    timeline = api.get("agent", f"/api/v1/returns/{case['id']}/timeline").json()["items"]
    assert [e["kind"] for e in timeline] == ["case_opened", "decision_made"]

    # A weak or bare ETag is accepted too.
    moved = api.post("agent", path, json={"to": "under_review"}, headers={"If-Match": 'W/"1"'})
    assert moved.status_code == 200, moved.text
    assert moved.json()["version"] == 2
    # The old version is stale now.
    api.problem(api.move("agent", case, "approved"), 412, "version_mismatch")


def test_buyer_cancels_their_own_request(api: Api) -> None:
    case = api.open_return("buyer", api.return_payload(quantity=20))
    order = api.get("buyer", f"/api/v1/orders/{api.ORDER_NUMBER}").json()
    assert order["lines"][0]["returnable_quantity"] == 0

    canceled = api.moved("buyer", case, "canceled")
    assert canceled["allowed_transitions"] == []
    event = canceled["event"]
    assert event["actor"]["kind"] == "buyer" and event["actor"]["role"] == "buyer"
    assert event["from_status"] == "requested" and event["to_status"] == "canceled"
    # The units are free again.
    order = api.get("buyer", f"/api/v1/orders/{api.ORDER_NUMBER}").json()
    assert order["lines"][0]["returnable_quantity"] == 20
    # Nothing moves a canceled case.
    api.problem(api.move("admin", canceled, "requested"), 409, "invalid_transition")
    # Staff canceling for a buyer must say why.
    other = api.open_return("agent", api.return_payload(quantity=1))
    api.problem(api.move("agent", other, "canceled"), 422, "note_required")
    api.moved("agent", other, "canceled", note="buyer phoned to withdraw")


def test_full_lifecycle_with_timeline(api: Api, clock: Any) -> None:
    case = api.open_return("buyer", api.return_payload(quantity=3))
    assert case["refundable_total"] == {"amount": 6750, "currency": "USD"}
    steps: list[tuple[str, str, dict[str, Any]]] = [
        ("agent", "approved", {"note": "looks fine"}),
        ("agent", "awaiting_return", {}),
        ("warehouse", "in_transit", {"note": "UPS scan"}),
        ("warehouse", "partially_received", {"lines": [{"sku": "SHIRT-M", "quantity": 1}]}),
        ("warehouse", "received", {}),
        ("warehouse", "inspected", {"note": "all three intact"}),
    ]
    times = [clock(), clock()]  # opened and decided at once
    for who, to, body in steps:
        clock.advance(minutes=10)
        times.append(clock())
        case = api.moved(who, case, to, **body)
        assert case["event"]["at"] == clock().isoformat()
        assert case["updated_at"] == clock().isoformat()

    assert case["lines"][0]["received_quantity"] == 3
    assert case["lines"][0]["condition"] == "intact"
    too_much = api.problem(
        api.move("agent", case, "refund_pending", refund_amount=6751), 422, "refund_exceeds_paid"
    )
    assert too_much["maximum"] == 6750 and too_much["requested"] == 6751
    clock.advance(minutes=10)
    times.append(clock())
    case = api.moved("agent", case, "refund_pending", refund_amount=5000, note="kept the tags")
    assert case["refund_amount"] == {"amount": 5000, "currency": "USD"}
    assert case["event"]["data"] == {"refund_amount": 5000, "currency": "USD"}
    for who, to in (("agent", "refunded"), ("supervisor", "closed")):
        clock.advance(minutes=10)
        times.append(clock())
        case = api.moved(who, case, to)
    assert case["refunded_amount"] == {"amount": 5000, "currency": "USD"}
    assert case["version"] == 10
    assert case["allowed_transitions"] == []

    read = api.get("buyer", f"/api/v1/returns/{case['id']}")
    assert read.headers["etag"] == '"10"'
    assert read.json()["status"] == "closed"

    timeline = api.get("buyer", f"/api/v1/returns/{case['id']}/timeline")
    assert timeline.status_code == 200
    items = timeline.json()["items"]
    expected = [
        (None, "requested", "buyer", ""),
        (None, None, None, ""),  # decision_made, by the system
        ("requested", "approved", "agent", "looks fine"),
        ("approved", "awaiting_return", "agent", ""),
        ("awaiting_return", "in_transit", "warehouse", "UPS scan"),
        ("in_transit", "partially_received", "warehouse", ""),
        ("partially_received", "received", "warehouse", ""),
        ("received", "inspected", "warehouse", "all three intact"),
        ("inspected", "refund_pending", "agent", "kept the tags"),
        ("refund_pending", "refunded", "agent", ""),
        ("refunded", "closed", "supervisor", ""),
    ]
    assert [
        (e["from_status"], e["to_status"], e["actor"]["role"], e["note"]) for e in items
    ] == expected
    assert [e["at"] for e in items] == [t.isoformat() for t in times]
    assert [e["kind"] for e in items[:2]] == ["case_opened", "decision_made"]
    assert all(e["kind"] == "status_changed" for e in items[2:])
    assert items[1]["actor"]["kind"] == "system"
    assert items[2]["actor"]["name"] == "agent person" and items[2]["actor"]["kind"] == "staff"
    assert items[5]["data"]["received"] == [
        {"sku": "SHIRT-M", "quantity": 1, "condition": "intact"}
    ]
    assert items[6]["data"]["received"] == [
        {"sku": "SHIRT-M", "quantity": 2, "condition": "intact"}
    ]
    assert count_rows(api.container, case_events) == 11


def test_partial_receipt_bounds_the_refund(api: Api) -> None:
    case = api.open_return("agent", api.return_payload(quantity=4))
    for to in ("approved", "awaiting_return"):
        case = api.moved("agent", case, to)
    api.problem(api.move("warehouse", case, "partially_received"), 422, "receipt_required")
    api.problem(
        api.move("warehouse", case, "received", lines=[{"sku": "SHIRT-M", "quantity": 1}]),
        422,
        "receipt_incomplete",
    )
    api.problem(
        api.move(
            "warehouse", case, "partially_received", lines=[{"sku": "SHIRT-M", "quantity": 5}]
        ),
        422,
        "quantity_exceeds_returned",
    )
    api.problem(
        api.move("warehouse", case, "partially_received", lines=[{"sku": "LAMP-1", "quantity": 1}]),
        422,
        "unknown_sku",
    )
    case = api.moved(
        "warehouse",
        case,
        "partially_received",
        lines=[{"sku": "SHIRT-M", "quantity": 2, "condition": "damaged"}],
    )
    api.problem(api.move("warehouse", case, "inspected"), 422, "note_required")
    case = api.moved("warehouse", case, "inspected", note="two of four came back, one torn")
    # Only what arrived can be refunded: 2 of 4 units of 2250 each.
    api.problem(
        api.move("agent", case, "refund_pending", refund_amount=4501), 422, "refund_exceeds_paid"
    )
    # Refunding the whole bound despite a receipt problem needs a note.
    api.problem(api.move("agent", case, "refund_pending"), 422, "note_required")
    case = api.moved("agent", case, "refund_pending", note="full refund for what arrived")
    assert case["refund_amount"] == {"amount": 4500, "currency": "USD"}


# --- the queue -------------------------------------------------------------------------------


def test_queue_filters_sorting_and_pagination(api: Api, clock: Any) -> None:
    now = clock()
    for number, email, market in (
        ("3003", "dora@example.de", "DE"),
        ("4004", "eri@example.jp", "JP"),
    ):
        response = api.put_order(
            api.order_payload(
                now,
                number=number,
                email=email,
                market=market,
                currency="EUR" if market == "DE" else "JPY",
            )
        )
        assert response.status_code == 201, response.text
    old = [
        api.open_return("agent", api.return_payload("1001")),
        api.open_return("agent", api.return_payload("3003")),
    ]
    clock.advance(days=10)
    api.refresh_tokens()  # the old ones expired ten days ago
    new = [
        api.open_return("agent", api.return_payload("4004")),
        api.open_return("agent", api.return_payload("1001", sku="LAMP-1", reason="defective")),
        api.open_return("agent", api.return_payload("3003", quantity=2)),
    ]
    clock.advance(minutes=1)
    reviewed = api.moved("agent", old[1], "under_review")
    every = {c["id"] for c in old + new}

    def ids(**params: Any) -> list[str]:
        response = api.get("agent", "/api/v1/returns", params=params)
        assert response.status_code == 200, response.text
        assert response.json()["next_cursor"] is None
        return [item["id"] for item in response.json()["items"]]

    assert set(ids()) == every
    assert set(ids(status=["requested", "under_review"])) == every
    assert ids(status="under_review") == [reviewed["id"]]
    assert set(ids(status="requested")) == every - {reviewed["id"]}
    assert ids(status="closed") == []
    assert set(ids(market="DE")) == {old[1]["id"], new[2]["id"]}
    assert set(ids(market="de")) == {old[1]["id"], new[2]["id"]}
    assert ids(language="ja") == [new[0]["id"]]
    assert set(ids(language="de", status="requested")) == {new[2]["id"]}
    assert ids(q=new[0]["number"]) == [new[0]["id"]]
    assert ids(q=new[0]["number"].lower()) == [new[0]["id"]]
    assert set(ids(q="3003")) == {old[1]["id"], new[2]["id"]}
    assert set(ids(q="#3003")) == {old[1]["id"], new[2]["id"]}
    assert set(ids(q="DORA@example.de")) == {old[1]["id"], new[2]["id"]}
    assert ids(q="nobody@example.com") == []
    assert set(ids(min_age_days=5)) == {c["id"] for c in old}
    assert set(ids(max_age_days=5)) == {c["id"] for c in new}
    assert ids(min_age_days=5, max_age_days=20, market="US") == [old[0]["id"]]

    # Sorting: oldest first, newest first, and by last change.
    oldest_first = ids(sort="created_at")
    assert set(oldest_first[:2]) == {c["id"] for c in old}
    newest_first = ids(sort="-created_at")
    assert newest_first == list(reversed(oldest_first))
    assert ids(sort="-updated_at")[0] == reviewed["id"]
    api.problem(api.get("agent", "/api/v1/returns", params={"sort": "number"}), 422)

    # The cursor walks every case exactly once, in the same order, for every sort.
    for sort in ("created_at", "-created_at", "updated_at", "-updated_at"):
        seen: list[str] = []
        cursor: str | None = None
        pages = 0
        while True:
            params: dict[str, Any] = {"limit": 2, "sort": sort}
            if cursor:
                params["cursor"] = cursor
            page = api.get("agent", "/api/v1/returns", params=params)
            assert page.status_code == 200, page.text
            items = page.json()["items"]
            assert len(items) <= 2
            seen += [item["id"] for item in items]
            pages += 1
            cursor = page.json()["next_cursor"]
            if cursor is None:
                break
        assert len(seen) == len(set(seen)) == 5, sort
        assert set(seen) == every
        assert seen == ids(sort=sort), sort
        assert pages == 3

    # Summaries carry what the queue shows.
    summary = next(
        i for i in api.get("agent", "/api/v1/returns").json()["items"] if i["id"] == new[2]["id"]
    )
    assert summary["market"] == "DE" and summary["language"] == "de"
    assert summary["line_count"] == 1
    assert summary["refundable_total"] == {"amount": 4500, "currency": "EUR"}

    counts = api.get("supervisor", "/api/v1/returns/counts")
    assert counts.status_code == 200
    expected = dict.fromkeys((s.value for s in CaseStatus), 0)
    expected.update(requested=4, under_review=1)
    assert counts.json() == {"counts": expected}


def test_invalid_cursors(api: Api) -> None:
    api.open_return("agent", api.return_payload())
    bad = [
        "not-a-cursor!",
        "%%%",
        b64({"a": 1}),
        b64(["yesterday", "x"]),
        b64([1, 2]),
        b64(["2024-01-01T00:00:00+00:00", "x", "y"]),
        base64.urlsafe_b64encode(b"\xff\xfe\x00").decode(),
        # A timestamp without a zone is not one of ours (ours always carry +00:00).
        b64(["2024-01-01T00:00:00", "0190f4a2-0000-7000-8000-000000000000"]),
        # Out of range once moved to UTC.
        b64(["9999-12-31T23:59:59-12:00", "0190f4a2-0000-7000-8000-000000000000"]),
        b64(["0001-01-01T00:00:00+12:00", "0190f4a2-0000-7000-8000-000000000000"]),
    ]
    answers = {  # each on its own connection, so one failure cannot spoil the next
        cursor: api.get(
            "agent", "/api/v1/returns", params={"cursor": cursor}, headers={"Connection": "close"}
        )
        for cursor in bad
    }
    wrong = {
        base64.urlsafe_b64decode(c + "=" * (-len(c) % 4)): r.status_code
        for c, r in answers.items()
        if r.status_code != 422
    }
    assert wrong == {}, "cursors not refused as invalid_cursor"
    for response in answers.values():
        api.problem(response, 422, "invalid_cursor")


# --- buyer sessions, rate limits -------------------------------------------------------------


def test_buyer_session_does_not_reveal_orders(api: Api) -> None:
    path = "/api/v1/buyer/session"
    good = api.post(None, path, json={"order_number": "#1001", "email": "  ANA@example.com "})
    assert good.status_code == 200, good.text
    assert good.json()["token_type"] == "bearer"
    assert good.json()["expires_in"] > 0

    wrong_email = api.post(None, path, json={"order_number": "1001", "email": "eve@example.com"})
    unknown_order = api.post(None, path, json={"order_number": "9999", "email": "ana@example.com"})
    bad_email = api.post(None, path, json={"order_number": "1001", "email": "not an email"})
    for response in (wrong_email, unknown_order, bad_email):
        api.problem(response, 401, "invalid_order_credentials")
        assert response.headers["www-authenticate"] == "Bearer"
    assert wrong_email.content == unknown_order.content == bad_email.content

    wrong_password = api.post(
        None, "/api/v1/auth/token", json={"email": api.credentials["agent"], "password": "nope"}
    )
    unknown_staff = api.post(
        None, "/api/v1/auth/token", json={"email": "who@shop.example", "password": "nope"}
    )
    api.problem(wrong_password, 401, "invalid_credentials")
    assert wrong_password.content == unknown_staff.content


def test_buyer_session_rate_limit(start_app: AppFactory) -> None:
    server, _ = start_app(buyer_session_rate="3/minute")
    path = "/api/v1/buyer/session"
    with httpx.Client(base_url=server.url, timeout=60) as http:
        statuses = []
        for attempt in range(3):
            wrong = {"order_number": f"77{attempt}", "email": "x@example.com"}
            response = http.post(path, json=wrong)
            statuses.append(response.status_code)
            assert response.json()["code"] == "invalid_order_credentials"
        assert statuses == [401, 401, 401]
        limited = http.post(path, json={"order_number": "773", "email": "x@example.com"})
        assert limited.status_code == 429, limited.text
        assert limited.headers["content-type"].startswith("application/problem+json")
        assert limited.json()["code"] == "rate_limited"
        assert limited.json()["status"] == 429
        assert int(limited.headers["retry-after"]) > 0
        # Staff log-in keeps its own budget.
        staff = http.post("/api/v1/auth/token", json={"email": "a@b.example", "password": "x"})
        assert staff.status_code == 401


# --- concurrency -----------------------------------------------------------------------------


def test_concurrent_requests_keep_their_promises(api: Api) -> None:
    """Eight identical keyed requests open one case; eight moves from one version: one wins."""
    body = api.return_payload(quantity=2)
    headers = {**api.auth("buyer"), "Idempotency-Key": "tap-tap-tap"}

    def post(_: int) -> httpx.Response:
        return api.client.post("/api/v1/returns", json=body, headers=headers)

    with ThreadPoolExecutor(8) as pool:
        opened = list(pool.map(post, range(8)))
    assert all(r.status_code in (200, 201) for r in opened), [r.text for r in opened]
    assert len({r.json()["id"] for r in opened}) == 1
    assert count_rows(api.container, return_cases) == 1
    case = opened[0].json()

    def move(_: int) -> httpx.Response:
        return api.client.post(
            f"/api/v1/returns/{case['id']}/transitions",
            json={"to": "under_review"},
            headers={**api.auth("agent"), "If-Match": '"1"'},
        )

    with ThreadPoolExecutor(8) as pool:
        moved = list(pool.map(move, range(8)))
    assert sorted(r.status_code for r in moved) == [200] + [412] * 7, [r.text for r in moved]
    for response in moved:
        if response.status_code == 412:
            api.problem(response, 412, "version_mismatch")
    read = api.get("agent", f"/api/v1/returns/{case['id']}").json()
    assert (read["status"], read["version"]) == ("under_review", 2)
    assert count_rows(api.container, case_events) == 3  # case_opened, decision_made, the move


# --- buyers as they come ---------------------------------------------------------------------


def test_buyer_with_a_long_email_and_no_name_can_open_a_return(api: Api) -> None:
    """Emails may have up to 320 characters; the buyer's name then defaults to the email."""
    email = "a" * 64 + "@" + "b" * 200 + ".example"
    order = api.order_payload(api.container.clock(), number="6006", email=email, buyer_name="")
    assert api.put_order(order).status_code == 201
    token = api.buyer_token("6006", email)
    response = api.client.post(
        "/api/v1/returns",
        json=api.return_payload("6006"),
        headers={"Authorization": f"Bearer {token}"},
    )
    assert response.status_code == 201, response.text
    case = response.json()
    timeline = api.get("agent", f"/api/v1/returns/{case['id']}/timeline").json()["items"]
    assert timeline[0]["actor"]["kind"] == "buyer"
    assert timeline[0]["actor"]["name"]
    moved = api.client.post(
        f"/api/v1/returns/{case['id']}/transitions",
        json={"to": "canceled"},
        headers={"Authorization": f"Bearer {token}", "If-Match": '"1"'},
    )
    assert moved.status_code == 200, moved.text
