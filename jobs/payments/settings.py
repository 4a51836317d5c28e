"""The payments domain's settings, read from the same variables as always (``PAYOUT_HOLD_DAYS``, ...)."""

from __future__ import annotations

from decimal import Decimal
from pathlib import Path
from typing import Annotated, Literal

from pydantic import Field, SecretStr

from odyssey_workers.settings import DomainSettings, Settings, domain_settings


class PaymentsSettings(DomainSettings):
    # --- payments ------------------------------------------------------------------------------
    payment_provider: Literal["sandbox", "stripe"] = "sandbox"
    stripe_api_key: SecretStr | None = None
    stripe_api_base: str = "https://api.stripe.com"
    payment_sandbox_dir: Path | None = None  # default: VAR_DIR/payments-sandbox
    payment_sandbox_latency_ms: Annotated[int, Field(ge=0, le=10_000)] = 0  # per sandbox call (drills)
    platform_commission_rate: Decimal = Decimal("0.20")
    payout_hold_days: Annotated[int, Field(ge=0)] = 7
    payout_minimum_minor: Annotated[int, Field(ge=1)] = 1000  # minor units of the payout currency
    payout_minimums: dict[str, Annotated[int, Field(ge=1)]] = {}  # per currency, e.g. {"JPY": 1000}
    payout_chunk_size: Annotated[int, Field(ge=1, le=10_000)] = 200  # creators per payout job
    dunning_schedule_days: list[Annotated[int, Field(ge=1, le=60)]] = [1, 3, 5]  # retries after a failed charge
    renewal_batch_size: Annotated[int, Field(ge=1, le=10_000)] = 500  # subscriptions per database round
    payment_notifications: bool = True  # enqueue notifications.notify for payment/payout outcomes


SETTINGS = PaymentsSettings


def payments_settings(settings: Settings | None = None) -> PaymentsSettings:
    """The payments settings, read at start with every other domain's."""
    return domain_settings(PaymentsSettings, settings)
