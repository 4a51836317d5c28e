"""Pick the payment provider from the settings."""

from __future__ import annotations

from odyssey_workers.errors import ConfigurationError
from odyssey_workers.providers.payments.base import PaymentProvider
from odyssey_workers.settings import Settings, get_settings


def get_payment_provider(settings: Settings | None = None) -> PaymentProvider:
    """``PAYMENT_PROVIDER=sandbox`` (default, files under VAR_DIR) or ``stripe`` (needs STRIPE_API_KEY)."""
    settings = settings or get_settings()
    if settings.payment_provider == "stripe":
        from odyssey_workers.providers.payments.stripe_api import StripeProvider

        if settings.stripe_api_key is None:
            raise ConfigurationError("STRIPE_API_KEY: required when PAYMENT_PROVIDER=stripe")
        return StripeProvider(settings.stripe_api_key.get_secret_value(), settings.stripe_api_base)
    from odyssey_workers.providers.payments.sandbox import SandboxProvider

    root = settings.payment_sandbox_dir or settings.var_dir / "payments-sandbox"
    return SandboxProvider(root.resolve(), settings.payment_sandbox_latency_ms)
