"""Teams and shifts, presence, routing of new cases, service-level clocks and breaches, over
HTTP against the running app."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING, Any
from zoneinfo import ZoneInfo

from sqlalchemy import event, select, update

from returndesk.adapters.db.tables import routing_rules
from returndesk.services import work
from returndesk.services.teams import recompute_team_clocks, sweep_sla
from returndesk.services.work import route_for

if TYPE_CHECKING:  # tests/e2e/conftest.py, handed over by fixtures
    from conftest import Api

ALL_WEEK = ["mon", "tue", "wed", "thu", "fri", "sat", "sun"]


def team_body(**changes: Any) -> dict[str, Any]:
    body: dict[str, Any] = {
        "name": "Americas",
        "timezone": "America/New_York",
        "hours": [{"days": ALL_WEEK, "start": "00:00", "end": "00:00"}],
        "holiday_country": "US",
        "closed_dates": [],
        "languages": ["en", "es"],
        "markets": ["US", "MX"],
    }
    body.update(changes)
    return body


def make_team(api: Api, **changes: Any) -> dict[str, Any]:
    response = api.post("supervisor", "/api/v1/teams", json=team_body(**changes))
    assert response.status_code == 201, response.text
    team: dict[str, Any] = response.json()
    return team


def join(api: Api, team: dict[str, Any], role: str, **changes: Any) -> None:
    body = {"email": api.credentials[role], "languages": ["en"], "capacity": 2} | changes
    response = api.post("supervisor", f"/api/v1/teams/{team['id']}/members", json=body)
    assert response.status_code == 201, response.text


def go(api: Api, who: str, status: str) -> dict[str, Any]:
    response = api.put(who, "/api/v1/agents/me/presence", json={"status": status})
    assert response.status_code == 200, response.text
    body: dict[str, Any] = response.json()
    return body


def short_targets(api: Api) -> None:
    """First response in 30 working minutes, next response in 60, resolution in 600."""
    put = api.put(
        "supervisor",
        "/api/v1/sla/targets/default",
        json={"first_response_minutes": 30, "next_response_minutes": 60, "resolution_minutes": 600},
    )
    assert put.status_code == 200, put.text


def case_view(api: Api, case: dict[str, Any]) -> dict[str, Any]:
    response = api.get("supervisor", f"/api/v1/returns/{case['id']}")
    assert response.status_code == 200, response.text
    body: dict[str, Any] = response.json()
    return body


def test_a_team_with_shifts_holidays_and_languages_is_created_and_listed(api: Api) -> None:
    team = make_team(
        api,
        hours=[
            {"days": ["mon", "tue", "wed", "thu", "fri"], "start": "09:00", "end": "13:00"},
            {"days": ["mon", "tue", "wed", "thu", "fri"], "start": "22:00", "end": "06:00"},
        ],
        closed_dates=["2026-12-24"],
    )
    assert team["hours"][1] == {
        "days": ["mon", "tue", "wed", "thu", "fri"],
        "start": "22:00",
        "end": "06:00",
    }
    assert team["holiday_country"] == "US" and team["closed_dates"] == ["2026-12-24"]
    assert isinstance(team["open_now"], bool) and team["opens_at"]
    listed = api.get("agent", "/api/v1/teams").json()["items"]
    assert [t["name"] for t in listed] == ["Americas"]
    again = api.post("supervisor", "/api/v1/teams", json=team_body())
    api.problem(again, 409, "team_exists")


def test_bad_team_input_gets_a_problem_with_a_code_and_changes_nothing(
    api: Api, row_counts: Any
) -> None:
    before = row_counts()
    for changes, code in [
        ({"timezone": "Mars/Olympus"}, "invalid_timezone"),
        ({"hours": [{"days": ["funday"], "start": "09:00", "end": "10:00"}]}, "invalid_hours"),
        ({"hours": [{"days": ["mon"], "start": "9am", "end": "10:00"}]}, "invalid_hours"),
        ({"markets": ["usa"]}, "invalid_market"),
        ({"languages": ["english!"]}, "invalid_language"),
        ({"holiday_country": "U1"}, "invalid_team"),
    ]:
        response = api.post("supervisor", "/api/v1/teams", json=team_body(**changes))
        api.problem(response, 422, code)
    api.problem(api.post("agent", "/api/v1/teams", json=team_body()), 403)
    assert row_counts() == before


def test_auth_me_tells_who_is_signed_in_with_presence_and_teams(api: Api) -> None:
    team = make_team(api)
    join(api, team, "agent", languages=["en", "es"], markets=["US"], capacity=3)
    go(api, "agent", "online")
    me = api.get("agent", "/api/v1/auth/me").json()
    assert me["role"] == "agent" and me["presence"] == "online"
    assert me["teams"][0]["team_id"] == team["id"] and me["teams"][0]["capacity"] == 3
    assert "case:transition" in me["permissions"] and "team:write" not in me["permissions"]
    api.problem(api.get(None, "/api/v1/auth/me"), 401, "unauthenticated")


def test_a_new_case_goes_to_the_online_agent_then_to_the_queue_when_presence_lapses(
    api: Api, clock: Any
) -> None:
    team = make_team(api)
    join(api, team, "agent")
    go(api, "agent", "online")
    first = case_view(api, api.open_return())
    assert first["assignee"]["email"] == api.credentials["agent"]
    assert first["team"]["name"] == "Americas" and first["routing_rule"] == "agent"
    timeline = api.get("supervisor", f"/api/v1/returns/{first['id']}/timeline").json()
    assert "assigned" in [e["kind"] for e in timeline["items"]]
    buyer_timeline = api.get("buyer", f"/api/v1/returns/{first['id']}/timeline").json()
    assert "assigned" not in [e["kind"] for e in buyer_timeline["items"]]
    buyer_view = api.get("buyer", f"/api/v1/returns/{first['id']}").json()
    assert "assignee" not in buyer_view and "sla" not in buyer_view

    # The console stopped renewing the presence: the agent is offline, the team queues it.
    clock.advance(minutes=5)
    api.refresh_tokens()
    queued = case_view(api, api.open_return(body=api.return_payload(sku="LAMP-1")))
    assert queued["assignee"] is None and queued["routing_rule"] == "team_queue"
    assert queued["team"]["id"] == team["id"]


def test_a_full_agent_gets_no_more_cases(api: Api) -> None:
    team = make_team(api)
    join(api, team, "agent", capacity=1)
    go(api, "agent", "online")
    assert case_view(api, api.open_return())["assignee"] is not None
    second = case_view(api, api.open_return(body=api.return_payload(sku="LAMP-1")))
    assert second["assignee"] is None


def test_a_breach_is_warned_then_put_on_the_timeline_and_the_case(api: Api, clock: Any) -> None:
    make_team(api)
    short_targets(api)
    case = case_view(api, api.open_return())
    due = datetime.fromisoformat(case["sla"]["first_response_due_at"])
    assert due == datetime.fromisoformat(case["created_at"]) + timedelta(minutes=30)
    assert case["sla"]["breached"] is False

    clock.advance(minutes=25)
    assert sweep_sla(api.container.uow, clock).warnings == 1
    clock.advance(minutes=10)
    result = sweep_sla(api.container.uow, clock)
    assert (result.breaches, result.warnings) == (1, 0)
    assert sweep_sla(api.container.uow, clock).breaches == 0  # once only
    api.refresh_tokens()
    after = case_view(api, case)
    assert after["sla"]["breached"] is True
    assert after["sla"]["breached_clocks"] == ["first_response"]
    assert after["version"] == case["version"]  # an agent's open page does not go stale
    entries = api.get("supervisor", f"/api/v1/returns/{case['id']}/timeline").json()["items"]
    kinds = [e["kind"] for e in entries]
    assert kinds.count("sla_warning") == 1 and kinds.count("sla_breached") == 1


def test_first_response_stops_the_clock_and_waiting_on_the_buyer_pauses_it(
    api: Api, clock: Any
) -> None:
    make_team(api)
    case = api.open_return()
    moved = api.moved("agent", case, "under_review")
    view = case_view(api, moved)
    assert view["sla"]["first_response_due_at"] is None
    assert view["sla"]["first_responded_at"] is not None
    paused = case_view(
        api, api.moved("agent", moved, "needs_evidence", note="a photo of the label")
    )
    assert paused["sla"]["paused"] is True and paused["sla"]["resolution_due_at"] is None
    clock.advance(hours=3)
    api.refresh_tokens()
    resumed = case_view(api, api.moved("agent", paused, "under_review"))
    assert resumed["sla"]["paused"] is False
    assert resumed["sla"]["paused_minutes"] >= 180


def test_a_supervisor_reassigns_with_a_reason_on_the_timeline(api: Api) -> None:
    team = make_team(api)
    other = make_team(api, name="Europe", timezone="Europe/Berlin", languages=["de"])
    join(api, other, "agent")
    case = api.open_return()
    assert case_view(api, case)["team"]["id"] == team["id"]
    agent_id = api.get("agent", "/api/v1/auth/me").json()["id"]
    refused = api.post(
        "agent",
        f"/api/v1/returns/{case['id']}/assignment",
        json={"assignee_id": agent_id, "reason": "mine"},
    )
    api.problem(refused, 403)
    api.problem(
        api.post("supervisor", f"/api/v1/returns/{case['id']}/assignment", json={"reason": " "}),
        422,
        "reason_required",
    )
    response = api.post(
        "supervisor",
        f"/api/v1/returns/{case['id']}/assignment",
        json={"assignee_id": agent_id, "reason": "speaks to this buyer already"},
    )
    assert response.status_code == 200, response.text
    assert response.json()["assignee"]["id"] == agent_id
    assert response.json()["team"]["id"] == other["id"]
    entries = api.get("supervisor", f"/api/v1/returns/{case['id']}/timeline").json()["items"]
    manual = [e for e in entries if e["kind"] == "assigned" and e["data"]["rule"] == "manual"]
    assert manual and manual[0]["data"]["reason"] == "speaks to this buyer already"
    assert manual[0]["actor"]["role"] == "supervisor"


def test_sla_targets_are_listed_with_the_default(api: Api) -> None:
    listed = api.get("agent", "/api/v1/sla/targets").json()["items"]
    assert listed["default"]["first_response_minutes"] == 240
    bad = api.put(
        "supervisor",
        "/api/v1/sla/targets/default",
        json={"first_response_minutes": 0, "next_response_minutes": 1, "resolution_minutes": 1},
    )
    api.problem(bad, 422)


def test_times_are_iso_with_offsets(api: Api) -> None:
    make_team(api)
    case = case_view(api, api.open_return())
    due = datetime.fromisoformat(case["sla"]["resolution_due_at"])
    assert due.tzinfo is not None and due.utcoffset() == timedelta(0)
    assert due > datetime.now(UTC) - timedelta(days=1)


def test_the_assistant_promises_a_reply_from_the_real_shifts(api: Api, clock: Any) -> None:
    make_team(
        api,
        name="Shanghai",
        timezone="Asia/Shanghai",
        hours=[{"days": ["mon", "tue", "wed", "thu", "fri"], "start": "09:00", "end": "17:00"}],
        holiday_country=None,
        markets=[],
    )
    clock.now = datetime(2026, 12, 5, 12, 0, tzinfo=UTC)  # a Saturday: nobody on shift
    response = api.post(None, "/api/v1/assistant/messages", json={"text": "talk to a human"})
    assert response.status_code == 200, response.text
    handoff = response.json()["handoff"]
    # Monday 09:00 in Shanghai (01:00 UTC) plus the 240-minute first-response target.
    assert handoff["expected_by"] == "2026-12-07T05:00:00+00:00"


def test_changing_a_teams_hours_moves_the_due_times_of_its_open_cases(api: Api) -> None:
    team = make_team(api)
    case = case_view(api, api.open_return())
    before = datetime.fromisoformat(case["sla"]["first_response_due_at"])
    created = datetime.fromisoformat(case["created_at"])
    assert before == created + timedelta(minutes=240)  # around the clock
    # Now the team works one hour a day: the same 240 minutes take four days or more.
    hours = [{"days": ALL_WEEK, "start": "09:00", "end": "10:00"}]
    response = api.put(
        "supervisor", f"/api/v1/teams/{team['id']}", json=team_body(hours=hours, closed_dates=[])
    )
    assert response.status_code == 200, response.text
    after = datetime.fromisoformat(case_view(api, case)["sla"]["first_response_due_at"])
    assert after >= created + timedelta(days=3)
    assert after.astimezone(ZoneInfo("America/New_York")).hour in (9, 10)


def test_recomputing_writes_only_the_cases_whose_due_times_moved(api: Api) -> None:
    team = make_team(api)
    cases = [api.open_return() for _ in range(5)]
    dues = {c["id"]: case_view(api, c)["sla"]["first_response_due_at"] for c in cases}
    # Page by page (2 a page): nothing changed, nothing moves.
    assert recompute_team_clocks(api.container.uow, team["id"], batch=2) == 0
    # A closed date next year is after every due time: still nothing.
    far = team_body(closed_dates=["2027-06-01"])
    assert api.put("supervisor", f"/api/v1/teams/{team['id']}", json=far).status_code == 200
    assert {c["id"]: case_view(api, c)["sla"]["first_response_due_at"] for c in cases} == dues
    with api.container.uow(write=True) as uow:  # as an older release left them: due times off
        for c in cases[:3]:
            work_row = uow.teams.work(c["id"])
            assert work_row is not None
            work_row.sla.due = {k: v + timedelta(hours=1) for k, v in work_row.sla.due.items()}
            uow.teams.save_work(work_row)
        uow.commit()
    written: list[int] = []

    def count_rows(_conn: Any, _cursor: Any, statement: str, params: Any, *_: Any) -> None:
        if statement.lstrip().upper().startswith("UPDATE CASE_WORK"):
            written.append(len(params) if isinstance(params, list) else 1)

    event.listen(api.container.engine, "before_cursor_execute", count_rows)
    try:
        assert recompute_team_clocks(api.container.uow, team["id"], batch=2) == 3
    finally:
        event.remove(api.container.engine, "before_cursor_execute", count_rows)
    assert sum(written) == 3  # the two others are not rewritten
    assert {c["id"]: case_view(api, c)["sla"]["first_response_due_at"] for c in cases} == dues


def test_odd_input_to_the_team_endpoints_is_refused_and_changes_nothing(
    api: Api, row_counts: Any
) -> None:
    team = make_team(api)
    before = row_counts()
    members = f"/api/v1/teams/{team['id']}/members"
    for path, body in [
        ("/api/v1/teams", team_body(name="Night\x00shift")),
        ("/api/v1/teams", team_body(timezone="Europe/Berlin\x00")),
        ("/api/v1/teams", team_body(timezone="localtime")),
        ("/api/v1/teams", team_body(timezone="../../etc/passwd")),
        ("/api/v1/teams", team_body(hours="09:00-17:00")),
        ("/api/v1/teams", team_body(hours=[])),
        ("/api/v1/teams", team_body(closed_dates=["2026-02-30"])),
        ("/api/v1/teams", team_body(languages=["en\x00"])),
        ("/api/v1/teams", team_body(name="x" * 101)),
        (members, {"email": api.credentials["agent"], "capacity": 10**20}),
        (members, {"email": api.credentials["agent"], "capacity": "10"}),
        (members, {"email": api.credentials["agent"], "capacity": -1}),
        (members, {"email": "nobody@shop.example"}),
        (members, {"email": api.credentials["agent"], "skills": ["juggling"]}),
        (members, {"email": "agent\x00@shop.example"}),
        ("/api/v1/returns/00000000-0000-0000-0000-000000000000/assignment", {"reason": "x"}),
    ]:
        response = api.post("supervisor", path, json=body)
        assert 400 <= response.status_code < 500, (path, body, response.text)
        assert response.headers["content-type"].startswith("application/problem+json")
    assert row_counts() == before
    case = api.open_return()
    before = row_counts()
    for body in [
        {"reason": "x\x00", "team_id": team["id"]},
        {"reason": "x", "assignee_id": "a\x00b"},
        {"reason": "x", "team_id": "no-such-team"},
        {"reason": "x", "assignee_id": "no-such-person"},
    ]:
        response = api.post("supervisor", f"/api/v1/returns/{case['id']}/assignment", json=body)
        assert 400 <= response.status_code < 500, (body, response.text)
    for params in [{"store": "a\x00b"}, {"store": "NOT A SLUG"}]:
        assert 400 <= api.get("agent", "/api/v1/teams", params=params).status_code < 500
    stats = "/api/v1/stats/returns"
    for params in [
        {"from": "0001-01-01T00:00:00Z", "to": "0002-01-01T00:00:00Z"},
        {"from": "9999-12-31T00:00:00Z", "to": "9999-12-31T23:00:00Z"},
        {"group_by": "reason\x00"},
        {"from": "yesterday"},
    ]:
        response = api.get("supervisor", stats, params=params)
        assert response.status_code == 422, (params, response.text)
    presence = api.put("agent", "/api/v1/agents/me/presence", json={"status": "busy"})
    api.problem(presence, 422)
    assert row_counts() == before


def test_the_queue_lists_my_cases_unassigned_ones_and_missed_service_levels(
    api: Api, clock: Any
) -> None:
    team = make_team(api)
    join(api, team, "agent", capacity=1)
    go(api, "agent", "online")
    mine = api.open_return()  # to the agent
    queued = api.open_return(body=api.return_payload(sku="LAMP-1"))  # she is full: the queue

    def listed(who: str, **params: str) -> list[str]:
        response = api.get(who, "/api/v1/returns", params=params)
        assert response.status_code == 200, response.text
        return [item["id"] for item in response.json()["items"]]

    assert listed("agent", assignee="me") == [mine["id"]]
    assert listed("supervisor", assignee="none") == [queued["id"]]
    assert listed("supervisor", team=team["id"]) == [queued["id"], mine["id"]]
    assert listed("supervisor", breached="true") == []
    clock.advance(minutes=241)  # past the default first-response target
    sweep_sla(api.container.uow, clock)
    api.refresh_tokens()
    assert sorted(listed("supervisor", breached="true")) == sorted([mine["id"], queued["id"]])
    api.problem(api.get("agent", "/api/v1/returns", params={"assignee": "x\x00"}), 422)


def test_a_buyer_handed_over_by_the_assistant_goes_to_the_online_agent(api: Api) -> None:
    team = make_team(api)
    join(api, team, "agent")
    go(api, "agent", "online")
    agent_id = api.get("agent", "/api/v1/auth/me").json()["id"]
    chat = api.post(None, "/api/v1/assistant/messages", json={"text": "talk to a human"})
    assert chat.status_code == 200, chat.text
    assert chat.json()["handoff"]["expected_by"]
    seen = api.get("agent", f"/api/v1/assistant/conversations/{chat.json()['conversation_id']}")
    summary = seen.json()["summary"]
    assert (summary["assignee_id"], summary["team_id"], summary["routing_rule"]) == (
        agent_id,
        team["id"],
        "agent",
    )
    buyer_view = api.get(None, f"/api/v1/assistant/conversations/{chat.json()['conversation_id']}")
    assert "summary" not in buyer_view.json()


def test_a_case_that_needs_a_skill_goes_to_the_agent_who_has_it(api: Api) -> None:
    order = api.order_payload(api.container.clock())
    buds = {"sku": "BUDS-1", "title": "Earbuds", "quantity": 1, "unit_price": 9900,
            "paid_amount": 9900, "category": "electronics"}  # fmt: skip
    order["lines"] = [*order["lines"], buds]
    assert api.put_order(order).status_code in (200, 201)
    team = make_team(api)
    join(api, team, "supervisor", capacity=2, skills=["electronics_howto"])
    join(api, team, "agent", capacity=10)
    go(api, "supervisor", "online")
    first = case_view(api, api.open_return())  # only the skilled one is online
    assert first["assignee"]["email"] == api.credentials["supervisor"]
    go(api, "agent", "online")
    # A plain return: the less loaded agent (0 of 10 against 1 of 2).
    plain = case_view(api, api.open_return(body=api.return_payload(sku="LAMP-1")))
    assert (plain["assignee"]["email"], plain["routing_rule"]) == (
        api.credentials["agent"],
        "agent",
    )
    # Earbuds that seem broken: the one who knows electronics, though busier.
    broken = api.return_payload(sku="BUDS-1", reason="defective")
    skilled = case_view(api, api.open_return(body=broken))
    assert (skilled["assignee"]["email"], skilled["routing_rule"]) == (
        api.credentials["supervisor"],
        "skill",
    )


def forget_all_rosters() -> None:
    """Rows written behind the app's back: drop what each process keeps for a few seconds."""
    for store_id in list(work._rosters):
        work.forget_roster(store_id)


def open_jp_return(api: Api) -> dict[str, Any]:
    """A return of a Japanese order (opened by an admin for the buyer)."""
    order = api.order_payload(
        api.container.clock(), number="JP-1", email="hanako@example.jp", market="JP"
    )
    assert api.put_order({**order, "currency": "JPY"}).status_code == 201
    return api.open_return("admin", body=api.return_payload("JP-1"))


def rules(api: Api, who: str, *items: dict[str, Any]) -> Any:
    return api.put(who, "/api/v1/routing/rules", json={"rules": list(items)})


def test_routing_rules_are_tried_in_order_before_the_built_in_routing(api: Api) -> None:
    """A store's rules: Japanese-market returns go to the Tokyo team (its queue when nobody
    there is free), a suspected counterfeit to whoever has the fraud skill; other cases are
    routed as before."""
    americas = make_team(api)
    tokyo = make_team(api, name="Tokyo", timezone="Asia/Tokyo", languages=["en", "ja"])
    join(api, americas, "agent", capacity=5)
    join(api, tokyo, "supervisor", capacity=5, skills=["fraud"])
    go(api, "agent", "online")
    saved = rules(
        api,
        "supervisor",
        {"name": "Japan to Tokyo", "markets": ["jp"], "team_id": tokyo["id"]},
        {"name": "Fakes to fraud", "reasons": ["counterfeit_suspected"], "skill": "fraud"},
    )
    assert saved.status_code == 200, saved.text
    listed = api.get("agent", "/api/v1/routing/rules").json()
    assert [(r["position"], r["name"], r["team_name"]) for r in listed["items"]] == [
        (1, "Japan to Tokyo", "Tokyo"),
        (2, "Fakes to fraud", None),
    ]
    assert listed["items"][0]["markets"] == ["JP"] and listed["then"][0] == "skill"

    # An ordinary US return: no rule matches, the online agent of the Americas takes it.
    plain = case_view(api, api.open_return())
    assert plain["routing_rule"] == "agent"
    assert plain["assignee"]["email"] == api.credentials["agent"]

    # A counterfeit claim: the rule wants the fraud skill; its only holder is offline, so the
    # usual routing goes on (the online agent), and once they are online, they get it.
    fake = case_view(
        api, api.open_return(body=api.return_payload(sku="LAMP-1", reason="counterfeit_suspected"))
    )
    assert fake["routing_rule"] == "agent"
    go(api, "supervisor", "online")
    fake_too = case_view(
        api, api.open_return(body=api.return_payload(reason="counterfeit_suspected"))
    )
    assert fake_too["routing_rule"] == "rule"
    assert fake_too["assignee"]["email"] == api.credentials["supervisor"]
    entries = api.get("supervisor", f"/api/v1/returns/{fake_too['id']}/timeline").json()
    [assigned] = [e for e in entries["items"] if e["kind"] == "assigned"]
    assert assigned["data"]["routing_rule"] == "Fakes to fraud"

    # A Japanese return: the Tokyo team; with its member away, its queue (never the Americas).
    go(api, "supervisor", "away")
    japan = case_view(api, open_jp_return(api))
    assert japan["routing_rule"] == "rule" and japan["assignee"] is None
    assert japan["team"]["id"] == tokyo["id"]


def test_bad_routing_rules_are_refused_and_the_saved_ones_stay(api: Api, row_counts: Any) -> None:
    team = make_team(api)
    good = {"name": "US", "markets": ["US"], "team_id": team["id"]}
    assert rules(api, "supervisor", good).status_code == 200
    before = row_counts()
    for item, code in [
        ({"name": "Nowhere", "markets": ["US"]}, "invalid_rule"),
        ({"name": "Ghost", "team_id": "00000000-0000-7000-8000-000000000000"}, "team_not_found"),
        ({"name": "Odd", "reasons": ["bored"], "team_id": team["id"]}, "invalid_reason"),
        ({"name": "Skill", "skill": "juggling"}, "invalid_skill"),
        ({"name": "Lang", "languages": ["english!"], "team_id": team["id"]}, "invalid_language"),
        ({"name": "Mkt", "markets": ["usa"], "team_id": team["id"]}, "invalid_market"),
        ({"name": "   ", "team_id": team["id"]}, "validation_error"),
    ]:
        api.problem(rules(api, "supervisor", item), 422, code)
    api.problem(rules(api, "supervisor", good, {**good}), 422, "duplicate_rule")
    api.problem(rules(api, "agent", good), 403, "forbidden")
    assert api.client_error(api.put("supervisor", "/api/v1/routing/rules", json={"rules": "x"}))
    assert row_counts() == before
    assert [r["name"] for r in api.get("agent", "/api/v1/routing/rules").json()["items"]] == ["US"]
    assert rules(api, "admin").json()["items"] == []  # an empty list: built-in routing only


def test_a_rule_s_skill_comes_first_then_the_skill_the_case_needs(api: Api) -> None:
    """A skill-only rule whose skill nobody online has leaves the case's own skill (from its
    decision) in force before anyone else."""
    team = make_team(api)
    join(api, team, "agent", capacity=5)
    join(api, team, "supervisor", capacity=5, skills=["fraud"])
    go(api, "agent", "online")
    go(api, "supervisor", "online")
    how_to = {"name": "How-to", "reasons": ["counterfeit_suspected"], "skill": "electronics_howto"}
    assert rules(api, "supervisor", how_to).status_code == 200
    container = api.container
    store_id = api.get("agent", "/api/v1/auth/me").json()["store_id"]
    with container.uow() as uow:
        routed = route_for(
            uow, store_id, "UTC", "en", "US", container.clock(),
            skill="fraud", reasons=("counterfeit_suspected",),
        )  # fmt: skip
    supervisor = api.get("supervisor", "/api/v1/auth/me").json()["id"]
    assert (routed.assignee_id, routed.rule) == (supervisor, "skill")


def test_a_saved_rule_a_later_release_refuses_is_left_out_not_fatal(api: Api) -> None:
    team = make_team(api)
    join(api, team, "agent", capacity=5)
    go(api, "agent", "online")
    good = {"name": "US", "markets": ["US"], "team_id": team["id"]}
    assert rules(api, "supervisor", good).status_code == 200
    stale = {**good, "name": "Old", "reasons": ["a_reason_since_removed"], "languages": []}
    with api.container.engine.begin() as conn:
        saved = conn.execute(select(routing_rules.c.rules)).scalar_one()
        conn.execute(update(routing_rules).values(rules=[stale, *saved]))
    forget_all_rosters()
    listed = api.get("agent", "/api/v1/routing/rules").json()["items"]
    assert [r["name"] for r in listed] == ["US"]
    case = case_view(api, api.open_return())
    assert case["routing_rule"] == "rule" and case["team"]["id"] == team["id"]


def test_a_chat_about_a_case_moves_its_response_clocks_and_the_promise_is_the_due_time(
    api: Api, clock: Any
) -> None:
    """The buyer's conversation about their case, once a person has it: the promise the
    assistant makes is the case's own due time; a person's answer in the chat is a response
    on the case; the buyer writing again starts the next-response clock."""
    make_team(api)
    short_targets(api)
    messages = "/api/v1/assistant/messages"

    def say(text: str, conversation: str | None = None) -> dict[str, Any]:
        body = {"text": text} | ({"conversation_id": conversation} if conversation else {})
        response = api.post("buyer", messages, json=body)
        assert response.status_code == 200, response.text
        found: dict[str, Any] = response.json()
        return found

    opened = say("The desk lamp arrived broken, it doesn't turn on")
    conversation = opened["conversation_id"]
    if not any(a["type"] == "open_return" for a in opened["actions"]):
        opened = say("2", conversation)  # which line of the order
    [made] = [a for a in opened["actions"] if a["type"] == "open_return"]
    case = {"id": made["case_id"]}
    first_due = case_view(api, case)["sla"]["first_response_due_at"]
    assert first_due is not None

    clock.advance(minutes=5)
    handed = say("I want to talk to a real person please", conversation)
    assert handed["handoff"]["expected_by"] is not None
    promised = datetime.fromisoformat(handed["handoff"]["expected_by"])
    assert promised == datetime.fromisoformat(first_due)  # the clock already running

    clock.advance(minutes=5)
    answered = api.post(
        "agent",
        f"/api/v1/assistant/conversations/{conversation}/replies",
        json={"text": "Hi Ana, I am here. Is the cable plugged in?"},
    )
    assert answered.status_code == 200, answered.text
    sla = case_view(api, case)["sla"]
    assert sla["first_response_due_at"] is None and sla["next_response_due_at"] is None

    clock.advance(minutes=5)
    again = say("yes it is plugged in and it still does not work", conversation)
    sla = case_view(api, case)["sla"]
    waiting_since = clock()
    assert datetime.fromisoformat(sla["next_response_due_at"]) == waiting_since + timedelta(
        minutes=60
    )
    assert again["handoff"]["expected_by"] is not None
    assert datetime.fromisoformat(again["handoff"]["expected_by"]) == waiting_since + timedelta(
        minutes=60
    )
    # Unanswered past it: the sweep raises the breach on the case, as for any message.
    clock.advance(minutes=61)
    assert sweep_sla(api.container.uow, clock).breaches == 1
    assert case_view(api, case)["sla"]["breached"] is True
    # The buyer writes again: never told a time already past; the chat's own clock keeps the
    # new promise (the case's clock has escalated already).
    late = say("hello? anyone?", conversation)
    told = datetime.fromisoformat(late["handoff"]["expected_by"])
    assert told == clock() + timedelta(minutes=60)
    staff_view = api.get("supervisor", f"/api/v1/assistant/conversations/{conversation}").json()
    assert datetime.fromisoformat(staff_view["answer"]["due_at"]) == told


def test_a_chat_about_no_case_keeps_its_promise_with_a_clock_of_its_own(
    api: Api, clock: Any
) -> None:
    """A buyer handed to people about their order, with no return: the time they are told is
    the chat's own due time; 80 % of the way the agent it went to is warned in the console
    inbox; an answer ends the wait; the buyer writing again starts a new one on the
    next-response target; past it, the supervisors are told."""
    team = make_team(api)
    join(api, team, "agent")
    go(api, "agent", "online")
    short_targets(api)
    messages = "/api/v1/assistant/messages"
    handed = api.post("buyer", messages, json={"text": "I want to talk to a real person please"})
    assert handed.status_code == 200, handed.text
    conversation = handed.json()["conversation_id"]
    promised = datetime.fromisoformat(handed.json()["handoff"]["expected_by"])
    assert promised == clock() + timedelta(minutes=30)
    path = f"/api/v1/assistant/conversations/{conversation}"
    staff_view = api.get("supervisor", path).json()
    assert staff_view["case_id"] is None
    assert datetime.fromisoformat(staff_view["answer"]["due_at"]) == promised
    assert "answer" not in api.get("buyer", path).json()  # staff's notes

    def inbox(who: str) -> list[dict[str, Any]]:
        found: list[dict[str, Any]] = api.get(who, "/api/v1/notifications").json()["items"]
        return found

    clock.advance(minutes=20)
    assert sweep_sla(api.container.uow, clock).chat_warnings == 0  # 20 of 30 minutes
    clock.advance(minutes=5)
    api.refresh_tokens()
    swept = sweep_sla(api.container.uow, clock)
    assert (swept.chat_warnings, swept.chat_breaches) == (1, 0)
    [warned] = inbox("agent")
    assert (warned["kind"], warned["conversation_id"], warned["case_id"]) == (
        "chat_warning", conversation, None,
    )  # fmt: skip
    assert datetime.fromisoformat(warned["data"]["due_at"]) == promised
    assert inbox("supervisor") == []  # the agent has it: only she is warned
    assert sweep_sla(api.container.uow, clock).chat_warnings == 0  # once per wait

    answered = api.post("agent", f"{path}/replies", json={"text": "Hi Ana, how can I help?"})
    assert answered.status_code == 200, answered.text
    assert api.get("supervisor", path).json()["answer"]["due_at"] is None
    clock.advance(minutes=10)
    assert sweep_sla(api.container.uow, clock).chat_breaches == 0  # answered in time

    again = api.post(
        "buyer", messages, json={"text": "my parcel never came", "conversation_id": conversation}
    )
    assert again.status_code == 200, again.text
    second = datetime.fromisoformat(again.json()["handoff"]["expected_by"])
    assert second == clock() + timedelta(minutes=60)  # the next-response target
    clock.advance(minutes=61)
    api.refresh_tokens()
    swept = sweep_sla(api.container.uow, clock)
    assert (swept.chat_warnings, swept.chat_breaches) == (0, 1)  # a breach needs no warning
    [breach] = inbox("supervisor")
    assert (breach["kind"], breach["conversation_id"]) == ("chat_breached", conversation)
    assert api.get("supervisor", path).json()["answer"]["breached"] is True
    assert len(inbox("agent")) == 1  # the breach goes to supervisors


def test_a_message_saved_over_the_sweeps_alert_does_not_raise_it_again(
    api: Api, clock: Any
) -> None:
    """A buyer's message is answered from a copy of the chat read before the sweep raised its
    warning: saving it keeps the sweep's mark, so the warning is not raised twice."""
    make_team(api)
    short_targets(api)
    handed = api.post(
        "buyer", "/api/v1/assistant/messages", json={"text": "I want to talk to a real person"}
    )
    assert handed.status_code == 200, handed.text
    conversation_id = handed.json()["conversation_id"]
    with api.container.uow() as uow:
        stale = uow.conversations.get(conversation_id)
    assert stale is not None and stale.answer.waiting
    clock.advance(minutes=25)
    assert sweep_sla(api.container.uow, clock).chat_warnings == 1
    with api.container.uow(write=True) as uow:  # the message's own transaction, later
        uow.conversations.save(stale, [], stale.updated_at)
        uow.commit()
    assert sweep_sla(api.container.uow, clock).chat_warnings == 0
