"""A local stand-in for Shopify's Admin REST API that speaks its wire protocol for the calls
ReturnDesk makes, under `/admin/api/{version}/`:

- `GET orders/{id}.json`, `GET orders.json` (`status`, `limit`, `fields`), `POST orders.json`
- `GET orders/{id}/transactions.json`
- `GET orders/{id}/refunds.json`, `POST orders/{id}/refunds.json`

Every call needs the `X-Shopify-Access-Token` header (401 otherwise). Bodies are JSON under a
root key (`{"order": {...}}`, `{"refunds": [...]}`), ids are integers, money is decimal strings
written with at least two decimals as Shopify writes them ("12.34", "5000.00" for yen), orders
are named "#1001", "#1002"... Errors are shaped like Shopify's: `{"errors": "Not Found"}` (404),
`{"errors": {"base": ["Refund amount must be less than or equal to 10.00"]}}` (422). Like
Shopify, refunds and orders take no idempotency key.

The official client (`shopify`, on pyactiveresource) is pointed at it through the adapter's
`api_base`. Tests seed it with `paid_order(...)` (an order with one successful `sale`), may make
the next POST slow (`delay_next`: done at once, answered late, so a client times out) or make
the next call fail (`fail_next`: 429, 5xx, a redirect)."""

from __future__ import annotations

import itertools
import json
import re
import threading
import time
import urllib.parse
from dataclasses import dataclass, field
from datetime import UTC, datetime
from decimal import Decimal, InvalidOperation
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from types import TracebackType
from typing import Any

ACCESS_TOKEN = "shpat_returndesk_local_0123456789abcdef"
SHOP = "returndesk-test.myshopify.com"
API_VERSION = "2024-10"

# ISO 4217 exponents other than 2, for the currencies tests use.
_EXPONENTS = {"JPY": 0, "KRW": 0, "VND": 0, "CLP": 0, "ISK": 0, "BHD": 3, "KWD": 3, "JOD": 3}
_PREFIX = re.compile(r"^/admin/api/(?P<version>\d{4}-\d{2}|unstable)/(?P<rest>.+)$")
_ORDERS = re.compile(r"^orders\.json$")
_ORDER = re.compile(r"^orders/(?P<id>[0-9]+)\.json$")
_NESTED = re.compile(r"^orders/(?P<id>[0-9]+)/(?P<what>transactions|refunds)\.json$")
_PAID = ("sale", "capture")
_BAD_TOKEN = "[API] Invalid API key or access token (unrecognized login or wrong password)"
_FAILURES = {
    429: "Exceeded 2 calls per second for api client. Reduce request rates to resume "
    "uninterrupted service.",
    500: "Internal Server Error",
    502: "Bad Gateway",
    503: "Service Unavailable",
}


def _exponent(currency: str) -> int:
    return _EXPONENTS.get(currency, 2)


def money(amount: Decimal, currency: str) -> str:
    """Shopify's way of writing an amount: at least two decimals."""
    places = max(_exponent(currency), 2)
    return str(amount.quantize(Decimal(1).scaleb(-places)))


def _amount(value: object, currency: str) -> Decimal | None:
    """A positive decimal amount the currency can hold, else None."""
    try:
        amount = Decimal(str(value))
    except InvalidOperation:
        return None
    if not amount.is_finite() or amount <= 0:
        return None
    scaled = amount.scaleb(_exponent(currency))
    return amount if scaled == scaled.to_integral_value() else None


def _now() -> str:
    return datetime.now(UTC).replace(microsecond=0).isoformat()


class _Answer(Exception):
    """An HTTP answer decided while handling a request (status, body, extra headers)."""

    def __init__(
        self, status: int, body: dict[str, Any], headers: dict[str, str] | None = None
    ) -> None:
        super().__init__(status)
        self.status = status
        self.body = body
        self.headers = headers or {}


def _invalid(field_name: str, message: str) -> _Answer:
    return _Answer(422, {"errors": {field_name: [message]}})


@dataclass
class LocalShopify:
    access_token: str = ACCESS_TOKEN
    orders: dict[int, dict[str, Any]] = field(default_factory=dict)
    transactions: dict[int, list[dict[str, Any]]] = field(default_factory=dict)
    refunds: dict[int, list[dict[str, Any]]] = field(default_factory=dict)
    customers: dict[int, dict[str, Any]] = field(default_factory=dict)
    # every call: method, path (no query), query, headers (lower-case names), body (JSON)
    requests: list[dict[str, Any]] = field(default_factory=list)
    refund_status: str = "success"  # what refund transactions come back as ("pending": async)
    _delay_next: float = 0.0
    _fail_next: tuple[int, dict[str, str]] | None = None

    # --- what tests use -----------------------------------------------------------------

    def paid_order(
        self,
        amount_minor: int,
        currency: str,
        *,
        email: str = "buyer@example.com",
        shipping_address: dict[str, Any] | None = None,
        gateway: str = "shopify_payments",
    ) -> str:
        """An order paid in full by one successful `sale` transaction; its id."""
        total = Decimal(amount_minor).scaleb(-_exponent(currency))
        with self._lock:
            customer = {
                "id": next(self._ids),
                "email": email,
                "first_name": "Kim",
                "last_name": "Buyer",
            }
            self.customers[customer["id"]] = customer
            order = self._new_order(
                {
                    "email": email,
                    "currency": currency,
                    "financial_status": "paid",
                    "line_items": [
                        {"title": "Linen shirt", "sku": "SHIRT-L", "quantity": 1, "price": total}
                    ],
                    "shipping_address": shipping_address,
                },
                customer,
            )
            self.transactions[order["id"]] = [
                self._transaction(order, "sale", total, gateway=gateway, status="success")
            ]
            self.refunds[order["id"]] = []
        return str(order["id"])

    def delay_next(self, seconds: float) -> None:
        """The next POST is done at once but answered after `seconds` (a client timeout)."""
        self._delay_next = seconds

    def fail_next(self, status: int, headers: dict[str, str] | None = None) -> None:
        """The next call, whatever it is, is answered with `status` (429, 5xx, 301) only."""
        self._fail_next = (status, headers or {})

    def refunds_made(self, order_id: str | None = None) -> list[dict[str, Any]]:
        return [
            refund
            for oid, refunds in self.refunds.items()
            if order_id is None or oid == int(order_id)
            for refund in refunds
        ]

    def calls(self, method: str, suffix: str) -> list[dict[str, Any]]:
        """The logged calls of one kind, e.g. calls("POST", "/refunds.json")."""
        return [r for r in self.requests if r["method"] == method and r["path"].endswith(suffix)]

    # --- the server ---------------------------------------------------------------------

    def __post_init__(self) -> None:
        shop = self
        self._lock = threading.Lock()
        self._ids = itertools.count(5_450_789_469)  # Shopify's ids are large integers
        self._numbers = itertools.count(1001)

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"
            disable_nagle_algorithm = True  # headers and body leave at once (no 40 ms stall)

            def _send(
                self,
                status: int,
                body: dict[str, Any],
                headers: dict[str, str] | None = None,
                version: str = API_VERSION,
            ) -> None:
                data = json.dumps(body).encode()
                self.send_response(status)
                self.send_header("content-type", "application/json; charset=utf-8")
                self.send_header("content-length", str(len(data)))
                self.send_header("x-shopify-api-version", version)
                self.send_header("x-shopify-shop-api-call-limit", "1/40")
                for name, value in (headers or {}).items():
                    self.send_header(name, value)
                self.end_headers()
                try:
                    self.wfile.write(data)
                except (BrokenPipeError, ConnectionResetError):
                    return  # the client stopped waiting (a timeout test)

            def _handle(self, method: str) -> None:
                url = urllib.parse.urlsplit(self.path)
                raw = self.rfile.read(int(self.headers.get("content-length", "0") or 0))
                try:
                    body = json.loads(raw) if raw else None
                except ValueError:
                    body = None
                entry = {
                    "method": method,
                    "path": url.path,
                    "query": dict(urllib.parse.parse_qsl(url.query, keep_blank_values=True)),
                    "headers": {k.lower(): v for k, v in self.headers.items()},
                    "body": body,
                }
                with shop._lock:
                    shop.requests.append(entry)
                    failure, shop._fail_next = shop._fail_next, None
                if failure is not None:
                    status, headers = failure
                    if status == 429:
                        headers = {"retry-after": "2.0", **headers}
                    self._send(status, {"errors": _FAILURES.get(status, "Error")}, headers)
                    return
                if self.headers.get("x-shopify-access-token", "") != shop.access_token:
                    self._send(401, {"errors": _BAD_TOKEN})
                    return
                matched = _PREFIX.match(url.path)
                if matched is None:
                    self._send(404, {"errors": "Not Found"})
                    return
                version = matched["version"]
                delay = 0.0
                try:
                    with shop._lock:
                        status, answer, headers = shop._route(
                            method, matched["rest"], entry["query"], body, self._base(version)
                        )
                        if method == "POST":
                            delay, shop._delay_next = shop._delay_next, 0.0
                except _Answer as done:
                    status, answer, headers = done.status, done.body, done.headers
                if delay:
                    time.sleep(delay)
                self._send(status, answer, headers, version)

            def _base(self, version: str) -> str:
                host = self.headers.get("host", "127.0.0.1")
                return f"http://{host}/admin/api/{version}"

            def do_GET(self) -> None:
                self._handle("GET")

            def do_POST(self) -> None:
                self._handle("POST")

            def log_message(self, *args: object) -> None:
                return

        self._server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self._server.daemon_threads = True
        self.base_url = f"http://127.0.0.1:{self._server.server_address[1]}"
        self._thread = threading.Thread(
            target=self._server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True
        )

    # --- Shopify's behaviour (called under the lock) --------------------------------------

    def _route(
        self, method: str, rest: str, query: dict[str, str], body: Any, base: str
    ) -> tuple[int, dict[str, Any], dict[str, str]]:
        if _ORDERS.match(rest) and method == "GET":
            return 200, {"orders": self._list_orders(query)}, {}
        if _ORDERS.match(rest) and method == "POST":
            order = self._create_order(body)
            return 201, {"order": order}, {"location": f"{base}/orders/{order['id']}.json"}
        if (found := _ORDER.match(rest)) and method == "GET":
            order = self._order(found["id"])
            return 200, {"order": _only(order, query.get("fields", ""))}, {}
        if found := _NESTED.match(rest):
            order = self._order(found["id"])
            if found["what"] == "transactions" and method == "GET":
                return 200, {"transactions": self.transactions.get(order["id"], [])}, {}
            if found["what"] == "refunds" and method == "GET":
                return 200, {"refunds": self.refunds.get(order["id"], [])}, {}
            if found["what"] == "refunds" and method == "POST":
                return 201, {"refund": self._create_refund(order, body)}, {}
        raise _Answer(404, {"errors": "Not Found"})

    def _order(self, order_id: str) -> dict[str, Any]:
        order = self.orders.get(int(order_id))
        if order is None:
            raise _Answer(404, {"errors": "Not Found"})
        return order

    def _list_orders(self, query: dict[str, str]) -> list[dict[str, Any]]:
        status = query.get("status", "open")
        if status not in ("open", "closed", "cancelled", "any"):
            raise _Answer(400, {"errors": {"status": "is not included in the list"}})
        try:
            limit = int(query.get("limit", "50"))
        except ValueError:
            limit = 0
        if not 1 <= limit <= 250:
            raise _Answer(400, {"errors": {"limit": "must be between 1 and 250"}})
        chosen = [
            order
            for order in sorted(self.orders.values(), key=lambda o: o["id"], reverse=True)
            if status == "any"
            or (status == "open" and not order["closed_at"] and not order["cancelled_at"])
            or (status == "closed" and order["closed_at"])
            or (status == "cancelled" and order["cancelled_at"])
        ]
        return [_only(order, query.get("fields", "")) for order in chosen[:limit]]

    def _create_order(self, body: Any) -> dict[str, Any]:
        data = body.get("order") if isinstance(body, dict) else None
        if not isinstance(data, dict):
            raise _Answer(400, {"errors": {"order": "Required parameter missing or invalid"}})
        currency = str(data.get("currency") or "USD")
        items = data.get("line_items")
        if not isinstance(items, list) or not items:
            raise _invalid("line_items", "must have at least one line item")
        for item in items:
            if not isinstance(item, dict) or not item.get("title"):
                raise _invalid("line_items", "title can't be blank")
            quantity = item.get("quantity", 1)
            if isinstance(quantity, bool) or not isinstance(quantity, int) or quantity < 1:
                raise _invalid("line_items", "quantity must be greater than or equal to 1")
            try:
                price = Decimal(str(item.get("price", "0")))
            except InvalidOperation:
                raise _invalid("line_items", "price is invalid") from None
            if not price.is_finite() or price < 0:
                raise _invalid("line_items", "price is invalid")
            item["price"] = price
        customer = None
        wanted = data.get("customer")
        if isinstance(wanted, dict) and "id" in wanted:
            customer = self.customers.get(wanted["id"]) if isinstance(wanted["id"], int) else None
            if customer is None:
                raise _invalid("customer", "does not exist")
        return self._new_order({**data, "currency": currency}, customer)

    def _new_order(self, data: dict[str, Any], customer: dict[str, Any] | None) -> dict[str, Any]:
        currency = data["currency"]
        order_id, number, now = next(self._ids), next(self._numbers), _now()
        lines = [
            {
                "id": next(self._ids),
                "title": item["title"],
                "sku": item.get("sku"),
                "quantity": item.get("quantity", 1),
                "fulfillable_quantity": item.get("quantity", 1),
                "price": money(item["price"], currency),
                "requires_shipping": True,
                "variant_id": item.get("variant_id"),
            }
            for item in data["line_items"]
        ]
        total = sum((Decimal(line["price"]) * line["quantity"] for line in lines), Decimal(0))
        order = {
            "id": order_id,
            "admin_graphql_api_id": f"gid://shopify/Order/{order_id}",
            "name": f"#{number}",
            "order_number": number,
            "email": data.get("email") or "",
            "created_at": now,
            "updated_at": now,
            "closed_at": None,
            "cancelled_at": None,
            "currency": currency,
            "presentment_currency": currency,
            "financial_status": data.get("financial_status") or "pending",
            "fulfillment_status": None,
            "subtotal_price": money(total, currency),
            "total_price": money(total, currency),
            "tags": data.get("tags") or "",
            "note": data.get("note"),
            "note_attributes": list(data.get("note_attributes") or []),
            "line_items": lines,
            "shipping_address": data.get("shipping_address"),
            "customer": customer,
            "test": False,
        }
        self.orders[order_id] = order
        self.transactions.setdefault(order_id, [])
        self.refunds.setdefault(order_id, [])
        return order

    def _transaction(
        self,
        order: dict[str, Any],
        kind: str,
        amount: Decimal,
        *,
        gateway: str,
        status: str,
        parent_id: int | None = None,
    ) -> dict[str, Any]:
        now = _now()
        return {
            "id": next(self._ids),
            "order_id": order["id"],
            "kind": kind,
            "gateway": gateway,
            "status": status,
            "message": {"success": "Transaction approved", "pending": "Pending"}.get(status),
            "created_at": now,
            "processed_at": now,
            "test": False,
            "authorization": f"auth-{order['id']}",
            "parent_id": parent_id,
            "amount": money(amount, order["currency"]),
            "currency": order["currency"],
            "source_name": "web",
            "error_code": None,
            "receipt": {},
        }

    def _create_refund(self, order: dict[str, Any], body: Any) -> dict[str, Any]:
        data = body.get("refund") if isinstance(body, dict) else None
        if not isinstance(data, dict):
            raise _Answer(400, {"errors": {"refund": "Required parameter missing or invalid"}})
        currency = order["currency"]
        if data.get("currency") not in (None, currency):
            raise _invalid("currency", f"must be the order's currency ({currency})")
        history = self.transactions[order["id"]]
        paid = {t["id"]: t for t in history if t["kind"] in _PAID and t["status"] == "success"}
        asked = data.get("transactions")
        if not isinstance(asked, list) or not asked:
            raise _invalid("transactions", "can't be blank")
        moves: list[tuple[dict[str, Any], Decimal, str]] = []
        for item in asked:
            parent = paid.get(item.get("parent_id")) if isinstance(item, dict) else None
            if parent is None:
                raise _invalid("parent_id", "must be a successful sale or capture of the order")
            if item.get("kind") != "refund":
                raise _invalid("kind", "must be refund")
            if item.get("gateway") != parent["gateway"]:
                raise _invalid("gateway", "must match the parent transaction's gateway")
            amount = _amount(item.get("amount"), currency)
            if amount is None:
                raise _invalid("amount", "is invalid")
            moves.append((parent, amount, parent["gateway"]))
        refunded = sum(
            (
                Decimal(t["amount"])
                for t in history
                if t["kind"] == "refund" and t["status"] in ("success", "pending")
            ),
            Decimal(0),
        )
        refundable = sum((Decimal(t["amount"]) for t in paid.values()), Decimal(0)) - refunded
        asked_total = sum((amount for _, amount, _ in moves), Decimal(0))
        if asked_total > refundable:
            raise _Answer(
                422,
                {
                    "errors": {
                        "base": [
                            "Refund amount must be less than or equal to "
                            f"{money(refundable, currency)}"
                        ]
                    }
                },
            )
        made = [
            self._transaction(
                order,
                "refund",
                amount,
                gateway=gateway,
                status=self.refund_status,
                parent_id=parent["id"],
            )
            for parent, amount, gateway in moves
        ]
        history.extend(made)
        refund_id, now = next(self._ids), _now()
        refund = {
            "id": refund_id,
            "admin_graphql_api_id": f"gid://shopify/Refund/{refund_id}",
            "order_id": order["id"],
            "created_at": now,
            "processed_at": now,
            "note": data.get("note"),
            "user_id": None,
            "restock": False,
            "refund_line_items": [],
            "order_adjustments": [],
            "transactions": made,
        }
        self.refunds[order["id"]].append(refund)
        order["financial_status"] = (
            "refunded" if asked_total == refundable else "partially_refunded"
        )
        order["updated_at"] = now
        return refund

    def __enter__(self) -> LocalShopify:
        self._thread.start()
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self._server.shutdown()
        self._server.server_close()
        self._thread.join(timeout=5)


def _only(order: dict[str, Any], fields: str) -> dict[str, Any]:
    """The `fields` parameter: only the named top-level fields (all when empty)."""
    names = [name.strip() for name in fields.split(",") if name.strip()]
    return {k: v for k, v in order.items() if k in names} if names else order
