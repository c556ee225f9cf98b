"""Live events over Server-Sent Events: resume after a cursor, live delivery, access rules."""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from typing import TYPE_CHECKING, Any

import httpx

if TYPE_CHECKING:  # tests/e2e/conftest.py, handed over by fixtures
    from conftest import Api

FRAME_TIMEOUT = 10.0


def frames(response: httpx.Response) -> Iterator[dict[str, Any]]:
    """Parse text/event-stream frames: {"id", "event", "data"}; comments are skipped."""
    frame: dict[str, Any] = {}
    for line in response.iter_lines():
        if line == "":
            if "event" in frame or "data" in frame:
                if "data" in frame:
                    frame["data"] = json.loads(frame["data"])
                yield frame
            frame = {}
        elif line.startswith(":"):
            continue
        else:
            key, _, value = line.partition(":")
            frame[key] = value.removeprefix(" ")


def collect(api: Api, who: str, path: str, count: int, **headers: str) -> list[dict[str, Any]]:
    got: list[dict[str, Any]] = []
    timeout = httpx.Timeout(FRAME_TIMEOUT)
    with api.client.stream(
        "GET", path, headers={**api.auth(who), **headers}, timeout=timeout
    ) as response:
        assert response.status_code == 200, response.read()
        for frame in frames(response):
            if frame.get("event") in ("timeline", "case_changed"):
                got.append(frame)
            if len(got) >= count:
                break
    return got


def test_a_reconnecting_client_gets_what_it_missed_in_order(api: Api) -> None:
    case = api.open_return()
    api.moved("agent", case, "under_review")
    case = api.get("agent", f"/api/v1/returns/{case['id']}").json()
    api.moved("agent", case, "approved")
    timeline = api.get("buyer", f"/api/v1/returns/{case['id']}/timeline").json()["items"]
    assert [e["kind"] for e in timeline][:2] == ["case_opened", "decision_made"]
    path = f"/api/v1/returns/{case['id']}/events"

    everything = collect(api, "buyer", path, len(timeline))
    assert [f["id"] for f in everything] == [e["id"] for e in timeline]
    assert everything[-1]["data"]["case_status"] == "approved"
    # The buyer's stream carries the buyer's view of the decision.
    decided = everything[1]["data"]
    assert decided["kind"] == "decision_made" and "responsibility" not in decided["data"]

    missed = collect(api, "agent", path, 2, **{"Last-Event-ID": timeline[1]["id"]})
    assert [f["id"] for f in missed] == [e["id"] for e in timeline[2:4]]
    staff_decided = collect(api, "agent", path, 2)[1]["data"]
    assert "responsibility" in staff_decided["data"]


def test_a_change_reaches_a_connected_client_at_once(api: Api) -> None:
    case = api.open_return()
    path = f"/api/v1/returns/{case['id']}/events"
    timeline = api.get("buyer", f"/api/v1/returns/{case['id']}/timeline").json()["items"]
    ready = threading.Event()
    got: list[dict[str, Any]] = []

    def listen() -> None:
        headers = {**api.auth("buyer"), "Last-Event-ID": timeline[-1]["id"]}
        with api.client.stream("GET", path, headers=headers, timeout=FRAME_TIMEOUT) as response:
            for line in response.iter_lines():
                if line.startswith("retry:"):
                    ready.set()
                    continue
                if line.startswith("data:"):
                    got.append(json.loads(line.removeprefix("data:").strip()))
                    return

    listener = threading.Thread(target=listen)
    listener.start()
    assert ready.wait(FRAME_TIMEOUT)
    api.moved("agent", case, "approved")
    listener.join(FRAME_TIMEOUT)
    assert not listener.is_alive()
    assert [(e["kind"], e["to_status"]) for e in got] == [("status_changed", "approved")]


def test_the_queue_stream_names_changed_cases(api: Api) -> None:
    case = api.open_return()
    ready = threading.Event()
    got: list[dict[str, Any]] = []

    def listen() -> None:
        with api.client.stream(
            "GET", "/api/v1/events", headers=api.auth("agent"), timeout=FRAME_TIMEOUT
        ) as response:
            for line in response.iter_lines():
                if line.startswith("retry:"):
                    ready.set()
                elif line.startswith("data:"):
                    got.append(json.loads(line.removeprefix("data:").strip()))
                    return

    listener = threading.Thread(target=listen)
    listener.start()
    assert ready.wait(FRAME_TIMEOUT)
    api.moved("agent", case, "under_review")
    listener.join(FRAME_TIMEOUT)
    assert got == [{"case_id": case["id"]}]


def test_a_buyer_cannot_listen_to_another_buyers_case(api: Api) -> None:
    other = api.put_order(api.order_payload(api.container.clock(), number="2002", email="x@y.co"))
    assert other.status_code == 201
    stranger = api.post(
        "admin",
        "/api/v1/returns",
        json=api.return_payload("2002"),
    ).json()
    with api.client.stream(
        "GET", f"/api/v1/returns/{stranger['id']}/events", headers=api.auth("buyer")
    ) as response:
        response.read()
        assert response.status_code == 404
        assert response.json()["code"] == "case_not_found"
    with api.client.stream("GET", "/api/v1/events", headers=api.auth("buyer")) as response:
        response.read()
        assert response.status_code == 403


def test_every_listener_of_a_case_gets_the_change_in_its_own_view(api: Api) -> None:
    """Streams of one case share one read per change; each still sees only its view."""
    case = api.open_return()
    path = f"/api/v1/returns/{case['id']}/events"
    timeline = api.get("agent", f"/api/v1/returns/{case['id']}/timeline").json()["items"]
    listeners = ["buyer", "agent", "buyer", "supervisor"]
    ready = threading.Barrier(len(listeners) + 1)
    got: dict[int, dict[str, Any]] = {}

    def listen(i: int, who: str) -> None:
        headers = {**api.auth(who), "Last-Event-ID": timeline[-1]["id"]}
        with api.client.stream("GET", path, headers=headers, timeout=FRAME_TIMEOUT) as response:
            for line in response.iter_lines():
                if line.startswith("retry:"):
                    ready.wait(FRAME_TIMEOUT)
                elif line.startswith("data:"):
                    got[i] = json.loads(line.removeprefix("data:").strip())
                    return

    threads = [threading.Thread(target=listen, args=(i, who)) for i, who in enumerate(listeners)]
    for t in threads:
        t.start()
    ready.wait(FRAME_TIMEOUT)
    api.post(
        "agent",
        f"/api/v1/returns/{case['id']}/decision/override",
        json={"outcome": "human_review", "note": "internal: check the serial number"},
        headers={"If-Match": f'"{case["version"]}"'},
    )
    for t in threads:
        t.join(FRAME_TIMEOUT)
    assert sorted(got) == [0, 1, 2, 3]
    assert {got[i]["kind"] for i in got} == {"decision_overridden"}
    assert got[0]["note"] == got[2]["note"] == ""  # buyers never see the staff note
    assert got[1]["note"] == got[3]["note"] == "internal: check the serial number"
