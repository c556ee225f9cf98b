"""The Shopify adapter through Shopify's official client (`shopify`, on pyactiveresource)
against a local server that speaks the Admin REST wire protocol (tests/servers/shopify.py):
refunds against an order's sale, a refund whose answer came too late made once when retried,
Shopify's refusals and outages as PaymentFailed, and replacement orders made once per key."""

from __future__ import annotations

import socket
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from decimal import Decimal

import pytest
import shopify

from returndesk.adapters.shopify import ShopifyOrders, ShopifyRefunds
from returndesk.services.ports import (
    PaymentFailed,
    PaymentRefund,
    ReplacementLine,
    ReplacementRequest,
    StoreFailed,
)
from servers.shopify import ACCESS_TOKEN, API_VERSION, SHOP, LocalShopify

ADDRESS = {
    "first_name": "Kim",
    "last_name": "Buyer",
    "address1": "1-2-3 Jingumae",
    "address2": "Apt 4",
    "city": "Shibuya",
    "province": "Tokyo",
    "zip": "150-0001",
    "country": "Japan",
    "country_code": "JP",
    "phone": "+81 3 1234 5678",
}


@pytest.fixture
def server() -> Iterator[LocalShopify]:
    with LocalShopify() as local:
        yield local


def refunds_at(base: str, token: str = ACCESS_TOKEN, timeout: float = 5.0) -> ShopifyRefunds:
    return ShopifyRefunds(SHOP, token, API_VERSION, timeout, api_base=base)


def orders_at(base: str, timeout: float = 5.0) -> ShopifyOrders:
    return ShopifyOrders(SHOP, ACCESS_TOKEN, API_VERSION, timeout, api_base=base)


def ask(order_id: str, amount: int, currency: str, key: str = "refund-1") -> PaymentRefund:
    return PaymentRefund(
        payment_reference=order_id,
        amount=amount,
        currency=currency,
        idempotency_key=f"returndesk-refund-{key}",
        metadata={"rma": "RMA-1"},
    )


def replacement(order_reference: str, key: str = "exchange-1") -> ReplacementRequest:
    return ReplacementRequest(
        idempotency_key=f"returndesk-exchange-{key}",
        rma="RMA-7",
        order_number="#1001",
        order_reference=order_reference,
        email="buyer@example.com",
        buyer_name="Kim Buyer",
        market="JP",
        currency="JPY",
        lines=(ReplacementLine(sku="SHIRT-M", title="Linen shirt (M)", quantity=2),),
    )


def closed_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def failure(call: pytest.ExceptionInfo[PaymentFailed]) -> tuple[str, bool]:
    return call.value.code, call.value.retryable


@pytest.mark.parametrize(
    ("paid", "amount", "currency", "sent"),
    [(8000, 5000, "JPY", "5000"), (4500, 1234, "USD", "12.34"), (4500, 1230, "USD", "12.30")],
)
def test_a_refund_goes_to_the_orders_sale(
    server: LocalShopify, paid: int, amount: int, currency: str, sent: str
) -> None:
    order_id = server.paid_order(paid, currency)
    sale = server.transactions[int(order_id)][0]

    done = refunds_at(server.base_url).refund(ask(order_id, amount, currency))

    [made] = server.refunds_made(order_id)
    assert (done.reference, done.status) == (str(made["id"]), "succeeded")
    prefix = f"/admin/api/{API_VERSION}/orders/{order_id}"
    assert [(r["method"], r["path"]) for r in server.requests] == [
        ("GET", f"{prefix}/refunds.json"),  # a refund made with this key already? no
        ("GET", f"{prefix}/transactions.json"),
        ("POST", f"{prefix}/refunds.json"),
    ]
    post = server.requests[-1]
    assert post["headers"]["x-shopify-access-token"] == ACCESS_TOKEN
    assert post["headers"]["user-agent"].startswith("ShopifyPythonAPI/12.7.0 Python/")
    assert post["headers"]["content-type"] == "application/json"
    assert post["body"] == {
        "refund": {
            "currency": currency,
            "note": "returndesk-refund-refund-1",
            "notify": False,
            "transactions": [
                {
                    "parent_id": sale["id"],
                    "amount": sent,
                    "kind": "refund",
                    "gateway": "shopify_payments",
                }
            ],
        }
    }
    [move] = made["transactions"]
    assert (move["kind"], move["parent_id"], move["currency"]) == ("refund", sale["id"], currency)
    assert Decimal(move["amount"]) == Decimal(sent)
    # The client's session is cleared after the call: no shop or token is left behind.
    assert shopify.ShopifyResource.site is None
    assert "X-Shopify-Access-Token" not in shopify.ShopifyResource.headers


def test_a_refund_answered_too_late_is_made_once_when_retried(server: LocalShopify) -> None:
    order_id = server.paid_order(4500, "USD")
    adapter = refunds_at(server.base_url, timeout=0.5)
    server.delay_next(1.5)  # Shopify refunds at once; the answer comes after the timeout

    with pytest.raises(PaymentFailed) as late:
        adapter.refund(ask(order_id, 2000, "USD"))
    assert failure(late) == ("provider_unreachable", True)
    [made] = server.refunds_made(order_id)  # the money did move

    again = adapter.refund(ask(order_id, 2000, "USD"))

    assert (again.reference, again.status) == (str(made["id"]), "succeeded")
    assert server.refunds_made(order_id) == [made]
    assert len(server.calls("POST", "/refunds.json")) == 1  # the retry found it by its note
    # Another key is another refund.
    other = adapter.refund(ask(order_id, 500, "USD", key="refund-2"))
    assert other.reference != again.reference
    assert len(server.refunds_made(order_id)) == 2


def test_a_refund_larger_than_what_is_left_is_refused_with_shopifys_words(
    server: LocalShopify,
) -> None:
    order_id = server.paid_order(1000, "USD")

    with pytest.raises(PaymentFailed) as refused:
        refunds_at(server.base_url).refund(ask(order_id, 1500, "USD"))

    assert failure(refused) == ("invalid_request", False)
    assert "Refund amount must be less than or equal to 10.00" in refused.value.message
    assert server.refunds_made() == []


def test_a_pending_refund_is_pending(server: LocalShopify) -> None:
    order_id = server.paid_order(4500, "USD")
    server.refund_status = "pending"  # a gateway that finishes refunds later

    done = refunds_at(server.base_url).refund(ask(order_id, 4500, "USD"))

    assert done.status == "pending"
    assert done.reference == str(server.refunds_made(order_id)[0]["id"])


def test_a_wrong_token_is_a_credentials_failure(server: LocalShopify) -> None:
    order_id = server.paid_order(4500, "USD")

    with pytest.raises(PaymentFailed) as refused:
        refunds_at(server.base_url, token="shpat_wrong").refund(ask(order_id, 100, "USD"))

    assert failure(refused) == ("provider_credentials", False)
    assert "Invalid API key or access token" in refused.value.message
    assert server.refunds_made() == []


def test_an_unknown_order_is_not_found(server: LocalShopify) -> None:
    adapter = refunds_at(server.base_url)
    with pytest.raises(PaymentFailed) as missing:
        adapter.refund(ask("4242424242", 100, "USD"))
    assert failure(missing) == ("order_not_found", False)

    calls = len(server.requests)
    with pytest.raises(PaymentFailed) as bad:
        adapter.refund(ask("../../shop", 100, "USD"))  # never put into a path
    assert failure(bad) == ("order_not_found", False)
    assert len(server.requests) == calls


def test_an_order_without_a_successful_sale_has_nothing_to_refund(server: LocalShopify) -> None:
    order_id = server.paid_order(4500, "USD")
    server.transactions[int(order_id)][0]["status"] = "failure"

    with pytest.raises(PaymentFailed) as nothing:
        refunds_at(server.base_url).refund(ask(order_id, 100, "USD"))

    assert failure(nothing) == ("nothing_to_refund", False)
    assert server.calls("POST", "/refunds.json") == []


def test_shopify_down_is_retryable() -> None:
    adapter = refunds_at(f"http://127.0.0.1:{closed_port()}", timeout=1.0)

    with pytest.raises(PaymentFailed) as down:
        adapter.refund(ask("5450789469", 100, "USD"))

    assert failure(down) == ("provider_unreachable", True)


@pytest.mark.parametrize("status", [429, 500, 503])
def test_rate_limits_and_shopify_errors_are_retryable(server: LocalShopify, status: int) -> None:
    order_id = server.paid_order(4500, "USD")
    server.fail_next(status)

    with pytest.raises(PaymentFailed) as busy:
        refunds_at(server.base_url).refund(ask(order_id, 100, "USD"))

    assert failure(busy) == ("provider_error", True)
    assert server.refunds_made() == []


def test_a_redirect_is_not_followed(server: LocalShopify) -> None:
    with LocalShopify() as elsewhere:
        order_id = server.paid_order(4500, "USD")
        away = f"{elsewhere.base_url}/admin/api/{API_VERSION}/orders/{order_id}/refunds.json"
        server.fail_next(301, {"location": away})

        with pytest.raises(PaymentFailed) as moved:
            refunds_at(server.base_url).refund(ask(order_id, 100, "USD"))

        assert failure(moved) == ("provider_redirected", False)
        assert elsewhere.requests == []  # the token went nowhere else


def test_proxy_variables_do_not_divert_the_client(
    server: LocalShopify, monkeypatch: pytest.MonkeyPatch
) -> None:
    dead = f"http://127.0.0.1:{closed_port()}"
    for name in ("http_proxy", "HTTP_PROXY", "https_proxy", "HTTPS_PROXY"):
        monkeypatch.setenv(name, dead)
    for name in ("no_proxy", "NO_PROXY"):
        monkeypatch.delenv(name, raising=False)
    order_id = server.paid_order(4500, "USD")

    done = refunds_at(server.base_url).refund(ask(order_id, 100, "USD"))

    assert done.status == "succeeded"


def test_two_shops_at_once_each_get_their_own_token() -> None:
    with LocalShopify() as first, LocalShopify(access_token="shpat_second_shop") as second:
        shops = [(first, ACCESS_TOKEN), (second, "shpat_second_shop")]
        orders = [(shop, token, shop.paid_order(10000, "USD")) for shop, token in shops]

        def one(n: int) -> str:
            shop, token, order_id = orders[n % 2]
            return (
                refunds_at(shop.base_url, token=token)
                .refund(ask(order_id, 100, "USD", key=f"r{n}"))
                .status
            )

        with ThreadPoolExecutor(max_workers=8) as pool:
            statuses = list(pool.map(one, range(16)))

        assert statuses == ["succeeded"] * 16
        for shop, token in shops:
            assert len(shop.refunds_made()) == 8
            assert {r["headers"]["x-shopify-access-token"] for r in shop.requests} == {token}


def test_a_replacement_ships_free_to_the_original_address_once(server: LocalShopify) -> None:
    original = server.paid_order(9000, "JPY", shipping_address=ADDRESS)
    customer_id = server.orders[int(original)]["customer"]["id"]
    adapter = orders_at(server.base_url)

    made = adapter.create_replacement(replacement(original))
    again = adapter.create_replacement(replacement(original))

    assert again == made
    assert made.name == "#1002"
    assert len(server.orders) == 2  # the original and one replacement
    assert len(server.calls("POST", "/orders.json")) == 1
    order = server.orders[int(made.reference)]
    assert order["shipping_address"] == ADDRESS
    assert order["customer"]["id"] == customer_id
    assert [
        (li["sku"], li["title"], li["quantity"], li["price"]) for li in order["line_items"]
    ] == [("SHIRT-M", "Linen shirt (M)", 2, "0.00")]
    assert (order["financial_status"], order["currency"], order["total_price"]) == (
        "paid",
        "JPY",
        "0.00",
    )
    assert order["tags"] == "returndesk, exchange"
    assert order["note"] == "Exchange for #1001 (return RMA-7)"
    assert order["note_attributes"] == [
        {"name": "returndesk_key", "value": "returndesk-exchange-exchange-1"}
    ]
    sent = server.calls("POST", "/orders.json")[0]["body"]["order"]
    assert (sent["send_receipt"], sent["send_fulfillment_receipt"]) == (False, True)
    looked = server.calls("GET", "/orders.json")
    assert len(looked) == 2  # each call looked for its key first
    assert looked[0]["query"] == {
        "status": "any",
        "limit": "250",
        "fields": "id,name,note_attributes",
    }
    # Another exchange is another order.
    other = adapter.create_replacement(replacement(original, key="exchange-2"))
    assert other.reference != made.reference and len(server.orders) == 3


def test_a_replacement_answered_too_late_is_made_once_when_retried(server: LocalShopify) -> None:
    original = server.paid_order(9000, "JPY", shipping_address=ADDRESS)
    adapter = orders_at(server.base_url, timeout=0.5)
    server.delay_next(1.5)

    with pytest.raises(StoreFailed) as late:
        adapter.create_replacement(replacement(original))
    assert (late.value.code, late.value.retryable) == ("provider_unreachable", True)
    assert len(server.orders) == 2  # Shopify made it

    made = adapter.create_replacement(replacement(original))

    assert len(server.orders) == 2
    assert made.reference in {
        str(order_id) for order_id in server.orders if str(order_id) != original
    }


def test_a_replacement_without_the_original_has_no_address(server: LocalShopify) -> None:
    made = orders_at(server.base_url).create_replacement(replacement(""))

    order = server.orders[int(made.reference)]
    assert (order["shipping_address"], order["customer"]) == (None, None)
    assert not [r for r in server.requests if r["path"].endswith(f"/{made.reference}.json")]


def test_a_replacement_of_an_unknown_order_or_with_a_bad_token_fails(
    server: LocalShopify,
) -> None:
    with pytest.raises(StoreFailed) as missing:
        orders_at(server.base_url).create_replacement(replacement("4242424242"))
    assert (missing.value.code, missing.value.retryable) == ("order_not_found", False)

    refused = ShopifyOrders(SHOP, "shpat_wrong", API_VERSION, 5.0, api_base=server.base_url)
    with pytest.raises(StoreFailed) as denied:
        refused.create_replacement(replacement(""))
    assert (denied.value.code, denied.value.retryable) == ("provider_credentials", False)
    assert server.orders == {}


def test_settings_are_checked_when_made() -> None:
    with pytest.raises(ValueError, match=r"myshopify\.com"):
        ShopifyRefunds("shop.example.com", ACCESS_TOKEN, API_VERSION, 5.0)
    with pytest.raises(ValueError, match="API version"):
        ShopifyOrders(SHOP, ACCESS_TOKEN, "v2", 5.0)
    with pytest.raises(ValueError, match="timeout"):
        ShopifyOrders(SHOP, ACCESS_TOKEN, API_VERSION, 0)
