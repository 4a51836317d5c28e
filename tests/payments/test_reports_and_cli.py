"""Daily metrics, monthly CSV reports in storage, and the ``payments`` commands."""

from __future__ import annotations

import csv
import io
from datetime import timedelta

from click.testing import CliRunner
from sqlalchemy import select, update

from jobs.payments import ledger, refunds, reports, subscriptions
from jobs.payments.models import AccountKind, Charge, DailyRevenueMetric, LedgerAccount
from odyssey_workers.cli import main
from odyssey_workers.db.base import utcnow
from odyssey_workers.db.session import session_scope
from odyssey_workers.storage import get_storage
from tests.payments.conftest import NOW, make_creator, make_user


def two_fans_one_creator(sandbox) -> int:  # type: ignore[no-untyped-def]
    with session_scope() as session:
        creator = make_creator(session, currency="EUR")
        plan = subscriptions.create_plan(
            session,
            creator_id=creator.id,
            name="p",
            interval="month",
            price_minor=1000,
            currency="EUR",
            tax_inclusive=False,
        )
        yearly = subscriptions.create_plan(
            session,
            creator_id=creator.id,
            name="y",
            interval="year",
            price_minor=12000,
            currency="EUR",
            tax_inclusive=False,
        )
        for plan_id, country in ((plan.id, "FR"), (yearly.id, "DE")):
            subscriptions.start_subscription(
                session,
                user_id=make_user(session).id,
                plan_id=plan_id,
                payment_token="tok_ok",
                billing_country=country,
                now=NOW,
            )
        creator_id = creator.id
    subscriptions.renew_due_subscriptions(NOW, provider=sandbox, send_notifications=False)
    return creator_id


def test_daily_metrics_hold_revenue_mrr_churn_and_arpu_per_creator_and_platform(database_url, sandbox):
    creator_id = two_fans_one_creator(sandbox)
    with session_scope() as session:
        charge_id = session.scalars(select(Charge.id).where(Charge.billing_country == "FR")).one()
    refunds.refund_charge(charge_id, 600, idempotency_key="r", provider=sandbox)
    assert reports.daily_revenue_report(NOW.date()) == {"day": NOW.date().isoformat(), "rows": 2}
    reports.daily_revenue_report(NOW.date())  # a re-run replaces, never doubles
    with session_scope() as session:
        rows = {r.creator_id: r for r in session.scalars(select(DailyRevenueMetric))}
    assert set(rows) == {0, creator_id}
    mine = rows[creator_id]
    assert (mine.charges, mine.gross_revenue, mine.tax, mine.net_revenue) == (2, 1200 + 14280, 200 + 2280, 13000)
    assert (mine.commission, mine.creator_earnings) == (2600, 10400)
    assert (mine.mrr, mine.active_subscribers, mine.new_subscribers, mine.arpu) == (2000, 2, 2, 1000)
    assert rows[0].gross_revenue == mine.gross_revenue
    today = utcnow().date()  # the refund was made now, not on the simulated day
    reports.daily_revenue_report(today)
    with session_scope() as session:
        refunded = session.scalars(select(DailyRevenueMetric).where(DailyRevenueMetric.day == today)).all()
    assert {(r.creator_id, r.refunds) for r in refunded} == {(creator_id, 600), (0, 600)}


def test_monthly_revenue_and_tax_reports_are_written_to_storage_as_csv(database_url, sandbox):
    creator_id = two_fans_one_creator(sandbox)
    month = f"{NOW.year}-{NOW.month:02d}"
    revenue = reports.monthly_revenue_report(month)
    rows = list(csv.DictReader(io.StringIO(get_storage().read_bytes(revenue["key"]).decode())))
    assert [(r["creator_id"], r["gross_minor"]) for r in rows] == [(str(creator_id), "15480"), ("0", "15480")]
    tax = reports.monthly_tax_report(month)
    assert tax["jurisdictions"] == ["DE", "FR"]
    fr = list(csv.DictReader(io.StringIO(get_storage().read_bytes(f"reports/payments/tax/{month}/FR.csv").decode())))
    assert (fr[0]["taxable_amount_minor"], fr[0]["tax_collected_minor"], fr[0]["tax_refunded_minor"]) == (
        "1000",
        "200",
        "0",
    )


def test_payments_check_is_clean_then_reports_a_tampered_balance_and_exits_non_zero(database_url, sandbox):
    two_fans_one_creator(sandbox)
    runner = CliRunner()
    clean = runner.invoke(main, ["payments", "check"])
    assert clean.exit_code == 0 and "ledger OK" in clean.output
    with session_scope() as session:
        session.execute(update(LedgerAccount).where(LedgerAccount.kind == "platform_revenue").values(balance=1))
    broken = runner.invoke(main, ["payments", "check"])
    assert broken.exit_code == 1
    assert "platform:revenue:EUR: cached balance 1 but entries give 2600" in broken.output


def test_payments_payouts_shows_what_would_be_paid_and_what_was(database_url, sandbox):
    creator_id = two_fans_one_creator(sandbox)
    with session_scope() as session:
        held = make_creator(session, on_hold=True)
        fund = ledger.creator_account(held.id, AccountKind.CREATOR_AVAILABLE, "USD")
        ledger.post(session, ledger.Posting("h", "t", ((ledger.processor_clearing("USD"), -5000), (fund, 5000))))
        held_id = held.id
    runner = CliRunner()
    preview = runner.invoke(main, ["payments", "payouts", "--week", "2026-W46"])
    assert preview.exit_code == 0, preview.output
    assert f"{held_id}" in preview.output and "on_hold" in preview.output
    from jobs.payments import payouts

    payouts.run_weekly_payouts("2026-W46", now=NOW + timedelta(days=8), fan_out=False, provider=sandbox)
    after = runner.invoke(main, ["payments", "payouts", "--week", "2026-W46"])
    line = next(line for line in after.output.splitlines() if line.strip().startswith(str(creator_id)))
    assert "paid" in line and "10400 EUR" in line
    bad = runner.invoke(main, ["payments", "payouts", "--week", "2026-48"])
    assert bad.exit_code == 2 and "not an ISO week" in bad.output
