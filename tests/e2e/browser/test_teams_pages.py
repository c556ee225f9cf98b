"""Teams and service levels in a real browser: a supervisor sets up a team with its shift and
targets, an agent goes online from the console's header, a new case is routed to her, and the
supervisor's open queue shows the breach appear when the first-response target is missed."""

from __future__ import annotations

import re
from datetime import UTC, timedelta
from pathlib import Path
from typing import TYPE_CHECKING
from zoneinfo import ZoneInfo

import pytest
from playwright.sync_api import Browser, BrowserContext, Locator, Page, expect

from returndesk.bootstrap import Container
from returndesk.domain.access import Role
from returndesk.services.principal import SYSTEM
from returndesk.services.routing_rules import routing_rules, save_routing_rules
from returndesk.services.staff import create_staff_user
from returndesk.services.teams import HoursInput, TeamInput, create_team, sweep_sla
from servers.live import LiveServer

if TYPE_CHECKING:  # conftest modules are not imported by name at run time
    from conftest import Catalogue, FakeClockLike, Scenario

pytestmark = pytest.mark.browser

SUPERVISOR = ("rafael.lima@returndesk.example", "another long passphrase")


def add_supervisor(container: Container) -> None:
    create_staff_user(
        container.uow, container.hasher, container.clock, SYSTEM, email=SUPERVISOR[0],
        role=Role.supervisor, password=SUPERVISOR[1], name="Rafael Lima",
    )  # fmt: skip


def supervisor_login(page: Page) -> None:
    page.goto("/console/login")
    page.get_by_test_id("login-email").fill(SUPERVISOR[0])
    page.get_by_test_id("login-password").fill(SUPERVISOR[1])
    page.get_by_test_id("login-submit").click()


def wait_until_visible(page: Page, element: Locator) -> None:
    """Reload until it shows: notifications are made by the outbox's fan-out, a moment after
    the sweep's commit."""
    for _ in range(50):
        page.reload()
        if element.is_visible():
            return
        page.wait_for_timeout(200)


def new_context(browser: Browser, base_url: str) -> BrowserContext:
    context = browser.new_context(
        base_url=base_url, locale="en-US", timezone_id="America/Sao_Paulo"
    )
    context.set_default_timeout(10_000)
    return context


def test_a_supervisor_sets_up_a_team_and_sees_a_breach_appear(
    browser: Browser, browser_server: LiveServer, sqlite_container: Container,
    scenario: Scenario, clock: FakeClockLike, shots: Path,
) -> None:  # fmt: skip
    container = sqlite_container
    add_supervisor(container)
    boss = new_context(browser, browser_server.url)
    agent = new_context(browser, browser_server.url)
    try:
        page = boss.new_page()
        supervisor_login(page)
        page.get_by_test_id("nav-teams").click()
        expect(page.get_by_test_id("teams-empty")).to_be_visible()

        # A team that works around the clock, for Brazil, in Portuguese.
        page.get_by_test_id("team-name").fill("Brasil")
        page.get_by_test_id("team-timezone").fill("America/Sao_Paulo")
        for day in ("sat", "sun"):
            page.get_by_test_id(f"team-day1-{day}").check()
        page.get_by_test_id("team-start1").fill("00:00")
        page.get_by_test_id("team-end1").fill("00:00")
        page.get_by_test_id("team-holidays").fill("BR")
        page.get_by_test_id("team-languages").fill("pt-BR, es")
        page.get_by_test_id("team-markets").fill("BR")
        # A time zone that does not exist: refused, and nothing typed is lost.
        page.get_by_test_id("team-timezone").fill("America/Sao_Paolo")
        page.get_by_test_id("team-submit").click()
        expect(page.get_by_test_id("error")).to_contain_text("Europe/Berlin")
        expect(page.get_by_test_id("team-name")).to_have_value("Brasil")
        expect(page.get_by_test_id("team-day1-sun")).to_be_checked()
        expect(page.get_by_test_id("team-languages")).to_have_value("pt-BR, es")
        page.get_by_test_id("team-timezone").fill("America/Sao_Paulo")
        page.get_by_test_id("team-submit").click()
        team = page.get_by_test_id("team")
        expect(team).to_have_count(1)
        expect(team.get_by_test_id("team-open")).to_be_visible()

        page.get_by_test_id("member-email").fill(scenario.agent_email)
        page.get_by_test_id("member-capacity").fill("3")
        page.get_by_test_id("member-skill-electronics_howto").check()
        page.get_by_test_id("member-submit").click()
        member = page.get_by_test_id("member")
        expect(member).to_have_attribute("data-email", scenario.agent_email)
        expect(member.get_by_test_id("member-presence")).to_have_attribute(
            "data-presence", "offline"
        )
        page.get_by_test_id("sla-first").fill("30")
        page.get_by_test_id("sla-submit").click()
        expect(
            page.locator('[data-testid="sla-target"][data-case-type="default"]')
        ).to_contain_text("30")

        # The agent opens the console and goes online from the header.
        agent_page = agent.new_page()
        scenario.agent_login(agent_page)
        agent_page.get_by_test_id("presence").select_option("online")
        expect(agent_page.get_by_test_id("presence")).to_have_attribute("data-current", "online")
        page.reload()
        expect(member.get_by_test_id("member-presence")).to_have_attribute(
            "data-presence", "online"
        )

        # A Brazilian return is routed to her; the supervisor's queue shows it live.
        page.get_by_test_id("nav-queue").click()
        expect(page.get_by_test_id("live")).to_have_attribute("data-live-state", "open")
        case_id = scenario.open_return(container, scenario.tee_sku)
        row = page.locator(f'[data-testid="queue-row"][data-case-id="{case_id}"]')
        expect(row.get_by_test_id("queue-assignee")).to_have_text(scenario.agent_name)
        expect(row.get_by_test_id("sla-due")).to_be_visible()

        # Twenty-five minutes on (80 % of the target), the agent who has it is warned in her
        # inbox; the supervisor is not.
        clock.advance(minutes=25)
        assert sweep_sla(container.uow, container.clock).warnings == 1
        agent_count = agent_page.get_by_test_id("notifications-unread-count")
        wait_until_visible(agent_page, agent_count)
        expect(agent_count).to_have_text("1")
        agent_page.get_by_test_id("nav-notifications").click()
        warned = agent_page.get_by_test_id("notification")
        expect(warned).to_have_count(1)
        expect(warned).to_have_attribute("data-kind", "staff_sla_warning")
        expect(warned.get_by_test_id("notification-open")).to_contain_text("First response due")

        # Thirty-one minutes in all without an answer: the sweep finds the breach, and the
        # open queue shows it without a reload.
        clock.advance(minutes=6)
        assert sweep_sla(container.uow, container.clock).breaches == 1
        expect(row.get_by_test_id("sla-breached")).to_be_visible()
        page.screenshot(path=str(shots / "queue-sla-breached.png"), full_page=True)

        # The breach is in the supervisor's notifications too: the header counts it, the
        # inbox words it, and opening it goes to the case and marks it read.
        count = page.get_by_test_id("notifications-unread-count")
        wait_until_visible(page, count)
        expect(count).to_have_text("1")
        page.get_by_test_id("nav-notifications").click()
        notice = page.get_by_test_id("notification")
        expect(notice).to_have_count(1)
        expect(notice).to_have_attribute("data-kind", "staff_sla_breached")
        expect(notice.get_by_test_id("notification-new")).to_be_visible()
        expect(notice.get_by_test_id("notification-open")).to_contain_text(
            "missed its service level: First response"
        )
        page.screenshot(path=str(shots / "notifications.png"), full_page=True)

        # On the case: who handles it, the missed clock, and a reassignment with a reason.
        notice.get_by_test_id("notification-open").click()
        expect(page).to_have_url(f"{browser_server.url}/console/cases/{case_id}")
        expect(count).to_be_hidden()
        handling = page.get_by_test_id("handling")
        expect(handling.get_by_test_id("handling-assignee")).to_have_text(scenario.agent_name)
        first_response = handling.locator('[data-testid="sla-clock"][data-clock="first_response"]')
        expect(first_response.get_by_test_id("sla-clock-breached")).to_be_visible()
        page.get_by_test_id("assign-target").select_option(index=0)  # the team's queue
        page.get_by_test_id("assign-reason").fill("Ana is on a video call")
        page.get_by_test_id("assign-submit").click()
        expect(page.get_by_test_id("handling-assignee")).to_have_text("Unassigned")
        entries = page.locator('[data-testid="timeline-entry"][data-kind="assigned"]')
        expect(entries.last).to_contain_text("Ana is on a video call")
        page.screenshot(path=str(shots / "case-handling.png"), full_page=True)
    finally:
        boss.close()
        agent.close()


def test_presence_lapses_when_the_console_stops_renewing_it(
    browser: Browser, browser_server: LiveServer, scenario: Scenario, clock: FakeClockLike
) -> None:
    context = new_context(browser, browser_server.url)
    try:
        page = context.new_page()
        scenario.agent_login(page)
        page.get_by_test_id("presence").select_option("online")
        expect(page.get_by_test_id("presence")).to_have_attribute("data-current", "online")
        context.close()
        clock.advance(seconds=120)  # no renewal for longer than the presence lasts
        context = new_context(browser, browser_server.url)
        page = context.new_page()
        scenario.agent_login(page)
        expect(page.get_by_test_id("presence")).to_have_value("offline")
    finally:
        context.close()


def test_an_agent_and_a_supervisor_enter_time_off_in_their_own_time_zone(
    browser: Browser, browser_server: LiveServer, sqlite_container: Container,
    scenario: Scenario, clock: FakeClockLike, shots: Path,
) -> None:  # fmt: skip
    """Times typed in the console are the viewer's (São Paulo here, UTC-3); a refused entry
    keeps what was typed; a supervisor enters it for anyone of the store."""
    container = sqlite_container
    add_supervisor(container)
    tomorrow = (clock() + timedelta(days=1)).astimezone(ZoneInfo("America/Sao_Paulo")).date()
    agent = new_context(browser, browser_server.url)
    boss = new_context(browser, browser_server.url)
    try:
        page = agent.new_page()
        scenario.agent_login(page)
        page.get_by_test_id("nav-teams").click()
        card = page.get_by_test_id("time-off")
        expect(card.get_by_test_id("time-off-empty")).to_be_visible()
        expect(card.get_by_test_id("time-off-staff")).to_have_count(0)  # only her own
        card.get_by_test_id("time-off-starts").fill(f"{tomorrow}T14:00")
        card.get_by_test_id("time-off-ends").fill(f"{tomorrow}T12:00")
        card.get_by_test_id("time-off-note").fill("dentist")
        card.get_by_test_id("time-off-submit").click()
        expect(page.get_by_test_id("error")).to_contain_text("later end")
        expect(card.get_by_test_id("time-off-note")).to_have_value("dentist")
        card.get_by_test_id("time-off-ends").fill(f"{tomorrow}T17:30")
        card.get_by_test_id("time-off-submit").click()
        entry = card.get_by_test_id("time-off-entry")
        expect(entry).to_have_count(1)
        expect(entry.get_by_test_id("time-off-from")).to_contain_text("2:00")
        expect(entry.get_by_test_id("time-off-to")).to_contain_text("5:30")
        with container.uow() as uow:  # stored as the instant: 14:00 in São Paulo is 17:00 UTC
            (stored,) = uow.bookings.time_off(scenario_store(container), None, clock())
        assert stored.starts_at.astimezone(UTC).hour == 17 and stored.note == "dentist"
        page.screenshot(path=str(shots / "time-off.png"), full_page=True)

        # The supervisor sees it with her name, and adds a day of training for her.
        boss_page = boss.new_page()
        supervisor_login(boss_page)
        boss_page.get_by_test_id("nav-teams").click()
        boss_card = boss_page.get_by_test_id("time-off")
        expect(boss_card.get_by_test_id("time-off-entry")).to_contain_text(scenario.agent_name)
        boss_card.get_by_test_id("time-off-staff").select_option(label=scenario.agent_name)
        boss_card.get_by_test_id("time-off-starts").fill(f"{tomorrow + timedelta(days=1)}T09:00")
        boss_card.get_by_test_id("time-off-ends").fill(f"{tomorrow + timedelta(days=1)}T18:00")
        boss_card.get_by_test_id("time-off-submit").click()
        expect(boss_card.get_by_test_id("time-off-entry")).to_have_count(2)

        # She removes the dentist.
        page.reload()
        expect(entry).to_have_count(2)
        entry.first.get_by_test_id("time-off-remove").click()
        expect(card.get_by_test_id("time-off-entry")).to_have_count(1)
    finally:
        agent.close()
        boss.close()


def scenario_store(container: Container) -> str:
    with container.uow() as uow:
        (store,) = uow.stores.list()
    return store.id


def test_the_dashboard_draws_its_figures_and_exports_them(
    browser: Browser, browser_server: LiveServer, sqlite_container: Container,
    scenario: Scenario, zh: Catalogue, shots: Path,
) -> None:  # fmt: skip
    container = sqlite_container
    add_supervisor(container)
    scenario.open_return(container, scenario.tee_sku)
    context = new_context(browser, browser_server.url)
    try:
        page = context.new_page()
        supervisor_login(page)
        page.get_by_test_id("nav-dashboard").click()
        # The fixture's US case and the Brazilian one.
        expect(page.get_by_test_id("kpi-cases").locator("strong")).to_have_text("2")
        expect(page.get_by_test_id("chart-groups")).to_have_attribute("data-drawn", "1")
        expect(page.get_by_test_id("chart-days")).to_have_attribute("data-drawn", "1")
        page.get_by_test_id("dashboard-group-by").select_option("market")
        page.get_by_test_id("dashboard-apply").click()
        rows = page.get_by_test_id("group-row")
        expect(rows).to_have_count(2)
        expect(page.get_by_test_id("chart-groups")).to_have_attribute("data-drawn", "1")
        page.screenshot(path=str(shots / "dashboard.png"), full_page=True)
        expect(page.locator('[data-testid="group-row"][data-key="BR"]')).to_contain_text("R$")
        with page.expect_download() as download:
            page.get_by_test_id("dashboard-csv").click()
        text = Path(download.value.path()).read_text(encoding="utf-8")
        assert text.splitlines()[0] == "market,cases,units,currency,value_minor,refunded_minor"
        assert any(line.startswith("BR,1,1,BRL,") for line in text.splitlines())
        page.goto("/console/dashboard?lang=zh")
        expect(page.locator("h1")).to_have_text(zh("Dashboard"))
    finally:
        context.close()


def test_a_supervisor_writes_routing_rules_and_a_new_case_follows_them(
    browser: Browser, browser_server: LiveServer, sqlite_container: Container,
    scenario: Scenario, zh: Catalogue, shots: Path,
) -> None:  # fmt: skip
    """Rules in the console (the page in Chinese): two added, the second moved first, one
    removed; a Brazilian return then goes to the team the remaining rule names, and the case's
    timeline says which rule sent it there."""
    container = sqlite_container
    add_supervisor(container)
    weekdays = HoursInput(("mon", "tue", "wed", "thu", "fri"), "09:00", "18:00")
    for name, zone in (("Brasil", "America/Sao_Paulo"), ("Fraude", "Europe/Lisbon")):
        create_team(container.uow, container.clock, SYSTEM, TeamInput(name, zone, (weekdays,)))
    boss = new_context(browser, browser_server.url)
    try:
        page = boss.new_page()
        supervisor_login(page)
        page.goto("/console/teams?lang=zh")
        card = page.get_by_test_id("routing-rules")
        expect(card.locator("h2")).to_have_text(zh("Routing rules"))
        expect(page.get_by_test_id("rules-empty")).to_be_visible()
        expect(page.get_by_test_id("builtin-steps").locator("li")).to_have_count(4)
        for name, markets, team in (("Fakes", "", "Fraude"), ("Brazil", "br", "Brasil")):
            page.get_by_test_id("rule-name").fill(name)
            page.get_by_test_id("rule-markets").fill(markets)
            if name == "Fakes":
                page.get_by_test_id("rule-reasons").select_option(["counterfeit_suspected"])
            page.get_by_test_id("rule-team").select_option(label=team)
            page.get_by_test_id("rule-submit").click()
            expect(page.locator(f"[data-testid=rule][data-name={name}]")).to_have_count(1)
        rows = page.get_by_test_id("rule")
        expect(rows).to_have_count(2)
        page.locator("[data-testid=rule][data-name=Brazil]").get_by_test_id("rule-up").click()
        expect(rows.first).to_have_attribute("data-name", "Brazil")
        expect(rows.first.get_by_test_id("rule-when")).to_contain_text("BR")
        expect(rows.first.get_by_test_id("rule-then")).to_contain_text("Brasil")
        # A rule that names no team and no skill is refused, in Chinese, and nothing changes.
        page.get_by_test_id("rule-name").fill("Nowhere")
        page.get_by_test_id("rule-submit").click()
        expect(page.get_by_test_id("error")).to_contain_text(
            zh("A rule needs a name and sends cases to a team or a skill.")
        )
        expect(page.get_by_test_id("rule")).to_have_count(2)
        # Somebody else puts Fakes first meanwhile: this page's "remove" (second row, Fakes)
        # now points at Brazil, and is refused rather than removing the wrong rule.
        saved = routing_rules(container.uow, SYSTEM).rules
        save_routing_rules(container.uow, container.clock, SYSTEM, saved[::-1])
        page.locator("[data-testid=rule][data-name=Fakes]").get_by_test_id("rule-remove").click()
        expect(page.get_by_test_id("error")).to_contain_text(
            zh("That rule does not exist any more.")
        )
        expect(page.get_by_test_id("rule").first).to_have_attribute("data-name", "Fakes")
        page.locator("[data-testid=rule][data-name=Fakes]").get_by_test_id("rule-remove").click()
        expect(page.get_by_test_id("rule")).to_have_count(1)
        page.screenshot(path=str(shots / "console-routing-rules.png"), full_page=True)

        case_id = scenario.open_return(container, scenario.tee_sku)
        page.goto(f"/console/cases/{case_id}?lang=en")
        assigned = page.locator("[data-testid=timeline-entry][data-kind=assigned]")
        expect(assigned).to_contain_text("routed by a routing rule")
        expect(assigned.get_by_test_id("timeline-routing-rule")).to_have_text("Brazil")
        expect(page.get_by_test_id("handling-team")).to_have_text("Brasil")
    finally:
        boss.close()


def test_a_chat_handed_over_about_no_case_shows_its_due_time_and_warns_in_the_inbox(
    browser: Browser, browser_server: LiveServer, sqlite_container: Container,
    scenario: Scenario, clock: FakeClockLike, shots: Path,
) -> None:  # fmt: skip
    """The buyer asks for a person about their order (no return): the supervisor's
    Conversations page shows when the answer is due, in their zone; at 80 % of the target,
    nobody on the team having taken it, the supervisor's inbox says so and leads to the chat."""
    container = sqlite_container
    add_supervisor(container)
    around_the_clock = HoursInput(
        ("mon", "tue", "wed", "thu", "fri", "sat", "sun"), "00:00", "00:00"
    )
    create_team(
        container.uow, container.clock, SYSTEM,
        TeamInput("Brasil", "America/Sao_Paulo", (around_the_clock,), languages=("pt-BR",)),
    )  # fmt: skip
    buyer = browser.new_context(
        base_url=browser_server.url, locale="pt-BR", timezone_id="America/Sao_Paulo"
    )
    buyer.set_default_timeout(10_000)
    boss = new_context(browser, browser_server.url)
    try:
        chat = buyer.new_page()
        scenario.buyer_login(chat)
        chat.get_by_test_id("chat-link").click()
        chat.get_by_test_id("chat-input").fill("Quero falar com um atendente, por favor")
        chat.get_by_test_id("chat-send").click()
        expect(chat.get_by_test_id("chat-waiting")).to_be_visible()

        page = boss.new_page()
        supervisor_login(page)
        page.get_by_test_id("nav-conversations").click()
        row = page.get_by_test_id("conversation-row")
        expect(row).to_have_count(1)
        due = row.get_by_test_id("conversation-due")
        promised = clock.now + timedelta(minutes=240)  # the default first-response target
        expect(due).to_have_attribute("data-due", promised.astimezone(UTC).isoformat())
        expect(due).not_to_have_class("badge escalated")

        clock.advance(minutes=193)  # 80 % of 240 minutes is 192
        assert sweep_sla(container.uow, container.clock).chat_warnings == 1
        count = page.get_by_test_id("notifications-unread-count")
        wait_until_visible(page, count)
        expect(row.get_by_test_id("conversation-due")).to_have_class("badge escalated")
        page.get_by_test_id("nav-notifications").click()
        # (the scenario's own return, in the same team's queue, is warned of too)
        notice = page.locator('[data-testid="notification"][data-kind="staff_chat_warning"]')
        expect(notice).to_have_count(1)
        expect(notice.get_by_test_id("notification-open")).to_contain_text(
            "A chat waits for a person"
        )
        page.screenshot(path=str(shots / "notifications-chat.png"), full_page=True)
        notice.get_by_test_id("notification-open").click()
        expect(page).to_have_url(re.compile(r"/console/conversations/[^/]+$"))
        expect(page.get_by_test_id("transcript-message")).to_have_count(2)
    finally:
        buyer.close()
        boss.close()
