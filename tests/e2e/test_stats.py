"""The supervisor's figures against a small history whose every number is worked out by hand
(in the comments), through the API a dashboard or a spreadsheet uses."""

from __future__ import annotations

from datetime import UTC, datetime, time, timedelta
from typing import TYPE_CHECKING, Any

import pytest

from returndesk.services.stats import refresh_stats
from returndesk.services.teams import sweep_sla

if TYPE_CHECKING:  # tests/e2e/conftest.py, handed over by fixtures
    from conftest import Api

ALL_WEEK = ["mon", "tue", "wed", "thu", "fri", "sat", "sun"]


@pytest.fixture
def history(api: Api, clock: Any) -> Api:
    """Three returns opened at once:
    A  US order, SHIRT-M x2, wrong size, by the buyer: 2 x 2250 = 4500 USD; left requested
    B  US order, LAMP-1 x1, defective: 9000 USD; approved after 20 min, refunded 9000 after
       10 h 20 min in all
    C  DE order (DHL), MUG-1 x1 of 4 sold, changed mind: 1000 EUR; left requested
    One team works around the clock with a 30-minute first-response target, so A and C miss
    it and B (answered at 20 minutes) does not.
    """
    team = api.post(
        "supervisor",
        "/api/v1/teams",
        json={
            "name": "Americas",
            "timezone": "America/New_York",
            "hours": [{"days": ALL_WEEK, "start": "00:00", "end": "00:00"}],
        },
    )
    assert team.status_code == 201, team.text
    targets = {
        "first_response_minutes": 30,
        "next_response_minutes": 60,
        "resolution_minutes": 6000,
    }
    assert api.put("supervisor", "/api/v1/sla/targets/default", json=targets).status_code == 200
    german = api.order_payload(
        clock(),
        number="DE-77",
        email="lena@example.de",
        market="DE",
        currency="EUR",
        lines=[{"sku": "MUG-1", "title": "Mug", "quantity": 4, "unit_price": 1000,
                "paid_amount": 4000}],
        shipments=[{"carrier": "DHL", "tracking_number": "DHL77",
                    "shipped_at": (clock() - timedelta(days=2)).isoformat(),
                    "delivered_at": (clock() - timedelta(days=1)).isoformat()}],
    )  # fmt: skip
    assert api.put_order(german).status_code == 201
    api.open_return("buyer", api.return_payload(quantity=2))
    lamp = api.open_return("admin", api.return_payload(sku="LAMP-1", reason="defective"))
    api.open_return("admin", api.return_payload(order_number="DE-77", sku="MUG-1",
                                                reason="changed_mind"))  # fmt: skip
    clock.advance(minutes=20)
    api.refresh_tokens()
    lamp = api.moved("agent", lamp, "approved")
    clock.advance(hours=10)
    api.refresh_tokens()
    lamp = api.moved("agent", lamp, "refund_pending", refund_amount=9000, note="full refund")
    api.moved("agent", lamp, "refunded")
    assert sweep_sla(api.container.uow, clock).breaches == 2  # A and C, first response
    return api


def stats(api: Api, **params: str) -> dict[str, Any]:
    response = api.get("supervisor", "/api/v1/stats/returns", params=params)
    assert response.status_code == 200, response.text
    body: dict[str, Any] = response.json()
    return body


def test_totals_service_levels_and_resolution_time(history: Api) -> None:
    body = stats(history)
    assert body["totals"] == {
        "cases": 3,
        "units": 4,
        "decided": 3,  # the engine decided each one (the store applies nothing by itself)
        "decided_automatically": 0,
        "automatic_share": 0.0,
        "refunded": [{"amount": 9000, "currency": "USD"}],
        "returnless_refunded": [{"amount": 0, "currency": "USD"}],
        "return_costs": [],  # nothing graded by a warehouse in this history
        "recovered": [],
        "resolved": 1,
        "median_hours_to_resolution": 10.33,  # B: 10 h 20 min
    }
    assert body["sla"] == {"cases": 3, "breached": 2, "attainment": 0.3333}
    assert body["queue"] == {
        "by_status": {"requested": 2, "refunded": 1},
        "by_team": {"Americas": 3},
        "breached_by_team": {"Americas": 2},
        "by_language": {"en": 2, "de": 1},
    }


def test_groups_by_reason_market_carrier_and_team(history: Api) -> None:
    by_reason = {g["key"]: g for g in stats(history, group_by="reason")["groups"]}
    assert by_reason["wrong_size"] == {
        "key": "wrong_size", "cases": 1, "units": 2,
        "value": [{"amount": 4500, "currency": "USD"}], "refunded": [],
    }  # fmt: skip
    assert by_reason["defective"]["value"] == [{"amount": 9000, "currency": "USD"}]
    assert by_reason["changed_mind"]["value"] == [{"amount": 1000, "currency": "EUR"}]

    by_market = stats(history, group_by="market")["groups"]
    assert by_market == [
        {"key": "US", "cases": 2, "units": 3, "value": [{"amount": 13500, "currency": "USD"}],
         "refunded": [{"amount": 9000, "currency": "USD"}]},
        {"key": "DE", "cases": 1, "units": 1, "value": [{"amount": 1000, "currency": "EUR"}],
         "refunded": []},
    ]  # fmt: skip
    carriers = {g["key"]: g["cases"] for g in stats(history, group_by="carrier")["groups"]}
    assert carriers == {"UPS": 2, "DHL": 1}
    teams = {g["key"]: g["cases"] for g in stats(history, group_by="team")["groups"]}
    assert teams == {"Americas": 3}
    statuses = {g["key"]: g["cases"] for g in stats(history, group_by="status")["groups"]}
    assert statuses == {"requested": 2, "refunded": 1}


def test_return_rate_per_sku_is_units_returned_over_units_sold(history: Api) -> None:
    rates = stats(history)["return_rate_by_sku"]
    assert rates == [
        {"sku": "SHIRT-M", "returned": 2, "sold": 20, "rate": 0.1},
        {"sku": "LAMP-1", "returned": 1, "sold": 1, "rate": 1.0},
        {"sku": "MUG-1", "returned": 1, "sold": 4, "rate": 0.25},
    ]


def test_a_period_before_the_returns_has_none_of_them(history: Api, clock: Any) -> None:
    before = clock() - timedelta(days=90)
    body = stats(
        history, **{"from": before.isoformat(), "to": (before + timedelta(days=30)).isoformat()}
    )
    assert body["totals"]["cases"] == 0 and body["groups"] == []
    assert body["sla"]["attainment"] is None
    assert body["queue"]["by_team"] == {"Americas": 3}  # the queue is now, not the period


def test_csv_export_has_one_row_per_group_and_currency(history: Api) -> None:
    response = history.get(
        "supervisor", "/api/v1/stats/returns", params={"group_by": "market", "format": "csv"}
    )
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/csv")
    assert "attachment" in response.headers["content-disposition"]
    assert response.text.splitlines() == [
        "market,cases,units,currency,value_minor,refunded_minor",
        "US,2,3,USD,13500,9000",
        "DE,1,1,EUR,1000,0",
    ]


def test_bad_questions_get_problems_and_agents_do_not_see_the_figures(api: Api) -> None:
    path = "/api/v1/stats/returns"
    api.problem(api.get("supervisor", path, params={"group_by": "nope"}), 422, "invalid_group_by")
    backwards = {"from": "2026-03-01T00:00:00Z", "to": "2026-02-01T00:00:00Z"}
    api.problem(api.get("supervisor", path, params=backwards), 422, "invalid_period")
    naive = {"from": "2026-02-01T00:00:00", "to": "2026-03-01T00:00:00"}
    api.problem(api.get("supervisor", path, params=naive), 422, "invalid_period")
    api.problem(api.get("supervisor", path, params={"format": "xml"}), 422)
    api.problem(api.get("agent", path), 403, "forbidden")


def test_returns_per_day_are_counted_by_utc_day(history: Api, clock: Any) -> None:
    opened = (clock() - timedelta(hours=10, minutes=20)).astimezone(UTC).date().isoformat()
    days = stats(history, group_by="day")["groups"]
    assert [(g["key"], g["cases"]) for g in days] == [(opened, 3)]


def test_whole_past_days_come_from_the_rollups_and_follow_later_changes(
    history: Api, clock: Any
) -> None:
    """The same hand-computed figures for the UTC day the returns were opened, asked two days
    later once the day was recounted (so it is read from the per-day rollups), then a write on
    that day's case is in the very next answer (the day is counted afresh until recounted)."""
    day = (clock() - timedelta(hours=10, minutes=20)).astimezone(UTC).date()
    start = datetime.combine(day, time(), UTC)
    period = {"from": start.isoformat(), "to": (start + timedelta(days=1)).isoformat()}
    clock.advance(days=2)
    history.refresh_tokens()
    assert refresh_stats(history.container.uow) >= 1
    body = stats(history, group_by="status", **period)
    assert body["totals"]["cases"] == 3 and body["totals"]["units"] == 4
    assert body["totals"]["refunded"] == [{"amount": 9000, "currency": "USD"}]
    assert body["totals"]["median_hours_to_resolution"] == 10.33
    assert body["sla"] == {"cases": 3, "breached": 2, "attainment": 0.3333}
    assert {g["key"]: g["cases"] for g in body["groups"]} == {"requested": 2, "refunded": 1}

    listed = history.get("agent", "/api/v1/returns", params={"status": "requested"})
    assert listed.status_code == 200, listed.text
    mug = next(c for c in listed.json()["items"] if c["order_number"] == "DE-77")
    history.moved("agent", mug, "declined", note="changed mind after the window")
    body = stats(history, group_by="status", **period)
    assert {g["key"]: g["cases"] for g in body["groups"]} == {
        "requested": 1, "refunded": 1, "declined": 1,
    }  # fmt: skip
    assert body["queue"]["by_status"] == {"requested": 1, "refunded": 1, "declined": 1}
    assert refresh_stats(history.container.uow) == 1  # that one day
    assert stats(history, group_by="status", **period) == body
