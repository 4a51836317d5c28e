"""The payment-provider interface and the plain results it returns.

A decline (card declined, transfer refused) is an *outcome*, returned, because the caller
records it; a passing fault (timeout, 5xx, connection lost) is ``ProviderUnavailableError``,
a ``RetryableError``, because the caller must try again later with the same idempotency key.
A request the provider can never accept is ``PaymentProviderError``, a ``PermanentError``.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Protocol

from odyssey_workers.errors import PermanentError, RetryableError


class ProviderUnavailableError(RetryableError):
    """The provider could not be reached or failed for now; retry with the same idempotency key."""


class PaymentProviderError(PermanentError):
    """The provider refused the request itself (bad parameters, key reused with other parameters)."""


@dataclass(frozen=True)
class ChargeOutcome:
    succeeded: bool
    reference: str | None  # the provider's id for the charge (PaymentIntent id)
    failure_reason: str | None = None  # decline code when not succeeded


@dataclass(frozen=True)
class TransferOutcome:
    succeeded: bool
    reference: str | None
    failure_reason: str | None = None


@dataclass(frozen=True)
class RefundOutcome:
    succeeded: bool
    reference: str | None
    failure_reason: str | None = None


@dataclass(frozen=True)
class ProviderCall:
    """One request as a provider saw it (the sandbox keeps these for drills and tests)."""

    operation: str
    idempotency_key: str
    amount: int
    currency: str
    target: str
    extra: dict[str, str] = field(default_factory=dict)


class PaymentProvider(Protocol):
    """What the payments jobs need from a processor. Amounts are integer minor units."""

    name: str

    def charge(
        self, *, amount: int, currency: str, token: str, idempotency_key: str, description: str = ""
    ) -> ChargeOutcome:
        """Take ``amount`` from the card or payment method ``token``."""
        ...

    def transfer(self, *, amount: int, currency: str, destination: str, idempotency_key: str) -> TransferOutcome:
        """Send ``amount`` to a creator's connected account ``destination``."""
        ...

    def refund(self, *, charge_reference: str, amount: int, currency: str, idempotency_key: str) -> RefundOutcome:
        """Give back ``amount`` of the charge ``charge_reference``."""
        ...
