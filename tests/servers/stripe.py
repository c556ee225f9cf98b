"""A local stand-in for Stripe that speaks its wire protocol for the calls ReturnDesk makes:
`POST /v1/refunds` (form-encoded, `Authorization: Bearer sk_...`, `Idempotency-Key`) and
`GET /v1/refunds/{id}`; for card holds `GET /v1/payment_intents/{id}`, `POST
/v1/payment_intents` (capture_method=manual, confirm, off_session with a saved card) and
`POST /v1/payment_intents/{id}/cancel` and `.../capture`. Errors come back as Stripe's
`{"error": {type, code, message}}`; a request repeated with its Idempotency-Key gets the
first answer again (`Idempotent-Replayed: true`), and the same key with other parameters is
refused (`idempotency_error`), as Stripe does.

The official `stripe` client is pointed at it with `base_addresses={"api": server.base_url}`.
Tests give it PaymentIntents (`pay(...)`), and may make the next answer slow (`delay_next`) to
see a client time out after the refund was made."""

from __future__ import annotations

import json
import secrets
import threading
import time
import urllib.parse
from collections.abc import Callable
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from types import TracebackType
from typing import Any

API_KEY = "sk_test_returndesk_local"


@dataclass
class Intent:
    id: str
    amount: int
    currency: str  # lower case, as Stripe writes it
    refunded: int = 0
    customer: str | None = None
    payment_method: str | None = None
    status: str = "succeeded"
    capture_method: str = "automatic"
    metadata: dict[str, str] = field(default_factory=dict)

    def body(self) -> dict[str, Any]:
        held = self.status == "requires_capture"
        return {
            "id": self.id,
            "object": "payment_intent",
            "amount": self.amount,
            "amount_capturable": self.amount if held else 0,
            "amount_received": self.amount if self.status == "succeeded" else 0,
            "currency": self.currency,
            "customer": self.customer,
            "payment_method": self.payment_method,
            "capture_method": self.capture_method,
            "status": self.status,
            "metadata": self.metadata,
            "created": int(time.time()),
        }


@dataclass
class LocalStripe:
    intents: dict[str, Intent] = field(default_factory=dict)
    refunds: dict[str, dict[str, Any]] = field(default_factory=dict)
    requests: list[dict[str, Any]] = field(default_factory=list)  # every call: path, headers, form
    decline_holds: bool = False  # the buyer's card refuses card holds (a real decline)
    _delay_next: float = 0.0
    _keys: dict[str, tuple[str, int, bytes]] = field(default_factory=dict)

    def pay(self, amount: int, currency: str, *, saved_card: bool = True) -> str:
        """A succeeded PaymentIntent to refund against (by default its customer kept the card
        for later payments, as a checkout with setup_future_usage does); its id."""
        intent = Intent(f"pi_{secrets.token_hex(12)}", amount, currency.lower())
        if saved_card:
            intent.customer = f"cus_{secrets.token_hex(7)}"
            intent.payment_method = f"pm_{secrets.token_hex(12)}"
        self.intents[intent.id] = intent
        return intent.id

    def holds(self) -> list[Intent]:
        """The PaymentIntents created to hold a card (capture_method=manual)."""
        return [i for i in self.intents.values() if i.capture_method == "manual"]

    def delay_next(self, seconds: float) -> None:
        """The next refund is made at once but answered after `seconds` (a client timeout)."""
        self._delay_next = seconds

    def refunds_made(self, intent_id: str | None = None) -> list[dict[str, Any]]:
        return [
            r
            for r in self.refunds.values()
            if intent_id is None or r["payment_intent"] == intent_id
        ]

    def __post_init__(self) -> None:
        stripe = self
        self._lock = threading.Lock()

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"
            disable_nagle_algorithm = True  # headers and body leave at once (no 40 ms stall)

            def _send(self, status: int, body: dict[str, Any], replayed: bool = False) -> None:
                data = json.dumps(body).encode()
                self.send_response(status)
                self.send_header("content-type", "application/json")
                self.send_header("content-length", str(len(data)))
                self.send_header("request-id", f"req_{secrets.token_hex(8)}")
                if replayed:
                    self.send_header("idempotent-replayed", "true")
                self.end_headers()
                try:
                    self.wfile.write(data)
                except (BrokenPipeError, ConnectionResetError):
                    return  # the client stopped waiting (a timeout test)

            def _error(self, status: int, kind: str, code: str, message: str) -> None:
                self._send(status, {"error": {"type": kind, "code": code, "message": message}})

            def _authorized(self) -> bool:
                if self.headers.get("authorization", "") != f"Bearer {API_KEY}":
                    self._error(401, "invalid_request_error", "api_key_invalid", "Invalid API Key")
                    return False
                return True

            def do_GET(self) -> None:
                if not self._authorized():
                    return
                if self.path.startswith("/v1/payment_intents/"):
                    intent = stripe.intents.get(self.path.removeprefix("/v1/payment_intents/"))
                    if intent is None:
                        self._error(
                            404, "invalid_request_error", "resource_missing", "No such intent"
                        )
                    else:
                        self._send(200, intent.body())
                    return
                refund_id = self.path.removeprefix("/v1/refunds/")
                if refund_id in stripe.refunds:
                    self._send(200, stripe.refunds[refund_id])
                else:
                    self._error(404, "invalid_request_error", "resource_missing", "No such refund")

            def do_POST(self) -> None:
                raw = self.rfile.read(int(self.headers.get("content-length", "0")))
                form = dict(urllib.parse.parse_qsl(raw.decode(), keep_blank_values=True))
                key = self.headers.get("idempotency-key", "")
                with stripe._lock:
                    stripe.requests.append(
                        {
                            "path": self.path,
                            "headers": {k.lower(): v for k, v in self.headers.items()},
                            "form": form,
                        }
                    )
                route = stripe._route(self.path)
                if route is None:
                    self._error(404, "invalid_request_error", "resource_missing", "No such path")
                    return
                if not self._authorized():
                    return
                with stripe._lock:
                    if key and key in stripe._keys:
                        fingerprint, status, body = stripe._keys[key]
                        if fingerprint != raw.decode():
                            self._error(
                                400,
                                "idempotency_error",
                                "idempotency_key_in_use",
                                "Keys for idempotent requests can only be used with the same "
                                "parameters they were first used with.",
                            )
                            return
                        self._send(status, json.loads(body), replayed=True)
                        return
                    status, answer = route(form)
                    if key:
                        stripe._keys[key] = (raw.decode(), status, json.dumps(answer).encode())
                    delay, stripe._delay_next = stripe._delay_next, 0.0
                if delay:
                    time.sleep(delay)
                self._send(status, answer)

            def log_message(self, *args: object) -> None:
                return

        self._server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self._server.daemon_threads = True
        self.base_url = f"http://127.0.0.1:{self._server.server_address[1]}"
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)

    def _route(self, path: str) -> Callable[[dict[str, str]], tuple[int, dict[str, Any]]] | None:
        if path == "/v1/refunds":
            return self._refund
        if path == "/v1/payment_intents":
            return self._hold
        for action in ("cancel", "capture"):
            prefix, suffix = "/v1/payment_intents/", f"/{action}"
            if path.startswith(prefix) and path.endswith(suffix):
                intent_id = path[len(prefix) : -len(suffix)]
                return lambda form: self._settle_hold(intent_id, action)
        return None

    def _hold(self, form: dict[str, str]) -> tuple[int, dict[str, Any]]:
        """A card hold: off session, on a customer's saved card, captured later by hand."""
        if form.get("capture_method") != "manual" or form.get("confirm") != "true":
            return 400, _error("parameter_invalid", "this server only makes card holds")
        customer, method = form.get("customer"), form.get("payment_method")
        if self.decline_holds or not any(
            i.customer == customer and i.payment_method == method and customer
            for i in self.intents.values()
        ):
            return 402, {
                "error": {
                    "type": "card_error",
                    "code": "card_declined",
                    "message": "Your card was declined.",
                }
            }
        try:
            amount = int(form["amount"])
        except (KeyError, ValueError):
            return 400, _error("parameter_invalid_integer", "Invalid integer: amount")
        intent = Intent(
            f"pi_{secrets.token_hex(12)}",
            amount,
            form.get("currency", ""),
            customer=customer,
            payment_method=method,
            status="requires_capture",
            capture_method="manual",
            metadata={
                k[len("metadata[") : -1]: v for k, v in form.items() if k.startswith("metadata[")
            },
        )
        self.intents[intent.id] = intent
        return 200, intent.body()

    def _settle_hold(self, intent_id: str, action: str) -> tuple[int, dict[str, Any]]:
        intent = self.intents.get(intent_id)
        if intent is None:
            return 404, _error("resource_missing", "No such payment_intent")
        if intent.status != "requires_capture":
            return 400, _error(
                "payment_intent_unexpected_state",
                f"This PaymentIntent's status is {intent.status}.",
            )
        intent.status = "canceled" if action == "cancel" else "succeeded"
        return 200, intent.body()

    def _refund(self, form: dict[str, str]) -> tuple[int, dict[str, Any]]:
        intent = self.intents.get(form.get("payment_intent", ""))
        if intent is None:
            return 400, _error("resource_missing", "No such payment_intent")
        try:
            amount = int(form.get("amount", intent.amount - intent.refunded))
        except ValueError:
            return 400, _error("parameter_invalid_integer", "Invalid integer: amount")
        if amount < 1:
            return 400, _error("parameter_invalid_integer", "Amount must be at least 1")
        if intent.refunded + amount > intent.amount:
            return 400, _error(
                "amount_too_large",
                f"Refund amount ({amount}) is greater than unrefunded amount on charge "
                f"({intent.amount - intent.refunded})",
            )
        intent.refunded += amount
        refund = {
            "id": f"re_{secrets.token_hex(12)}",
            "object": "refund",
            "amount": amount,
            "currency": intent.currency,
            "payment_intent": intent.id,
            "charge": f"ch_{intent.id[3:]}",
            "status": "succeeded",
            "reason": form.get("reason"),
            "metadata": {
                k[len("metadata[") : -1]: v for k, v in form.items() if k.startswith("metadata[")
            },
            "created": int(time.time()),
        }
        self.refunds[refund["id"]] = refund
        return 200, refund

    def __enter__(self) -> LocalStripe:
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


def _error(code: str, message: str) -> dict[str, Any]:
    return {"error": {"type": "invalid_request_error", "code": code, "message": message}}
