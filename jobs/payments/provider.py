"""Pick the payment provider from the settings (the domain chooses; the runtime holds the clients)."""

from __future__ import annotations

from jobs.payments.settings import payments_settings
from odyssey_workers.errors import ConfigurationError
from odyssey_workers.providers.payments.base import PaymentProvider
from odyssey_workers.settings import Settings, get_settings


def get_payment_provider(settings: Settings | None = None) -> PaymentProvider:
    """``PAYMENT_PROVIDER=sandbox`` (default, files under VAR_DIR) or ``stripe`` (needs STRIPE_API_KEY)."""
    settings = settings or get_settings()
    payments = payments_settings(settings)
    if payments.payment_provider == "stripe":
        from odyssey_workers.providers.payments.stripe_api import StripeProvider

        if payments.stripe_api_key is None:
            raise ConfigurationError("STRIPE_API_KEY: required when PAYMENT_PROVIDER=stripe")
        return StripeProvider(payments.stripe_api_key.get_secret_value(), payments.stripe_api_base)
    from odyssey_workers.providers.payments.sandbox import SandboxProvider

    root = payments.payment_sandbox_dir or settings.var_dir / "payments-sandbox"
    return SandboxProvider(root.resolve(), payments.payment_sandbox_latency_ms)
