"""Payment providers: charge a card, transfer to a creator, refund a charge.

``get_payment_provider()`` picks one from ``PAYMENT_PROVIDER``: ``sandbox`` (default, local, no
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
from odyssey_workers.providers.payments.factory import get_payment_provider

__all__ = [
    "ChargeOutcome",
    "PaymentProvider",
    "PaymentProviderError",
    "ProviderUnavailableError",
    "RefundOutcome",
    "TransferOutcome",
    "get_payment_provider",
]
