"""A Shopify store over the API, on SQLite and PostgreSQL: refunds of orders paid through
Shopify and the replacement orders of exchanges go through the official `ShopifyAPI` client to
a local server that speaks the Admin REST API (tests/servers/shopify.py)."""

from __future__ import annotations

from collections.abc import Iterator
from decimal import Decimal
from typing import TYPE_CHECKING, Any

import pytest
from test_logistics import POLICY

from servers.shopify import ACCESS_TOKEN, API_VERSION, SHOP, LocalShopify

if TYPE_CHECKING:
    from conftest import Api

PAID = 2 * 2250  # two shirts of the shared order
ADDRESS = {"name": "Kim Buyer", "address1": "12 Main St", "city": "Reno", "country_code": "US"}


@pytest.fixture
def local_shopify() -> Iterator[LocalShopify]:
    with LocalShopify() as server:
        yield server


@pytest.fixture
def settings_overrides(local_shopify: LocalShopify) -> dict[str, object]:
    return {
        "shopify_shop": SHOP,
        "shopify_access_token": ACCESS_TOKEN,
        "shopify_api_version": API_VERSION,
        "shopify_api_base": local_shopify.base_url,
        "payment_timeout_seconds": 1.0,
    }


def inspected(api: Api, local_shopify: LocalShopify, resolution: str) -> dict[str, Any]:
    """The shared order, paid through Shopify; two shirts returned, received and graded."""
    assert api.put("admin", "/api/v1/policy", json={"document": POLICY}).status_code == 200
    order_id = local_shopify.paid_order(54000, "USD", shipping_address=ADDRESS)
    order = api.order_payload(
        api.container.clock(), payment={"provider": "shopify", "reference": order_id}
    )
    assert api.put_order(order).status_code in (200, 201)
    case = api.open_return("buyer", api.return_payload(quantity=2, resolution=resolution))
    done = api.post("warehouse", "/api/v1/warehouse/receipts", json={"code": case["rma"]})
    assert done.json()["case"]["status"] == "inspected", done.text
    return {**done.json()["case"], "shopify_order": order_id}


def test_a_refund_goes_through_shopify_once(api: Api, local_shopify: LocalShopify) -> None:
    case = inspected(api, local_shopify, "refund")
    local_shopify.delay_next(2.5)  # Shopify refunds at once; the answer comes too late
    body = {"mode": "shopify"}
    first = api.post(
        "agent", f"/api/v1/returns/{case['id']}/refunds", json=body,
        headers={"Idempotency-Key": "shop-1"},
    )  # fmt: skip
    failed = api.problem(first, 502, "refund_failed")
    assert failed["retryable"] is True
    retried = api.post("agent", f"/api/v1/returns/{case['id']}/refunds/{failed['refund_id']}/retry")
    assert retried.status_code == 200, retried.text
    made = local_shopify.refunds_made(case["shopify_order"])
    assert len(made) == 1  # the retry found the first refund by its note
    assert made[0]["note"] == f"returndesk-refund-{failed['refund_id']}"
    assert retried.json()["reference"] == str(made[0]["id"])
    [transaction] = made[0]["transactions"]
    assert (transaction["kind"], transaction["amount"]) == ("refund", "45.00")
    sent = local_shopify.calls("POST", "/refunds.json")[0]
    assert sent["headers"]["x-shopify-access-token"] == ACCESS_TOKEN
    after = api.get("buyer", f"/api/v1/returns/{case['id']}").json()
    assert (after["status"], after["refunded_amount"]["amount"]) == ("refunded", PAID)


def test_an_exchange_makes_its_replacement_order_in_shopify(
    api: Api, local_shopify: LocalShopify
) -> None:
    case = inspected(api, local_shopify, "exchange")
    body = {"lines": [{"sku": "SHIRT-M", "quantity": 2, "replacement_sku": "SHIRT-L"}]}
    made = api.post("agent", f"/api/v1/returns/{case['id']}/exchange", json=body)
    assert made.status_code == 201, made.text
    exchange = made.json()
    assert (exchange["status"], exchange["channel"], exchange["hold"]) == (
        "ordered",
        "shopify",
        None,
    )
    created = local_shopify.calls("POST", "/orders.json")
    assert len(created) == 1
    order = created[0]["body"]["order"]
    assert order["shipping_address"]["address1"] == "12 Main St"
    assert order["inventory_behaviour"] == "decrement_obeying_policy"  # counted off the shelf
    assert [(i["sku"], i["quantity"], Decimal(str(i["price"]))) for i in order["line_items"]] == [
        ("SHIRT-L", 2, Decimal(0))
    ]
    assert order["line_items"][0]["title"].endswith("→ SHIRT-L")  # the unit to pick
    assert {"name": "returndesk_key", "value": f"returndesk-exchange-{exchange['id']}"} in order[
        "note_attributes"
    ]
    assert exchange["order"].startswith("#") and exchange["order_reference"].isdigit()
    after = api.get("buyer", f"/api/v1/returns/{case['id']}").json()
    assert after["status"] == "exchange_shipped"
    assert after["exchange"]["order"] == exchange["order"]
    # Asked again: the same exchange; Shopify is not asked for another order.
    again = api.post("agent", f"/api/v1/returns/{case['id']}/exchange", json=body)
    assert (again.status_code, again.json()["id"]) == (200, exchange["id"])
    assert len(local_shopify.calls("POST", "/orders.json")) == 1
