"""Return labels, warehouse receiving and manual refunds over the API, on SQLite and PostgreSQL.

The label PDF is rendered with poppler (`pdftoppm`) and its barcodes read back with zbar
(`zbarimg`): both must give the case's RMA. Stripe refunds are in test_refunds_stripe.py."""

from __future__ import annotations

import subprocess
from datetime import timedelta
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pytest

from returndesk.domain.notifications import Section, plan_email
from returndesk.services.return_window import sweep_unsent

if TYPE_CHECKING:
    from conftest import Api

POLICY: dict[str, Any] = {
    "schema": 1,
    "automation": {"apply": True},
    "windows": {"change_of_mind_days": 30, "fault_days": 365},
    "return_addresses": [
        {
            "markets": ["US"],
            "name": "US returns partner",
            "lines": ["400 Commerce Way", "Reno, NV 89502", "USA"],
            "local": True,
        },
        {
            "markets": [],
            "name": "Origin warehouse",
            "lines": ["18 Industrial Road", "Shenzhen 518000", "China"],
            "local": False,
        },
    ],
}


@pytest.fixture
def api(api: Api) -> Api:
    """The shared api, with a policy that approves on its own and names return addresses."""
    saved = api.put("admin", "/api/v1/policy", json={"document": POLICY})
    assert saved.status_code == 200, saved.text
    return api


def awaiting(api: Api, quantity: int = 2, sku: str = "SHIRT-M") -> dict[str, Any]:
    case = api.open_return("buyer", api.return_payload(sku=sku, quantity=quantity))
    assert case["status"] == "awaiting_return", case
    return case


def decode(pdf: bytes, tmp_path: Path) -> list[str]:
    """Every barcode zbar reads on the rendered page, as 'TYPE:value'."""
    (tmp_path / "label.pdf").write_bytes(pdf)
    subprocess.run(
        ["pdftoppm", "-r", "150", "-png", "-singlefile", "label.pdf", "page"],
        cwd=tmp_path,
        check=True,
        timeout=60,
    )
    found = subprocess.run(
        ["zbarimg", "--quiet", str(tmp_path / "page.png")],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    return sorted(found.stdout.split())


def pdf_text(pdf: bytes, tmp_path: Path) -> str:
    (tmp_path / "text.pdf").write_bytes(pdf)
    done = subprocess.run(
        ["pdftotext", "-layout", "text.pdf", "-"],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        check=True,
        timeout=60,
    )
    return done.stdout


def test_the_label_encodes_the_rma_as_code128_and_qr(api: Api, tmp_path: Path) -> None:
    case = awaiting(api)
    assert (case["rma"], case["return_method"]) == (case["number"], "local")
    assert case["label_url"] == f"/api/v1/returns/{case['id']}/label.pdf"
    response = api.get("buyer", case["label_url"])
    assert response.status_code == 200, response.text
    assert response.headers["content-type"] == "application/pdf"
    assert response.content.startswith(b"%PDF-")
    assert decode(response.content, tmp_path) == [
        f"CODE-128:{case['rma']}",
        f"QR-Code:{case['rma']}",
    ]
    text = pdf_text(response.content, tmp_path)
    for words in ("Return label", "US returns partner", "400 Commerce Way", "Linen shirt", "1001"):
        assert words in text, (words, text)
    assert api.get("warehouse", case["label_url"]).status_code == 200  # staff too


def test_a_label_in_the_buyers_language_and_script(api: Api, tmp_path: Path) -> None:
    now = api.container.clock()
    body = api.order_payload(
        now, number="JP-7", email="yui@example.jp", market="JP", currency="JPY"
    )
    body["buyer_name"] = "山田 由衣"
    for line in body["lines"]:
        line["title"] = "リネンシャツ" if line["sku"] == "SHIRT-M" else "デスクランプ"
    assert api.put_order(body).status_code == 201
    buyer = api.buyer_token("JP-7", "yui@example.jp")
    made = api.client.post(
        "/api/v1/returns",
        json=api.return_payload(order_number="JP-7"),
        headers={"Authorization": f"Bearer {buyer}"},
    )
    assert made.status_code == 201, made.text
    case = made.json()
    assert case["return_method"] == "origin"  # no address in Japan: back to the origin
    pdf = api.client.get(case["label_url"], headers={"Authorization": f"Bearer {buyer}"})
    assert pdf.status_code == 200
    assert decode(pdf.content, tmp_path) == [f"CODE-128:{case['rma']}", f"QR-Code:{case['rma']}"]
    text = pdf_text(pdf.content, tmp_path)
    assert "返品ラベル" in text and "リネンシャツ" in text and "Origin warehouse" in text, text


def test_no_label_without_a_parcel_to_send_nor_for_someone_else(api: Api) -> None:
    case = awaiting(api)
    other = api.order_payload(api.container.clock(), number="2002", email="bo@example.net")
    assert api.put_order(other).status_code == 201
    stranger = api.buyer_token("2002", "bo@example.net")
    refused = api.client.get(case["label_url"], headers={"Authorization": f"Bearer {stranger}"})
    api.problem(refused, 404)
    api.problem(api.get(None, case["label_url"]), 401)
    withdrawn = api.moved("buyer", case, "canceled")
    assert (withdrawn["label_url"], withdrawn["return_method"]) == (None, None)
    api.problem(api.get("buyer", case["label_url"]), 409, "no_label")


def test_a_scan_receives_grades_and_restocks(api: Api) -> None:
    case = awaiting(api, quantity=2)
    lookup = api.get("warehouse", f"/api/v1/warehouse/lookup?code={case['rma'].lower()}%0A")
    assert lookup.status_code == 200, lookup.text
    assert lookup.json()["id"] == case["id"]
    body = {
        "code": case["rma"],
        "warehouse": "reno-1",
        "lines": [
            {"sku": "SHIRT-M", "quantity": 1, "grade": "resellable"},
            {"sku": "SHIRT-M", "quantity": 1, "grade": "damaged", "disposition": "liquidate"},
        ],
    }
    response = api.post("warehouse", "/api/v1/warehouse/receipts", json=body)
    assert response.status_code == 201, response.text
    done = response.json()
    assert done["case"]["status"] == "inspected"
    assert done["refund_held"] is False
    assert done["case"]["lines"][0]["received_quantity"] == 2
    assert done["case"]["lines"][0]["condition"] == "damaged"  # the worst of the two
    assert [(ln["grade"], ln["disposition"]) for ln in done["receipt"]["lines"]] == [
        ("resellable", "restock"),
        ("damaged", "liquidate"),
    ]
    restock = api.get("warehouse", "/api/v1/warehouse/restock").json()["items"]
    assert restock == [{"warehouse": "reno-1", "sku": "SHIRT-M", "quantity": 1}]
    staff = api.get("agent", f"/api/v1/returns/{case['id']}").json()
    assert staff["receipts"][0]["warehouse"] == "reno-1"
    assert "receipts" not in api.get("buyer", f"/api/v1/returns/{case['id']}").json()
    timeline = api.get("agent", f"/api/v1/returns/{case['id']}/timeline").json()["items"]
    assert [e["to_status"] for e in timeline if e["kind"] == "status_changed"][-2:] == [
        "received",
        "inspected",
    ]
    # The same parcel scanned again books nothing.
    again = api.post("warehouse", "/api/v1/warehouse/receipts", json={"code": case["rma"]})
    api.problem(again, 409, "not_expecting_parcel")
    assert api.get("warehouse", "/api/v1/warehouse/restock").json()["items"] == restock


def test_a_partial_parcel_then_the_rest(api: Api) -> None:
    case = awaiting(api, quantity=3)
    first = api.post(
        "warehouse",
        "/api/v1/warehouse/receipts",
        json={"code": case["rma"], "lines": [{"sku": "SHIRT-M", "quantity": 1}]},
    )
    assert first.json()["case"]["status"] == "partially_received", first.text
    rest = api.post("warehouse", "/api/v1/warehouse/receipts", json={"code": case["rma"]})
    assert rest.status_code == 201, rest.text
    assert rest.json()["case"]["status"] == "inspected"
    assert rest.json()["receipt"]["lines"] == [
        {"sku": "SHIRT-M", "quantity": 2, "grade": "resellable", "disposition": "restock"}
    ]
    restock = api.get("warehouse", "/api/v1/warehouse/restock?warehouse=main").json()["items"]
    assert restock == [{"warehouse": "main", "sku": "SHIRT-M", "quantity": 3}]


def test_a_counterfeit_grade_holds_the_refund_for_review(api: Api) -> None:
    case = awaiting(api, quantity=1)
    body = {
        "code": case["rma"],
        "lines": [{"sku": "SHIRT-M", "quantity": 1, "grade": "counterfeit_suspected"}],
    }
    done = api.post("warehouse", "/api/v1/warehouse/receipts", json=body).json()
    assert done["refund_held"] is True
    assert done["case"]["status"] == "escalated"
    assert done["receipt"]["lines"][0]["disposition"] == "hold"
    refused = api.post(
        "agent",
        f"/api/v1/returns/{case['id']}/refunds",
        json={"mode": "manual", "reference": "bank-1"},
        headers={"Idempotency-Key": "held-1"},
    )
    api.problem(refused, 409, "refund_held")
    assert api.get("agent", f"/api/v1/returns/{case['id']}/refunds").json()["items"] == []
    assert api.get("warehouse", "/api/v1/warehouse/restock").json()["items"] == []


def test_bad_scans_are_refused_and_write_nothing(api: Api, row_counts: Any) -> None:
    case = awaiting(api, quantity=1)
    before = row_counts()
    post = api.post
    api.problem(
        post("warehouse", "/api/v1/warehouse/receipts", json={"code": "R-NOPE1234"}),
        404,
        "unknown_code",
    )
    api.problem(
        post("warehouse", "/api/v1/warehouse/receipts", json={"code": "not a code!"}),
        422,
        "invalid_code",
    )
    counterfeit_restocked = {
        "code": case["rma"],
        "lines": [
            {
                "sku": "SHIRT-M",
                "quantity": 1,
                "grade": "counterfeit_suspected",
                "disposition": "restock",
            }
        ],
    }
    api.problem(
        post("warehouse", "/api/v1/warehouse/receipts", json=counterfeit_restocked),
        422,
        "disposition_not_allowed",
    )
    too_many = {"code": case["rma"], "lines": [{"sku": "SHIRT-M", "quantity": 2}]}
    api.problem(
        post("warehouse", "/api/v1/warehouse/receipts", json=too_many),
        422,
        "quantity_exceeds_returned",
    )
    unknown_sku = {"code": case["rma"], "lines": [{"sku": "LAMP-1", "quantity": 1}]}
    api.problem(
        post("warehouse", "/api/v1/warehouse/receipts", json=unknown_sku), 422, "unknown_sku"
    )
    api.client_error(
        post(
            "warehouse",
            "/api/v1/warehouse/receipts",
            json={
                "code": case["rma"],
                "lines": [{"sku": "SHIRT-M", "quantity": 1, "grade": "shiny"}],
            },
        )
    )
    api.problem(post("agent", "/api/v1/warehouse/receipts", json={"code": case["rma"]}), 403)
    api.problem(post("buyer", "/api/v1/warehouse/receipts", json={"code": case["rma"]}), 403)
    assert row_counts() == before
    after = api.get("agent", f"/api/v1/returns/{case['id']}").json()
    assert after["status"] == "awaiting_return"


def refund(api: Api, case: dict[str, Any], key: str, who: str = "agent", **body: Any) -> Any:
    return api.post(
        who,
        f"/api/v1/returns/{case['id']}/refunds",
        json={"mode": "manual", **body},
        headers={"Idempotency-Key": key},
    )


def test_a_manual_refund_is_recorded_once_and_settles_the_case(api: Api, row_counts: Any) -> None:
    case = awaiting(api, quantity=2)
    api.post("warehouse", "/api/v1/warehouse/receipts", json={"code": case["rma"]})
    paid = 2 * 2250
    before = row_counts()
    api.problem(
        api.post("agent", f"/api/v1/returns/{case['id']}/refunds", json={"mode": "manual"}),
        428,
        "idempotency_key_required",
    )
    api.problem(refund(api, case, "k1"), 422, "reference_required")
    api.problem(refund(api, case, "k1", reference="x", amount=paid + 1), 422, "refund_exceeds_paid")
    api.problem(refund(api, case, "k1", reference="x", currency="EUR"), 422, "currency_mismatch")
    api.problem(
        refund(api, case, "k1", reference="x", mode="paypal"), 422, "provider_not_configured"
    )
    api.problem(refund(api, case, "k1", who="warehouse", reference="x"), 403)
    api.problem(refund(api, case, "k1", who="buyer", reference="x"), 403)
    assert row_counts() == before

    first = refund(api, case, "k1", reference="bank transfer 88", amount=1000, final=False)
    assert first.status_code == 201, first.text
    assert (first.json()["status"], first.json()["amount"]["amount"]) == ("succeeded", 1000)
    again = refund(api, case, "k1", reference="bank transfer 88", amount=1000, final=False)
    assert (again.status_code, again.headers["idempotent-replayed"]) == (200, "true")
    assert again.json()["id"] == first.json()["id"]
    api.problem(
        refund(api, case, "k1", reference="bank transfer 88", amount=999),
        409,
        "idempotency_key_reused",
    )
    middle = api.get("agent", f"/api/v1/returns/{case['id']}").json()
    assert (middle["status"], middle["refunded_amount"]["amount"]) == ("inspected", 1000)

    rest = refund(api, case, "k2", reference="bank transfer 89")  # the rest, the last one
    assert rest.json()["amount"]["amount"] == paid - 1000
    done = api.get("buyer", f"/api/v1/returns/{case['id']}").json()
    assert (done["status"], done["refunded_amount"]["amount"]) == ("refunded", paid)
    assert [r["amount"]["amount"] for r in done["refunds"]] == [1000, paid - 1000]
    assert "idempotency_key" not in done["refunds"][0]  # buyers see the money, not our keys
    api.problem(refund(api, case, "k3", reference="again"), 409, "refund_not_allowed")
    kinds = [
        e["kind"]
        for e in api.get("buyer", f"/api/v1/returns/{case['id']}/timeline").json()["items"]
    ]
    assert kinds.count("refund_executed") == 2


def scan(api: Api, who: str, **body: Any) -> Any:
    event = {"carrier": "UPS", "occurred_at": "2026-11-20T10:00:00+00:00", **body}
    return api.post(who, "/api/v1/carrier-events", json=event)


def test_carrier_scans_move_the_case_and_a_duplicate_changes_nothing(api: Api) -> None:
    case = awaiting(api, quantity=2)
    first = scan(
        api, "integration", tracking_number="1ZRET0001", status="accepted",
        reference=case["rma"], location="Reno, NV",
    )  # fmt: skip
    assert first.status_code == 201, first.text
    assert (first.json()["moved_to"], first.json()["duplicate"]) == ("in_transit", False)
    staff = api.get("agent", f"/api/v1/returns/{case['id']}").json()
    assert staff["status"] == "in_transit"
    assert staff["parcel"] == {"tracking_number": "1ZRET0001", "carrier": "UPS"}
    timeline = api.get("agent", f"/api/v1/returns/{case['id']}/timeline").json()["items"]
    again = scan(api, "integration", tracking_number="1ZRET0001", status="accepted")
    assert (again.status_code, again.json()["duplicate"]) == (200, True)
    assert api.get("agent", f"/api/v1/returns/{case['id']}/timeline").json()["items"] == timeline
    assert api.get("agent", f"/api/v1/returns/{case['id']}").json()["version"] == staff["version"]

    delivered = scan(
        api, "integration", tracking_number="1ZRET0001", status="delivered",
        occurred_at="2026-11-22T09:00:00+00:00",
    )  # fmt: skip
    assert delivered.json()["moved_to"] == "received"
    late = scan(
        api, "integration", tracking_number="1ZRET0001", status="in_transit",
        occurred_at="2026-11-21T09:00:00+00:00",
    )  # fmt: skip
    assert (late.status_code, late.json()["moved_to"]) == (201, None)  # kept, never backwards
    events = api.get("buyer", f"/api/v1/returns/{case['id']}/carrier-events").json()["items"]
    assert [e["status"] for e in events] == ["accepted", "in_transit", "delivered"]

    # The warehouse grades what the carrier delivered: scanning the tracking number works too.
    graded = api.post(
        "warehouse",
        "/api/v1/warehouse/receipts",
        json={
            "code": case["rma"],
            "lines": [{"sku": "SHIRT-M", "quantity": 2, "grade": "open_box"}],
        },
    )
    assert graded.status_code == 201, graded.text
    assert graded.json()["case"]["status"] == "inspected"
    assert graded.json()["receipt"]["lines"][0]["disposition"] == "refurbish"


def test_carrier_scans_refused(api: Api, row_counts: Any) -> None:
    case = awaiting(api, quantity=1)
    before = row_counts()
    api.problem(
        scan(api, "integration", tracking_number="1ZNOBODY", status="accepted"),
        404,
        "unknown_tracking_number",
    )
    api.client_error(
        scan(
            api, "integration", tracking_number="1ZRET", status="teleported", reference=case["rma"]
        )
    )
    api.client_error(
        scan(
            api,
            "integration",
            tracking_number="1ZRET",
            status="accepted",
            occurred_at="2026-11-20T10:00:00",
        )
    )
    api.problem(
        scan(
            api,
            "integration",
            tracking_number="bad number!",
            status="accepted",
            reference=case["rma"],
        ),
        422,
        "invalid_tracking_number",
    )
    api.problem(
        scan(api, "agent", tracking_number="1ZRET", status="accepted", reference=case["rma"]), 403
    )
    api.problem(
        scan(api, "buyer", tracking_number="1ZRET", status="accepted", reference=case["rma"]), 403
    )
    assert row_counts() == before  # fmt: skip


def test_integration_tokens_are_shown_once_and_revoked(api: Api) -> None:
    case = awaiting(api, quantity=1)
    made = api.post(
        "admin",
        "/api/v1/integrations/tokens",
        json={"name": "Reno 3PL", "scopes": ["carrier_events"]},
    )
    assert made.status_code == 201, made.text
    token = made.json()["token"]
    assert token.startswith("rdi_")
    listed = api.get("admin", "/api/v1/integrations/tokens").json()["items"]
    assert [t["name"] for t in listed if t["id"] == made.json()["id"]] == ["Reno 3PL"]
    assert all("token" not in t and "secret_hash" not in t for t in listed)
    bearer = {"Authorization": f"Bearer {token}"}
    event = {
        "tracking_number": "1ZRENO", "carrier": "UPS", "status": "accepted",
        "occurred_at": "2026-11-20T10:00:00+00:00", "reference": case["rma"],
    }  # fmt: skip
    assert api.client.post("/api/v1/carrier-events", json=event, headers=bearer).status_code == 201
    assert api.client.get(f"/api/v1/returns/{case['id']}", headers=bearer).status_code == 403
    used = api.get("admin", "/api/v1/integrations/tokens").json()["items"]
    assert next(t for t in used if t["id"] == made.json()["id"])["last_used_at"] is not None
    api.problem(
        api.post("admin", "/api/v1/integrations/tokens", json={"name": "x", "scopes": ["refunds"]}),
        422,
        "invalid_scopes",
    )
    revoked = api.request("admin", "DELETE", f"/api/v1/integrations/tokens/{made.json()['id']}")
    assert revoked.json()["revoked_at"] is not None
    refused = api.client.post("/api/v1/carrier-events", json=event, headers=bearer)
    api.problem(refused, 401, "invalid_token")
    wrong = {"Authorization": f"Bearer {token[:-2]}xx"}
    api.problem(
        api.client.post("/api/v1/carrier-events", json=event, headers=wrong), 401, "invalid_token"
    )


def test_a_parcel_never_sent_is_reminded_then_the_return_closes(api: Api, clock: Any) -> None:
    unsent = awaiting(api, quantity=1)
    sent = awaiting(api, quantity=1, sku="LAMP-1")
    scanned = scan(
        api, "integration", tracking_number="1ZSENT", status="accepted", reference=sent["rma"]
    )
    assert scanned.json()["moved_to"] == "in_transit"

    def sweep() -> Any:
        return sweep_unsent(api.container.uow, api.container.clock, 14, 3)

    clock.advance(days=10)
    assert (sweep().reminded, sweep().expired) == (0, 0)
    clock.advance(days=1, hours=1)
    assert sweep().reminded == 1
    assert sweep().reminded == 0  # once
    api.refresh_tokens()
    events = api.get("buyer", f"/api/v1/returns/{unsent['id']}/timeline").json()["items"]
    reminder = next(e for e in events if e["kind"] == "return_reminder")
    plan = plan_email("US", [{**reminder, "status": "awaiting_return"}])
    assert plan is not None and plan.sections == (Section.return_reminder,)
    assert (
        plan.due_at is not None
        and plan.due_at.date().isoformat() == reminder["data"]["due_at"][:10]
    )

    clock.advance(days=3)
    assert sweep().expired == 1
    api.refresh_tokens()
    closed = api.get("buyer", f"/api/v1/returns/{unsent['id']}").json()
    assert closed["status"] == "canceled" and closed["label_url"] is None
    events = api.get("buyer", f"/api/v1/returns/{unsent['id']}/timeline").json()["items"]
    expired = [e for e in events if e["kind"] in ("return_expired", "status_changed")][-2:]
    assert [e["kind"] for e in expired] == ["return_expired", "status_changed"]
    plan = plan_email("US", [{**e, "status": "canceled"} for e in expired])
    assert plan is not None and Section.return_expired in plan.sections
    assert api.get("agent", f"/api/v1/returns/{sent['id']}").json()["status"] == "in_transit"
    # The units are free again: the buyer can open a new return for the same shirt.
    again = api.post("buyer", "/api/v1/returns", json=api.return_payload(quantity=20))
    assert again.status_code == 201, again.text


def test_a_person_approving_gets_the_policys_address_for_the_market(api: Api) -> None:
    """The engine asked for a review; an agent approves: the parcel still has somewhere to go."""
    review = {
        **POLICY,
        "rules": [{"id": "all", "when": "true", "then": {"outcome": "human_review"}}],
    }
    assert api.put("admin", "/api/v1/policy", json={"document": review}).status_code == 200
    case = api.open_return("buyer", api.return_payload(quantity=1))
    assert (case["status"], case["label_url"]) == ("requested", None)
    approved = api.moved("agent", case, "approved")
    waiting = api.moved("agent", approved, "awaiting_return")
    assert waiting["return_method"] == "local"
    assert api.get("buyer", waiting["label_url"]).status_code == 200


def test_the_buyer_says_the_parcel_left_and_the_carriers_scans_follow(api: Api) -> None:
    case = awaiting(api, quantity=1)
    other = awaiting(api, quantity=1, sku="LAMP-1")
    bad = {"carrier": "UPS", "tracking_number": "no spaces please"}
    api.problem(
        api.post("buyer", f"/api/v1/returns/{case['id']}/parcel", json=bad),
        422,
        "invalid_tracking_number",
    )
    sent = api.post(
        "buyer", f"/api/v1/returns/{case['id']}/parcel",
        json={"carrier": "Correios", "tracking_number": "BR123456789"},
    )  # fmt: skip
    assert sent.status_code == 200, sent.text
    assert (sent.json()["status"], sent.json()["parcel"]) == (
        "in_transit", {"tracking_number": "BR123456789", "carrier": "Correios"},
    )  # fmt: skip
    again = api.post(
        "buyer", f"/api/v1/returns/{case['id']}/parcel",
        json={"carrier": "Correios", "tracking_number": "BR123456789"},
    )  # fmt: skip
    api.problem(again, 409, "not_awaiting_parcel")
    taken = api.post(
        "buyer", f"/api/v1/returns/{other['id']}/parcel",
        json={"carrier": "Correios", "tracking_number": "BR123456789"},
    )  # fmt: skip
    api.problem(taken, 409, "tracking_number_in_use")
    # The carrier's scan of that number finds the case without any RMA.
    delivered = scan(api, "integration", tracking_number="BR123456789", status="delivered")
    assert (delivered.json()["case_id"], delivered.json()["moved_to"]) == (case["id"], "received")
    kinds = [
        e["kind"]
        for e in api.get("buyer", f"/api/v1/returns/{case['id']}/timeline").json()["items"]
    ]
    assert "parcel_sent" in kinds and "parcel_scanned" in kinds


def test_a_graded_return_books_its_costs_and_the_value_recovered(api: Api) -> None:
    economics = {
        "handling_cost": {"USD": 300},
        "return_cost": {"US": {"USD": 900}},
        "resale_percent": 60,
        "resale_percent_faulty": 10,
    }
    document = {**POLICY, "economics": economics, "return_shipping": {"default": "store"}}
    assert api.put("admin", "/api/v1/policy", json={"document": document}).status_code == 200
    case = awaiting(api, quantity=2)
    assert api.get("agent", f"/api/v1/returns/{case['id']}").json()["costs"]["recovered"] is None
    body = {
        "code": case["rma"],
        "lines": [
            {"sku": "SHIRT-M", "quantity": 1, "grade": "resellable"},  # restock: 60 % of 22.50
            {"sku": "SHIRT-M", "quantity": 1, "grade": "damaged"},  # liquidate: 10 %
        ],
    }
    assert api.post("warehouse", "/api/v1/warehouse/receipts", json=body).status_code == 201
    refund(api, case, "cost-1", reference="bank 1")
    staff = api.get("agent", f"/api/v1/returns/{case['id']}").json()
    costs = {key: value["amount"] for key, value in staff["costs"].items()}
    assert costs == {
        "return_shipping": 900,
        "handling": 300,
        "payment_fees": 0,  # a refund recorded by hand: no provider kept anything
        "refunded": 4500,
        "recovered": 1350 + 225,
        "net": 1575 - 4500 - 900 - 300,
    }
    assert "costs" not in api.get("buyer", f"/api/v1/returns/{case['id']}").json()
    now = api.container.clock()
    period = {
        "from": (now - timedelta(days=1)).isoformat(),
        "to": (now + timedelta(days=1)).isoformat(),
    }
    totals = api.get("supervisor", "/api/v1/stats/returns", params=period).json()["totals"]
    assert totals["return_costs"] == [{"amount": 1200, "currency": "USD"}]
    assert totals["recovered"] == [{"amount": 1575, "currency": "USD"}]


def test_the_inspection_checklist_by_category_and_its_answers(api: Api) -> None:
    case = awaiting(api, quantity=1)
    found = api.get("warehouse", "/api/v1/warehouse/lookup", params={"code": case["rma"]})
    assert found.json()["checklists"] == {"SHIRT-M": ["matches_order", "packaging_intact"]}
    # A unit that failed a check is not as new: refused, nothing booked.
    failed = {"sku": "SHIRT-M", "quantity": 1, "checks": {"matches_order": True,
                                                       "packaging_intact": False}}  # fmt: skip
    refused = api.post(
        "warehouse", "/api/v1/warehouse/receipts", json={"code": case["rma"], "lines": [failed]}
    )
    assert api.problem(refused, 422, "failed_check_resellable")["failed"] == ["packaging_intact"]
    assert api.get("agent", f"/api/v1/returns/{case['id']}").json()["status"] == "awaiting_return"
    booked = api.post(
        "warehouse",
        "/api/v1/warehouse/receipts",
        json={"code": case["rma"], "lines": [{**failed, "grade": "open_box"}]},
    )
    assert booked.status_code == 201, booked.text
    assert booked.json()["receipt"]["lines"][0]["checks"] == [
        {"item": "matches_order", "passed": True},
        {"item": "packaging_intact", "passed": False},
    ]
    receipts = api.get("agent", f"/api/v1/returns/{case['id']}").json()["receipts"]
    assert receipts[0]["lines"][0]["checks"][1] == {"item": "packaging_intact", "passed": False}
    # The store's own list, in its own words, for a category.
    document = {**POLICY, "inspection": {"checklists": {"home": ["Bulb works", "Shade intact"]}}}
    assert api.put("admin", "/api/v1/policy", json={"document": document}).status_code == 200
    lamp = api.open_return("buyer", api.return_payload(sku="LAMP-1", quantity=1))
    found = api.get("warehouse", "/api/v1/warehouse/lookup", params={"code": lamp["rma"]})
    assert found.json()["checklists"] == {"LAMP-1": ["Bulb works", "Shade intact"]}
