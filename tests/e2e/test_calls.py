"""Video calls over the API, on SQLite and PostgreSQL: starting one, the join links (wrong,
other call's, expired), the buyer's answer about recording before any recording, stills and
recordings as evidence of the case, guests, the end with its summary, the sweep of calls whose
links ran out, and the buyer's email. The browsers' side is in browser/test_call_pages.py."""

from __future__ import annotations

import base64
import hashlib
import hmac
import io
import json
import subprocess
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

import pytest
from PIL import Image
from websockets.exceptions import ConnectionClosed
from websockets.sync.client import ClientConnection, connect

from returndesk.domain.notifications import Section, plan_email
from returndesk.services import calls as svc
from returndesk.services.calls import IceConfig, sweep_calls
from returndesk.services.evidence import list_evidence
from returndesk.services.principal import SYSTEM
from returndesk.services.returns import get_timeline

if TYPE_CHECKING:
    from conftest import Api


def png(width: int = 320, height: int = 240) -> bytes:
    """A sharp picture (a checkerboard), so the photo checks have nothing to ask again."""
    image = Image.new("RGB", (width, height), "white")
    for x in range(0, width, 20):
        for y in range(0, height, 20):
            if (x // 20 + y // 20) % 2:
                image.paste((20, 20, 20), (x, y, x + 20, y + 20))
    out = io.BytesIO()
    image.save(out, "PNG")
    return out.getvalue()


def token_of(url: str) -> str:
    return url.split("token=", 1)[1]


def start(api: Api, case: dict[str, Any], who: str = "agent", **body: Any) -> dict[str, Any]:
    response = api.post(who, f"/api/v1/returns/{case['id']}/calls", json=body or None)
    assert response.status_code == 201, response.text
    made: dict[str, Any] = response.json()
    made["buyer"] = token_of(made["buyer_url"])
    made["agent"] = token_of(made["agent_url"])
    return made


def seat(api: Api, method: str, call: dict[str, Any], path: str, token: str, **kw: Any) -> Any:
    headers = {"X-Call-Token": token, **kw.pop("headers", {})}
    return api.request(None, method, f"/api/v1/calls/{call['call_id']}{path}", headers=headers,
                       **kw)  # fmt: skip


@pytest.fixture
def clip(tmp_path: Any) -> bytes:
    path = tmp_path / "clip.webm"
    subprocess.run(
        ["ffmpeg", "-v", "error", "-y", "-f", "lavfi", "-i", "testsrc2=size=320x240:rate=15",
         "-t", "3", "-c:v", "libvpx", "-b:v", "300k", str(path)],
        check=True, timeout=120,
    )  # fmt: skip
    return path.read_bytes()


def test_start_a_call_and_open_each_seat(api: Api) -> None:
    case = api.open_return()
    call = start(api, case)
    assert call["buyer_url"].startswith(api.container.settings.public_url + "/calls/")
    assert call["agent_url"] != call["buyer_url"]
    view = seat(api, "GET", call, "", call["buyer"])
    assert view.status_code == 200, view.text
    body = view.json()
    assert body["you"]["role"] == "buyer" and body["call"]["status"] == "waiting"
    assert body["call"]["consent"] is None and body["ice_servers"] == []
    assert seat(api, "GET", call, "", call["agent"]).json()["you"]["role"] == "agent"
    # The buyer sees the call on their case; the timeline says it started.
    listed = api.get("buyer", f"/api/v1/returns/{case['id']}/calls").json()["items"]
    assert [c["id"] for c in listed] == [call["call_id"]]
    kinds = [
        e["kind"]
        for e in api.get("buyer", f"/api/v1/returns/{case['id']}/timeline").json()["items"]
    ]
    assert "call_started" in kinds


def test_wrong_other_and_expired_links_are_refused(api: Api, clock: Any) -> None:
    case = api.open_return()
    call, other = start(api, case), start(api, case)
    api.problem(seat(api, "GET", call, "", "not-a-token"), 401, "invalid_join_token")
    tampered = call["buyer"][:-2] + ("AA" if not call["buyer"].endswith("AA") else "BB")
    api.problem(seat(api, "GET", call, "", tampered), 401, "invalid_join_token")
    # A link of another call opens nothing here.
    api.problem(seat(api, "GET", call, "", other["buyer"]), 401, "invalid_join_token")
    # A session token is not a join link.
    api.problem(seat(api, "GET", call, "", api.tokens["buyer"]), 401, "invalid_join_token")
    missing = api.request(None, "GET", f"/api/v1/calls/{call['call_id']}")
    api.client_error(missing)
    clock.advance(minutes=61)  # the links live 60 minutes by default
    api.problem(seat(api, "GET", call, "", call["buyer"]), 401, "invalid_join_token")


def test_who_may_start_calls_and_invite(api: Api) -> None:
    case = api.open_return()
    api.problem(api.post("buyer", f"/api/v1/returns/{case['id']}/calls"), 403, "forbidden")
    api.problem(api.post("warehouse", f"/api/v1/returns/{case['id']}/calls"), 403, "forbidden")
    bad = api.post("agent", f"/api/v1/returns/{case['id']}/calls", json={"link_minutes": 1})
    api.problem(bad, 422)
    call = start(api, case, link_minutes=15)
    guests = f"/api/v1/returns/{case['id']}/calls/{call['call_id']}/guests"
    api.problem(api.post("agent", guests, json={"name": "   "}), 422)
    for name in ("Keiko", "Jonas"):
        assert api.post("agent", guests, json={"name": name}).status_code == 201
    api.problem(api.post("agent", guests, json={"name": "Third"}), 409, "call_full")


def test_recording_waits_for_the_buyers_yes_and_stops_with_a_no(
    api: Api, clock: Any, clip: bytes
) -> None:
    case = api.open_return()
    call = start(api, case)
    recording = {"mime_type": "video/webm;codecs=vp8", "timeslice_ms": 1000}
    refused = seat(api, "POST", call, "/recordings", call["agent"], json=recording)
    api.problem(refused, 409, "recording_not_consented")
    # Only the buyer answers; the answer is checked.
    api.problem(seat(api, "POST", call, "/consent", call["agent"], json={"answer": "granted"}),
                401, "buyer_only")  # fmt: skip
    api.problem(seat(api, "POST", call, "/consent", call["buyer"], json={"answer": "maybe"}),
                422, "invalid_consent")  # fmt: skip
    yes = seat(api, "POST", call, "/consent", call["buyer"], json={"answer": "granted"})
    assert yes.status_code == 200 and yes.json()["consent"] == "granted"
    again = seat(api, "POST", call, "/consent", call["buyer"], json={"answer": "granted"})
    assert again.status_code == 200
    timeline = api.get("agent", f"/api/v1/returns/{case['id']}/timeline").json()["items"]
    assert [e["data"]["consent"] for e in timeline if e["kind"] == "call_consent"] == ["granted"]

    started = seat(api, "POST", call, "/recordings", call["buyer"], json=recording)
    assert started.status_code == 201, started.text
    rec = started.json()
    size = -(-len(clip) // 3)
    parts = [clip[i : i + size] for i in range(0, len(clip), size)]
    for number, part in enumerate(parts):
        if number:
            clock.advance(seconds=1)
        put = seat(api, "PUT", call, f"/recordings/{rec['id']}/chunks/{number}", call["buyer"],
                   content=part)  # fmt: skip
        assert put.status_code == 200, put.text
    done = seat(api, "POST", call, f"/recordings/{rec['id']}/finish", call["buyer"])
    assert done.status_code == 201, done.text
    item = done.json()
    assert item["kind"] == "video" and item["details"]["live_attested"] is True

    # A no stops what is being recorded: the next chunk is refused.
    second = seat(api, "POST", call, "/recordings", call["agent"], json=recording).json()
    no = seat(api, "POST", call, "/consent", call["buyer"], json={"answer": "declined"})
    assert no.json()["consent"] == "declined"
    late = seat(api, "PUT", call, f"/recordings/{second['id']}/chunks/0", call["agent"],
                content=parts[0])  # fmt: skip
    api.problem(late, 409, "recording_not_consented")
    listed = api.get("agent", f"/api/v1/returns/{case['id']}/calls").json()["items"][0]
    assert listed["recording_ids"] == [rec["id"], second["id"]]
    assert listed["consent"] == "declined"


def test_stills_are_evidence_guests_add_none(api: Api) -> None:
    case = api.open_return()
    call = start(api, case)
    guests = f"/api/v1/returns/{case['id']}/calls/{call['call_id']}/guests"
    guest = token_of(api.post("agent", guests, json={"name": "Keiko"}).json()["guest_url"])
    agent_seat = seat(api, "GET", call, "", call["agent"]).json()["you"]
    shot = seat(api, "POST", call, "/stills", call["buyer"], content=png(),
                headers={"X-Requested-By": agent_seat["id"]})  # fmt: skip
    assert shot.status_code == 201, shot.text
    item = shot.json()
    assert item["kind"] == "photo"
    assert item["details"]["call_id"] == call["call_id"]
    assert item["details"]["requested_by"] == agent_seat["name"]
    assert (item["details"]["width"], item["details"]["height"]) == (320, 240)
    api.problem(seat(api, "POST", call, "/stills", guest, content=png()), 401, "guest_no_evidence")
    api.problem(seat(api, "POST", call, "/stills", call["agent"], content=b"not an image"),
                422, "file_type_mismatch")  # fmt: skip
    api.problem(seat(api, "POST", call, "/stills", call["agent"], content=b""), 422, "empty_file")
    listed = api.get("agent", f"/api/v1/returns/{case['id']}/calls").json()["items"][0]
    assert listed["still_ids"] == [item["id"]]
    items = list_evidence(api.container.uow, SYSTEM, case["id"])
    assert [i.id for i in items] == [item["id"]]  # the refused ones left nothing behind


def test_the_agent_ends_the_call_with_its_summary(api: Api, clock: Any) -> None:
    case = api.open_return()
    call = start(api, case)
    # Nobody came: ending it is recorded as expired, not as a call.
    ended = api.post("agent", f"/api/v1/returns/{case['id']}/calls/{call['call_id']}/end")
    assert ended.status_code == 200 and ended.json()["status"] == "expired"
    api.problem(seat(api, "GET", call, "", call["buyer"]), 409, "call_expired")

    call = start(api, case)
    # Two people in it (the pages join over the signalling socket; the service is the same).
    container = api.container
    for token in (call["agent"], call["buyer"]):
        svc.join(container.uow, container.clock, svc.access(
            container.uow, container.clock, container.tokens, token))  # fmt: skip
    clock.advance(seconds=95)
    hung = seat(api, "POST", call, "/hang-up", call["agent"])
    assert hung.status_code == 200, hung.text
    body = hung.json()
    assert body["status"] == "ended" and body["duration_seconds"] == 95
    api.problem(seat(api, "GET", call, "", call["buyer"]), 409, "call_ended")
    [summary] = [
        e for e in get_timeline(container.uow, SYSTEM, case["id"]) if e.kind == "call_ended"
        and e.data["call_id"] == call["call_id"]
    ]  # fmt: skip
    assert summary.data["duration_seconds"] == 95
    assert {p["role"] for p in summary.data["participants"]} == {"agent", "buyer"}
    # Ending it again changes nothing (a second page, a retried request).
    again = api.post("agent", f"/api/v1/returns/{case['id']}/calls/{call['call_id']}/end")
    assert again.status_code == 200 and again.json()["ended_at"] == body["ended_at"]
    kinds = [e.kind for e in get_timeline(container.uow, SYSTEM, case["id"])]
    assert kinds.count("call_ended") == 2  # the first call's and this one's


def test_a_recording_its_page_never_finished_is_kept_by_the_sweep(
    api: Api, clock: Any, clip: bytes
) -> None:
    """The buyer's phone dies while recording: the chunks that arrived become the evidence once
    the call has ended and no chunk came for a minute (the page would have finished it)."""
    case = api.open_return()
    call = start(api, case)
    container = api.container
    for token in (call["agent"], call["buyer"]):
        svc.join(container.uow, container.clock, svc.access(
            container.uow, container.clock, container.tokens, token))  # fmt: skip
    seat(api, "POST", call, "/consent", call["buyer"], json={"answer": "granted"})
    body = {"mime_type": "video/webm;codecs=vp8", "timeslice_ms": 1000}
    rec = seat(api, "POST", call, "/recordings", call["buyer"], json=body).json()
    size = -(-len(clip) // 3)
    for number, part in enumerate([clip[i : i + size] for i in range(0, len(clip), size)]):
        if number:
            clock.advance(seconds=1)
        put = seat(api, "PUT", call, f"/recordings/{rec['id']}/chunks/{number}", call["buyer"],
                   content=part)  # fmt: skip
        assert put.status_code == 200, put.text
    # No finish: the page is gone. While the call runs, and for a minute after it ended, the
    # sweep leaves the recording to its page.
    assert sweep_calls(container.uow, container.clock, container.files).recordings_finished == 0
    assert seat(api, "POST", call, "/hang-up", call["agent"]).status_code == 200
    assert sweep_calls(container.uow, container.clock, container.files).recordings_finished == 0
    clock.advance(seconds=90)
    assert sweep_calls(container.uow, container.clock, container.files).recordings_finished == 1
    [video] = [
        e for e in list_evidence(container.uow, SYSTEM, case["id"]) if e.kind.value == "video"
    ]
    assert video.captured_by.startswith("buyer:") and video.details["duration_seconds"] >= 2
    assert sweep_calls(container.uow, container.clock, container.files).recordings_finished == 0


def test_the_sweep_ends_calls_whose_links_ran_out(api: Api, clock: Any) -> None:
    case = api.open_return()
    call = start(api, case, link_minutes=5)
    container = api.container
    assert sweep_calls(container.uow, container.clock, container.files).ended == 0
    clock.advance(minutes=6)
    assert sweep_calls(container.uow, container.clock, container.files).ended == 1
    listed = api.get("agent", f"/api/v1/returns/{case['id']}/calls").json()["items"]
    assert [c["status"] for c in listed] == ["expired"]
    assert sweep_calls(container.uow, container.clock, container.files).ended == 0
    assert call["call_id"] == listed[0]["id"]


def test_a_started_call_is_emailed_to_the_buyer_at_once(api: Api) -> None:
    case = api.open_return()
    start(api, case)
    events = api.get("agent", f"/api/v1/returns/{case['id']}/timeline").json()["items"]
    started = [e for e in events if e["kind"] == "call_started"]
    plan = plan_email("DE", [{**started[0], "status": case["status"]}])
    assert plan is not None and plan.sections == (Section.video_call,) and plan.urgent


def test_turn_credentials_follow_the_rest_api_scheme() -> None:
    config = IceConfig.parse("stun:s.example:3478", "turn:t.example:3478", "sekrit", 600, "relay")
    now = datetime(2026, 11, 27, 12, 0, tzinfo=UTC)
    stun, turn = config.servers("seat-1", now)
    assert stun == {"urls": ["stun:s.example:3478"]}
    expiry = int(now.timestamp()) + 600
    assert turn["username"] == f"{expiry}:seat-1"
    expected = base64.b64encode(
        hmac.new(b"sekrit", turn["username"].encode(), hashlib.sha1).digest()
    ).decode()
    assert turn["credential"] == expected
    assert IceConfig.parse("", "turn:t.example", "", 600, "all").servers("x", now) == []


# --- signalling over the WebSocket (what the pages do, without browsers) ---------------------


def socket(api: Api, call: dict[str, Any], token: str) -> ClientConnection:
    url = str(api.client.base_url).replace("http://", "ws://")
    return connect(f"{url}/calls/{call['call_id']}/signal?token={token}", open_timeout=10)


def receive(ws: ClientConnection) -> dict[str, Any]:
    message: dict[str, Any] = json.loads(ws.recv(timeout=10))
    return message


def test_signalling_relays_between_seats_and_ends_for_everyone(api: Api) -> None:
    case = api.open_return()
    call = start(api, case)
    with socket(api, call, call["agent"]) as agent:
        hello = receive(agent)
        assert hello["type"] == "welcome" and hello["peers"] == []
        assert hello["you"]["role"] == "agent" and hello["consent"] is None
        with socket(api, call, call["buyer"]) as buyer:
            welcome = receive(buyer)
            assert [p["role"] for p in welcome["peers"]] == ["agent"]
            joined = receive(agent)
            assert joined["type"] == "peer_joined" and joined["peer"]["role"] == "buyer"
            # An offer goes to the one it is for, marked with who sent it.
            offer = {"description": {"type": "offer", "sdp": "v=0"}}
            buyer.send(json.dumps({"type": "signal", "to": hello["you"]["id"], "data": offer}))
            relayed = receive(agent)
            assert relayed == {"type": "signal", "from": welcome["you"]["id"], "data": offer}
            # The buyer may not ask the agent's tools of anyone; garbage is ignored.
            buyer.send("not json")
            buyer.send(json.dumps({"type": "control", "action": "still"}))
            assert receive(buyer) == {"type": "error", "code": "control_not_allowed"}
            # Recording is refused until the buyer said yes.
            agent.send(json.dumps({"type": "control", "action": "record", "on": True}))
            assert receive(agent) == {"type": "error", "code": "recording_not_consented"}
            agent.send(json.dumps({"type": "control", "action": "pointer", "x": 0.5, "y": 0.5}))
            pointer = receive(buyer)
            assert pointer["action"] == "pointer" and pointer["role"] == "agent"
            # The agent hangs up: everyone is told, and the sockets close as "ended".
            agent.send(json.dumps({"type": "hang_up"}))
            assert receive(buyer)["type"] == "ended"
            with pytest.raises(ConnectionClosed) as closed:
                buyer.recv(timeout=10)
            assert closed.value.rcvd is not None and closed.value.rcvd.code == 4410
    listed = api.get("agent", f"/api/v1/returns/{case['id']}/calls").json()["items"][0]
    assert listed["status"] == "ended"
    assert all(p["joined_at"] and p["left_at"] for p in listed["participants"])


def test_a_page_waiting_to_join_is_connected_to_but_not_in_the_call(api: Api) -> None:
    """The call page connects before its person presses Join (`lobby=1`): the others connect
    to it at once, but it is not in the call's record, gets none of the agent's tools and may
    use none until it says it joined."""
    case = api.open_return()
    call = start(api, case)

    def buyer_seat() -> dict[str, Any]:
        listed = api.get("agent", f"/api/v1/returns/{case['id']}/calls").json()["items"][0]
        seats: list[dict[str, Any]] = listed["participants"]
        return next(p for p in seats if p["role"] == "buyer")

    url = str(api.client.base_url).replace("http://", "ws://")
    waiting_url = f"{url}/calls/{call['call_id']}/signal?lobby=1&token={call['buyer']}"
    with socket(api, call, call["agent"]) as agent:
        agent_id = receive(agent)["you"]["id"]
        with connect(waiting_url, open_timeout=10) as buyer:
            welcome = receive(buyer)
            me = welcome["you"]["id"]
            assert welcome["lobby"] is True
            assert [(p["role"], p["state"]) for p in welcome["peers"]] == [("agent", "joined")]
            arrived = receive(agent)
            assert arrived["type"] == "peer_joined"
            assert (arrived["peer"]["role"], arrived["peer"]["state"]) == ("buyer", "lobby")
            assert buyer_seat()["joined_at"] is None and buyer_seat()["present"] is False
            # The media path is made before Join: offers and answers pass both ways.
            offer = {"description": {"type": "offer", "sdp": "v=0"}}
            agent.send(json.dumps({"type": "signal", "to": me, "data": offer}))
            assert receive(buyer) == {"type": "signal", "from": agent_id, "data": offer}
            # The agent's tools do not reach a phone whose person has not joined, and the
            # waiting page may ask nothing of anyone.
            agent.send(json.dumps({"type": "control", "action": "still", "to": me}))
            agent.send(json.dumps({"type": "control", "action": "pointer", "x": 0.1, "y": 0.1}))
            answer = {"description": {"type": "answer", "sdp": "v=0"}}
            agent.send(json.dumps({"type": "signal", "to": me, "data": answer}))
            # The signal came after the tools on the same path: had they been delivered, they
            # would be here first.
            assert receive(buyer) == {"type": "signal", "from": agent_id, "data": answer}
            buyer.send(json.dumps({"type": "control", "action": "media_state"}))
            assert receive(buyer) == {"type": "error", "code": "call_not_joined"}
            # Join: in the call's record, the others told, the tools reach it.
            buyer.send(json.dumps({"type": "join"}))
            assert receive(agent) == {"type": "peer_ready", "id": me}
            assert receive(buyer) == {"type": "joined", "recording": False}
            assert buyer_seat()["joined_at"] is not None and buyer_seat()["present"] is True
            agent.send(json.dumps({"type": "control", "action": "pointer", "x": 0.5, "y": 0.5}))
            pointer = receive(buyer)
            assert (pointer["action"], pointer["x"]) == ("pointer", 0.5)  # not the one before
        assert receive(agent)["type"] == "peer_left"
        # A page that reconnects after Join connects without `lobby=1`: joined at once.
        with socket(api, call, call["buyer"]) as again:
            assert receive(again)["lobby"] is False
            back = receive(agent)
            assert (back["type"], back["peer"]["state"]) == ("peer_joined", "joined")


def test_opening_the_link_again_does_not_push_the_seat_out_of_the_call(api: Api) -> None:
    """A second page of a seat that is in the call (another tab, a reload whose old page is
    not gone yet) waits beside it; only its Join takes the seat over."""
    case = api.open_return()
    call = start(api, case)
    url = str(api.client.base_url).replace("http://", "ws://")
    waiting_url = f"{url}/calls/{call['call_id']}/signal?lobby=1&token={call['buyer']}"
    with socket(api, call, call["agent"]) as agent:
        agent_id = receive(agent)["you"]["id"]  # in first: the buyer's arrival is told to it
        with socket(api, call, call["buyer"]) as first:
            me = receive(first)["you"]["id"]
            assert receive(agent)["type"] == "peer_joined"
            with connect(waiting_url, open_timeout=10) as second:
                welcome = receive(second)
                assert welcome["lobby"] is True
                assert [p["role"] for p in welcome["peers"]] == ["agent"]
                # The page in the call is still there and still reached; nobody was told.
                offer = {"description": {"type": "offer", "sdp": "v=0"}}
                agent.send(json.dumps({"type": "signal", "to": me, "data": offer}))
                assert receive(first)["type"] == "signal"
                # The waiting page speaks for nobody until it joins.
                second.send(json.dumps({"type": "signal", "to": agent_id, "data": offer}))
                second.send(json.dumps({"type": "join"}))
                assert receive(second) == {"type": "joined", "recording": False}
                with pytest.raises(ConnectionClosed) as replaced:
                    first.recv(timeout=10)
                assert replaced.value.rcvd is not None and replaced.value.rcvd.code == 4409
                left, back = receive(agent), receive(agent)
                assert (left["type"], back["type"], back["peer"]["state"]) == (
                    "peer_left",
                    "peer_joined",
                    "joined",
                )


def test_a_page_that_leaves_before_joining_leaves_no_trace_in_the_call(api: Api) -> None:
    case = api.open_return()
    call = start(api, case)
    url = str(api.client.base_url).replace("http://", "ws://")
    with socket(api, call, call["agent"]) as agent:
        receive(agent)
        with connect(
            f"{url}/calls/{call['call_id']}/signal?lobby=1&token={call['buyer']}", open_timeout=10
        ) as buyer:
            receive(buyer)
            assert receive(agent)["peer"]["state"] == "lobby"
        assert receive(agent)["type"] == "peer_left"
    listed = api.get("agent", f"/api/v1/returns/{case['id']}/calls").json()["items"][0]
    buyer = next(p for p in listed["participants"] if p["role"] == "buyer")
    assert buyer["joined_at"] is None and buyer["left_at"] is None


def test_signalling_refuses_wrong_links(api: Api) -> None:
    case = api.open_return()
    call = start(api, case)
    with socket(api, call, "not-a-token") as ws:
        assert receive(ws) == {"type": "error", "code": "invalid_join_token"}
        with pytest.raises(ConnectionClosed) as closed:
            ws.recv(timeout=10)
        assert closed.value.rcvd is not None and closed.value.rcvd.code == 4401


def test_a_reconnecting_seat_replaces_its_old_socket(api: Api) -> None:
    case = api.open_return()
    call = start(api, case)
    with socket(api, call, call["agent"]) as agent:
        receive(agent)  # welcome
        with socket(api, call, call["buyer"]) as first:
            receive(first), receive(agent)  # welcome, the buyer joined
            with socket(api, call, call["buyer"]) as second:
                assert [p["role"] for p in receive(second)["peers"]] == ["agent"]
                assert receive(agent)["type"] == "peer_left"
                assert receive(agent)["type"] == "peer_joined"
                with pytest.raises(ConnectionClosed) as closed:
                    first.recv(timeout=10)
                assert closed.value.rcvd is not None and closed.value.rcvd.code == 4409
