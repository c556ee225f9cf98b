"""Payment providers that execute refunds and hold cards: Stripe through its official client.

Each provider is called outside any database transaction with an idempotency key derived from
the refund's (or the exchange's) own id, so a retry after a timeout or a crash never pays twice
(the provider answers the first request again). docs/logistics.md.
"""

from __future__ import annotations

import stripe

from returndesk.services.ports import (
    PaymentFailed,
    PaymentHold,
    PaymentRefund,
    ProviderHold,
    ProviderRefund,
)


class StripeRefunds:
    """POST /v1/refunds against a PaymentIntent (pi_...) or a charge (ch_/py_...)."""

    name = "stripe"

    def __init__(self, api_key: str, api_base: str, timeout_seconds: float) -> None:
        self._client = stripe.StripeClient(
            api_key,
            base_addresses={"api": api_base.rstrip("/")},
            max_network_retries=0,  # our retry reuses the key; the client must not guess
            http_client=stripe.new_default_http_client(timeout=timeout_seconds),
        )

    def refund(self, request: PaymentRefund) -> ProviderRefund:
        ref = request.payment_reference
        try:
            if ref.startswith(("ch_", "py_")):
                created = self._client.v1.refunds.create(
                    params={"charge": ref, "amount": request.amount, "metadata": request.metadata},
                    options={"idempotency_key": request.idempotency_key},
                )
            else:
                created = self._client.v1.refunds.create(
                    params={
                        "payment_intent": ref,
                        "amount": request.amount,
                        "metadata": request.metadata,
                    },
                    options={"idempotency_key": request.idempotency_key},
                )
        except stripe.StripeError as exc:
            raise _failure(exc) from None
        status = created.status or "pending"
        if status in ("failed", "canceled"):
            reason = created.failure_reason or status
            raise PaymentFailed(f"refund_{status}", f"Stripe: {reason}", retryable=False)
        if (created.currency or "").upper() != request.currency or created.amount != request.amount:
            raise PaymentFailed(
                "provider_mismatch",
                f"Stripe refunded {created.amount} {created.currency}, not what was asked",
                retryable=False,
            )
        return ProviderRefund(reference=created.id, status=status)

    # --- card holds (instant exchanges) ---------------------------------------------------

    def hold(self, request: PaymentHold) -> ProviderHold:
        """Authorise `amount` on the card the order was paid with, off session (the buyer
        saved it at checkout): a new PaymentIntent with capture_method=manual, confirmed."""
        ref = request.payment_reference
        if not ref.startswith("pi_"):
            raise PaymentFailed(
                "hold_needs_payment_intent",
                "Stripe: a card hold needs the order's PaymentIntent (pi_...)",
                retryable=False,
            )
        try:
            paid = self._client.v1.payment_intents.retrieve(ref)
            if not paid.customer or not paid.payment_method:
                raise PaymentFailed(
                    "no_saved_card",
                    "Stripe: the order's payment kept no card and customer to hold",
                    retryable=False,
                )
            customer = paid.customer if isinstance(paid.customer, str) else paid.customer.id
            method = (
                paid.payment_method
                if isinstance(paid.payment_method, str)
                else paid.payment_method.id
            )
            created = self._client.v1.payment_intents.create(
                params={
                    "amount": request.amount,
                    "currency": request.currency.lower(),
                    "customer": customer,
                    "payment_method": method,
                    "capture_method": "manual",
                    "confirm": True,
                    "off_session": True,
                    "metadata": request.metadata,
                },
                options={"idempotency_key": request.idempotency_key},
            )
        except stripe.StripeError as exc:
            raise _failure(exc) from None
        if created.status != "requires_capture":
            raise PaymentFailed(
                f"hold_{created.status}", f"Stripe: the hold is {created.status}", retryable=False
            )
        return ProviderHold(created.id, "authorised", created.amount)

    def release(self, reference: str, idempotency_key: str) -> ProviderHold:
        """Let the hold go (cancel the uncaptured PaymentIntent); already let go is fine."""
        let_go = self._settle(reference, idempotency_key, "canceled")
        return ProviderHold(let_go.id, "released", 0)

    def capture(self, reference: str, idempotency_key: str) -> ProviderHold:
        """Take the held money (the return was never sent); already taken is fine."""
        taken = self._settle(reference, idempotency_key, "succeeded")
        return ProviderHold(taken.id, "captured", taken.amount_received or 0)

    def _settle(self, reference: str, idempotency_key: str, wanted: str) -> stripe.PaymentIntent:
        """Cancel (wanted "canceled") or capture (wanted "succeeded") the held PaymentIntent,
        unless an earlier try already did: the retry of a lost answer is a no-op."""
        intents = self._client.v1.payment_intents
        options: stripe.RequestOptions = {"idempotency_key": idempotency_key}
        try:
            current = intents.retrieve(reference)
            if current.status != wanted:
                current = (
                    intents.cancel(reference, options=options)
                    if wanted == "canceled"
                    else intents.capture(reference, options=options)
                )
        except stripe.StripeError as exc:
            raise _failure(exc) from None
        if current.status != wanted:
            action = "release" if wanted == "canceled" else "capture"
            raise PaymentFailed(
                f"{action}_refused", f"Stripe: the hold is {current.status}", retryable=False
            )
        return current


def _failure(exc: stripe.StripeError) -> PaymentFailed:
    if isinstance(exc, stripe.APIConnectionError):
        return PaymentFailed("provider_unreachable", _message(exc), retryable=True)
    if isinstance(exc, (stripe.InvalidRequestError, stripe.CardError)):
        return PaymentFailed(exc.code or "invalid_request", _message(exc), retryable=False)
    if isinstance(exc, stripe.AuthenticationError):
        return PaymentFailed("provider_credentials", _message(exc), retryable=False)
    # rate limits, Stripe's own 5xx: try again later
    return PaymentFailed(exc.code or "provider_error", _message(exc), retryable=True)


def _message(exc: stripe.StripeError) -> str:
    text = exc.user_message or str(exc) or type(exc).__name__
    return f"Stripe: {text}"[:500]
