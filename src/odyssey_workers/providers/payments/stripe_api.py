"""Stripe through the official ``stripe`` client: PaymentIntents, Connect transfers, refunds.

The base URL comes from ``STRIPE_API_BASE`` (tests point it at a loopback server that speaks
Stripe's API). The client's own network retries are off: the job's retry owns retrying, always
with the same ``Idempotency-Key``, which Stripe answers with the first result.
"""

from __future__ import annotations

import logging
from typing import Any

import stripe

from odyssey_workers.providers.payments.base import (
    ChargeOutcome,
    PaymentProviderError,
    ProviderUnavailableError,
    RefundOutcome,
    TransferOutcome,
)

logger = logging.getLogger(__name__)

TIMEOUT_SECONDS = 30
"""Longest wait for one Stripe HTTP request, in seconds."""


def _translate(exc: stripe.StripeError, what: str) -> Exception:
    """A Stripe error as the interface's error: retry what may pass, refuse what never will."""
    status = exc.http_status or 0
    if isinstance(exc, stripe.APIConnectionError | stripe.RateLimitError) or status >= 500 or status == 409:
        return ProviderUnavailableError(f"stripe {what}: {type(exc).__name__} (HTTP {status or '-'}): {exc}")
    return PaymentProviderError(f"stripe {what}: {type(exc).__name__} (HTTP {status or '-'}): {exc}")


class StripeProvider:
    """PaymentIntents (confirmed off-session), Connect transfers and refunds."""

    name = "stripe"

    def __init__(self, api_key: str, api_base: str) -> None:
        self.client = stripe.StripeClient(
            api_key,
            base_addresses={"api": api_base.rstrip("/")},
            max_network_retries=0,
            http_client=stripe.RequestsClient(timeout=TIMEOUT_SECONDS),
        )

    def charge(
        self, *, amount: int, currency: str, token: str, idempotency_key: str, description: str = ""
    ) -> ChargeOutcome:
        params: Any = {
            "amount": amount,
            "currency": currency.lower(),
            "payment_method": token,
            "confirm": True,
            "off_session": True,
        }
        if description:  # Stripe refuses an empty string for a parameter it cannot unset
            params["description"] = description
        try:
            intent = self.client.v1.payment_intents.create(params=params, options={"idempotency_key": idempotency_key})
        except stripe.CardError as exc:
            reason = exc.code or "card_declined"
            decline = getattr(exc.error, "decline_code", None) if exc.error else None
            return ChargeOutcome(False, None, f"{reason}:{decline}" if decline else reason)
        except stripe.StripeError as exc:
            raise _translate(exc, "payment intent") from exc
        if intent.status == "succeeded":
            return ChargeOutcome(True, intent.id)
        if intent.status in ("requires_payment_method", "requires_action", "canceled"):
            return ChargeOutcome(False, intent.id, f"payment intent {intent.status}")
        raise ProviderUnavailableError(f"stripe payment intent {intent.id} is {intent.status}; not settled yet")

    def transfer(self, *, amount: int, currency: str, destination: str, idempotency_key: str) -> TransferOutcome:
        params: Any = {"amount": amount, "currency": currency.lower(), "destination": destination}
        try:
            transfer = self.client.v1.transfers.create(params=params, options={"idempotency_key": idempotency_key})
        except stripe.InvalidRequestError as exc:
            if (exc.http_status or 0) == 400 and exc.code in ("account_invalid", "balance_insufficient"):
                return TransferOutcome(False, None, exc.code)
            raise _translate(exc, "transfer") from exc
        except stripe.StripeError as exc:
            raise _translate(exc, "transfer") from exc
        return TransferOutcome(True, transfer.id)

    def refund(self, *, charge_reference: str, amount: int, currency: str, idempotency_key: str) -> RefundOutcome:
        params: Any = {"payment_intent": charge_reference, "amount": amount}
        try:
            refund = self.client.v1.refunds.create(params=params, options={"idempotency_key": idempotency_key})
        except stripe.StripeError as exc:
            raise _translate(exc, "refund") from exc
        if refund.status in ("succeeded", "pending"):
            return RefundOutcome(True, refund.id)
        return RefundOutcome(False, refund.id, f"refund {refund.status}")
