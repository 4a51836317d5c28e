from __future__ import annotations

from datetime import timedelta

from jobs.payments import payouts, refunds, subscriptions
from jobs.payments.ledger_check import check_ledger
from jobs.payments.models import Charge, Subscription
from odyssey_workers.db.session import session_scope
from tests.payments.conftest import NOW, WEEK, make_creator, make_user


def test_a_subscription_is_charged_split_refunded_and_paid_out(database_url, sandbox):
    with session_scope() as session:
        creator = make_creator(session)
        fan = make_user(session)
        plan = subscriptions.create_plan(
            session,
            creator_id=creator.id,
            name="gold",
            interval="month",
            price_minor=2000,
            currency="USD",
            tax_inclusive=False,
        )
        sub = subscriptions.start_subscription(
            session,
            user_id=fan.id,
            plan_id=plan.id,
            payment_token="tok_ok",
            billing_country="FR",
            now=NOW - timedelta(days=10),
        )
        sub_id, creator_id = sub.id, creator.id
    report = subscriptions.renew_due_subscriptions(NOW - timedelta(days=10), provider=sandbox)
    assert report.succeeded == 1
    with session_scope() as session:
        charge = session.query(Charge).one()
        assert (charge.gross_amount, charge.tax_amount, charge.commission_amount, charge.creator_amount) == (
            2400,
            400,
            400,
            1600,
        )
        assert session.get(Subscription, sub_id).status == "active"
    result = refunds.refund_charge(charge.id, 600, idempotency_key="r1", provider=sandbox)
    assert result.status == "succeeded"
    out = payouts.run_weekly_payouts(WEEK, now=NOW, fan_out=False, provider=sandbox)
    assert out["eligible"] == 1
    with session_scope() as session:
        report = check_ledger(session)
    assert report.ok, report.problems
    assert len(sandbox.records("transfer")) == 1
    assert sandbox.records("transfer")[0]["amount"] == 1600 - 400
    assert creator_id
