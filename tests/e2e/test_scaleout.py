"""App processes of their own (`returndesk serve`): killed with SIGKILL between commit and
delivery, and several side by side sharing live events and delivery jobs through a real
redis-server on loopback.

The in-process app of the `api` fixture sets things up (staff, orders, endpoints) and does not
dispatch, so that every delivery here is made by the app processes under test.
"""

from __future__ import annotations

import json
import threading
import time
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import TYPE_CHECKING, Any

import httpx
import pytest
import redis
from sqlalchemy import func, select
from websockets.exceptions import ConnectionClosed
from websockets.sync.client import ClientConnection, connect

from returndesk.adapters.db.tables import email_messages, outbox, webhook_deliveries
from servers.app_process import AppProcess
from servers.receiver import Behaviour, Receiver
from servers.redis_server import RedisServer
from servers.smtp import SmtpSink

if TYPE_CHECKING:  # tests/e2e/conftest.py, handed over by fixtures
    from conftest import Api

SECRET = "test-secret-key-that-is-long-enough-0123456789"  # as tests/conftest.py


@pytest.fixture
def redis_server(tmp_path: Path) -> Iterator[RedisServer]:
    with RedisServer(tmp_path / "redis") as server:
        yield server


@pytest.fixture
def namespace() -> str:
    return f"t{uuid.uuid4().hex[:10]}"


@pytest.fixture
def settings_overrides() -> dict[str, object]:
    return {"dispatch": False}


def app_env(database_url: str, **settings: str) -> dict[str, str]:
    env = {
        "RETURNDESK_DATABASE_URL": database_url,
        "RETURNDESK_SECRET_KEY": SECRET,
        "RETURNDESK_QUIET_HOURS": "",
        "RETURNDESK_WEBHOOK_ALLOW_PRIVATE": "1",
        "RETURNDESK_BUYER_SESSION_RATE": "10000/minute",
        "RETURNDESK_DELIVERY_LEASE_SECONDS": "2",
    }
    env.update({f"RETURNDESK_{key.upper()}": value for key, value in settings.items()})
    return env


def wait_until(check: Callable[[], bool], timeout: float = 20.0, what: str = "") -> None:
    deadline = time.monotonic() + timeout
    while not check():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {what}")
        time.sleep(0.05)


def register_webhook(api: Api, url: str) -> None:
    response = api.post("admin", "/api/v1/webhooks", json={"url": url, "events": ["*"]})
    assert response.status_code == 201, response.text


def open_returns_through(api: Api, app: AppProcess, numbers: list[str]) -> list[dict[str, Any]]:
    """Orders made through the fixture app; the returns (the commits under test) through `app`."""
    cases = []
    headers = {"Authorization": f"Bearer {api.tokens['admin']}"}
    with httpx.Client(base_url=app.url, timeout=30) as client:
        for number in numbers:
            created = api.put_order(api.order_payload(api.container.clock(), number=number))
            assert created.status_code == 201, created.text
            opened = client.post(
                "/api/v1/returns", json=api.return_payload(number), headers=headers
            )
            assert opened.status_code == 201, opened.text
            cases.append(opened.json())
    return cases


def count(api: Api, table: Any, *where: Any) -> int:
    with api.container.engine.connect() as conn:
        return int(conn.execute(select(func.count()).select_from(table).where(*where)).scalar_one())


# --- SIGKILL -------------------------------------------------------------------------------


def test_killed_after_commit_and_before_delivery_everything_goes_out_once(
    api: Api, database_url: str, tmp_path: Path
) -> None:
    with Receiver() as receiver, SmtpSink() as smtp:
        register_webhook(api, receiver.url)
        env = app_env(database_url, smtp_url=smtp.url)
        first = AppProcess(tmp_path / "first", {**env, "RETURNDESK_DISPATCH": "0"}).start()
        try:
            cases = open_returns_through(api, first, ["5001", "5002", "5003"])
        finally:
            first.kill()  # committed, nothing delivered: no shutdown code runs
        assert receiver.received == [] and smtp.messages == []
        assert count(api, outbox, outbox.c.dispatched_at.is_(None)) >= 6

        with AppProcess(tmp_path / "second", env):
            wait_until(lambda: len(receiver.received) >= 6 and len(smtp.messages) >= 3,
                       what="every webhook and email")  # fmt: skip
            time.sleep(1.5)  # anything sent twice would arrive by now
        ids = [r.headers["webhook-id"] for r in receiver.received]
        assert len(ids) == 6 == len(set(ids)), ids
        message_ids = [str(m["Message-ID"]) for m in smtp.messages]
        assert len(message_ids) == 3 == len(set(message_ids)), message_ids
        numbers = {str(m["X-ReturnDesk-Case"]) for m in smtp.messages}
        assert numbers == {c["number"] for c in cases}


def test_killed_while_sending_the_delivery_is_sent_again_with_the_same_id(
    api: Api, database_url: str, tmp_path: Path
) -> None:
    """The receiver got the request, the sender died before recording it: the lease runs out,
    another process sends it again with the same webhook-id, which the receiver dedupes."""
    with Receiver(Behaviour(delay=2.0)) as receiver:
        register_webhook(api, receiver.url)
        env = app_env(database_url)
        first = AppProcess(tmp_path / "first", env).start()
        try:
            [case] = open_returns_through(api, first, ["5101"])
            wait_until(
                lambda: count(api, webhook_deliveries, webhook_deliveries.c.lease.is_not(None)) > 0,
                what="the first send to start",
            )
            time.sleep(0.5)  # mid-request: the receiver is holding it
        finally:
            first.kill()
        with AppProcess(tmp_path / "second", env):
            wait_until(
                lambda: (
                    count(api, webhook_deliveries, webhook_deliveries.c.status == "succeeded") == 2
                ),
                timeout=40,
                what="both deliveries recorded",
            )
        unique = {r.headers["webhook-id"]: json.loads(r.body) for r in receiver.received}
        assert len(unique) == 2
        assert [b["type"] for b in unique.values()] == ["case.case_opened", "case.decision_made"]
        assert {b["data"]["case_id"] for b in unique.values()} == {case["id"]}
        # The one in flight at the kill arrived twice, with one id: at least once, never lost.
        assert len(receiver.received) == 3


# --- Redis: several processes ----------------------------------------------------------------


class Stream:
    """A Server-Sent Events stream read in a thread; frames are kept as they arrive."""

    def __init__(self, url: str, token: str) -> None:
        self.frames: list[dict[str, Any]] = []
        self._url, self._token = url, token
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._read, daemon=True)

    def _read(self) -> None:
        try:
            self._frames()
        except httpx.HTTPError:  # the server went away at the end of the test
            if not self._stop.is_set():
                raise

    def _frames(self) -> None:
        headers = {"Authorization": f"Bearer {self._token}"}
        timeout = httpx.Timeout(5.0, read=None)
        with httpx.stream("GET", self._url, headers=headers, timeout=timeout) as response:
            frame: dict[str, Any] = {}
            for line in response.iter_lines():
                if self._stop.is_set():
                    return
                if line == "" and "data" in frame:
                    frame["data"] = json.loads(frame["data"])
                    self.frames.append(frame)
                    frame = {}
                elif line and not line.startswith(":"):
                    key, _, value = line.partition(":")
                    frame[key] = value.removeprefix(" ")

    def statuses(self) -> list[str]:
        return [f["data"].get("to_status") for f in self.frames if f["data"].get("to_status")]

    def __enter__(self) -> Stream:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()


@pytest.mark.parametrize("shared", [True, False], ids=["with-redis", "without-redis"])
def test_a_buyer_connected_to_one_process_sees_a_change_made_through_another(
    api: Api,
    database_url: str,
    tmp_path: Path,
    redis_server: RedisServer,
    namespace: str,
    shared: bool,
) -> None:
    redis_settings = {"redis_url": redis_server.url, "redis_namespace": namespace}
    env = app_env(database_url, dispatch="0", **redis_settings)
    case = api.open_return()
    with AppProcess(tmp_path / "a", env) as a:
        b_env = env if shared else app_env(database_url, dispatch="0")
        with AppProcess(tmp_path / "b", b_env) as b:
            url = f"{b.url}/api/v1/returns/{case['id']}/events"
            with Stream(url, api.tokens["buyer"]) as stream:
                wait_until(lambda: len(stream.frames) >= 2, what="the backlog")
                headers = {
                    "Authorization": f"Bearer {api.tokens['agent']}",
                    "If-Match": f'"{case["version"]}"',
                }
                moved = httpx.post(
                    f"{a.url}/api/v1/returns/{case['id']}/transitions",
                    json={"to": "under_review"},
                    headers=headers,
                    timeout=30,
                )
                assert moved.status_code == 200, moved.text
                if shared:
                    wait_until(lambda: "under_review" in stream.statuses(), timeout=5,
                               what="the change made through process A")  # fmt: skip
                else:  # the control: nothing wakes process B, so it never hears of it
                    time.sleep(3)
                    assert "under_review" not in stream.statuses()


def test_processes_share_delivery_jobs_through_redis_and_send_each_once(
    api: Api, database_url: str, tmp_path: Path, redis_server: RedisServer, namespace: str
) -> None:
    with Receiver() as receiver, SmtpSink() as smtp:
        register_webhook(api, receiver.url)
        env = app_env(
            database_url, redis_url=redis_server.url, redis_namespace=namespace, smtp_url=smtp.url
        )
        with AppProcess(tmp_path / "a", env) as a, AppProcess(tmp_path / "b", env):
            cases = open_returns_through(api, a, ["6001", "6002", "6003", "6004"])
            wait_until(lambda: len(receiver.received) >= 8 and len(smtp.messages) >= 4,
                       what="every delivery")  # fmt: skip
            time.sleep(1.5)
        ids = [r.headers["webhook-id"] for r in receiver.received]
        assert len(ids) == 8 == len(set(ids))
        assert len(smtp.messages) == 4 == len({str(m["Message-ID"]) for m in smtp.messages})
        assert {str(m["X-ReturnDesk-Case"]) for m in smtp.messages} == {c["number"] for c in cases}
        assert count(api, email_messages, email_messages.c.status == "sent") == 4
        # The jobs went through Dramatiq's queue in Redis (its Lua dispatch script ran).
        stats = redis.Redis.from_url(redis_server.url).info("commandstats")
        assert stats.get("cmdstat_evalsha", {}).get("calls", 0) > 0, stats.keys()


def test_a_call_whose_seats_are_on_two_processes_signals_through_redis(
    api: Api, database_url: str, tmp_path: Path, redis_server: RedisServer, namespace: str
) -> None:
    """The agent's page on one app process, the buyer's on another: they see each other,
    offers and answers cross over, the agent's tools do not reach the buyer's page before its
    person pressed Join, and Join is noted in the shared directory; the buyer's answer given
    to one process reaches the agent on the other, a reload landing on the first process
    replaces the old connection on the second, and the agent's hang-up closes every socket."""
    case = api.open_return()
    made = api.post("agent", f"/api/v1/returns/{case['id']}/calls")
    assert made.status_code == 201, made.text
    call = made.json()
    tokens = {role: call[f"{role}_url"].split("token=", 1)[1] for role in ("agent", "buyer")}
    env = app_env(database_url, redis_url=redis_server.url, redis_namespace=namespace,
                  dispatch="0")  # fmt: skip

    def socket(app: AppProcess, role: str, lobby: str = "") -> ClientConnection:
        url = app.url.replace("http://", "ws://")
        return connect(f"{url}/calls/{call['call_id']}/signal?{lobby}token={tokens[role]}",
                       open_timeout=10)  # fmt: skip

    def directory_state(seat: str) -> str:
        client = redis.Redis.from_url(redis_server.url, decode_responses=True)
        try:
            raw = client.hget(f"{namespace}:call:{call['call_id']}:seats", seat)
        finally:
            client.close()
        assert isinstance(raw, str)
        return str(json.loads(raw)["state"])

    def receive(ws: ClientConnection) -> dict[str, Any]:
        message: dict[str, Any] = json.loads(ws.recv(timeout=10))
        return message

    a_home, b_home = tmp_path / "a", tmp_path / "b"
    with AppProcess(a_home, env) as a, AppProcess(b_home, env) as b, socket(a, "agent") as agent:
        hello = receive(agent)
        with socket(b, "buyer", lobby="lobby=1&") as buyer:
            welcome = receive(buyer)
            me = welcome["you"]["id"]
            assert [p["role"] for p in welcome["peers"]] == ["agent"]
            assert receive(agent)["peer"]["state"] == "lobby"
            assert directory_state(me) == "lobby"
            offer = {"description": {"type": "offer", "sdp": "v=0"}}
            agent.send(json.dumps({"type": "signal", "to": me, "data": offer}))
            assert receive(buyer) == {
                "type": "signal",
                "from": hello["you"]["id"],
                "data": offer,
            }
            agent.send(json.dumps({"type": "control", "action": "still", "to": me}))
            answer = {"description": {"type": "answer", "sdp": "v=0"}}
            agent.send(json.dumps({"type": "signal", "to": me, "data": answer}))
            # Same path as the still, after it: had the still been delivered, it would be first.
            assert receive(buyer)["data"] == answer
            buyer.send(json.dumps({"type": "join"}))
            assert receive(agent) == {"type": "peer_ready", "id": me}
            assert receive(buyer) == {"type": "joined", "recording": False}
            assert directory_state(me) == "joined"
            answered = httpx.post(
                f"{a.url}/api/v1/calls/{call['call_id']}/consent",
                headers={"X-Call-Token": tokens["buyer"]}, json={"answer": "granted"},
            )  # fmt: skip
            assert answered.status_code == 200, answered.text
            assert receive(agent) == {"type": "consent", "answer": "granted"}
            assert receive(buyer) == {"type": "consent", "answer": "granted"}
            # The buyer reloads and lands on the other process: the old socket is closed.
            with socket(a, "buyer") as again:
                assert [p["role"] for p in receive(again)["peers"]] == ["agent"]
                with pytest.raises(ConnectionClosed) as replaced:
                    while True:
                        buyer.recv(timeout=10)
                assert replaced.value.rcvd is not None and replaced.value.rcvd.code == 4409
                kinds = [receive(agent)["type"], receive(agent)["type"]]
                assert kinds == ["peer_left", "peer_joined"]
                agent.send(json.dumps({"type": "hang_up"}))
                assert receive(again)["type"] == "ended"
                with pytest.raises(ConnectionClosed) as closed:
                    again.recv(timeout=10)
                assert closed.value.rcvd is not None and closed.value.rcvd.code == 4410
    listed = api.get("agent", f"/api/v1/returns/{case['id']}/calls").json()["items"][0]
    assert listed["status"] == "ended" and listed["consent"] == "granted"
