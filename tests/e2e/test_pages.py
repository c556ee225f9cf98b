"""The server-rendered pages over real HTTP: sessions, CSRF, languages, and what they show."""

from __future__ import annotations

import re
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import httpx

CSRF = re.compile(r'name="csrf" value="([0-9a-f]+)"')
SUBMISSION = re.compile(r'name="submission_id" value="([^"]+)"')


@contextmanager
def buyer_session(api: Any) -> Iterator[httpx.Client]:
    """A cookie-carrying client signed in to the portal through the look-up form."""
    with httpx.Client(base_url=str(api.client.base_url), timeout=60) as client:
        response = client.post(
            "/portal/session", data={"order_number": api.ORDER_NUMBER, "email": api.BUYER_EMAIL}
        )
        assert response.status_code == 303, response.text
        assert response.headers["location"] == "/portal/order"
        yield client


@contextmanager
def staff_session(api: Any, role: str) -> Iterator[httpx.Client]:
    """A cookie-carrying client signed in to the console as the staff member of this role."""
    with httpx.Client(base_url=str(api.client.base_url), timeout=60) as client:
        response = client.post(
            "/console/login", data={"email": api.credentials[role], "password": api.PASSWORD}
        )
        assert response.status_code == 303, response.text
        assert response.headers["location"] == "/console"
        yield client


def test_pages_without_a_session_send_people_to_sign_in(api: Any) -> None:
    for path, target in (
        ("/portal/order", "/"),
        ("/console", "/console/login"),
        ("/console/admin", "/console/login"),
    ):
        response = api.client.get(path)
        assert response.status_code == 303, path
        assert response.headers["location"] == target


def test_the_portal_speaks_the_chosen_language_and_remembers_it(api: Any) -> None:
    page = api.client.get("/", headers={"Accept-Language": "de-DE,de;q=0.9"})
    assert page.headers["content-language"] == "de"
    assert '<html lang="de">' in page.text
    chosen = api.client.get("/?lang=ja")
    assert chosen.headers["content-language"] == "ja"
    assert "rd_lang=ja" in chosen.headers["set-cookie"]


def test_a_wrong_email_is_refused_in_the_page_without_a_session(api: Any) -> None:
    response = api.client.post(
        "/portal/session", data={"order_number": api.ORDER_NUMBER, "email": "x@example.com"}
    )
    assert response.status_code == 401
    assert 'data-testid="error"' in response.text
    assert "rd_buyer" not in response.headers.get("set-cookie", "")


def test_a_buyer_files_a_return_through_the_form_once_even_if_sent_twice(api: Any) -> None:
    with buyer_session(api) as buyer:
        page = buyer.get("/portal/order")
        assert page.status_code == 200
        submission = SUBMISSION.search(page.text)
        csrf = CSRF.search(page.text)
        assert submission is not None and csrf is not None
        form = {
            "csrf": csrf.group(1),
            "submission_id": submission.group(1),
            "line_count": "2",
            "sku_0": "SHIRT-M", "pick_0": "1", "qty_0": "20", "reason_0": "wrong_size",
            "sku_1": "LAMP-1", "qty_1": "1", "reason_1": "defective",
            "comment": "Too small", "resolution": "refund",
        }  # fmt: skip
        first = buyer.post("/portal/returns", data=form)
        again = buyer.post("/portal/returns", data=form)  # a double click
        assert first.status_code == again.status_code == 303
        assert first.headers["location"] == again.headers["location"]
        case_page = buyer.get(first.headers["location"])
        assert 'data-status="requested"' in case_page.text
        # Every unit of the shirt is now in a return; the lamp was not picked.
        order_page = buyer.get("/portal/order").text
        assert 'data-testid="pick-SHIRT-M"' not in order_page
        assert 'data-testid="pick-LAMP-1"' in order_page


def test_nothing_returnable_shows_no_wizard(api: Any) -> None:
    body = api.return_payload()
    body["lines"] = [
        {"sku": "SHIRT-M", "quantity": 20, "reason": "wrong_size"},
        {"sku": "LAMP-1", "quantity": 1, "reason": "defective"},
    ]
    api.open_return("buyer", body)
    with buyer_session(api) as buyer:
        page = buyer.get("/portal/order").text
    assert 'data-testid="nothing-returnable"' in page
    assert 'data-testid="return-form"' not in page


def test_a_form_post_without_the_session_csrf_token_changes_nothing(api: Any) -> None:
    case = api.open_return("buyer")
    with buyer_session(api) as buyer:
        response = buyer.post(
            f"/portal/returns/{case['id']}/cancel", data={"csrf": "0" * 32, "version": "1"}
        )
    assert response.status_code == 200
    assert 'data-testid="error"' in response.text
    after = api.get("agent", f"/api/v1/returns/{case['id']}").json()
    assert after["status"] == "requested" and after["version"] == 1


def test_settings_show_the_active_policy_version_and_link_to_the_editor(api: Any) -> None:
    document = {"windows": {"change_of_mind_days": 20, "fault_days": 365}}
    saved = api.put("admin", "/api/v1/policy", json={"document": document})
    assert saved.status_code == 200, saved.text
    with staff_session(api, "supervisor") as supervisor:
        page = supervisor.get("/console/admin")
        assert page.status_code == 200, page.text[:500]
        assert 'data-testid="policy-card"' in page.text
        assert "Active version: 1" in page.text
        assert 'href="/console/policy"' in page.text
        assert 'data-testid="policy-form"' not in page.text  # the basic form is gone
    with staff_session(api, "warehouse") as warehouse:
        refused = warehouse.get("/console/admin")
        assert refused.status_code == 303
        assert refused.headers["location"] == "/console"
        forged = warehouse.post("/console/admin/policy", data={"return_window_days": "1"})
        assert forged.status_code in (404, 405)
    assert api.get("agent", "/api/v1/policy").json()["version"] == 1
