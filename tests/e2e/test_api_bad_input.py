"""Hostile and broken input over real HTTP: always a 4xx problem, never a 500, never a change."""

from __future__ import annotations

import base64
import copy
import json
from collections.abc import Callable, Iterator
from datetime import timedelta
from typing import TYPE_CHECKING, Any

import httpx
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from returndesk.adapters.auth.tokens import TokenIssuer
from returndesk.domain.access import Role
from returndesk.domain.policy.document import DEFAULT_DOCUMENT
from returndesk.services.principal import Principal

if TYPE_CHECKING:  # tests/e2e/conftest.py, handed over by fixtures
    from conftest import Api

RowCounts = Callable[[], dict[str, int]]
JSON = {"Content-Type": "application/json"}
MISSING_CASE = "0190f4a2-0000-7000-8000-000000000000"


@pytest.fixture
def unchanged(row_counts: RowCounts) -> Iterator[None]:
    """The test body may send anything: afterwards every table holds what it held before."""
    before = row_counts()
    yield
    assert row_counts() == before


def refused(
    api: Api, response: httpx.Response, status: int | None = None, code: str | None = None
) -> dict[str, Any]:
    if status is None:
        return api.client_error(response)
    return api.problem(response, status, code)


def invalid(api: Api, response: httpx.Response, *fields: str) -> list[dict[str, Any]]:
    """422 validation_error with an `errors` list naming these fields."""
    body = api.problem(response, 422, "validation_error")
    errors: list[dict[str, Any]] = body["errors"]
    assert isinstance(errors, list) and errors, body
    for error in errors:
        assert set(error) == {"loc", "msg", "type"}, error
    named = {part for error in errors for part in error["loc"]}
    for name in fields:
        assert name in named, (name, errors)
    return errors


def with_line(body: dict[str, Any], **changes: Any) -> dict[str, Any]:
    out = copy.deepcopy(body)
    out["lines"][0].update(changes)
    return out


def without(body: dict[str, Any], key: str, line: bool = False) -> dict[str, Any]:
    out = copy.deepcopy(body)
    del (out["lines"][0] if line else out)[key]
    return out


# --- the shape of every error ----------------------------------------------------------------


def test_every_error_is_a_problem_document(api: Api, unchanged: None) -> None:
    responses = [
        api.get("agent", "/api/v1/nope"),
        api.request("agent", "DELETE", "/api/v1/returns"),
        api.get(None, "/api/v1/returns"),
        api.get("buyer", "/api/v1/returns"),
        api.get("agent", f"/api/v1/returns/{MISSING_CASE}"),
        api.post("agent", "/api/v1/returns", content=b"{", headers=JSON),
        api.post("agent", "/api/v1/returns", json={}),
        api.post("agent", "/api/v1/returns", content=b"x" * 2_000_000, headers=JSON),
        api.post("agent", f"/api/v1/returns/{MISSING_CASE}/transitions", json={"to": "closed"}),
        api.post(
            "agent",
            f"/api/v1/returns/{MISSING_CASE}/transitions",
            json={"to": "closed"},
            headers={"If-Match": '"1"'},
        ),
    ]
    statuses = [r.status_code for r in responses]
    assert statuses == [404, 405, 401, 403, 404, 400, 422, 413, 428, 404]
    codes = [refused(api, r)["code"] for r in responses]
    assert codes == [
        "not_found",
        "method_not_allowed",
        "unauthenticated",
        "forbidden",
        "case_not_found",
        "malformed_json",
        "validation_error",
        "payload_too_large",
        "precondition_required",
        "case_not_found",
    ]


# --- bodies that are not JSON objects --------------------------------------------------------


BROKEN_BODIES: list[tuple[str, bytes, int | None, str | None]] = [
    ("truncated", b'{"order_number": "1001",', 400, "malformed_json"),
    ("trailing comma", b'{"order_number": "1001",}', 400, "malformed_json"),
    ("single quotes", b"{'order_number': '1001'}", 400, "malformed_json"),
    ("not utf-8", b"\xff\xfe\xfa\xfb", 400, None),
    ("latin-1 inside a string", b'{"order_number": "caf\xe9"}', 400, None),
    ("utf-8 BOM then garbage", b"\xef\xbb\xbf{nope", 400, None),
    ("array", b"[1, 2, 3]", 422, "validation_error"),
    ("string", b'"please refund me"', 422, "validation_error"),
    ("number", b"42", 422, "validation_error"),
    ("null", b"null", 422, "validation_error"),
    ("empty", b"", 422, "validation_error"),
    ("NaN", b'{"order_number": NaN}', 422, "validation_error"),
    ("deep arrays", b"[" * 10_000 + b"]" * 10_000, None, None),
    ("deep objects", b'{"a":' * 10_000 + b"1" + b"}" * 10_000, None, None),
    ("deep inside a field", b'{"order_number":' + b"[" * 900 + b"]" * 900 + b"}", None, None),
    ("5000-digit number", b'{"order_number": 1' + b"0" * 5000 + b"}", None, None),
]


def test_bodies_that_are_not_json_objects(api: Api, unchanged: None) -> None:
    for path in ("/api/v1/returns", "/api/v1/orders"):
        for name, content, status, code in BROKEN_BODIES:
            response = api.post("admin", path, content=content, headers=JSON)
            assert response.status_code < 500, (path, name, response.text[:300])
            refused(api, response, status, code)
        # The right JSON sent as something else is not read as JSON.
        text = api.post(
            "admin",
            path,
            content=json.dumps(api.return_payload()).encode(),
            headers={"Content-Type": "text/plain"},
        )
        refused(api, text, 422, "validation_error")


# --- fields: types, presence, extras, enums, ranges ------------------------------------------


def test_wrong_types(api: Api, unchanged: None) -> None:
    good_return = api.return_payload()
    for quantity in ("2", 2.5, True, None, [2], {"n": 2}, 0, -1, 100_001):
        body = with_line(good_return, quantity=quantity)
        invalid(api, api.post("buyer", "/api/v1/returns", json=body), "lines", "0", "quantity")
    for field, value in (
        ("order_number", 1001),
        ("preferred_resolution", 1),
        ("lines", {"sku": "SHIRT-M"}),
        ("lines", "SHIRT-M"),
    ):
        invalid(
            api, api.post("buyer", "/api/v1/returns", json={**good_return, field: value}), field
        )

    good_order = api.order_payload(api.container.clock(), number="7007")
    for unit_price in ("12.50", 12.5, "1250", True, -1):
        body = with_line(good_order, unit_price=unit_price)
        invalid(api, api.put_order(body), "lines", "0", "unit_price")
    for field, value in (
        ("email", ["a@b.example"]),
        ("market", 1),
        ("placed_at", True),
        ("shipments", "UPS"),
    ):
        invalid(api, api.put_order({**good_order, field: value}), field)
    for body, field in (
        ({"document": "windows.change_of_mind_days = 30"}, "document"),
        ({"document": [DEFAULT_DOCUMENT]}, "document"),
        ({"document": DEFAULT_DOCUMENT, "expected_version": "0"}, "expected_version"),
        ({"document": DEFAULT_DOCUMENT, "expected_version": 0.5}, "expected_version"),
        ({"document": DEFAULT_DOCUMENT, "note": 5}, "note"),
        ({"document": DEFAULT_DOCUMENT, "store": 5}, "store"),
    ):
        invalid(api, api.put("admin", "/api/v1/policy", json=body), field)
    # Inside the document, a wrong type is the policy's own problem, naming its path.
    bad_document = {**DEFAULT_DOCUMENT, "windows": {"change_of_mind_days": "30"}}
    body = api.problem(
        api.put("admin", "/api/v1/policy", json={"document": bad_document}), 422, "invalid_policy"
    )
    assert body["path"] == "windows.change_of_mind_days"


def test_missing_and_unknown_fields(api: Api, unchanged: None) -> None:
    good_return = api.return_payload()
    for key in ("order_number", "lines", "preferred_resolution"):
        errors = invalid(api, api.post("buyer", "/api/v1/returns", json=without(good_return, key)))
        assert any(e["type"] == "missing" and e["loc"][-1] == key for e in errors), errors
    for key in ("sku", "quantity", "reason"):
        body = without(good_return, key, line=True)
        invalid(api, api.post("buyer", "/api/v1/returns", json=body), key)
    for extra in ({"refund_now": True}, {"status": "approved"}, {"id": MISSING_CASE}):
        errors = invalid(api, api.post("buyer", "/api/v1/returns", json={**good_return, **extra}))
        assert any(e["type"] == "extra_forbidden" for e in errors), errors
    invalid(
        api, api.post("buyer", "/api/v1/returns", json=with_line(good_return, price=1)), "price"
    )

    good_order = api.order_payload(api.container.clock(), number="7007")
    for key in ("number", "email", "market", "currency", "placed_at", "lines"):
        invalid(api, api.put_order(without(good_order, key)), key)
    for key in ("sku", "quantity", "unit_price", "paid_amount"):
        invalid(api, api.put_order(without(good_order, key, line=True)), key)
    invalid(api, api.put_order({**good_order, "paid": True}), "paid")
    invalid(api, api.post("admin", "/api/v1/auth/token", json={"email": "a@b.example"}), "password")


def test_unknown_enums_and_empty_lists(api: Api, unchanged: None) -> None:
    good = api.return_payload()
    invalid(
        api, api.post("buyer", "/api/v1/returns", json=with_line(good, reason="bored")), "reason"
    )
    invalid(api, api.post("buyer", "/api/v1/returns", json=with_line(good, reason="")), "reason")
    body = {**good, "preferred_resolution": "cash_in_hand"}
    invalid(api, api.post("buyer", "/api/v1/returns", json=body), "preferred_resolution")
    invalid(api, api.post("buyer", "/api/v1/returns", json={**good, "lines": []}), "lines")
    order = api.order_payload(api.container.clock(), number="7007")
    invalid(api, api.put_order({**order, "lines": []}), "lines")
    refused(api, api.put_order({**order, "currency": "XYZ"}), 422, "invalid_currency")
    refused(api, api.put_order({**order, "market": "U1"}), 422, "invalid_market")
    refused(api, api.put_order({**order, "language": "tlh"}), 422, "unsupported_language")
    refused(api, api.put_order({**order, "number": "has space"}), 422, "invalid_order_number")
    refused(api, api.put_order({**order, "email": "no-at-sign"}), 422, "invalid_email")
    refused(api, api.put_order(with_line(order, paid_amount=10**9)), 422, "paid_exceeds_price")
    twice = {**order, "lines": order["lines"] + order["lines"][:1]}
    refused(api, api.put_order(twice), 422, "duplicate_sku")
    staff = {"email": "x@shop.example", "password": "long-enough-password"}
    invalid(api, api.post("admin", "/api/v1/staff", json={**staff, "role": "overlord"}), "role")
    refused(api, api.post("admin", "/api/v1/staff", json={**staff, "role": "buyer"}), 422)
    as_token = {**staff, "role": "integration"}  # integrations hold tokens, not accounts
    refused(api, api.post("admin", "/api/v1/staff", json=as_token), 422, "invalid_role")
    refused(
        api,
        api.post("admin", "/api/v1/staff", json={**staff, "role": "platform_admin"}),
        422,
        "invalid_role",
    )
    for zone in ("Mars/Olympus", "localtime", "../../etc/passwd"):
        agent = {**staff, "role": "agent", "timezone": zone}
        refused(api, api.post("admin", "/api/v1/staff", json=agent), 422, "invalid_timezone")

    for params in (
        {"status": "lost"},
        {"status": ["requested", "lost"]},
        {"sort": "price"},
        {"limit": 0},
        {"limit": 201},
        {"limit": "ten"},
        {"min_age_days": -1},
        {"market": "USA"},
        {"language": "english"},
        {"q": "x" * 321},
    ):
        invalid(api, api.get("agent", "/api/v1/returns", params=params), next(iter(params)))


def test_domain_refusals_of_well_formed_returns(api: Api, unchanged: None) -> None:
    good = api.return_payload()
    refused(
        api,
        api.post("buyer", "/api/v1/returns", json=with_line(good, sku="NOPE")),
        422,
        "unknown_sku",
    )
    refused(
        api,
        api.post("buyer", "/api/v1/returns", json=with_line(good, quantity=21)),
        422,
        "quantity_exceeds_purchased",
    )
    lamp = with_line(good, sku="LAMP-1", quantity=2)
    refused(api, api.post("buyer", "/api/v1/returns", json=lamp), 422, "quantity_exceeds_purchased")
    refused(
        api, api.post("buyer", "/api/v1/returns", json=with_line(good, comment="x" * 2001)), 422
    )
    refused(api, api.post("buyer", "/api/v1/returns", json={**good, "store": "elsewhere"}), 404)


def test_idempotency_key_header(api: Api, unchanged: None) -> None:
    body = api.return_payload()
    for key in ("has space", "x" * 256, "tab\there", "é".encode(), b"\xff"):
        response = api.post("buyer", "/api/v1/returns", json=body, headers={"Idempotency-Key": key})
        invalid(api, response, "idempotency-key")


def test_transition_bodies(api: Api, row_counts: RowCounts) -> None:
    case = api.open_return("buyer", api.return_payload(quantity=2))
    before = row_counts()
    path = f"/api/v1/returns/{case['id']}/transitions"
    if_match = {"If-Match": '"1"'}
    bodies: list[Any] = [
        {"to": "teleported"},
        {"to": ""},
        {},
        {"to": "approved", "why": "extra"},
        {"to": "approved", "note": 5},
        {"to": "approved", "note": "x" * 4001},
        {"to": "approved", "note": "fine\u0000"},
        {"to": "refund_pending", "refund_amount": "12.50"},
        {"to": "refund_pending", "refund_amount": 12.5},
        {"to": "refund_pending", "refund_amount": -1},
        {"to": "refund_pending", "refund_amount": 10**30},
        {"to": "received", "lines": [{"sku": "SHIRT-M", "quantity": "1"}]},
        {"to": "received", "lines": [{"sku": "SHIRT-M", "quantity": 1, "condition": "meh"}]},
        {"to": "received", "lines": {"sku": "SHIRT-M"}},
        ["approved"],
        "approved",
    ]
    for body in bodies:
        response = api.post("agent", path, json=body, headers=if_match)
        assert response.status_code < 500, (body, response.text[:300])
        refused(api, response, 422)
    refused(
        api,
        api.post("agent", path, content=b"{", headers={**JSON, **if_match}),
        400,
        "malformed_json",
    )
    for value in ('"9999999999"', "*", "", '"1", "2"', "W/", '"-1"'):
        response = api.post("agent", path, json={"to": "approved"}, headers={"If-Match": value})
        assert 400 <= response.status_code < 500 and response.status_code != 200, value
    after = api.get("agent", f"/api/v1/returns/{case['id']}").json()
    assert (after["status"], after["version"]) == ("requested", 1)
    timeline = api.get("agent", f"/api/v1/returns/{case['id']}/timeline").json()["items"]
    assert [e["kind"] for e in timeline] == ["case_opened", "decision_made"]
    assert row_counts() == before


# --- text that databases dislike -------------------------------------------------------------


def test_nul_characters(api: Api, unchanged: None) -> None:
    good = api.return_payload()
    bodies = [
        with_line(good, sku="a\u0000b"),
        with_line(good, sku="SHIRT-M\u0000"),
        with_line(good, comment="too\u0000small"),
        {**good, "order_number": "10\u000001"},
        {**good, "order_number": "\u0000"},
    ]
    for body in bodies:
        refused(api, api.post("buyer", "/api/v1/returns", json=body))
    order = api.order_payload(api.container.clock(), number="7007")
    for body in (
        {**order, "number": "70\u000007"},
        {**order, "email": "a\u0000@b.example"},
        {**order, "buyer_name": "Ana\u0000"},
        with_line(order, sku="S\u0000"),
        with_line(order, title="T\u0000"),
        with_line(order, serial_numbers=["SN\u00001"]),
    ):
        refused(api, api.put_order(body))
    refused(api, api.get("agent", "/api/v1/returns", params={"q": "a\u0000b"}))
    refused(api, api.get("agent", "/api/v1/returns", params={"q": "\u0000"}))
    refused(api, api.get("agent", "/api/v1/returns", params={"market": "U\u0000"}))
    refused(api, api.get("agent", "/api/v1/returns/%00"))
    refused(api, api.get("agent", "/api/v1/orders/%00"), 404)
    refused(api, api.get("agent", "/api/v1/orders/1001%00"), 404)
    session = {"order_number": "1001\u0000", "email": api.BUYER_EMAIL}
    refused(api, api.post(None, "/api/v1/buyer/session", json=session))
    login = {"email": api.credentials["admin"], "password": f"{api.PASSWORD}\u0000"}
    refused(api, api.post(None, "/api/v1/auth/token", json=login))


def test_lone_surrogates_and_odd_unicode(api: Api, unchanged: None) -> None:
    raw = json.dumps(api.return_payload())
    for needle, replacement in (
        ('"too small"', '"\\ud800"'),
        ('"SHIRT-M"', '"\\udfff"'),
        ('"1001"', '"\\ud83d"'),
    ):
        content = raw.replace(needle, replacement).encode()
        refused(api, api.post("buyer", "/api/v1/returns", content=content, headers=JSON))
    for params in ({"q": "\u202e1001"}, {"q": "💩"}, {"q": "ß" * 320}):
        response = api.get("agent", "/api/v1/returns", params=params)
        assert response.status_code == 200, response.text
        assert response.json()["items"] == []


# --- sizes, numbers, dates -------------------------------------------------------------------


def test_huge_bodies(api: Api, unchanged: None) -> None:
    big = json.dumps({**api.return_payload(), "pad": "x" * 2_000_000}).encode()

    def chunks() -> Iterator[bytes]:
        for start in range(0, len(big), 64 * 1024):
            yield big[start : start + 64 * 1024]

    for path in ("/api/v1/returns", "/api/v1/orders"):
        declared = api.post("admin", path, content=big, headers=JSON)
        refused(api, declared, 413, "payload_too_large")
        streamed = api.post("admin", path, content=chunks(), headers=JSON)
        assert streamed.request.headers.get("transfer-encoding") == "chunked"
        assert "content-length" not in streamed.request.headers
        refused(api, streamed, 413, "payload_too_large")
    # The server is still fine afterwards.
    assert api.get(None, "/healthz").status_code == 200


def test_huge_numbers(api: Api, unchanged: None) -> None:
    good = api.return_payload()
    for quantity in (10**30, 2**63, -(2**63)):
        invalid(
            api,
            api.post("buyer", "/api/v1/returns", json=with_line(good, quantity=quantity)),
            "quantity",
        )
    order = api.order_payload(api.container.clock(), number="7007")
    for field, value in (
        ("unit_price", 10**30),
        ("paid_amount", 10**13 + 1),
        ("quantity", 10**30),
        ("unit_price", 2**63),
    ):
        invalid(api, api.put_order(with_line(order, **{field: value})), field)
    for params in (
        {"min_age_days": 10**30},
        {"max_age_days": 10**30},
        {"limit": 10**30},
        {"min_age_days": 3651},
        {"limit": "1e3"},
    ):
        invalid(api, api.get("agent", "/api/v1/returns", params=params), next(iter(params)))
    invalid(
        api,
        api.put(
            "admin",
            "/api/v1/policy",
            json={"document": DEFAULT_DOCUMENT, "expected_version": 10**30},
        ),
        "expected_version",
    )
    huge = {**DEFAULT_DOCUMENT, "windows": {"change_of_mind_days": 30, "fault_days": 10**30}}
    body = api.problem(
        api.put("admin", "/api/v1/policy", json={"document": huge}), 422, "invalid_policy"
    )
    assert body["path"] == "windows.fault_days"


def test_dates_out_of_range_or_without_zone(api: Api, unchanged: None) -> None:
    order = api.order_payload(api.container.clock(), number="7007")
    for placed_at in (
        "2024-01-01T10:00:00",  # naive
        "2024-01-01",
        "0001-01-01T00:00:00+00:00",
        "0001-01-01T00:00:00+05:00",
        "9999-12-31T23:59:59+00:00",
        "9999-12-31T23:59:59-05:00",
        "1969-12-31T23:59:59+00:00",
        "2200-01-01T00:00:00+00:00",
        "2024-02-30T00:00:00+00:00",
        "yesterday",
        "",
    ):
        invalid(api, api.put_order({**order, "placed_at": placed_at}), "placed_at")
    for delivered_at in (
        "2024-01-01T10:00:00",
        "0001-01-01T00:00:00+00:00",
        "9999-12-31T23:59:59+00:00",
    ):
        shipment = {"carrier": "UPS", "tracking_number": "1Z9", "delivered_at": delivered_at}
        invalid(api, api.put_order({**order, "shipments": [shipment]}), "delivered_at")
    backwards = {
        "carrier": "UPS",
        "tracking_number": "1Z9",
        "shipped_at": order["placed_at"],
        "delivered_at": "2000-01-01T00:00:00+00:00",
    }
    refused(api, api.put_order({**order, "shipments": [backwards]}), 422, "invalid_shipment")


# --- paths -----------------------------------------------------------------------------------


def test_odd_paths(api: Api, unchanged: None) -> None:
    case_ids = [
        "not-a-uuid",
        "%00",
        f"{MISSING_CASE}%00",
        "-" * 36,
        MISSING_CASE.upper(),
        f"{MISSING_CASE[:-1]}g",
        "%2E%2E%2F%2E%2E%2Fetc%2Fpasswd",
        "1' OR '1'='1",
        "x" * 5000,
        MISSING_CASE,
    ]
    for case_id in case_ids:
        for method, suffix in (("GET", ""), ("GET", "/timeline"), ("POST", "/transitions")):
            response = api.request(
                "agent",
                method,
                f"/api/v1/returns/{case_id}{suffix}",
                json={"to": "approved"} if method == "POST" else None,
                headers={"If-Match": '"1"'},
            )
            assert response.status_code in (404, 422), (case_id, suffix, response.text[:300])
            refused(api, response)

    numbers = [
        "no%20such",
        "%C3%A9t%C3%A9",
        "%F0%9F%92%A9",
        "%FF%FE",
        "%ED%A0%80",
        "a%2Fb",
        "%2E%2E",
        "1001%20",
        "%231001",
        "'%3B%20DROP%20TABLE%20orders%3B--",
        "%E2%80%AE1001",
        "x" * 64,
        "x" * 65,
        "x" * 10_000,
    ]
    for number in numbers:
        response = api.get("agent", f"/api/v1/orders/{number}")
        assert response.status_code in (404, 422), (number, response.text[:300])
        refused(api, response)
        if len(number) <= 64:
            assert response.status_code == 404, (number, response.text[:300])
    # The real order is still there.
    assert api.get("agent", f"/api/v1/orders/{api.ORDER_NUMBER}").status_code == 200
    refused(api, api.get("agent", "/api/v1/orders/1001", params={"store": "../x"}), 422)


# --- tokens ----------------------------------------------------------------------------------


def forged(claims: dict[str, Any], header: dict[str, Any] | None = None) -> str:
    def part(data: dict[str, Any]) -> str:
        return base64.urlsafe_b64encode(json.dumps(data).encode()).decode().rstrip("=")

    return f"{part(header or {'alg': 'none', 'typ': 'JWT'})}.{part(claims)}."


def test_bad_tokens(api: Api, unchanged: None) -> None:
    container = api.container
    now = container.clock()
    staff_me = api.get("admin", "/api/v1/me").json()
    admin = Principal("staff", staff_me["id"], Role.admin, staff_me["store_id"], "admin")
    expired = container.tokens.issue(admin, now - timedelta(days=2), 60)
    claims = {
        "sub": admin.id,
        "kind": "staff",
        "role": "admin",
        "store": admin.store_id,
        "aud": "returndesk",
        "iat": int(now.timestamp()),
        "exp": int((now + timedelta(hours=1)).timestamp()),
    }
    other_secret = TokenIssuer("another-secret-key-that-is-long-enough-000", container.clock)
    headers = [
        "garbage",
        "Bearer",
        "Bearer not a token",
        "bearer\tx",
        "Bearer garbage",
        "Bearer a.b.c",
        "Basic YWRtaW46YWRtaW4=",
        "Token " + api.tokens["admin"],
        f"Bearer {expired}",
        f"Bearer {forged(claims)}",
        f"Bearer {forged(claims, {'alg': 'HS256', 'typ': 'JWT'})}",
        f"Bearer {other_secret.issue(admin, now, 3600)}",
        f"Bearer {api.tokens['admin']}x",
        # Signed with the real key, but a staff token cannot claim the buyer role.
        f"Bearer {container.tokens.issue(Principal('staff', 'x', Role.buyer, None), now, 60)}",
        f"Bearer {container.tokens.issue(Principal('system', 'x', Role.admin, None), now, 60)}",
        "Bearer " + "A" * 5000,
    ]
    for header in headers:
        for method, path in (("GET", "/api/v1/returns"), ("POST", "/api/v1/orders")):
            response = api.client.request(
                method,
                path,
                headers={"Authorization": header},
                json=api.order_payload(now, number="7007"),
            )
            body = refused(api, response, 401, "invalid_token")
            assert response.headers["www-authenticate"] == "Bearer", header
            assert body["detail"]

    # Tokens expire by the app's clock: staff after 8 hours, buyers after a day.
    container.clock.advance(hours=9)  # type: ignore[attr-defined]
    refused(api, api.get("admin", "/api/v1/me"), 401, "invalid_token")
    assert api.get("buyer", "/api/v1/me").status_code == 200
    container.clock.advance(hours=16)  # type: ignore[attr-defined]
    refused(api, api.get("buyer", "/api/v1/me"), 401, "invalid_token")


def test_buyer_token_on_staff_endpoints(api: Api, unchanged: None) -> None:
    now = api.container.clock()
    staff_only = [
        ("GET", "/api/v1/returns", None),
        ("GET", "/api/v1/returns/counts", None),
        ("GET", "/api/v1/policy", None),
        ("PUT", "/api/v1/policy", {"document": DEFAULT_DOCUMENT}),
        ("GET", "/api/v1/policy/versions", None),
        ("GET", "/api/v1/policy/versions/1", None),
        (
            "POST",
            "/api/v1/policy/evaluate",
            {
                "order_number": api.ORDER_NUMBER,
                "lines": [{"sku": "SHIRT-M", "quantity": 1, "reason": "wrong_size"}],
                "requested_at": now.isoformat(),
            },
        ),
        (
            "POST",
            "/api/v1/policy/simulate",
            {"document": DEFAULT_DOCUMENT, "since": now.isoformat()},
        ),
        ("GET", "/api/v1/staff", None),
        (
            "POST",
            "/api/v1/staff",
            {"email": "me@buyer.example", "role": "admin", "password": "long-enough-password"},
        ),
        ("POST", "/api/v1/orders", api.order_payload(now, number="7007")),
    ]
    for method, path, body in staff_only:
        refused(api, api.request("buyer", method, path, json=body), 403, "forbidden")


# --- fuzz ------------------------------------------------------------------------------------

FIELD_NAMES = [
    "order_number",
    "lines",
    "preferred_resolution",
    "store",
    "sku",
    "quantity",
    "reason",
    "comment",
    "number",
    "email",
    "market",
    "currency",
    "language",
    "placed_at",
    "buyer_name",
    "shipments",
    "unit_price",
    "paid_amount",
    "title",
    "category",
    "serial_numbers",
]
scalars = (
    st.none()
    | st.booleans()
    | st.integers(min_value=-(2**70), max_value=2**70)
    | st.floats(allow_nan=False, allow_infinity=False)
    | st.text(max_size=30)
    | st.sampled_from(["1001", "SHIRT-M", "wrong_size", "refund", "US", "USD", "2024-01-01"])
)
json_values = st.recursive(
    scalars,
    lambda inner: (
        st.lists(inner, max_size=4)
        | st.dictionaries(st.sampled_from(FIELD_NAMES) | st.text(max_size=8), inner, max_size=4)
    ),
    max_leaves=12,
)
json_objects = st.dictionaries(
    st.sampled_from(FIELD_NAMES) | st.text(max_size=10), json_values, max_size=8
)


def mutations(base: Callable[[], dict[str, Any]]) -> st.SearchStrategy[dict[str, Any]]:
    """A valid body with one field (top level or in the first line) replaced or removed."""

    @st.composite
    def mutate(draw: st.DrawFn) -> dict[str, Any]:
        body = copy.deepcopy(base())
        target = body["lines"][0] if body.get("lines") and draw(st.booleans()) else body
        key = draw(st.sampled_from(sorted(target)) | st.sampled_from(FIELD_NAMES))
        if draw(st.integers(0, 4)) == 0:
            target.pop(key, None)
        else:
            target[key] = draw(json_values)
        return body

    return mutate()


@settings(
    max_examples=100,
    deadline=None,
    database=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(data=st.data())
def test_fuzz_returns_and_orders(api: Api, data: st.DataObject) -> None:
    now = api.container.clock()
    for path, base in (
        ("/api/v1/returns", api.return_payload),
        ("/api/v1/orders", lambda: api.order_payload(now, number="8008")),
    ):
        body = data.draw(json_objects | mutations(base), label=path)
        response = api.post("admin", path, json=body)
        assert response.status_code < 500, (path, body, response.text[:500])
        if response.status_code >= 400:
            refused(api, response)
        else:
            assert response.headers["content-type"] == "application/json"


@pytest.fixture
def fuzz_case(api: Api) -> dict[str, Any]:
    """One return for every example of the fuzz below (fixtures are set up once per test)."""
    return api.open_return("buyer", api.return_payload(quantity=1))


@settings(
    max_examples=60,
    deadline=None,
    database=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(data=st.data())
def test_fuzz_receiving_refunds_and_carrier_scans(
    api: Api, fuzz_case: dict[str, Any], data: st.DataObject
) -> None:
    """Whatever a scanner, a carrier, a refund or an exchange form sends: never a 500, always a
    problem."""
    case = fuzz_case
    targets: list[tuple[str, Callable[[], dict[str, Any]], dict[str, str]]] = [
        (
            "/api/v1/warehouse/receipts",
            lambda: {"code": case["rma"], "warehouse": "main",
                     "lines": [{"sku": "SHIRT-M", "quantity": 1, "grade": "damaged"}]},
            {},
        ),
        (
            "/api/v1/carrier-events",
            lambda: {"tracking_number": "1ZFUZZ", "carrier": "UPS", "status": "accepted",
                     "occurred_at": "2026-11-20T10:00:00+00:00", "reference": case["rma"]},
            {},
        ),
        (
            f"/api/v1/returns/{case['id']}/refunds",
            lambda: {"mode": "manual", "amount": 100, "reference": "fuzz", "currency": "USD"},
            {"Idempotency-Key": f"fuzz-{data.draw(st.integers(0, 10**9))}"},
        ),
        (
            f"/api/v1/returns/{case['id']}/exchange",
            lambda: {"instant": True,
                     "lines": [{"sku": "SHIRT-M", "quantity": 1, "replacement_sku": "SHIRT-L"}]},
            {},
        ),
        (
            f"/api/v1/returns/{case['id']}/exchange/order",
            lambda: {"order_reference": "#1001"},
            {},
        ),
    ]  # fmt: skip
    for path, base, headers in targets:
        body = data.draw(json_objects | mutations(base), label=path)
        response = api.post("admin", path, json=body, headers=headers)
        assert response.status_code < 500, (path, body, response.text[:500])
        if response.status_code >= 400:
            refused(api, response)
