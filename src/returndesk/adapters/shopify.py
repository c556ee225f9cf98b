"""Shopify's Admin REST API through its official client (`ShopifyAPI`, built on
`pyactiveresource`): refunds of orders paid through Shopify, and the replacement orders of
exchanges.

Why it is built the way it is:

- Idempotency. Shopify's REST refunds and orders take no idempotency key, so the key travels
  inside what is created (a refund's `note`, an order's `note_attributes`) and every call first
  looks for it: a retry after a timeout, when Shopify did the work but the answer never came,
  finds the first refund or order and returns it instead of refunding or shipping twice.
- The client's state. `shopify.ShopifyResource` keeps the site, version, timeout and token
  header in thread-locals, and its setters also write site, version and timeout into
  class-level globals that any thread without settings of its own falls back to. So every call
  sets all of it, under a module-level lock, and clears the session afterwards: one shop's
  session is active in the process at a time, a thread never runs on another call's leftovers,
  and nothing of a shop is left behind for other code using the client. The price: Shopify
  calls are made one at a time per process, each request bounded by the timeout; refunds and
  exchanges are rare enough for that.
- The network. The client opens URLs with urllib's default opener, which follows redirects to
  any host and honours proxy variables from the environment. Each call gets a connection whose
  opener does neither (a redirect is an error), so the token goes nowhere but the configured
  shop (or `api_base`).
- Money. Shopify writes amounts as decimal strings ("12.34"); they are converted to and from
  integer minor units with Decimal, exactly, using the currency's exponent (JPY 0, USD 2).
"""

from __future__ import annotations

import http.client
import io
import json
import re
import threading
import urllib.error
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
from decimal import Decimal, InvalidOperation
from typing import Any

import pyactiveresource.connection as arc
import pyactiveresource.formats
import shopify
import shopify.base

from returndesk.domain.errors import ValidationFailed
from returndesk.domain.money import minor_unit_exponent
from returndesk.services.ports import (
    PaymentFailed,
    PaymentRefund,
    ProviderRefund,
    ReplacementOrder,
    ReplacementRequest,
    StoreFailed,
)

KEY_ATTRIBUTE = "returndesk_key"  # the note attribute that carries a replacement's key
RECENT_ORDERS = 250  # how far back a replacement's key is looked for (Shopify's page maximum)

_LOCK = threading.Lock()  # the client's session is process-wide state: one call at a time
_SHOP = re.compile(r"^[a-z0-9][a-z0-9-]*\.myshopify\.com$")
_ID = re.compile(r"^[0-9]{1,20}$")
_PAID_KINDS = ("sale", "capture")
# What a new order may take from the original's shipping address (the rest Shopify computes).
_ADDRESS_FIELDS = (
    "first_name",
    "last_name",
    "company",
    "address1",
    "address2",
    "city",
    "province",
    "province_code",
    "zip",
    "country",
    "country_code",
    "phone",
)


class _Failure(Exception):
    """A failed call, classified; each adapter raises it as its own port's exception."""

    def __init__(self, code: str, message: str, *, retryable: bool) -> None:
        super().__init__(message)
        self.code = code
        self.message = message[:500]
        self.retryable = retryable


class _NoRedirects(urllib.request.HTTPRedirectHandler):
    """A 3xx becomes an error: a redirect could send the token to another host."""

    def redirect_request(self, *args: Any, **kwargs: Any) -> None:
        return None


def _opener() -> urllib.request.OpenerDirector:
    """urllib without proxies from the environment and without redirects: only the configured
    address is reached (the client's default, urlopen, has both)."""
    return urllib.request.build_opener(urllib.request.ProxyHandler({}), _NoRedirects())


class _Connection(shopify.base.ShopifyConnection):  # type: ignore[misc]
    """The client's own connection (it keeps the last response), opening URLs with _opener().

    An error answer is read and its socket closed here: pyactiveresource reads the body of a
    4xx but leaves a 5xx's socket open until garbage collection (a ResourceWarning)."""

    def _urlopen(self, request: urllib.request.Request) -> Any:
        try:
            return _opener().open(request, timeout=self.timeout)
        except urllib.error.HTTPError as exc:
            with exc:
                body = exc.read()
            answer = urllib.error.HTTPError(
                exc.url, exc.code, exc.msg, exc.headers, io.BytesIO(body)
            )
            if 300 <= exc.code < 400:
                raise arc.Redirection(answer) from None
            raise answer from None


class ShopifyAdmin:
    """One shop's Admin API settings, and the client's session for the length of a call."""

    def __init__(
        self,
        shop: str,
        access_token: str,
        api_version: str,
        timeout_seconds: float,
        api_base: str = "",
    ) -> None:
        if not _SHOP.match(shop):
            raise ValueError(f"{shop!r} is not a shop's myshopify.com domain")
        if not access_token:
            raise ValueError("a Shopify access token is required")
        if not timeout_seconds > 0:
            raise ValueError("the Shopify timeout must be positive")
        try:
            version = shopify.ApiVersion.coerce_to_version(api_version)
        except (shopify.VersionNotFoundError, shopify.InvalidVersionError):
            raise ValueError(f"{api_version!r} is not a Shopify API version") from None
        base = (api_base or f"https://{shop}").rstrip("/")
        if not base.startswith(("https://", "http://")):
            raise ValueError(f"{api_base!r} is not an http(s) address")
        self.shop = shop
        self.api_version: str = version.name
        self.site: str = version.api_path(base)  # <base>/admin/api/<version>
        self._token = access_token
        self._timeout = timeout_seconds

    @contextmanager
    def session(self) -> Iterator[None]:
        """The client set up for this shop, under the module lock; cleared afterwards."""
        resource = shopify.ShopifyResource
        with _LOCK:
            try:
                resource.activate_session(shopify.Session(self.shop, self.api_version, self._token))
                resource.site = self.site  # api_base, when set, replaces https://<shop>
                resource.timeout = self._timeout
                # Setting site/timeout dropped the thread's connection; ours replaces it.
                resource._threadlocal.connection = _Connection(
                    self.site, None, None, self._timeout, resource.format
                )
                yield
            finally:
                resource.clear_session()  # also drops the thread's connection
                resource.timeout = None


class _ShopifyAdapter:
    """One shop's settings; the adapters below share them."""

    name = "shopify"

    def __init__(
        self,
        shop: str,
        access_token: str,
        api_version: str,
        timeout_seconds: float,
        api_base: str = "",
    ) -> None:
        self._admin = ShopifyAdmin(shop, access_token, api_version, timeout_seconds, api_base)


class ShopifyRefunds(_ShopifyAdapter):
    """Refunds against an order paid through Shopify (`payment_reference`: the order's id)."""

    def refund(self, request: PaymentRefund) -> ProviderRefund:
        try:
            order_id = _order_id(request.payment_reference)
            amount = _decimal(request.amount, request.currency)
            with self._admin.session():
                made = _refund_with_note(order_id, request.idempotency_key)
                if made is None:
                    made = _create_refund(order_id, request, amount)
        except _Failure as exc:
            raise PaymentFailed(exc.code, exc.message, retryable=exc.retryable) from None
        return _outcome(made, request)


class ShopifyOrders(_ShopifyAdapter):
    """Replacement orders of exchanges, created paid at no charge for the store to ship."""

    def create_replacement(self, request: ReplacementRequest) -> ReplacementOrder:
        try:
            original_id = _order_id(request.order_reference) if request.order_reference else ""
            if not request.lines:
                raise _Failure("invalid_request", "a replacement needs lines", retryable=False)
            with self._admin.session():
                found = _order_with_key(request.idempotency_key)
                if found is not None:
                    return found
                original = _call(lambda: shopify.Order.find(original_id)) if original_id else None
                attributes = _replacement(request, _record(original) if original else {})
                order = shopify.Order(attributes)
                _save(order)
                created = _record(order)
        except _Failure as exc:
            raise StoreFailed(exc.code, exc.message, retryable=exc.retryable) from None
        if not created.get("id"):
            raise StoreFailed(
                "provider_mismatch", "Shopify: no order id came back", retryable=False
            )
        return ReplacementOrder(reference=str(created["id"]), name=str(created.get("name") or ""))


# --- refunds -------------------------------------------------------------------------------


def _refund_with_note(order_id: str, key: str) -> dict[str, Any] | None:
    """The order's refund made with this key, if an earlier try made it (no second refund)."""
    refunds = _call(lambda: shopify.Refund.find(order_id=order_id, limit=250))
    for refund in refunds:
        record = _record(refund)
        if record.get("note") == key:
            return record
    return None


def _create_refund(order_id: str, request: PaymentRefund, amount: str) -> dict[str, Any]:
    """POST the refund against the order's successful sale (or capture)."""
    transactions = [_record(t) for t in _call(lambda: shopify.Transaction.find(order_id=order_id))]
    parent = _parent(transactions, request.amount, request.currency)
    if parent is None:
        raise _Failure(
            "nothing_to_refund",
            f"Shopify: order {order_id} has no successful sale or capture to refund",
            retryable=False,
        )
    refund = shopify.Refund(
        {
            "currency": request.currency,
            "note": request.idempotency_key,  # what a retry looks for: Shopify takes no key
            "notify": False,
            "transactions": [
                {
                    "parent_id": parent["id"],
                    "amount": amount,
                    "kind": "refund",
                    "gateway": parent.get("gateway") or "",
                }
            ],
        },
        prefix_options={"order_id": order_id},
    )
    _save(refund)
    return _record(refund)


def _parent(
    transactions: list[dict[str, Any]], amount: int, currency: str
) -> dict[str, Any] | None:
    """The successful sale or capture to refund against: the first that covers the amount
    (several when an order was captured in parts), else the first (Shopify says what is left)."""
    paid = [
        t
        for t in transactions
        if t.get("kind") in _PAID_KINDS and t.get("status") == "success" and t.get("id")
    ]
    for transaction in paid:
        same_currency = str(transaction.get("currency") or currency).upper() == currency
        covered = _minor(transaction.get("amount"), currency)
        if same_currency and covered is not None and covered >= amount:
            return transaction
    return paid[0] if paid else None


def _outcome(refund: dict[str, Any], request: PaymentRefund) -> ProviderRefund:
    """What Shopify's refund says: its refund transactions' status, amount and currency."""
    moves = [t for t in refund.get("transactions") or [] if t.get("kind") == "refund"]
    refund_id = refund.get("id")
    if not refund_id or not moves:
        raise PaymentFailed(
            "provider_mismatch",
            "Shopify: the refund came back without a refund transaction",
            retryable=False,
        )
    statuses = {str(t.get("status") or "") for t in moves}
    if statuses & {"failure", "error"}:
        reason = next((str(t["message"]) for t in moves if t.get("message")), "failed")
        raise PaymentFailed("refund_failed", f"Shopify: {reason}"[:500], retryable=False)
    amounts = [_minor(t.get("amount"), request.currency) for t in moves]
    currencies = {str(t.get("currency") or "").upper() for t in moves}
    total = None if None in amounts else sum(a or 0 for a in amounts)
    if currencies != {request.currency} or total != request.amount:
        told = ", ".join(f"{t.get('amount')} {t.get('currency')}" for t in moves)
        raise PaymentFailed(
            "provider_mismatch", f"Shopify refunded {told}, not what was asked", retryable=False
        )
    status = "succeeded" if statuses == {"success"} else "pending"
    return ProviderRefund(reference=str(refund_id), status=status)


# --- replacement orders --------------------------------------------------------------------


def _order_with_key(key: str) -> ReplacementOrder | None:
    """A recent order made with this key (an earlier try that timed out), if there is one.

    Shopify cannot filter orders by note attribute, so the most recent page is read and
    filtered here; a retry comes minutes after the first try, well within that page."""
    orders = _call(
        lambda: shopify.Order.find(
            status="any", limit=RECENT_ORDERS, fields="id,name,note_attributes"
        )
    )
    for order in orders:
        record = _record(order)
        for attribute in record.get("note_attributes") or []:
            if attribute.get("name") == KEY_ATTRIBUTE and attribute.get("value") == key:
                return ReplacementOrder(
                    reference=str(record["id"]), name=str(record.get("name") or "")
                )
    return None


def _replacement(request: ReplacementRequest, original: dict[str, Any]) -> dict[str, Any]:
    """The new order: the same items at no charge, marked paid, shipped where the original went."""
    order: dict[str, Any] = {
        "email": request.email,
        "line_items": [
            {"title": line.title, "sku": line.sku, "quantity": line.quantity, "price": "0.00"}
            for line in request.lines
        ],
        "financial_status": "paid",
        "currency": request.currency,
        "tags": "returndesk, exchange",
        "note": request.note or f"Exchange for {request.order_number} (return {request.rma})",
        "note_attributes": [{"name": KEY_ATTRIBUTE, "value": request.idempotency_key}],
        "send_receipt": False,  # nothing was charged
        "send_fulfillment_receipt": True,  # the buyer hears when it ships
        # the replacement leaves the shelf: Shopify counts it down (it does not by default)
        "inventory_behaviour": "decrement_obeying_policy",
    }
    address = original.get("shipping_address")
    if isinstance(address, dict):
        order["shipping_address"] = {k: address[k] for k in _ADDRESS_FIELDS if address.get(k)}
    customer = original.get("customer")
    if isinstance(customer, dict) and customer.get("id"):
        order["customer"] = {"id": customer["id"]}
    return order


# --- the client boundary -------------------------------------------------------------------


def _call(fetch: Any) -> Any:
    """Run one client call; what goes wrong becomes a classified _Failure."""
    try:
        return fetch()
    except _Failure:
        raise
    except Exception as exc:
        raise _classify(exc) from None


def _save(resource: Any) -> None:
    """POST a new resource. The client answers a 422 with save() == False and Shopify's
    messages in resource.errors (pyactiveresource's way); that is a refusal."""

    def saved() -> bool:
        return bool(resource.save())

    if not _call(saved):
        messages = "; ".join(str(m) for m in resource.errors.full_messages())
        raise _Failure("invalid_request", f"Shopify: {messages or 'refused'}", retryable=False)


def _classify(exc: BaseException) -> _Failure:
    """The port's error for what the client raised (pyactiveresource's exceptions by status)."""
    if isinstance(exc, arc.UnauthorizedAccess | arc.ForbiddenAccess):
        return _Failure("provider_credentials", _text(exc), retryable=False)
    if isinstance(exc, arc.ResourceNotFound):
        return _Failure("order_not_found", _text(exc), retryable=False)
    if isinstance(exc, arc.ResourceInvalid):
        return _Failure("invalid_request", _text(exc), retryable=False)
    if isinstance(exc, arc.Redirection):
        where = exc.response.headers.get("Location") or exc.response.headers.get("location")
        return _Failure(
            "provider_redirected", f"Shopify: redirected to {where} (not followed)", retryable=False
        )
    if isinstance(exc, arc.ClientError):  # 429 (rate limit) may be tried again; other 4xx not
        retryable = exc.code == 429
        return _Failure(
            "provider_error" if retryable else "invalid_request", _text(exc), retryable=retryable
        )
    if isinstance(exc, arc.Error) and exc.code is None:  # urllib's URLError: no connection
        return _Failure("provider_unreachable", f"Shopify: {exc}", retryable=True)
    if isinstance(exc, arc.Error):  # 5xx (ServerError) and codes the client does not know
        return _Failure("provider_error", f"Shopify: HTTP {exc.code} {exc}", retryable=True)
    if isinstance(exc, OSError | http.client.HTTPException):  # timeouts, resets mid-answer
        what = str(exc) or type(exc).__name__
        return _Failure("provider_unreachable", f"Shopify: {what}", retryable=True)
    if isinstance(exc, pyactiveresource.formats.Error):
        return _Failure("provider_error", "Shopify: the answer was not JSON", retryable=True)
    raise exc  # a bug, not Shopify: let it show


def _text(exc: arc.ConnectionError) -> str:
    """Shopify's own words from an error body: {"errors": "..."} or {"errors": {field: [...]}}."""
    body = exc.response.body if exc.response is not None else b""
    try:
        errors = json.loads(body or b"{}").get("errors")
    except (ValueError, AttributeError):
        errors = None
    if isinstance(errors, dict):
        parts = []
        for field, messages in errors.items():
            for message in messages if isinstance(messages, list) else [messages]:
                parts.append(str(message) if field == "base" else f"{field} {message}")
        text = "; ".join(parts)
    elif isinstance(errors, list):
        text = "; ".join(str(e) for e in errors)
    else:
        text = str(errors or exc)
    return f"Shopify: {text}"[:500]


def _record(resource: Any) -> dict[str, Any]:
    """A resource as plain data (nested resources too)."""
    data = resource.to_dict()
    return data if isinstance(data, dict) else {}


def _order_id(reference: str) -> str:
    if not _ID.match(reference):
        raise _Failure(
            "order_not_found", f"{reference!r} is not a Shopify order id", retryable=False
        )
    return reference


# --- money ---------------------------------------------------------------------------------


def _decimal(amount: int, currency: str) -> str:
    """Minor units as Shopify's decimal string: 1234 USD -> "12.34", 5000 JPY -> "5000"."""
    try:
        exponent = minor_unit_exponent(currency)
    except ValidationFailed as exc:
        raise _Failure("invalid_request", str(exc), retryable=False) from None
    if isinstance(amount, bool) or not isinstance(amount, int) or amount < 1:
        raise _Failure("invalid_request", "a refund is a positive amount", retryable=False)
    return format(Decimal(amount).scaleb(-exponent), "f")


def _minor(value: object, currency: str) -> int | None:
    """Shopify's decimal string back to minor units, exactly ("12.30" USD -> 1230); None when
    it is not an amount or has more decimals than the currency has."""
    try:
        scaled = Decimal(str(value)).scaleb(minor_unit_exponent(currency))
    except (InvalidOperation, ValidationFailed):
        return None
    if not scaled.is_finite() or scaled != scaled.to_integral_value():
        return None
    return int(scaled)
