"""Payment analytics: daily revenue metrics in ``payment_daily_metrics`` (the analytics area reads
that table) and monthly revenue and tax reports as CSV in storage.

Definitions (written down because every dashboard argues about them):

* revenue of a day = succeeded charges settled that day (gross, tax, net = gross - tax, commission,
  creator earnings) and refunds made that day, by creator and for the platform (``creator_id`` 0);
* MRR = the listed monthly price of every active or past-due subscription, a yearly plan counting
  as price / 12 (rounded half up per creator and currency), measured when the job runs;
* churn rate = subscriptions that ended (canceled or expired) that day / those active at the start
  of the day (active now + churned - new), to 4 decimal places; ARPU = MRR / active subscribers.

Amount columns of the CSV files are integer minor units of the row's currency (``_minor``).
"""

from __future__ import annotations

import csv
import io
import logging
from collections import defaultdict
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from typing import Any

from sqlalchemy import case, delete, func, select
from sqlalchemy.orm import Session

from jobs.payments.models import (
    Charge,
    ChargeStatus,
    DailyRevenueMetric,
    Payout,
    PayoutStatus,
    Plan,
    Refund,
    Subscription,
    SubscriptionStatus,
)
from jobs.payments.money import round_half_up
from jobs.payments.periods import parse_month
from odyssey_workers.db.base import table_of, utcnow
from odyssey_workers.db.models.core import Creator
from odyssey_workers.db.session import session_scope
from odyssey_workers.storage import get_storage

logger = logging.getLogger(__name__)

PLATFORM = 0
ACTIVE = (SubscriptionStatus.ACTIVE, SubscriptionStatus.PAST_DUE)
ENDED = (SubscriptionStatus.CANCELED, SubscriptionStatus.EXPIRED)
FIGURES = ("charges", "gross_revenue", "tax", "net_revenue", "commission", "creator_earnings", "refunds")


def _day_bounds(day: date) -> tuple[datetime, datetime]:
    start = datetime(day.year, day.month, day.day, tzinfo=UTC)
    return start, start + timedelta(days=1)


def compute_daily_metrics(session: Session, day: date) -> int:
    """(Re)write the metrics of ``day``; returns how many rows. Running it twice gives the same rows."""
    start, end = _day_bounds(day)
    rows: dict[tuple[int, str], dict[str, Any]] = defaultdict(lambda: dict.fromkeys(FIGURES, 0))

    def add(creator_id: int, currency: str, **figures: int) -> None:
        for target in (creator_id, PLATFORM):
            for name, value in figures.items():
                rows[(target, currency)][name] += value

    for r in session.execute(
        select(
            Charge.creator_id,
            Charge.currency,
            func.count(),
            func.sum(Charge.gross_amount),
            func.sum(Charge.tax_amount),
            func.sum(Charge.commission_amount),
            func.sum(Charge.creator_amount),
        )
        .where(Charge.status == ChargeStatus.SUCCEEDED, Charge.settled_at >= start, Charge.settled_at < end)
        .group_by(Charge.creator_id, Charge.currency)
    ):
        creator_id, currency, count, gross, tax_amount, commission, creator = r
        add(
            creator_id,
            currency,
            charges=count,
            gross_revenue=gross,
            tax=tax_amount,
            net_revenue=gross - tax_amount,
            commission=commission,
            creator_earnings=creator,
        )
    for creator_id, currency, refunded in session.execute(
        select(Charge.creator_id, Refund.currency, func.sum(Refund.amount))
        .join(Charge, Charge.id == Refund.charge_id)
        .where(Refund.created_at >= start, Refund.created_at < end)
        .group_by(Charge.creator_id, Refund.currency)
    ):
        add(creator_id, currency, refunds=refunded)

    subscribers: dict[tuple[int, str], dict[str, int]] = defaultdict(lambda: defaultdict(int))
    monthly_price = case((Plan.interval == "year", 0), else_=Plan.price_minor)
    yearly_price = case((Plan.interval == "year", Plan.price_minor), else_=0)
    for creator_id, currency, active, monthly, yearly in session.execute(
        select(Subscription.creator_id, Plan.currency, func.count(), func.sum(monthly_price), func.sum(yearly_price))
        .join(Plan, Plan.id == Subscription.plan_id)
        .where(Subscription.status.in_(ACTIVE))
        .group_by(Subscription.creator_id, Plan.currency)
    ):
        mrr = int(monthly) + round_half_up(Decimal(int(yearly)) / 12)
        for target in (creator_id, PLATFORM):
            subscribers[(target, currency)]["active"] += active
            subscribers[(target, currency)]["mrr"] += mrr
    for label, column in (("new", Subscription.created_at), ("churned", Subscription.ended_at)):
        query = (
            select(Subscription.creator_id, Plan.currency, func.count())
            .join(Plan, Plan.id == Subscription.plan_id)
            .where(column >= start, column < end)
            .group_by(Subscription.creator_id, Plan.currency)
        )
        if label == "churned":
            query = query.where(Subscription.status.in_(ENDED))
        for creator_id, currency, count in session.execute(query):
            for target in (creator_id, PLATFORM):
                subscribers[(target, currency)][label] += count

    session.execute(delete(DailyRevenueMetric).where(DailyRevenueMetric.day == day))
    now = utcnow()
    records = []
    for key in sorted(set(rows) | set(subscribers)):
        creator_id, currency = key
        figures, subs = rows.get(key, dict.fromkeys(FIGURES, 0)), subscribers.get(key, {})
        active, churned, new = subs.get("active", 0), subs.get("churned", 0), subs.get("new", 0)
        at_start = active + churned - new
        churn_rate = (Decimal(churned) / at_start).quantize(Decimal("0.0001")) if at_start > 0 else Decimal(0)
        mrr = subs.get("mrr", 0)
        records.append(
            {
                "day": day,
                "creator_id": creator_id,
                "currency": currency,
                **{name: int(figures[name]) for name in FIGURES},
                "mrr": mrr,
                "active_subscribers": active,
                "new_subscribers": new,
                "churned_subscribers": churned,
                "churn_rate": churn_rate,
                "arpu": round_half_up(Decimal(mrr) / active) if active else 0,
                "computed_at": now,
            }
        )
    if records:
        session.execute(table_of(DailyRevenueMetric).insert(), records)
    return len(records)


def daily_revenue_report(day: date | None = None) -> dict[str, Any]:
    day = day or (utcnow() - timedelta(days=1)).date()
    with session_scope() as session:
        count = compute_daily_metrics(session, day)
    return {"day": day.isoformat(), "rows": count}


def _csv(header: list[str], rows: list[list[Any]]) -> bytes:
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    writer.writerow(header)
    writer.writerows(rows)
    return buffer.getvalue().encode()


def monthly_revenue_report(month: str) -> dict[str, Any]:
    """``reports/payments/revenue/<month>.csv``: per creator and currency, and platform totals."""
    start, end = parse_month(month)
    table: dict[tuple[int, str], dict[str, int]] = defaultdict(lambda: defaultdict(int))
    with session_scope() as session:
        handles = dict(session.execute(select(Creator.id, Creator.handle)).all())
        for creator_id, currency, count, gross, tax_amount, commission, creator in session.execute(
            select(
                Charge.creator_id,
                Charge.currency,
                func.count(),
                func.sum(Charge.gross_amount),
                func.sum(Charge.tax_amount),
                func.sum(Charge.commission_amount),
                func.sum(Charge.creator_amount),
            )
            .where(Charge.status == ChargeStatus.SUCCEEDED, Charge.settled_at >= start, Charge.settled_at < end)
            .group_by(Charge.creator_id, Charge.currency)
        ):
            row = table[(creator_id, currency)]
            row.update(charges=count, gross=gross, tax=tax_amount, commission=commission, creator=creator)
        for creator_id, currency, refunded, r_commission, r_creator in session.execute(
            select(
                Charge.creator_id,
                Refund.currency,
                func.sum(Refund.amount),
                func.sum(Refund.commission_amount),
                func.sum(Refund.creator_amount),
            )
            .join(Charge, Charge.id == Refund.charge_id)
            .where(Refund.created_at >= start, Refund.created_at < end)
            .group_by(Charge.creator_id, Refund.currency)
        ):
            table[(creator_id, currency)].update(
                refunds=refunded, refunded_commission=r_commission, refunded_creator=r_creator
            )
        for creator_id, currency, paid in session.execute(
            select(Payout.creator_id, Payout.currency, func.sum(Payout.amount))
            .where(Payout.status == PayoutStatus.PAID, Payout.settled_at >= start, Payout.settled_at < end)
            .group_by(Payout.creator_id, Payout.currency)
        ):
            table[(creator_id, currency)]["paid_out"] = paid
    columns = [
        "charges",
        "gross",
        "tax",
        "commission",
        "creator",
        "refunds",
        "refunded_commission",
        "refunded_creator",
        "paid_out",
    ]
    totals: dict[str, dict[str, int]] = defaultdict(lambda: defaultdict(int))
    rows = []
    for (creator_id, currency), figures in sorted(table.items()):
        rows.append([month, creator_id, handles.get(creator_id, ""), currency, *(int(figures[c]) for c in columns)])
        for c in columns:
            totals[currency][c] += int(figures[c])
    for currency, figures in sorted(totals.items()):
        rows.append([month, PLATFORM, "(platform)", currency, *(figures[c] for c in columns)])
    header = ["month", "creator_id", "handle", "currency", "charges"] + [f"{c}_minor" for c in columns[1:]]
    key = f"reports/payments/revenue/{month}.csv"
    get_storage().put(key, _csv(header, rows), content_type="text/csv")
    logger.info("monthly revenue report %s: %d rows", key, len(rows))
    return {"month": month, "key": key, "rows": len(rows)}


def monthly_tax_report(month: str) -> dict[str, Any]:
    """``reports/payments/tax/<month>/<jurisdiction>.csv`` and ``summary.csv``: taxable amount, tax
    collected, refunds, per jurisdiction and currency. Charges are streamed (memory stays flat)."""
    start, end = parse_month(month)
    figures: dict[tuple[str, str], dict[str, int]] = defaultdict(lambda: defaultdict(int))
    with session_scope() as session:
        charges = session.execute(
            select(Charge.currency, Charge.net_amount, Charge.tax_lines)
            .where(Charge.status == ChargeStatus.SUCCEEDED, Charge.settled_at >= start, Charge.settled_at < end)
            .execution_options(yield_per=1000)
        )
        for currency, net, lines in charges:
            for jurisdiction in sorted({line["jurisdiction"] for line in lines}):
                row = figures[(jurisdiction, currency)]
                row["charges"] += 1
                row["taxable"] += net
                row["collected"] += sum(int(line["amount"]) for line in lines if line["jurisdiction"] == jurisdiction)
        refunds = session.execute(
            select(Refund.currency, Refund.amount, Refund.tax_amount, Refund.tax_lines)
            .where(Refund.created_at >= start, Refund.created_at < end)
            .execution_options(yield_per=1000)
        )
        for currency, amount, tax_amount, lines in refunds:
            for jurisdiction, part in (lines or {}).items():
                row = figures[(jurisdiction, currency)]
                row["refunded_taxable"] += amount - tax_amount
                row["tax_refunded"] += int(part)
    header = [
        "month",
        "jurisdiction",
        "currency",
        "charges",
        "taxable_amount_minor",
        "tax_collected_minor",
        "refunded_taxable_amount_minor",
        "tax_refunded_minor",
        "net_tax_minor",
    ]
    by_jurisdiction: dict[str, list[list[Any]]] = defaultdict(list)
    for (jurisdiction, currency), row in sorted(figures.items()):
        by_jurisdiction[jurisdiction].append(
            [
                month,
                jurisdiction,
                currency,
                row["charges"],
                row["taxable"],
                row["collected"],
                row["refunded_taxable"],
                row["tax_refunded"],
                row["collected"] - row["tax_refunded"],
            ]
        )
    storage = get_storage()
    keys = []
    for jurisdiction, rows in by_jurisdiction.items():
        key = f"reports/payments/tax/{month}/{jurisdiction}.csv"
        storage.put(key, _csv(header, rows), content_type="text/csv")
        keys.append(key)
    summary = [row for rows in by_jurisdiction.values() for row in rows]
    summary_key = f"reports/payments/tax/{month}/summary.csv"
    storage.put(summary_key, _csv(header, summary), content_type="text/csv")
    logger.info("monthly tax report %s: %d jurisdictions", month, len(keys))
    return {"month": month, "jurisdictions": sorted(by_jurisdiction), "keys": [summary_key, *keys]}
