"""What ``odyssey-workers doctor`` says about the payment provider."""

from __future__ import annotations

from jobs.payments.settings import PaymentsSettings, payments_settings
from odyssey_workers.cli.doctor import Provider
from odyssey_workers.settings import Settings

SANDBOX = "sandbox provider under var/"
PROVIDERS = [Provider("payments: Stripe", ("stripe_api_key",), ("payment_provider", "stripe"), SANDBOX)]
SELECTORS = [("payments", "payment_provider", SANDBOX)]
UNREAD: dict[str, str] = {}


def settings_for(settings: Settings) -> PaymentsSettings:
    return payments_settings(settings)
