"""Renewals: charge what is due, dunning on declines, retry transient faults with the same key."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import func, select

from jobs.payments import subscriptions, tax
from jobs.payments.ledger_check import check_ledger
from jobs.payments.models import Charge, Subscription
from odyssey_workers.db.session import session_scope
from odyssey_workers.queues import all_queues
from tests.payments.conftest import NOW, make_creator, make_user


def new_subscription(token: str = "tok_ok", *, interval: str = "month", country: str = "FR", region=None) -> int:  # type: ignore[no-untyped-def]
    with session_scope() as session:
        creator = make_creator(session)
        plan = subscriptions.create_plan(
            session,
            creator_id=creator.id,
            name="p",
            interval=interval,
            price_minor=1000,
            currency="EUR",
            tax_inclusive=True,
        )
        return subscriptions.start_subscription(
            session,
            user_id=make_user(session).id,
            plan_id=plan.id,
            payment_token=token,
            billing_country=country,
            billing_region=region,
            now=NOW,
        ).id


def state(subscription_id: int) -> Subscription:
    with session_scope() as session:
        subscription = session.get(Subscription, subscription_id)
        assert subscription is not None
        return subscription


def test_a_due_subscription_is_charged_and_moves_to_its_next_period(database_url, sandbox):
    sub_id = new_subscription(interval="year")
    report = subscriptions.renew_due_subscriptions(NOW, provider=sandbox, send_notifications=False)
    assert report.succeeded == 1
    sub = state(sub_id)
    assert (sub.status, sub.periods_paid, sub.current_period_end) == ("active", 1, NOW.replace(year=NOW.year + 1))
    again = subscriptions.renew_due_subscriptions(NOW, provider=sandbox, send_notifications=False)
    assert again.due == 0 and len(sandbox.records("charge")) == 1


def test_a_declined_card_follows_the_dunning_schedule_then_cancels(database_url, sandbox):
    sub_id = new_subscription("tok_decline")
    moments = [NOW, NOW + timedelta(days=1), NOW + timedelta(days=3), NOW + timedelta(days=5)]
    seen = []
    for moment in moments:
        assert subscriptions.renew_due_subscriptions(moment, provider=sandbox, send_notifications=False).declined == 1
        sub = state(sub_id)
        seen.append((sub.status, sub.failed_attempts, sub.next_attempt_at))
    assert seen == [
        ("past_due", 1, NOW + timedelta(days=1)),
        ("past_due", 2, NOW + timedelta(days=3)),
        ("past_due", 3, NOW + timedelta(days=5)),
        ("canceled", 4, None),
    ]
    assert len({r["idempotency_key"] for r in sandbox.records("charge")}) == 4  # one key per attempt
    with session_scope() as session:
        assert check_ledger(session).transactions == 0  # declines move no money


def test_a_transient_fault_leaves_the_charge_pending_and_the_retry_reuses_its_key(database_url, sandbox):
    sub_id = new_subscription("tok_flaky")
    first = subscriptions.renew_due_subscriptions(NOW, provider=sandbox, send_notifications=False)
    assert first.transient == 1 and state(sub_id).periods_paid == 0
    with pytest.raises(Exception, match="transient provider fault"):
        subscriptions.raise_if_transient(first)
    second = subscriptions.renew_due_subscriptions(NOW, provider=sandbox, send_notifications=False)
    assert second.succeeded == 1 and state(sub_id).periods_paid == 1
    keys = [r["idempotency_key"] for r in sandbox.requests()]
    assert len(keys) == 2 and len(set(keys)) == 1
    with session_scope() as session:
        assert session.scalar(select(func.count()).select_from(Charge)) == 1


def test_a_subscription_canceled_at_period_end_expires_uncharged(database_url, sandbox):
    sub_id = new_subscription()
    subscriptions.renew_due_subscriptions(NOW, provider=sandbox, send_notifications=False)
    with session_scope() as session:
        subscriptions.cancel_subscription(session, sub_id)
    report = subscriptions.renew_due_subscriptions(NOW + timedelta(days=40), provider=sandbox, send_notifications=False)
    assert report.expired == 1 and state(sub_id).status == "expired"
    assert len(sandbox.records("charge")) == 1


def test_a_subscription_for_an_unknown_region_is_refused_and_nothing_is_written(database_url):
    with session_scope() as session:
        creator = make_creator(session)
        plan = subscriptions.create_plan(
            session,
            creator_id=creator.id,
            name="p",
            interval="month",
            price_minor=1000,
            currency="USD",
            tax_inclusive=False,
        )
        user_id, plan_id = make_user(session).id, plan.id
    with pytest.raises(tax.UnknownTaxRegionError, match="region 'ZZ' of US"), session_scope() as session:
        subscriptions.start_subscription(
            session, user_id=user_id, plan_id=plan_id, payment_token="tok_ok", billing_country="US", billing_region="ZZ"
        )
    with session_scope() as session:
        assert session.scalar(select(func.count()).select_from(Subscription)) == 0


def test_each_outcome_enqueues_its_notification_event_when_notifications_exist(database_url, redis_conn, sandbox):
    from odyssey_workers.catalog import get_catalog

    if "notifications.notify" not in get_catalog():
        pytest.skip("notifications.notify is not declared in this tree")
    new_subscription("tok_ok")
    new_subscription("tok_decline")
    report = subscriptions.renew_due_subscriptions(NOW, provider=sandbox)
    assert report.notified == 2
    jobs = [job for queue in all_queues(redis_conn) for job in queue.get_jobs()]
    events = sorted(job.kwargs["event"] for job in jobs if (job.func_name or "").startswith("jobs.notifications"))
    assert events == ["payment_failed", "payment_success"]
