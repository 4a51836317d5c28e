"""Payments jobs: renewals, payouts, refunds, reports (code in ``jobs/payments``, docs/payments.md).

Every money-moving job is idempotent (its keys are made before the provider is called and
reused on retries), so it may safely be retried many times, and after a ``kill -9`` too.
"""

from __future__ import annotations

import re
from datetime import date, datetime

from pydantic import Field, field_validator

from odyssey_workers.catalog import Id, Payload, declare
from odyssey_workers.retry import RetryPolicy

WEEK = r"^\d{4}-W\d{2}$"
MONTH = r"^\d{4}-(0[1-9]|1[0-2])$"

MONEY_RETRY = RetryPolicy(attempts=8, base_seconds=1, factor=3, cap_seconds=600)
"""Money jobs retry long: a kill -9 or a provider outage must not leave a payout half done."""

PAYOUT_CHUNK_RETRY = RetryPolicy(attempts=12, base_seconds=1, factor=2, cap_seconds=30)
"""A payout chunk is cheap to resume (each creator is keyed), so it retries often and soon."""


class AsOfPayload(Payload):
    as_of: str | None = Field(default=None, description="ISO timestamp with zone; default now")

    @field_validator("as_of")
    @classmethod
    def _aware(cls, value: str | None) -> str | None:
        if value is not None and datetime.fromisoformat(value).tzinfo is None:
            raise ValueError("as_of must carry a time zone, as 2026-11-30T00:00:00+00:00")
        return value


class ChargeSubscriptionPayload(Payload):
    subscription_id: Id


class WeeklyPayoutsPayload(Payload):
    week: str | None = Field(default=None, pattern=WEEK, description="ISO week, default the current one")


class PayCreatorsPayload(Payload):
    week: str = Field(pattern=WEEK)
    creator_ids: list[Id] = Field(min_length=1, max_length=10_000)


class RefundPayload(Payload):
    charge_id: Id
    amount: int | None = Field(default=None, gt=0, description="minor units; default all that is left")
    idempotency_key: str | None = Field(default=None, min_length=1, max_length=150)
    reason: str = Field(default="", max_length=200)


class DayPayload(Payload):
    day: str | None = Field(default=None, description="YYYY-MM-DD, default yesterday (UTC)")

    @field_validator("day")
    @classmethod
    def _is_date(cls, value: str | None) -> str | None:
        if value is not None:
            date.fromisoformat(value)
        return value


class MonthPayload(Payload):
    month: str | None = Field(default=None, description="YYYY-MM, default the previous month")

    @field_validator("month")
    @classmethod
    def _is_month(cls, value: str | None) -> str | None:
        if value is not None and not re.match(MONTH, value):
            raise ValueError("month must look like 2026-11")
        return value


declare(
    "payments.renew_subscriptions",
    function="jobs.payments.tasks.renew_subscriptions",
    payload=AsOfPayload,
    priority=6,
    timeout=6 * 3600,
    retry=MONEY_RETRY,
    description="Daily renewal run: charges every due subscription, dunning on declines.",
)
declare(
    "payments.charge_subscription",
    function="jobs.payments.tasks.charge_subscription",
    payload=ChargeSubscriptionPayload,
    priority=7,
    timeout=120,
    retry=MONEY_RETRY,
    description="Charges one subscription now if it is due (after sign-up or a card update).",
)
declare(
    "payments.release_pending",
    function="jobs.payments.tasks.release_pending",
    payload=AsOfPayload,
    priority=5,
    timeout=3600,
    retry=MONEY_RETRY,
    description="Moves creator earnings past the hold period from pending to available.",
)
declare(
    "payments.run_weekly_payouts",
    function="jobs.payments.tasks.run_weekly_payouts",
    payload=WeeklyPayoutsPayload,
    priority=5,
    timeout=3600,
    retry=MONEY_RETRY,
    description="Weekly payouts: releases held earnings, reports skipped creators, fans out pay_creators.",
)
declare(
    "payments.pay_creators",
    function="jobs.payments.tasks.pay_creators",
    payload=PayCreatorsPayload,
    priority=5,
    timeout=1800,
    retry=PAYOUT_CHUNK_RETRY,
    description="Pays one chunk of creators for a week: one transfer per (creator, week), ever.",
)
declare(
    "payments.refund_charge",
    function="jobs.payments.tasks.refund_charge",
    payload=RefundPayload,
    priority=7,
    timeout=120,
    retry=MONEY_RETRY,
    description="Refunds a charge in full or in part, reversing its split in proportion.",
)
declare(
    "payments.daily_revenue_report",
    function="jobs.payments.tasks.daily_revenue_report",
    payload=DayPayload,
    priority=3,
    timeout=3600,
    description="Daily revenue, MRR, churn and ARPU per creator and for the platform into a table.",
)
declare(
    "payments.monthly_revenue_report",
    function="jobs.payments.tasks.monthly_revenue_report",
    payload=MonthPayload,
    priority=3,
    timeout=3600,
    description="Writes the month's revenue report CSV to storage.",
)
declare(
    "payments.monthly_tax_report",
    function="jobs.payments.tasks.monthly_tax_report",
    payload=MonthPayload,
    priority=3,
    timeout=3600,
    description="Writes the month's tax report per jurisdiction (CSV) to storage.",
)
