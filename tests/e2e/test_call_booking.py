"""Booking a video call over HTTP against the running app: slots from the team's real shifts,
the buyer's time zone, one agent per slot, rescheduling, reminders to both sides through a
real SMTP server, the call that took place, the one nobody started, cancelling; and the
email a missed service level sends the team's supervisors."""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from datetime import datetime, timedelta
from email.message import EmailMessage
from typing import TYPE_CHECKING, Any, TypeVar
from zoneinfo import ZoneInfo

import pytest
from babel.dates import format_date, format_time
from sqlalchemy import insert

from returndesk.adapters.bookings import SqlBookingRepository
from returndesk.adapters.db.tables import staff_notifications
from returndesk.domain.ids import new_id
from returndesk.domain.scheduling import CallBooking
from returndesk.services.scheduling import sweep_bookings
from returndesk.services.stores import ensure_default_store
from returndesk.services.teams import sweep_sla
from servers.smtp import SmtpSink, body

if TYPE_CHECKING:  # tests/e2e/conftest.py, handed over by fixtures
    from conftest import Api

T = TypeVar("T")
SENDER = "returns@shop.example"
NEW_YORK, BERLIN = ZoneInfo("America/New_York"), ZoneInfo("Europe/Berlin")
WEEKDAYS = ["mon", "tue", "wed", "thu", "fri"]


@pytest.fixture
def smtp() -> Iterator[SmtpSink]:
    with SmtpSink() as sink:
        yield sink


@pytest.fixture
def settings_overrides(request: pytest.FixtureRequest, smtp: SmtpSink) -> dict[str, object]:
    """The app sends through the sink; an indirect parameter adds settings."""
    return {"smtp_url": smtp.url, "mail_from": SENDER, **getattr(request, "param", {})}


def eventually(check: Callable[[], T | None], what: str, timeout: float = 15.0) -> T:
    deadline = time.monotonic() + timeout
    while True:
        value = check()
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {what}")
        time.sleep(0.05)


def video_team(
    api: Api, *, agents: tuple[str, ...] = ("agent",), hours: dict[str, Any] | None = None
) -> dict[str, Any]:
    """A New York team working 09:00-17:00 on weekdays (or `hours`); its members take video
    calls."""
    made = api.post(
        "supervisor",
        "/api/v1/teams",
        json={
            "name": "Americas",
            "timezone": "America/New_York",
            "hours": [hours or {"days": WEEKDAYS, "start": "09:00", "end": "17:00"}],
            "holiday_country": "US",
            "closed_dates": [],
            "languages": ["en"],
            "markets": [],
        },
    )
    assert made.status_code == 201, made.text
    team: dict[str, Any] = made.json()
    for role in agents:
        joined = api.post(
            "supervisor",
            f"/api/v1/teams/{team['id']}/members",
            json={
                "email": api.credentials[role],
                "languages": ["en"],
                "capacity": 5,
                "skills": ["video_inspection"],
            },
        )
        assert joined.status_code == 201, joined.text
    return team


def slots(api: Api, case: dict[str, Any], who: str = "buyer", tz: str = "Europe/Berlin") -> Any:
    response = api.get(who, f"/api/v1/returns/{case['id']}/call-slots?timezone={tz}")
    assert response.status_code == 200, response.text
    return response.json()


def book(api: Api, case: dict[str, Any], starts_at: str, who: str = "buyer") -> Any:
    return api.post(
        who,
        f"/api/v1/returns/{case['id']}/call-booking",
        json={"starts_at": starts_at, "timezone": "Europe/Berlin"},
    )


def kinds(api: Api, case: dict[str, Any], who: str = "buyer") -> list[str]:
    items = api.get(who, f"/api/v1/returns/{case['id']}/timeline").json()["items"]
    return [e["kind"] for e in items]


def mail_to(smtp: SmtpSink, address: str, kind: str) -> EmailMessage:
    def found() -> EmailMessage | None:
        for message in smtp.unique().values():
            if message["To"] == address and kind in body(message, "html"):
                return message
        return None

    return eventually(found, f"an email to {address} with {kind}")


def test_the_buyer_books_a_slot_of_the_teams_shifts_in_their_own_time_zone(
    api: Api, smtp: SmtpSink
) -> None:
    video_team(api)
    case = api.open_return()
    refused = book(api, case, "2030-01-07T10:00:00-05:00")
    api.problem(refused, 409, "booking_not_offered")  # the store has not asked for a call
    assert slots(api, case)["open_to_buyer"] is False

    offered = api.post("agent", f"/api/v1/returns/{case['id']}/call-booking/offer")
    assert offered.status_code == 202, offered.text
    mail_to(smtp, api.BUYER_EMAIL, 'data-section="call_offer"')
    offer = slots(api, case)
    assert offer["open_to_buyer"] is True and offer["minutes"] == 20 and offer["slots"]
    now = api.container.clock()
    for slot in offer["slots"]:
        start = datetime.fromisoformat(slot["starts_at"])
        assert start.utcoffset() == start.astimezone(BERLIN).utcoffset()  # shown in Berlin time
        in_ny = start.astimezone(NEW_YORK)
        assert in_ny.weekday() < 5 and 9 <= in_ny.hour < 17 and in_ny.minute in (0, 20, 40)
        assert start >= now + timedelta(hours=1)
        assert slot["agents_free"] == 1

    first = offer["slots"][0]["starts_at"]
    made = book(api, case, first)
    assert made.status_code == 201, made.text
    booking = made.json()
    assert booking["status"] == "booked" and booking["starts_at"] == first
    assert booking["agent"] == {"name": "agent person"} and booking["timezone"] == "Europe/Berlin"
    assert "team_id" not in booking and "call_id" not in booking  # no staff ids for buyers
    staff_view = api.get("agent", f"/api/v1/returns/{case['id']}/call-booking").json()["booking"]
    assert staff_view["agent"]["id"] and staff_view["team_id"]
    assert slots(api, case)["booking"]["id"] == booking["id"]
    assert "call_booked" in kinds(api, case)

    # The buyer's email gives the time in their zone and language; the agent's in theirs (UTC).
    start = datetime.fromisoformat(first)
    message = mail_to(smtp, api.BUYER_EMAIL, 'data-section="call_booked"')
    text = body(message, "plain")
    local = start.astimezone(BERLIN)
    assert format_date(local, "full", locale="en") in text
    assert format_time(local, "short", locale="en") in text and "(Europe/Berlin)" in text
    agent_mail = mail_to(smtp, api.credentials["agent"], 'data-section="staff_call_booked"')
    utc = start.astimezone(ZoneInfo("UTC"))
    assert format_time(utc, "short", locale="en") in body(agent_mail, "plain")
    assert f"/console/cases/{case['id']}" in body(agent_mail, "plain")
    listed = api.get("agent", "/api/v1/call-bookings").json()["items"]
    assert [(b["id"], b["case_number"]) for b in listed] == [(booking["id"], case["number"])]

    # Another buyer cannot have the same agent at the same time.
    other = api.open_return(body=api.return_payload(sku="LAMP-1"))
    api.post("agent", f"/api/v1/returns/{other['id']}/call-booking/offer")
    assert first not in [s["starts_at"] for s in slots(api, other)["slots"]]
    api.problem(book(api, other, first), 409, "slot_unavailable")

    # Moving the call frees the first time.
    second = offer["slots"][1]["starts_at"]
    moved = book(api, case, second)
    assert moved.status_code == 201, moved.text
    assert moved.json()["id"] != booking["id"]
    timeline = api.get("buyer", f"/api/v1/returns/{case['id']}/timeline").json()["items"]
    last = [e for e in timeline if e["kind"] == "call_booked"][-1]
    assert last["data"]["rescheduled_from"] == start.astimezone(ZoneInfo("UTC")).isoformat()
    assert first in [s["starts_at"] for s in slots(api, other)["slots"]]


def test_reminders_go_to_both_the_call_is_held_or_missed_and_can_be_cancelled(
    api: Api, smtp: SmtpSink, clock: Any
) -> None:
    video_team(api)
    case = api.open_return()
    api.post("agent", f"/api/v1/returns/{case['id']}/call-booking/offer")
    offer = slots(api, case)
    # A slot at least two days ahead, so that both reminders are due in turn.
    later = [
        s["starts_at"]
        for s in offer["slots"]
        if datetime.fromisoformat(s["starts_at"]) > clock() + timedelta(days=2)
    ]
    made = book(api, case, later[0])
    assert made.status_code == 201, made.text
    starts = datetime.fromisoformat(later[0])
    uow = api.container.uow

    assert sweep_bookings(uow, clock) == 0  # nothing due yet
    clock.now = starts - timedelta(hours=23)
    assert sweep_bookings(uow, clock) == 1
    assert sweep_bookings(uow, clock) == 0  # once
    clock.now = starts - timedelta(minutes=10)
    assert sweep_bookings(uow, clock) == 1
    api.refresh_tokens()
    assert kinds(api, case).count("call_reminder") == 2
    for reminder in ("day_before", "soon"):
        assert (
            reminder
            in api.get("buyer", f"/api/v1/returns/{case['id']}/call-booking").json()["booking"][
                "reminders_sent"
            ]
        )
    mail_to(smtp, api.BUYER_EMAIL, 'data-section="call_reminder"')
    mail_to(smtp, api.credentials["agent"], 'data-section="staff_call_reminder"')

    # The agent starts the call: the booking took place.
    started = api.post("agent", f"/api/v1/returns/{case['id']}/calls")
    assert started.status_code == 201, started.text
    booking = api.get("buyer", f"/api/v1/returns/{case['id']}/call-booking").json()["booking"]
    assert booking is None
    assert api.get("agent", "/api/v1/call-bookings").json()["items"] == []

    # A second booking nobody started is recorded as missed an hour after its end.
    other = api.open_return(body=api.return_payload(sku="LAMP-1"))
    api.post("agent", f"/api/v1/returns/{other['id']}/call-booking/offer")
    upcoming = slots(api, other)["slots"][0]["starts_at"]
    assert book(api, other, upcoming).status_code == 201
    clock.now = datetime.fromisoformat(upcoming) + timedelta(minutes=20, hours=1, seconds=1)
    assert sweep_bookings(uow, clock) == 1
    api.refresh_tokens()
    assert "call_missed" in kinds(api, other)
    assert api.get("buyer", f"/api/v1/returns/{other['id']}/call-booking").json() == {
        "booking": None
    }

    # Cancelling: both hear of it; there is nothing left to cancel.
    api.post("agent", f"/api/v1/returns/{other['id']}/call-booking/offer")
    again = slots(api, other)["slots"][0]["starts_at"]
    assert book(api, other, again).status_code == 201
    cancelled = api.request("buyer", "DELETE", f"/api/v1/returns/{other['id']}/call-booking")
    assert cancelled.status_code == 200 and cancelled.json()["status"] == "cancelled"
    api.problem(
        api.request("buyer", "DELETE", f"/api/v1/returns/{other['id']}/call-booking"),
        404,
        "booking_not_found",
    )
    mail_to(smtp, api.BUYER_EMAIL, 'data-section="call_cancelled"')
    mail_to(smtp, api.credentials["agent"], 'data-section="staff_call_cancelled"')


def test_bad_booking_input_is_refused_with_nothing_written(api: Api) -> None:
    video_team(api)
    case = api.open_return()
    api.post("agent", f"/api/v1/returns/{case['id']}/call-booking/offer")
    path = f"/api/v1/returns/{case['id']}/call-booking"
    api.problem(
        api.get("buyer", f"/api/v1/returns/{case['id']}/call-slots?timezone=Mars/Base"),
        422,
        "invalid_timezone",
    )
    first = slots(api, case)["slots"][0]["starts_at"]
    naive = api.post("buyer", path, json={"starts_at": first[:19], "timezone": "Europe/Berlin"})
    assert naive.status_code == 422
    zone = api.post("buyer", path, json={"starts_at": first, "timezone": "../../etc/passwd"})
    api.problem(zone, 422, "invalid_timezone")
    for extreme in ("9999-12-31T23:59:59-12:00", "0001-01-01T00:00:00+14:00"):
        far = api.post("buyer", path, json={"starts_at": extreme, "timezone": "Europe/Berlin"})
        api.problem(far, 422, "invalid_slot")  # no such instant: refused, never a 500
    off_grid = datetime.fromisoformat(first) + timedelta(minutes=7)
    api.problem(book(api, case, off_grid.isoformat()), 409, "slot_unavailable")
    assert api.get("buyer", path).json() == {"booking": None}
    assert "call_booked" not in kinds(api, case)


def test_a_missed_service_level_emails_the_teams_supervisors(
    api: Api, smtp: SmtpSink, clock: Any
) -> None:
    """The escalation of a breach: the team's supervisor hears of it by email, in their zone.
    The warning before it goes to whoever has the case (the team's supervisors while nobody
    has it); the breach emails no agent."""
    all_the_time = {"days": [*WEEKDAYS, "sat", "sun"], "start": "00:00", "end": "00:00"}
    video_team(api, agents=("agent", "supervisor"), hours=all_the_time)
    put = api.put(
        "supervisor",
        "/api/v1/sla/targets/default",
        json={"first_response_minutes": 30, "next_response_minutes": 60, "resolution_minutes": 600},
    )
    assert put.status_code == 200, put.text
    queued, taken = api.open_return(), api.open_return()
    agent_id = api.get("agent", "/api/v1/auth/me").json()["id"]
    assigned = api.post(
        "supervisor",
        f"/api/v1/returns/{taken['id']}/assignment",
        json={"assignee_id": agent_id, "reason": "hers"},
    )
    assert assigned.status_code == 200, assigned.text
    clock.advance(minutes=25)
    assert sweep_sla(api.container.uow, clock).warnings == 2
    agent, supervisor = api.credentials["agent"], api.credentials["supervisor"]
    warned = mail_to(smtp, agent, 'data-section="staff_sla_warning"')
    assert taken["number"] in warned["Subject"] and "First response" in warned["Subject"]
    assert "(UTC)" in body(warned, "plain")  # the agent's own zone
    due = datetime.fromisoformat(taken["created_at"]) + timedelta(minutes=30)
    assert format_time(due.astimezone(ZoneInfo("UTC")), "short", locale="en") in body(
        warned, "plain"
    )
    to_supervisor = mail_to(smtp, supervisor, 'data-section="staff_sla_warning"')
    assert queued["number"] in to_supervisor["Subject"]
    warnings = {
        (m["To"], m["Subject"])
        for m in smtp.unique().values()
        if 'data-section="staff_sla_warning"' in body(m, "html")
    }
    assert len(warnings) == 2  # the agent for hers, the supervisor for the queued one
    clock.advance(minutes=10)
    assert sweep_sla(api.container.uow, clock).breaches == 2
    message = mail_to(smtp, supervisor, 'data-section="staff_sla_breached"')
    text = body(message, "plain")
    assert "First response" in message["Subject"]
    assert "(UTC)" in text and "/console/cases/" in text
    breach_mail = [
        m
        for m in smtp.unique().values()
        if "staff_sla_breached" in body(m, "html") and m["To"] != supervisor
    ]
    assert breach_mail == []


def offered_case(api: Api) -> dict[str, Any]:
    case = api.open_return()
    offered = api.post("agent", f"/api/v1/returns/{case['id']}/call-booking/offer")
    assert offered.status_code == 202, offered.text
    return case


def booked_agent(api: Api, case: dict[str, Any]) -> str:
    found = api.get("agent", f"/api/v1/returns/{case['id']}/call-booking").json()["booking"]
    return str(found["agent"]["id"])


def test_a_call_moved_to_another_agent_tells_the_agent_who_had_it(api: Api, smtp: SmtpSink) -> None:
    video_team(api, agents=("agent", "supervisor"))
    first, second, third = (offered_case(api) for _ in range(3))
    times = [s["starts_at"] for s in slots(api, first)["slots"][:2]]
    assert book(api, first, times[0]).status_code == 201
    had_it = booked_agent(api, first)
    assert book(api, second, times[1]).status_code == 201  # the other agent (fewer calls)
    assert booked_agent(api, second) != had_it
    assert book(api, third, times[1]).status_code == 201  # the first one, now busy then too
    assert booked_agent(api, third) == had_it
    cancelled = api.request("buyer", "DELETE", f"/api/v1/returns/{second['id']}/call-booking")
    assert cancelled.status_code == 200
    moved = book(api, first, times[1])  # only the other agent is free then
    assert moved.status_code == 201, moved.text
    assert booked_agent(api, first) != had_it
    emails = {"agent": api.credentials["agent"], "supervisor": api.credentials["supervisor"]}
    staff = {
        u["id"]: u["email"]
        for u in api.get("admin", "/api/v1/staff").json()["items"]
        if u["email"] in emails.values()
    }
    told = mail_to(smtp, staff[had_it], 'data-section="staff_call_cancelled"')
    start = datetime.fromisoformat(times[0]).astimezone(ZoneInfo("UTC"))
    assert first["number"] in told["Subject"]
    assert format_time(start, "short", locale="en") in body(told, "plain")


@pytest.mark.parametrize("settings_overrides", [{"quiet_hours": "00:00-23:59"}], indirect=True)
def test_an_email_to_staff_never_waits_behind_the_buyers_quiet_hours(
    api: Api, smtp: SmtpSink, clock: Any
) -> None:
    video_team(api)
    case = offered_case(api)  # its first emails to the buyer wait for the morning
    clock.advance(seconds=1)  # the booking is a transaction (and an email) of its own
    first = slots(api, case)["slots"][0]["starts_at"]
    assert book(api, case, first).status_code == 201
    mail_to(smtp, api.credentials["agent"], 'data-section="staff_call_booked"')
    buyer_mail = [m["Subject"] for m in smtp.unique().values() if m["To"] == api.BUYER_EMAIL]
    assert buyer_mail == []  # the buyer's booking email keeps its place behind the held ones
    listed = api.get("agent", f"/api/v1/returns/{case['id']}/emails").json()["items"]
    assert listed and all(e["status"] == "pending" for e in listed)


def test_staff_find_what_they_were_emailed_in_their_console_inbox(
    api: Api, smtp: SmtpSink, clock: Any
) -> None:
    """The breach's supervisor and the booked call's agent each have the notice in their own
    inbox, unread until they mark it; nobody else sees or marks another person's."""
    all_the_time = {"days": [*WEEKDAYS, "sat", "sun"], "start": "00:00", "end": "00:00"}
    video_team(api, agents=("agent",), hours=all_the_time)
    put = api.put(
        "supervisor",
        "/api/v1/sla/targets/default",
        json={"first_response_minutes": 30, "next_response_minutes": 60, "resolution_minutes": 600},
    )
    assert put.status_code == 200, put.text
    case = offered_case(api)
    assert book(api, case, slots(api, case)["slots"][0]["starts_at"]).status_code == 201
    mail_to(smtp, api.credentials["agent"], 'data-section="staff_call_booked"')
    clock.advance(minutes=35)
    api.refresh_tokens()
    assert sweep_sla(api.container.uow, clock).breaches == 1
    mail_to(smtp, api.credentials["supervisor"], 'data-section="staff_sla_breached"')

    def inbox(who: str, **params: Any) -> dict[str, Any]:
        response = api.get(who, "/api/v1/notifications", params=params)
        assert response.status_code == 200, response.text
        found: dict[str, Any] = response.json()
        return found

    agents = inbox("agent")
    assert [(n["kind"], n["case_number"]) for n in agents["items"]] == [
        ("call_booked", case["number"])
    ]
    assert agents["unread"] == 1 and agents["items"][0]["read_at"] is None
    assert agents["items"][0]["data"]["starts_at"]
    supervisors = inbox("supervisor")
    breach = supervisors["items"][0]
    assert (breach["kind"], breach["case_id"], breach["data"]["clock"]) == (
        "sla_breached", case["id"], "first_response",
    )  # fmt: skip
    assert inbox("admin")["items"] == []  # the team has a supervisor: it is theirs

    mark = "/api/v1/notifications/read"
    theirs = api.post("agent", mark, json={"ids": [breach["id"]]})
    assert theirs.json() == {"marked": 0, "unread": 1}  # not the agent's to mark
    assert inbox("supervisor")["unread"] == supervisors["unread"]
    mine = api.post("supervisor", mark, json={"ids": [breach["id"]]})
    assert mine.json()["marked"] == 1
    assert all(n["id"] != breach["id"] for n in inbox("supervisor", unread="true")["items"])
    assert api.post("agent", mark, json={"all": True}).json() == {"marked": 1, "unread": 0}
    assert inbox("agent", unread="true")["items"] == []
    for bad in ({}, {"ids": []}, {"ids": ["x"]}, {"ids": ["nt_a"], "all": True}):
        api.problem(api.post("agent", mark, json=bad), 422)
    api.problem(api.get("agent", "/api/v1/notifications", params={"limit": 0}), 422)
    api.problem(api.get("buyer", "/api/v1/notifications"), 403, "forbidden")


def test_a_booking_that_lands_on_the_agent_meanwhile_is_not_doubled(
    api: Api, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Another booking of the same agent, starting ten minutes into the slot (an agent in two
    teams whose time grids are offset), becomes visible between reading the slots and writing:
    the locked second look refuses the slot (409) rather than booking the agent twice."""
    team = video_team(api)
    case, other = offered_case(api), offered_case(api)
    first = slots(api, case)["slots"][0]["starts_at"]
    store = ensure_default_store(api.container.uow, api.container.clock)
    original = SqlBookingRepository.lock_agent

    def meanwhile(self: SqlBookingRepository, agent_id: str) -> None:
        start = datetime.fromisoformat(first) + timedelta(minutes=10)
        self.add(
            CallBooking(
                id=new_id(), store_id=store.id, case_id=other["id"],
                team_id=team["id"], agent_id=agent_id, agent_name="agent person", starts_at=start,
                minutes=20, timezone="UTC", booked_by="staff",
                created_at=api.container.clock(),
            )
        )  # fmt: skip
        original(self, agent_id)

    monkeypatch.setattr(SqlBookingRepository, "lock_agent", meanwhile)
    api.problem(book(api, case, first), 409, "slot_unavailable")
    monkeypatch.setattr(SqlBookingRepository, "lock_agent", original)
    assert api.get("buyer", f"/api/v1/returns/{case['id']}/call-booking").json() == {
        "booking": None
    }
    assert book(api, case, first).status_code == 201  # nothing was left half-written


def test_an_agents_time_off_takes_their_slots_away_and_names_the_calls_in_it(
    api: Api,
) -> None:
    video_team(api)
    case = offered_case(api)
    offer = [s["starts_at"] for s in slots(api, case)["slots"]]
    first = datetime.fromisoformat(offer[0])
    mine = "/api/v1/staff/me/time-off"
    day_off = {
        "starts_at": first.isoformat(),
        "ends_at": (first + timedelta(hours=1)).isoformat(),
        "note": "dentist",
    }
    added = api.post("agent", mine, json=day_off)
    assert added.status_code == 201, added.text
    assert added.json()["conflicting_calls"] == [] and added.json()["note"] == "dentist"
    left = [datetime.fromisoformat(s["starts_at"]) for s in slots(api, case)["slots"]]
    assert all(s >= first + timedelta(hours=1) or s + timedelta(minutes=20) <= first for s in left)
    assert len(left) == len(offer) - 3  # the three 20-minute slots of that hour
    listed = api.get("agent", mine).json()["items"]
    assert [t["id"] for t in listed] == [added.json()["id"]]

    # A call booked later, then the supervisor puts the agent off then too: the call is named.
    later = left[0]
    assert book(api, case, later.isoformat()).status_code == 201
    agent_id = booked_agent(api, case)
    theirs = f"/api/v1/staff/{agent_id}/time-off"
    training = {"starts_at": later.isoformat(), "ends_at": (later + timedelta(hours=2)).isoformat()}
    put_off = api.post("supervisor", theirs, json=training)
    assert put_off.status_code == 201, put_off.text
    assert [c["case_id"] for c in put_off.json()["conflicting_calls"]] == [case["id"]]
    assert len(api.get("supervisor", theirs).json()["items"]) == 2

    # Only one's own, unless one runs teams; bad times are refused and change nothing.
    supervisor_id = next(
        u["id"]
        for u in api.get("admin", "/api/v1/staff").json()["items"]
        if u["email"] == api.credentials["supervisor"]
    )
    api.problem(api.post("agent", f"/api/v1/staff/{supervisor_id}/time-off", json=day_off), 403)
    api.problem(api.get("buyer", mine), 403, "forbidden")
    now = api.container.clock()
    for bad, code in (
        ({"starts_at": day_off["ends_at"], "ends_at": day_off["starts_at"]}, "invalid_time_off"),
        ({"starts_at": (now - timedelta(days=2)).isoformat(),
          "ends_at": (now - timedelta(days=1)).isoformat()}, "invalid_time_off"),
        ({"starts_at": now.isoformat(), "ends_at": (now + timedelta(days=400)).isoformat()},
         "invalid_time_off"),
        ({"starts_at": "2030-01-01T09:00:00", "ends_at": "2030-01-01T10:00:00"},
         "validation_error"),
        ({"starts_at": "0001-01-01T00:00:00+14:00", "ends_at": "9999-12-31T23:59:59-12:00"},
         "invalid_time_off"),  # no such instants: refused, never a 500
    ):  # fmt: skip
        api.problem(api.post("agent", mine, json=bad), 422, code)
    unknown = "/api/v1/staff/00000000-0000-0000-0000-000000000000/time-off"
    api.problem(api.get("supervisor", unknown), 404, "staff_not_found")
    assert len(api.get("agent", mine).json()["items"]) == 2

    removed = api.request("agent", "DELETE", f"{mine}/{added.json()['id']}")
    assert removed.status_code == 204
    api.problem(api.request("agent", "DELETE", f"{mine}/{added.json()['id']}"), 404)
    back = {s["starts_at"] for s in slots(api, case)["slots"]}
    assert offer[0] in back  # the dentist's hour is free again


def test_the_inbox_pages_newest_first_and_only_through_ones_own(api: Api) -> None:
    staff = {u["email"]: u["id"] for u in api.get("admin", "/api/v1/staff").json()["items"]}
    case = api.open_return()
    at = api.container.clock()
    with api.container.engine.begin() as conn:
        for i in range(3):
            for who in ("agent", "supervisor"):
                conn.execute(
                    insert(staff_notifications).values(
                        id=f"nt_{who}_{i}", store_id=case_store(api), staff_id=staff[
                            api.credentials[who]
                        ], case_id=case["id"], case_number=case["number"],
                        kind="staff_sla_breached", data={"clock": "first_response"},
                        created_at=at + timedelta(minutes=i),
                    )
                )  # fmt: skip
    first = api.get("agent", "/api/v1/notifications", params={"limit": 2}).json()
    assert [n["id"] for n in first["items"]] == ["nt_agent_2", "nt_agent_1"]
    assert first["next_before"] == "nt_agent_1" and first["unread"] == 3
    rest = api.get(
        "agent", "/api/v1/notifications", params={"limit": 2, "before": first["next_before"]}
    ).json()
    assert [n["id"] for n in rest["items"]] == ["nt_agent_0"] and rest["next_before"] is None
    theirs = api.get("agent", "/api/v1/notifications", params={"before": "nt_supervisor_1"})
    api.problem(theirs, 422, "invalid_before")  # another person's: not a cursor of mine


def case_store(api: Api) -> str:
    return ensure_default_store(api.container.uow, api.container.clock).id
