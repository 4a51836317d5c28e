"""Job entry points: each unpacks its payload and calls an ordinary, testable function."""

from __future__ import annotations

from datetime import date, datetime
from typing import Any

from jobs.payments import payouts, refunds, reports, subscriptions
from jobs.payments.periods import previous_month
from odyssey_workers.db.base import utcnow


def _moment(value: str | None) -> datetime:
    return datetime.fromisoformat(value) if value else utcnow()


def renew_subscriptions(as_of: str | None = None) -> dict[str, Any]:
    """Daily: charge every due subscription; retried (same keys) if a charge hit a transient fault."""
    report = subscriptions.renew_due_subscriptions(_moment(as_of))
    subscriptions.raise_if_transient(report)
    return report.as_dict()


def charge_subscription(subscription_id: int) -> dict[str, Any]:
    """Charge one subscription now if it is due (e.g. right after sign-up)."""
    report = subscriptions.renew_due_subscriptions(subscription_ids=[subscription_id])
    subscriptions.raise_if_transient(report)
    return report.as_dict()


def release_pending(as_of: str | None = None) -> dict[str, Any]:
    """Daily: move creator shares past their hold from pending to available."""
    return {"released": payouts.release_all_due(_moment(as_of))}


def run_weekly_payouts(week: str | None = None) -> dict[str, Any]:
    """Weekly (Monday 10:00 UTC): list the week's payouts and fan them out to pay_creators jobs."""
    return payouts.run_weekly_payouts(week)


def pay_creators(week: str, creator_ids: list[int]) -> dict[str, Any]:
    """Pay one chunk of creators for a week (idempotent per creator and week)."""
    return payouts.pay_creators(week, creator_ids).as_dict()


def refund_charge(
    charge_id: int, amount: int | None = None, idempotency_key: str | None = None, reason: str = ""
) -> dict[str, Any]:
    """Refund a charge in full or in part."""
    return refunds.refund_charge(charge_id, amount, idempotency_key=idempotency_key, reason=reason).as_dict()


def daily_revenue_report(day: str | None = None) -> dict[str, Any]:
    """Daily: revenue, MRR, churn and ARPU of a day (default yesterday) into payment_daily_metrics."""
    return reports.daily_revenue_report(date.fromisoformat(day) if day else None)


def monthly_revenue_report(month: str | None = None) -> dict[str, Any]:
    """Monthly: the revenue report CSV of a month (default the previous one) to storage."""
    return reports.monthly_revenue_report(month or previous_month(utcnow()))


def monthly_tax_report(month: str | None = None) -> dict[str, Any]:
    """Monthly: the tax report CSVs per jurisdiction of a month (default the previous one) to storage."""
    return reports.monthly_tax_report(month or previous_month(utcnow()))
