"""Revenue analytics by calendar month, on top of payments' own figures, never recomputing them.

From ``payment_daily_metrics`` (the platform's rows, ``creator_id`` 0, one currency), summed or
taken as payments stored them: gross, net, tax, platform commission, creator earnings, refunds,
ARPU (the month's last computed day) and churned subscribers. Derived here:

- monthly churn rate = churned subscribers in the month / subscribers active at its start (the
  first computed day's active + churned - new, payments' own definition of "at start");
- LTV = ARPU / monthly churn rate, in minor units (None when nothing churned: no finite estimate).

MRR movements are derived from ``payment_subscriptions`` and ``payment_plans``, per customer
(a fan, by ``user_id``) and currency. A subscription counts from its ``anchor_at`` (the first
paid period: the end of a trial) until its ``ended_at``, at its plan's monthly price (a yearly
plan: price / 12, rounded half up per customer). Comparing each customer's MRR at the month's
start with its end:

- new: none at the start, some at the end, never a subscription before;
- reactivation: none at the start, some at the end, a subscription that ended before;
- expansion / contraction: more / less at the end than at the start (another creator's plan
  taken or dropped: payments never changes a subscription's plan, so these come from a fan's
  set of subscriptions, not from upgrades);
- churn: some at the start, none at the end.

So mrr_end = mrr_start + new + reactivation + expansion - contraction - churn, exactly.
Payments stores no price history: a plan's current price is used for every month, and a fan who
subscribed and left inside one month moves no MRR. Subscriptions are read into memory per call.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from decimal import ROUND_HALF_UP, Decimal

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from jobs.analytics.payments_tables import PLATFORM, daily_metrics, plans, subscriptions
from jobs.analytics.platform_metrics import day_start
from jobs.analytics.platform_reads import month_bounds

SUMMED = ("gross_revenue", "net_revenue", "tax", "commission", "creator_earnings", "refunds", "churned_subscribers")


@dataclass(frozen=True)
class MrrMovements:
    """One month's MRR change, in minor units, and how many customers made each part."""

    mrr_start: int
    mrr_end: int
    new: int
    reactivation: int
    expansion: int
    contraction: int
    churn: int
    customers: dict[str, int]  # movement -> customers


@dataclass(frozen=True)
class PaymentsMonth:
    """The month's figures from payments' daily metrics, and the rates derived from them."""

    days: int  # days payments computed in the month
    gross_revenue: int
    net_revenue: int
    tax: int
    commission: int  # the platform's
    creator_earnings: int
    refunds: int
    churned_subscribers: int
    subscribers_at_start: int
    arpu: int  # the month's last computed day, as payments stored it
    churn_rate: Decimal | None  # churned / subscribers_at_start, 4 places
    ltv: int | None  # arpu / churn_rate, rounded half up


@dataclass(frozen=True)
class RevenueMonth:
    month: str
    currency: str
    mrr: MrrMovements
    payments: PaymentsMonth | None  # None: payments computed no day of the month in this currency


def _months(since: str, until: str) -> list[tuple[str, date, date]]:
    first, _ = month_bounds(since)
    last_first, _ = month_bounds(until)
    if last_first < first:
        raise ValueError(f"until ({until}) is before since ({since})")
    months = []
    while first <= last_first:
        start, end = month_bounds(f"{first:%Y-%m}")
        months.append((f"{first:%Y-%m}", start, end))
        first = end + timedelta(days=1)
    return months


def _check_currency(currency: str) -> str:
    if len(currency) != 3 or not currency.isalpha():
        raise ValueError(f"currency must be a 3-letter ISO 4217 code, got {currency!r}")
    return currency.upper()


@dataclass(frozen=True)
class _Held:
    user_id: int
    monthly: int  # minor units a month, before the yearly plans' rounding
    yearly: int  # a yearly plan's price, else 0
    starts: datetime
    ends: datetime | None


def _held(session: Session, currency: str) -> list[_Held]:
    rows = session.execute(
        select(
            subscriptions.c.user_id,
            plans.c.interval,
            plans.c.price_minor,
            subscriptions.c.anchor_at,
            subscriptions.c.ended_at,
        )
        .join(plans, plans.c.id == subscriptions.c.plan_id)
        .where(plans.c.currency == currency)
    )
    return [
        _Held(user, 0 if interval == "year" else price, price if interval == "year" else 0, starts, ends)
        for user, interval, price, starts, ends in rows
    ]


def _mrr_at(held: list[_Held], moment: datetime) -> dict[int, int]:
    """Each customer's MRR at ``moment`` (subscriptions with anchor_at <= moment < ended_at)."""
    monthly: dict[int, int] = defaultdict(int)
    yearly: dict[int, int] = defaultdict(int)
    for entry in held:
        if entry.starts <= moment and (entry.ends is None or entry.ends > moment):
            monthly[entry.user_id] += entry.monthly
            yearly[entry.user_id] += entry.yearly
    return {
        user: monthly[user] + int((Decimal(yearly[user]) / 12).to_integral_value(rounding=ROUND_HALF_UP))
        for user in monthly
    }


def mrr_movements(held: list[_Held], start: datetime, end: datetime) -> MrrMovements:
    """The movements between the instants ``start`` and ``end`` (see the module's definitions)."""
    before, after = _mrr_at(held, start), _mrr_at(held, end)
    earlier_customers = {entry.user_id for entry in held if entry.starts < start}
    amounts: dict[str, int] = defaultdict(int)
    customers: dict[str, int] = defaultdict(int)
    for user in before.keys() | after.keys():
        was, now = before.get(user, 0), after.get(user, 0)
        if was == now:
            continue
        if was == 0:
            kind = "reactivation" if user in earlier_customers else "new"
        elif now == 0:
            kind = "churn"
        else:
            kind = "expansion" if now > was else "contraction"
        amounts[kind] += abs(now - was)
        customers[kind] += 1
    return MrrMovements(
        mrr_start=sum(before.values()),
        mrr_end=sum(after.values()),
        new=amounts["new"],
        reactivation=amounts["reactivation"],
        expansion=amounts["expansion"],
        contraction=amounts["contraction"],
        churn=amounts["churn"],
        customers=dict(customers),
    )


def payments_month(session: Session, first: date, last: date, currency: str) -> PaymentsMonth | None:
    metrics = daily_metrics.c
    platform = (
        metrics.creator_id == PLATFORM,
        metrics.currency == currency,
        metrics.day >= first,
        metrics.day <= last,
    )
    days, *sums = session.execute(
        select(func.count(), *(func.coalesce(func.sum(metrics[name]), 0) for name in SUMMED)).where(*platform)
    ).one()
    if not days:
        return None
    figures = dict(zip(SUMMED, (int(value) for value in sums), strict=True))
    opening = session.execute(
        select(metrics.active_subscribers, metrics.churned_subscribers, metrics.new_subscribers)
        .where(*platform)
        .order_by(metrics.day)
        .limit(1)
    ).one()
    at_start = int(opening[0]) + int(opening[1]) - int(opening[2])
    arpu = int(session.scalar(select(metrics.arpu).where(*platform).order_by(metrics.day.desc()).limit(1)) or 0)
    churned = figures["churned_subscribers"]
    rate = (Decimal(churned) / at_start).quantize(Decimal("0.0001")) if at_start > 0 else None
    ltv = int((Decimal(arpu) / rate).to_integral_value(rounding=ROUND_HALF_UP)) if rate else None
    return PaymentsMonth(days=days, **figures, subscribers_at_start=at_start, arpu=arpu, churn_rate=rate, ltv=ltv)


def revenue_months(session: Session, since: str, until: str, currency: str) -> list[RevenueMonth]:
    """Each calendar month from ``since`` to ``until`` (``YYYY-MM``, both included) in ``currency``."""
    currency = _check_currency(currency)
    months = _months(since, until)
    held = _held(session, currency)
    result = []
    for month, first, last in months:
        start, end = day_start(first), day_start(last + timedelta(days=1))
        result.append(
            RevenueMonth(
                month, currency, mrr_movements(held, start, end), payments_month(session, first, last, currency)
            )
        )
    return result


def _money(minor: int | None) -> str:
    return "-" if minor is None else f"{minor / 100:,.2f}"


def revenue_lines(entry: RevenueMonth) -> list[str]:
    """What ``analytics revenue`` and the demo print for one month (amounts in major units,
    assuming two decimals: the lines are for reading, the dataclasses hold the minor units)."""
    mrr = entry.mrr
    lines = [
        f"{entry.month} {entry.currency}: MRR {_money(mrr.mrr_start)} -> {_money(mrr.mrr_end)}",
        f"  new +{_money(mrr.new)}, reactivation +{_money(mrr.reactivation)}, expansion +{_money(mrr.expansion)}, "
        f"contraction -{_money(mrr.contraction)}, churn -{_money(mrr.churn)}",
    ]
    paid = entry.payments
    if paid is None:
        lines.append("  no payments daily metrics for this month (the job payments.daily_revenue_report writes them)")
        return lines
    rate = "-" if paid.churn_rate is None else f"{paid.churn_rate:.2%}"
    lines += [
        f"  gross {_money(paid.gross_revenue)}, refunds {_money(paid.refunds)}, "
        f"platform commission {_money(paid.commission)}, creator earnings {_money(paid.creator_earnings)}",
        f"  ARPU {_money(paid.arpu)}, churn {rate} ({paid.churned_subscribers} of {paid.subscribers_at_start}), "
        f"LTV {_money(paid.ltv)} ({paid.days} day(s) of payments metrics)",
    ]
    return lines
