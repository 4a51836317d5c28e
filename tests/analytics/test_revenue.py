"""Monthly revenue analytics on SQLite and PostgreSQL: MRR movements from subscriptions made with
payments' own functions, and payments' daily metrics summed (never recomputed), by hand."""

from __future__ import annotations

from dataclasses import asdict
from datetime import UTC, date, datetime
from decimal import Decimal
from typing import Any

import pytest
from click.testing import CliRunner
from sqlalchemy import update

from jobs.analytics.revenue import revenue_months
from jobs.payments.models import DailyRevenueMetric, Subscription, SubscriptionStatus
from jobs.payments.subscriptions import create_plan, start_subscription
from odyssey_workers.cli import main
from odyssey_workers.db.session import session_scope
from tests.payments.conftest import make_creator, make_user


def at(year: int, month: int, day: int) -> datetime:
    return datetime(year, month, day, 12, tzinfo=UTC)


def subscribe(
    session: Any, user_id: int, plan_id: int, since: datetime, ended: datetime | None = None, trial_days: int = 0
) -> None:
    sub = start_subscription(
        session,
        user_id=user_id,
        plan_id=plan_id,
        payment_token="tok_ok",
        billing_country="US",
        billing_region="CA",
        trial_days=trial_days,
        now=since,
    )
    if ended is not None:  # as the renewal run leaves a subscription it expired
        session.execute(
            update(Subscription)
            .where(Subscription.id == sub.id)
            .values(status=SubscriptionStatus.EXPIRED, ended_at=ended)
        )


def metric(day: date, creator_id: int = 0, currency: str = "USD", **figures: int) -> DailyRevenueMetric:
    return DailyRevenueMetric(day=day, creator_id=creator_id, currency=currency, churn_rate=Decimal(0), **figures)


@pytest.fixture
def a_quarter(database_url: str) -> dict[str, int]:
    """Three creators' plans and five fans over January to March 2026 (movements in the tests)."""
    with session_scope() as session:
        a, b, c = (make_creator(session) for _ in range(3))
        fans = [make_user(session).id for _ in range(5)]
        plan = {"name": "fan club", "currency": "USD", "tax_inclusive": True}
        monthly_a = create_plan(session, creator_id=a.id, interval="month", price_minor=1000, **plan).id
        monthly_b = create_plan(session, creator_id=b.id, interval="month", price_minor=500, **plan).id
        yearly_c = create_plan(session, creator_id=c.id, interval="year", price_minor=12_000, **plan).id
        euro = create_plan(
            session, creator_id=a.id, interval="month", price_minor=900, name="eu", currency="EUR", tax_inclusive=True
        ).id
        subscribe(session, fans[0], monthly_a, at(2025, 12, 15))
        subscribe(session, fans[1], monthly_a, at(2026, 1, 10))  # January: new
        subscribe(session, fans[2], monthly_b, at(2025, 12, 1), ended=at(2026, 1, 20))  # January: churn
        subscribe(
            session, fans[0], monthly_b, at(2026, 2, 5), ended=at(2026, 3, 20)
        )  # Feb: expansion, Mar: contraction
        subscribe(session, fans[3], yearly_c, at(2025, 12, 1), ended=at(2026, 2, 10))  # 1000 a month; Feb: churn
        subscribe(session, fans[2], monthly_a, at(2026, 3, 3))  # March: reactivation
        subscribe(session, fans[4], monthly_a, at(2026, 3, 25), trial_days=14)  # paid from April 8: not March
        subscribe(session, fans[4], euro, at(2026, 1, 5))  # another currency: not in USD's figures
        session.add_all(
            [
                metric(
                    date(2026, 3, 1),
                    active_subscribers=2,
                    gross_revenue=3000,
                    net_revenue=2500,
                    tax=500,
                    commission=600,
                    creator_earnings=1900,
                    arpu=1250,
                ),
                metric(
                    date(2026, 3, 31),
                    active_subscribers=3,
                    new_subscribers=1,
                    churned_subscribers=1,
                    gross_revenue=1000,
                    net_revenue=900,
                    tax=100,
                    commission=200,
                    creator_earnings=700,
                    refunds=300,
                    arpu=1000,
                ),
                metric(date(2026, 3, 1), creator_id=a.id, gross_revenue=3000, creator_earnings=1900),  # a creator's
                metric(date(2026, 3, 1), currency="EUR", gross_revenue=900, commission=180),
            ]
        )
    return {"a": a.id}


def test_each_months_mrr_movements_are_those_counted_by_hand(a_quarter: dict[str, int]) -> None:
    with session_scope() as session:
        january, february, march = revenue_months(session, "2026-01", "2026-03", "usd")

    assert asdict(january.mrr) == {
        "mrr_start": 2500,
        "mrr_end": 3000,
        "new": 1000,
        "reactivation": 0,
        "expansion": 0,
        "contraction": 0,
        "churn": 500,
        "customers": {"new": 1, "churn": 1},
    }
    assert asdict(february.mrr) == {
        "mrr_start": 3000,
        "mrr_end": 2500,
        "new": 0,
        "reactivation": 0,
        "expansion": 500,
        "contraction": 0,
        "churn": 1000,
        "customers": {"expansion": 1, "churn": 1},
    }
    assert asdict(march.mrr) == {
        "mrr_start": 2500,
        "mrr_end": 3000,
        "new": 0,
        "reactivation": 1000,
        "expansion": 0,
        "contraction": 500,
        "churn": 0,
        "customers": {"reactivation": 1, "contraction": 1},
    }
    for month in (january, february, march):
        movements = month.mrr
        assert movements.mrr_end == (
            movements.mrr_start
            + movements.new
            + movements.reactivation
            + movements.expansion
            - movements.contraction
            - movements.churn
        )


def test_the_months_payments_figures_are_payments_platform_rows_summed(a_quarter: dict[str, int]) -> None:
    with session_scope() as session:
        january, march = (
            revenue_months(session, "2026-01", "2026-01", "USD")[0],
            revenue_months(session, "2026-03", "2026-03", "USD")[0],
        )

    assert january.payments is None  # payments computed no January day
    assert march.payments is not None
    assert asdict(march.payments) == {
        "days": 2,
        "gross_revenue": 4000,
        "net_revenue": 3400,
        "tax": 600,
        "commission": 800,
        "creator_earnings": 2600,
        "refunds": 300,
        "churned_subscribers": 1,
        "subscribers_at_start": 2,  # March 1: active 2 + churned 0 - new 0
        "arpu": 1000,  # March 31's, as payments stored it
        "churn_rate": Decimal("0.5000"),
        "ltv": 2000,  # 1000 / 0.5
    }


def test_the_revenue_command_prints_each_month(a_quarter: dict[str, int]) -> None:
    result = CliRunner().invoke(main, ["analytics", "revenue", "--month", "2026-02:2026-03"])

    assert result.exit_code == 0, result.output
    assert result.output.splitlines() == [
        "2026-02 USD: MRR 30.00 -> 25.00",
        "  new +0.00, reactivation +0.00, expansion +5.00, contraction -0.00, churn -10.00",
        "  no payments daily metrics for this month (the job payments.daily_revenue_report writes them)",
        "2026-03 USD: MRR 25.00 -> 30.00",
        "  new +0.00, reactivation +10.00, expansion +0.00, contraction -5.00, churn -0.00",
        "  gross 40.00, refunds 3.00, platform commission 8.00, creator earnings 26.00",
        "  ARPU 10.00, churn 50.00% (1 of 2), LTV 20.00 (2 day(s) of payments metrics)",
    ]


def test_yearly_plans_count_a_twelfth_rounded_half_up_per_fan(database_url: str) -> None:
    with session_scope() as session:
        fan, creator = make_user(session).id, make_creator(session).id
        plan = {
            "creator_id": creator,
            "interval": "year",
            "price_minor": 1001,
            "currency": "GBP",
            "tax_inclusive": True,
        }
        for name in ("gold", "silver"):
            subscribe(session, fan, create_plan(session, name=name, **plan).id, at(2026, 1, 5))

    with session_scope() as session:
        [january] = revenue_months(session, "2026-01", "2026-01", "GBP")

    # 2002 / 12 = 166.83 -> 167 (each plan alone would round 83.42 down to 83: 166).
    assert (january.mrr.mrr_start, january.mrr.new, january.mrr.mrr_end) == (0, 167, 167)


@pytest.mark.parametrize(
    ("arguments", "message"),
    [
        (["--month", "2026-13"], "month must be YYYY-MM, got '2026-13'"),
        (["--month", "2026-03:2026-01"], "until (2026-01) is before since (2026-03)"),
        (["--month", "2026-03", "--currency", "dollars"], "currency must be a 3-letter ISO 4217 code, got 'dollars'"),
    ],
)
def test_a_bad_month_or_currency_is_refused_with_what_was_wrong(
    database_url: str, arguments: list[str], message: str
) -> None:
    result = CliRunner().invoke(main, ["analytics", "revenue", *arguments])

    assert result.exit_code == 2
    assert message in result.output
