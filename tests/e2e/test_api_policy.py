"""The policy API end to end: versions, evaluate, filing with automation, overrides, what-if."""

from __future__ import annotations

from datetime import timedelta
from typing import TYPE_CHECKING, Any

from returndesk.bootstrap import Container

if TYPE_CHECKING:  # tests/e2e/conftest.py, handed over by fixtures
    from conftest import Api

AUTOMATED: dict[str, Any] = {
    "schema": 1,
    "automation": {"apply": True},
    "windows": {"change_of_mind_days": 30, "fault_days": 365},
    "evidence": {"by_reason": {"defective": "photo"}},
    "rules": [
        {
            "id": "big-refund",
            "description": "Large refunds are reviewed",
            "when": "refund.amount > 40000",
            "then": {"outcome": "human_review"},
        }
    ],
}


def _save(api: Api, document: dict[str, Any], **extra: Any) -> dict[str, Any]:
    response = api.put("supervisor", "/api/v1/policy", json={"document": document, **extra})
    assert response.status_code == 200, response.text
    return response.json()


def test_versions_are_saved_listed_and_diffed(api: Api) -> None:
    first = _save(api, AUTOMATED, note="automation on")
    changed = {**AUTOMATED, "windows": {"change_of_mind_days": 45, "fault_days": 365}}
    second = _save(api, changed, note="longer window", expected_version=first["version"])
    assert second["version"] == first["version"] + 1
    active = api.get("agent", "/api/v1/policy").json()
    assert active["version"] == second["version"]
    assert active["document"]["windows"]["change_of_mind_days"] == 45
    listed = api.get("agent", "/api/v1/policy/versions").json()["items"]
    assert [v["version"] for v in listed][:2] == [second["version"], first["version"]]
    assert listed[0]["note"] == "longer window"
    diff = api.get(
        "agent", f"/api/v1/policy/versions/{second['version']}?against={first['version']}"
    ).json()["diff"]
    assert '-    "change_of_mind_days": 30,' in diff
    assert '+    "change_of_mind_days": 45,' in diff
    stale = api.put(
        "supervisor",
        "/api/v1/policy",
        json={"document": AUTOMATED, "expected_version": first["version"]},
    )
    api.problem(stale, 412, "version_mismatch")


def test_invalid_policy_names_the_rule_and_changes_nothing(api: Api) -> None:
    saved = _save(api, AUTOMATED)
    bad = {
        **AUTOMATED,
        "rules": [{"id": "typo", "when": "refund.amont > 1", "then": {"outcome": "human_review"}}],
    }
    problem = api.problem(
        api.put("supervisor", "/api/v1/policy", json={"document": bad}), 422, "invalid_policy"
    )
    assert problem["rule"] == "typo"
    assert "typo" in problem["detail"]
    assert api.get("agent", "/api/v1/policy").json()["version"] == saved["version"]
    api.problem(api.put("agent", "/api/v1/policy", json={"document": AUTOMATED}), 403)


def test_evaluate_explains_without_creating_a_case(api: Api, container: Container) -> None:
    _save(api, AUTOMATED)
    now = container.clock()
    body = {
        "order_number": "1001",
        "lines": [{"sku": "SHIRT-M", "quantity": 2, "reason": "changed_mind"}],
        "requested_at": now.isoformat(),
    }
    decision = api.post("agent", "/api/v1/policy/evaluate", json=body).json()
    assert decision["outcome"] == "approve_return"
    assert decision["refund"]["amount"] == 4500
    assert decision["refund"]["currency"] == "USD"
    assert decision["responsibility"] == "buyer"
    assert decision["legal_basis"] == []  # US: store policy only
    assert decision["reasons"][0]["code"] == "store_window"
    late = {**body, "requested_at": (now + timedelta(days=40)).isoformat()}
    declined = api.post("agent", "/api/v1/policy/evaluate", json=late).json()
    assert (declined["outcome"], declined["decline_reason"]) == ("decline", "window_ended")
    inline = {
        **body,
        "order_number": None,
        "order": {
            "number": "X-1",
            "email": "x@example.com",
            "market": "DE",
            "currency": "EUR",
            "placed_at": (now - timedelta(days=20)).isoformat(),
            "shipping_paid": 495,
            "lines": [
                {"sku": "SHIRT-M", "title": "Shirt", "quantity": 2, "unit_price": 3000,
                 "paid_amount": 6000},
            ],
            "shipments": [
                {"carrier": "DHL", "tracking_number": "D1",
                 "shipped_at": (now - timedelta(days=19)).isoformat(),
                 "delivered_at": (now - timedelta(days=12)).isoformat()},
            ],
        },
    }  # fmt: skip
    eu = api.post("agent", "/api/v1/policy/evaluate", json=inline).json()
    assert "Directive 2011/83/EU Art. 9" in eu["legal_basis"]
    assert {"kind": "outbound_shipping", "amount": 495} in eu["refund"]["breakdown"]
    assert eu["refund"]["amount"] == 6495
    assert api.get("admin", "/api/v1/orders/X-1").status_code == 404  # nothing saved
    api.problem(api.post("buyer", "/api/v1/policy/evaluate", json=body), 403)


def test_filing_stores_the_decision_and_moves_the_case(api: Api) -> None:
    _save(api, AUTOMATED)
    case = api.open_return()
    assert case["decision"]["outcome"] == "approve_return"
    assert case["status"] == "awaiting_return"
    assert set(case["decision"]) == {
        "outcome",
        "decline_reason",
        "refund",
        "return_shipping_paid_by",
        "evidence_requested",
        "legal_basis",
        "return_address",
    }  # fmt: skip  (a buyer does not see fraud signals or internal reasons)
    staff_view = api.get("agent", f"/api/v1/returns/{case['id']}").json()
    assert staff_view["decision"]["policy_version"] >= 1
    assert staff_view["decision"]["reasons"]
    kinds = [
        e["kind"]
        for e in api.get("agent", f"/api/v1/returns/{case['id']}/timeline").json()["items"]
    ]
    assert kinds[:2] == ["case_opened", "decision_made"]

    faulty = api.open_return(
        body={
            "order_number": "1001",
            "lines": [{"sku": "LAMP-1", "quantity": 1, "reason": "defective"}],
            "preferred_resolution": "refund",
        }
    )
    assert faulty["decision"]["outcome"] == "request_evidence"
    assert faulty["decision"]["evidence_requested"] == "photo"
    assert faulty["status"] == "needs_evidence"


def test_override_is_audited(api: Api) -> None:
    _save(api, AUTOMATED)
    case = api.open_return()
    url = f"/api/v1/returns/{case['id']}/decision/override"
    headers = {"If-Match": f'"{case["version"]}"'}
    api.problem(
        api.post("agent", url, json={"outcome": "human_review", "note": " "}, headers=headers),
        422,
        "note_required",
    )
    api.problem(
        api.post("buyer", url, json={"outcome": "human_review", "note": "x"}, headers=headers), 403
    )
    done = api.post(
        "agent", url, json={"outcome": "human_review", "note": "Buyer called"}, headers=headers
    )
    assert done.status_code == 200, done.text
    decision = done.json()["decision"]
    assert decision["outcome"] == "human_review"
    assert decision["overridden"]["from"] == "approve_return"
    assert decision["overridden"]["note"] == "Buyer called"
    assert done.json()["event"]["kind"] == "decision_overridden"


def test_simulation_reports_flips(api: Api, container: Container) -> None:
    _save(api, AUTOMATED)
    api.open_return()
    strict = {**AUTOMATED, "rules": [{"id": "all", "then": {"outcome": "human_review"}}]}
    since = (container.clock() - timedelta(days=1)).isoformat()
    report = api.post(
        "supervisor", "/api/v1/policy/simulate", json={"document": strict, "since": since}
    ).json()
    assert report["cases"] == 1
    assert report["flips_total"] == 1
    assert report["flips"][0]["before"] == "approve_return"
    assert report["flips"][0]["after"] == "human_review"
    api.problem(
        api.post("agent", "/api/v1/policy/simulate", json={"document": strict, "since": since}),
        403,
    )


def test_a_decision_replays_to_itself_after_the_policy_changed(api: Api) -> None:
    first = _save(api, AUTOMATED)
    case = api.open_return()
    _save(api, {**AUTOMATED, "rules": [{"id": "all", "then": {"outcome": "human_review"}}]})
    url = f"/api/v1/returns/{case['id']}/decision/replay"
    result = api.get("agent", url).json()
    assert result["matches"] is True
    assert result["replayed"]["policy_version"] == first["version"]
    assert result["replayed"]["outcome"] == "approve_return"  # the version it was made with
    assert result["stored"]["inputs"]["order"]["number"] == "1001"
    # An override does not touch what the engine decided, so the replay still matches.
    headers = {"If-Match": f'"{case["version"]}"'}
    body = {"outcome": "human_review", "note": "check"}
    moved = api.post("agent", f"/api/v1/returns/{case['id']}/decision/override", json=body,
                     headers=headers)  # fmt: skip
    assert moved.status_code == 200, moved.text
    assert api.get("agent", url).json()["matches"] is True
    api.problem(api.get("buyer", url), 403)


def test_the_queue_filters_on_the_decision(api: Api) -> None:
    _save(api, AUTOMATED)
    approved = api.open_return()
    reviewed = api.open_return(body=api.return_payload(quantity=19))  # above 400.00: a person
    assert reviewed["decision"]["outcome"] == "human_review"
    assert reviewed["status"] == "requested"
    items = api.get("agent", "/api/v1/returns?outcome=human_review").json()["items"]
    assert [i["id"] for i in items] == [reviewed["id"]]
    assert items[0]["decision_outcome"] == "human_review"
    others = api.get("agent", "/api/v1/returns?outcome=approve_return").json()["items"]
    assert [i["id"] for i in others] == [approved["id"]]
    api.problem(api.get("agent", "/api/v1/returns?outcome=maybe"), 422)


def test_a_buyer_previews_a_return_and_nothing_is_saved(
    api: Api, row_counts: Any, clock: Any
) -> None:
    _save(api, AUTOMATED)
    before = row_counts()
    preview = api.post("buyer", "/api/v1/returns/preview", json=api.return_payload()).json()
    assert preview["outcome"] == "approve_return"
    assert preview["refund"]["amount"] == 2250
    assert "reasons" not in preview and "responsibility" not in preview  # the buyer's view
    clock.advance(days=40)
    api.refresh_tokens()
    late = api.post("buyer", "/api/v1/returns/preview", json=api.return_payload()).json()
    assert (late["outcome"], late["decline_reason"]) == ("decline", "window_ended")
    too_many = api.return_payload(quantity=21)
    api.problem(
        api.post("buyer", "/api/v1/returns/preview", json=too_many), 422,
        "quantity_exceeds_purchased",
    )  # fmt: skip
    staff = api.post("agent", "/api/v1/returns/preview", json=api.return_payload()).json()
    assert staff["reasons"]
    assert row_counts() == before


def test_deciding_again_once_the_photo_arrived_moves_the_case_on(api: Api, clock: Any) -> None:
    _save(api, AUTOMATED)
    faulty = api.open_return(
        body={
            "order_number": "1001",
            "lines": [{"sku": "LAMP-1", "quantity": 1, "reason": "defective"}],
            "preferred_resolution": "refund",
        }
    )
    assert (faulty["status"], faulty["decision"]["outcome"]) == (
        "needs_evidence",
        "request_evidence",
    )
    clock.advance(days=45)  # past the store's window: the filing date still counts
    api.refresh_tokens()
    url = f"/api/v1/returns/{faulty['id']}/decision"
    stale = {"If-Match": '"999"'}
    api.problem(api.post("agent", url, json={"evidence": ["photo"]}, headers=stale), 412)
    api.problem(api.post("buyer", url, json={"evidence": ["photo"]}, headers=stale), 403)
    headers = {"If-Match": f'"{faulty["version"]}"'}
    body = {"evidence": ["photo"], "findings": ["defect_confirmed"]}
    moved = api.post("agent", url, json=body, headers=headers)
    assert moved.status_code == 200, moved.text
    case = moved.json()
    assert case["decision"]["outcome"] == "approve_return"
    assert case["decision"]["responsibility"] == "seller"
    assert case["decision"]["inputs"]["evidence"] == ["photo"]
    assert case["status"] == "awaiting_return"
    kinds = [
        e["kind"]
        for e in api.get("agent", f"/api/v1/returns/{case['id']}/timeline").json()["items"]
    ]
    assert kinds.count("decision_made") == 2
    assert api.get("agent", f"{url}/replay").json()["matches"] is True
    again = api.post("agent", url, json=body, headers={"If-Match": f'"{case["version"]}"'})
    api.problem(again, 409, "decision_final")


def test_staff_file_a_goodwill_exception_with_a_note(api: Api, clock: Any) -> None:
    _save(api, AUTOMATED)
    clock.advance(days=40)  # the 30-day window has ended
    api.refresh_tokens()
    late = api.return_payload()
    api.problem(api.post("agent", "/api/v1/returns", json=late), 422, "window_ended")
    goodwill = {**late, "exception": {"outcome": "approve_return", "note": "Loyal customer"}}
    api.problem(api.post("buyer", "/api/v1/returns", json=goodwill), 403, "forbidden")
    api.problem(
        api.post(
            "agent",
            "/api/v1/returns",
            json={**late, "exception": {"outcome": "approve_return", "note": ""}},
        ),
        422,
    )
    filed = api.post("agent", "/api/v1/returns", json=goodwill)
    assert filed.status_code == 201, filed.text
    case = filed.json()
    assert case["decision"]["outcome"] == "approve_return"
    assert case["decision"]["overridden"] == {
        "from": "decline", "by": case["decision"]["overridden"]["by"], "note": "Loyal customer",
    }  # fmt: skip
    events = api.get("agent", f"/api/v1/returns/{case['id']}/timeline").json()["items"]
    assert [e["kind"] for e in events] == ["case_opened", "decision_made", "decision_overridden"]
    assert events[1]["data"]["decline_reason"] == "window_ended"
