"""Payment providers: charge a card, transfer to a creator, refund a charge.

The payments domain picks one from ``PAYMENT_PROVIDER``: ``sandbox`` (default, local, no
account) or ``stripe`` (PaymentIntents, Connect transfers and refunds through the ``stripe``
client at ``STRIPE_API_BASE``). Every call carries the caller's idempotency key, so a retried
call is the same operation at the provider, never a second one.
"""

from odyssey_workers.providers.payments.base import (
    ChargeOutcome,
    PaymentProvider,
    PaymentProviderError,
    ProviderUnavailableError,
    RefundOutcome,
    TransferOutcome,
)

__all__ = [
    "ChargeOutcome",
    "PaymentProvider",
    "PaymentProviderError",
    "ProviderUnavailableError",
    "RefundOutcome",
    "TransferOutcome",
]
