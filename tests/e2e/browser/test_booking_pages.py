"""Booking a video call in real Chromium: an agent asks the Brazilian buyer to pick a time; the
buyer, in São Paulo, sees the free times of the agent's Lisbon shift in their own time and
language, books one, and the agent's console shows it in the agent's time zone."""

from __future__ import annotations

import re
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING
from zoneinfo import ZoneInfo

import pytest
from playwright.sync_api import Browser, expect

from returndesk.bootstrap import Container
from returndesk.services.principal import SYSTEM
from returndesk.services.teams import HoursInput, MemberInput, TeamInput, add_member, create_team
from servers.live import LiveServer

if TYPE_CHECKING:
    from conftest import Catalogue, Scenario

pytestmark = pytest.mark.browser

TIMEOUT_MS = 15_000
LISBON, SAO_PAULO, SHANGHAI = (
    ZoneInfo("Europe/Lisbon"),
    ZoneInfo("America/Sao_Paulo"),
    ZoneInfo("Asia/Shanghai"),
)


@pytest.fixture
def case_id(sqlite_container: Container, scenario: Scenario) -> str:
    """The buyer's earbuds, returned as faulty; Ana works 09:00-13:00 Lisbon time, weekdays,
    and takes video calls."""
    container = sqlite_container
    team = create_team(
        container.uow,
        container.clock,
        SYSTEM,
        TeamInput(
            name="Lusofonia",
            timezone="Europe/Lisbon",
            hours=(HoursInput(("mon", "tue", "wed", "thu", "fri"), "09:00", "13:00"),),
            languages=("pt-BR", "pt"),
        ),
    )
    add_member(
        container.uow,
        SYSTEM,
        team.id,
        MemberInput(scenario.agent_email, ("pt-BR",), skills=("video_inspection",)),
    )
    return scenario.open_return(container, scenario.buds_sku)


def test_the_buyer_books_a_time_in_their_zone_and_the_agent_sees_it(
    browser: Browser,
    browser_server: LiveServer,
    scenario: Scenario,
    case_id: str,
    pt_br: Catalogue,
    shots: Path,
) -> None:
    agent = browser.new_context(
        base_url=browser_server.url, locale="en-US", timezone_id="Asia/Shanghai"
    )
    agent.set_default_timeout(TIMEOUT_MS)
    agent_page = agent.new_page()
    scenario.agent_login(agent_page)
    agent_page.goto(f"/console/cases/{case_id}")
    agent_page.get_by_test_id("booking-offer").click()
    offered = agent_page.locator("[data-testid=timeline-entry][data-kind=call_booking_offered]")
    expect(offered).to_contain_text("Invited to book a video call")

    buyer = browser.new_context(
        base_url=browser_server.url, locale="pt-BR", timezone_id="America/Sao_Paulo"
    )
    buyer.set_default_timeout(TIMEOUT_MS)
    try:
        page = buyer.new_page()
        scenario.buyer_login(page)
        page.goto(f"/portal/returns/{case_id}")
        invite = page.get_by_test_id("booking-invite")
        expect(invite).to_contain_text(
            pt_br("We would like to see the item with you in a short video call.")
        )
        invited = page.locator("[data-testid=timeline-entry][data-kind=call_booking_offered]")
        expect(invited).to_contain_text(pt_br("Invited to book a video call"))
        page.get_by_test_id("booking-open").click()
        booking = page.get_by_test_id("booking-page")
        expect(booking).to_have_attribute("data-timezone", "America/Sao_Paulo")
        expect(page.get_by_test_id("booking-timezone")).to_contain_text("America/Sao_Paulo")
        expect(page.locator("h1")).to_have_text(pt_br("Book a video call"))
        slots = page.get_by_test_id("booking-slot")
        expect(slots.first).to_be_visible()
        # Every time offered is inside Ana's Lisbon morning; the labels are São Paulo times.
        values = slots.evaluate_all("els => els.map(e => e.value)")
        labels = page.locator("label.slot").all_inner_texts()
        assert values and len(values) == len(labels)
        for value, label in zip(values, labels, strict=True):
            start = datetime.fromisoformat(value)
            in_lisbon = start.astimezone(LISBON)
            assert in_lisbon.weekday() < 5 and 9 <= in_lisbon.hour < 13, value
            assert label.strip() == start.astimezone(SAO_PAULO).strftime("%H:%M"), (value, label)
        chosen = values[0]
        page.screenshot(path=str(shots / "portal-booking.png"), full_page=True)
        slots.first.check()
        page.get_by_test_id("booking-submit").click()

        booked = page.get_by_test_id("booked-call")
        expect(booked).to_be_visible()
        expect(booked).to_have_attribute("data-starts-at", chosen)
        local = datetime.fromisoformat(chosen).astimezone(SAO_PAULO)
        expect(booked).to_contain_text(local.strftime("%H:%M"))
        expect(booked).to_contain_text("America/Sao_Paulo")
        expect(booked).to_contain_text(scenario.agent_name)
        entry = page.locator("[data-testid=timeline-entry][data-kind=call_booked]")
        expect(entry).to_contain_text(pt_br("Video call booked"))
        expect(page.get_by_test_id("booking-invite")).to_have_count(0)
        page.screenshot(path=str(shots / "portal-booked-call.png"), full_page=True)

        # The agent's console shows the same instant, in Shanghai time.
        agent_page.reload()
        shown = agent_page.get_by_test_id("console-booked-call")
        expect(shown).to_have_attribute("data-starts-at", chosen)
        in_shanghai = datetime.fromisoformat(chosen).astimezone(SHANGHAI)
        expect(shown).to_contain_text(re.compile(rf"\b{in_shanghai.strftime('%-I:%M')}\s?[AP]M"))
        expect(shown).to_contain_text("Asia/Shanghai")
        agent_page.screenshot(path=str(shots / "console-booked-call.png"), full_page=True)

        # The buyer moves the call to another time, then cancels it.
        page.get_by_test_id("booking-change").click()
        expect(page.get_by_test_id("booking-current")).to_be_visible()
        other = page.get_by_test_id("booking-slot").nth(1)
        moved_to = other.get_attribute("value")
        other.check()
        page.get_by_test_id("booking-submit").click()
        expect(page.get_by_test_id("booked-call")).to_have_attribute(
            "data-starts-at", str(moved_to)
        )
        page.get_by_test_id("booking-cancel").click()
        expect(page.get_by_test_id("booked-call")).to_have_count(0)
        expect(page.get_by_test_id("booking-invite")).to_be_visible()
        cancelled = page.locator("[data-testid=timeline-entry][data-kind=call_booking_cancelled]")
        expect(cancelled).to_have_count(1)
    finally:
        buyer.close()
        agent.close()
