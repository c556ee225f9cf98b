"""Webhooks end to end: a real receiver on loopback, Standard Webhooks signatures, retries
in order, secret rotation, replays, and addresses that must not be reached."""

from __future__ import annotations

import json
import time
from typing import TYPE_CHECKING, Any

import httpx
import pytest
from standardwebhooks import Webhook, WebhookVerificationError

from returndesk.domain.access import Role
from returndesk.services.principal import SYSTEM
from returndesk.services.staff import create_staff_user
from servers.receiver import Behaviour, Receiver

if TYPE_CHECKING:  # tests/e2e/conftest.py, handed over by fixtures
    from conftest import Api, AppFactory


def register(api: Api, url: str, events: list[str] | None = None) -> dict[str, Any]:
    response = api.post("admin", "/api/v1/webhooks", json={"url": url, "events": events or ["*"]})
    assert response.status_code == 201, response.text
    return response.json()


def kinds(received: list[Any]) -> list[str]:
    return [json.loads(r.body)["type"] for r in received]


def test_deliveries_are_signed_and_verify(api: Api) -> None:
    with Receiver() as receiver:
        hook = register(api, receiver.url)
        assert hook["secret"].startswith("whsec_")
        api.open_return()
        got = receiver.wait_for(2)
        assert kinds(got) == ["case.case_opened", "case.decision_made"]
        first = got[0]
        payload = Webhook(hook["secret"]).verify(first.body, first.headers)
        assert payload["data"]["kind"] == "case_opened"
        assert first.headers["webhook-id"].startswith("msg_")
        with pytest.raises(WebhookVerificationError):
            Webhook(hook["secret"]).verify(first.body.replace(b"case_opened", b"case_closed"),
                                           first.headers)  # fmt: skip
        listed = api.get("admin", f"/api/v1/webhooks/{hook['id']}/deliveries").json()["items"]
        assert {d["status"] for d in listed} == {"succeeded"}
        assert all(d["history"][0]["status"] == 204 for d in listed)


def test_a_receiver_that_was_down_gets_everything_later_in_order(api: Api, clock: Any) -> None:
    with Receiver(Behaviour(fail_first=3)) as receiver:
        hook = register(api, receiver.url)
        case = api.open_return()
        api.moved("agent", case, "under_review")
        time.sleep(1.0)  # the first attempt fails; the rest wait behind it (same case)
        assert receiver.received == []
        for _ in range(4):
            clock.advance(minutes=10)  # past each backoff
            time.sleep(0.6)
        got = receiver.wait_for(3)
        assert kinds(got) == ["case.case_opened", "case.decision_made", "case.status_changed"]
        assert len({r.headers["webhook-id"] for r in got}) == 3
        listed = api.get("admin", f"/api/v1/webhooks/{hook['id']}/deliveries").json()["items"]
        opened = next(d for d in listed if d["type"] == "case.case_opened")
        assert opened["attempts"] == 4
        assert [a["status"] for a in opened["history"]] == [503, 503, 503, 204]


def test_event_types_filter_and_replays_keep_the_id(api: Api) -> None:
    with Receiver() as receiver:
        hook = register(api, receiver.url, ["case.status_changed"])
        case = api.open_return()
        api.moved("agent", case, "under_review")
        got = receiver.wait_for(1)
        time.sleep(0.5)
        assert kinds(receiver.received) == ["case.status_changed"]
        delivery = api.get("admin", f"/api/v1/webhooks/{hook['id']}/deliveries").json()["items"][0]
        replayed = api.post(
            "admin", f"/api/v1/webhooks/{hook['id']}/deliveries/{delivery['id']}/replay"
        )
        assert replayed.status_code == 202
        again = receiver.wait_for(2)
        assert again[1].headers["webhook-id"] == got[0].headers["webhook-id"]
        api.problem(
            api.post("admin", f"/api/v1/webhooks/{hook['id']}/deliveries/msg_0000/replay"),
            404,
            "delivery_not_found",
        )


def test_a_rotated_secret_overlaps_with_the_old_one(api: Api) -> None:
    with Receiver() as receiver:
        hook = register(api, receiver.url)
        rotated = api.post("admin", f"/api/v1/webhooks/{hook['id']}/secret").json()
        assert rotated["secret"] != hook["secret"]
        api.open_return()
        got = receiver.wait_for(1)[0]
        assert len(got.headers["webhook-signature"].split(" ")) == 2
        Webhook(hook["secret"]).verify(got.body, got.headers)
        Webhook(rotated["secret"]).verify(got.body, got.headers)


def test_a_slow_receiver_does_not_hold_up_the_others(api: Api) -> None:
    with Receiver(Behaviour(delay=4.0)) as slow, Receiver() as fast:
        register(api, slow.url)
        register(api, fast.url)
        started = time.monotonic()
        api.open_return()
        fast.wait_for(2, timeout=3.0)
        assert time.monotonic() - started < 3.0
        slow.wait_for(2, timeout=15.0)


def test_stopped_endpoints_get_nothing_more(api: Api) -> None:
    with Receiver() as receiver:
        hook = register(api, receiver.url)
        assert api.request("admin", "DELETE", f"/api/v1/webhooks/{hook['id']}").status_code == 204
        api.open_return()
        time.sleep(1.0)
        assert receiver.received == []
        listed = api.get("admin", "/api/v1/webhooks").json()["items"]
        assert [(h["id"], h["active"]) for h in listed] == [(hook["id"], False)]
        assert "secret" not in listed[0]


@pytest.mark.parametrize(
    "url",
    ["ftp://example.com/hook", "http://user:pw@example.com/", "http://", "http://a b.com/"],
)
def test_bad_urls_are_refused(api: Api, url: str) -> None:
    api.problem(api.post("admin", "/api/v1/webhooks", json={"url": url, "events": ["*"]}), 422)


def test_private_addresses_are_refused_unless_allowed(start_app: AppFactory) -> None:
    server, container = start_app(webhook_allow_private=False)
    create_staff_user(
        container.uow, container.hasher, container.clock, SYSTEM,
        email="owner@shop.example", role=Role.admin, password="owner-password-1",
    )  # fmt: skip
    with httpx.Client(base_url=server.url) as client:
        token = client.post(
            "/api/v1/auth/token",
            json={"email": "owner@shop.example", "password": "owner-password-1"},
        ).json()["access_token"]
        auth = {"Authorization": f"Bearer {token}"}
        for url in (
            "http://127.0.0.1:9/hook",
            "http://10.1.2.3/hook",
            "http://[::1]/hook",
            "http://169.254.169.254/latest/meta-data",
            "http://localhost/hook",
        ):
            response = client.post(
                "/api/v1/webhooks", json={"url": url, "events": ["*"]}, headers=auth
            )
            assert response.status_code == 422, (url, response.text)
            assert response.json()["code"] == "invalid_webhook_url"


def test_nothing_is_lost_when_delivery_stops_between_commit_and_send(
    start_app: AppFactory, api: Api
) -> None:
    """The outbox row is committed with the change; a process that never delivered it (it
    died, or does not dispatch) leaves it for the next dispatcher, which sends it once."""
    with Receiver() as receiver:
        quiet, _ = start_app(dispatch=False)
        hook = register(api, receiver.url)
        with httpx.Client(base_url=quiet.url) as client:
            token = api.tokens["buyer"]
            opened = client.post(
                "/api/v1/returns",
                json=api.return_payload(),
                headers={"Authorization": f"Bearer {token}"},
            )
            assert opened.status_code == 201, opened.text
        time.sleep(1.0)
        # The default app's dispatcher also runs on this database: it picks the rows up.
        got = receiver.wait_for(2)
        time.sleep(1.0)
        assert len(receiver.received) == 2, "each event once"
        assert kinds(got) == ["case.case_opened", "case.decision_made"]
        listed = api.get("admin", f"/api/v1/webhooks/{hook['id']}/deliveries").json()["items"]
        assert len(listed) == 2


def test_two_dispatchers_send_each_delivery_once(start_app: AppFactory, api: Api) -> None:
    """A second app process on the same database runs its own dispatcher: the lease on each
    delivery keeps them from sending it twice."""
    start_app()  # another process's dispatcher on this database
    with Receiver() as receiver:
        register(api, receiver.url)
        for number in ("3001", "3002", "3003"):
            created = api.put_order(api.order_payload(api.container.clock(), number=number))
            assert created.status_code == 201
            api.post("admin", "/api/v1/returns", json=api.return_payload(number))
        got = receiver.wait_for(6)
        time.sleep(1.5)
        ids = [r.headers["webhook-id"] for r in receiver.received]
        assert len(ids) == 6 == len(set(ids)), ids
        assert len(got) == 6
