"""Payment providers that execute refunds: Stripe through its official client.

Each provider is called outside any database transaction with an idempotency key derived from
the refund's own id, so a retry after a timeout or a crash never pays twice (the provider
answers the first refund again). docs/logistics.md.
"""

from __future__ import annotations

import stripe

from returndesk.services.ports import PaymentFailed, PaymentRefund, ProviderRefund


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
        except stripe.APIConnectionError as exc:
            raise PaymentFailed("provider_unreachable", _message(exc), retryable=True) from None
        except (stripe.InvalidRequestError, stripe.CardError) as exc:
            code = exc.code or "invalid_request"
            raise PaymentFailed(code, _message(exc), retryable=False) from None
        except stripe.AuthenticationError as exc:
            raise PaymentFailed("provider_credentials", _message(exc), retryable=False) from None
        except stripe.StripeError as exc:  # rate limits, Stripe's own 5xx: try again later
            raise PaymentFailed(
                exc.code or "provider_error", _message(exc), retryable=True
            ) from None
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


def _message(exc: stripe.StripeError) -> str:
    text = exc.user_message or str(exc) or type(exc).__name__
    return f"Stripe: {text}"[:500]
