"""The Stripe provider through the real ``stripe`` client against a loopback server speaking its API."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import timedelta

import pytest

from jobs.payments import payouts, refunds, subscriptions
from jobs.payments.ledger_check import check_ledger
from jobs.payments.models import Charge, Payout, Subscription
from jobs.payments.provider import get_payment_provider
from odyssey_workers.db.session import session_scope
from odyssey_workers.providers.payments import ProviderUnavailableError
from odyssey_workers.providers.payments.base import PaymentProviderError
from odyssey_workers.providers.payments.stripe_api import StripeProvider
from odyssey_workers.settings import get_settings
from tests.payments.conftest import NOW, WEEK, make_creator, make_user
from tests.payments.stripe_server import StripeServer


@pytest.fixture
def stripe_server() -> Iterator[StripeServer]:
    server = StripeServer().start()
    yield server
    server.stop()


@pytest.fixture
def stripe_provider(stripe_server: StripeServer) -> StripeProvider:
    return StripeProvider(stripe_server.api_key, stripe_server.url)


def test_a_payment_intent_succeeds_and_a_retry_with_its_key_is_replayed(stripe_server, stripe_provider):
    first = stripe_provider.charge(amount=1299, currency="EUR", token="pm_card_visa", idempotency_key="k1")
    again = stripe_provider.charge(amount=1299, currency="EUR", token="pm_card_visa", idempotency_key="k1")
    assert first.succeeded and first.reference == again.reference
    assert len(stripe_server.state.executed("payment_intents")) == 1
    sent = stripe_server.state.requests
    assert [r["idempotency_key"] for r in sent] == ["k1", "k1"]
    assert sent[0]["params"]["amount"] == "1299" and sent[0]["params"]["currency"] == "eur"


def test_a_declined_card_is_an_outcome_not_an_error(stripe_provider):
    outcome = stripe_provider.charge(amount=500, currency="USD", token="pm_card_chargeDeclined", idempotency_key="d1")
    assert not outcome.succeeded
    assert outcome.failure_reason == "card_declined:generic_decline"


def test_a_server_error_is_retryable_and_the_retry_charges_once(stripe_server, stripe_provider):
    stripe_server.state.fail_next = 1
    with pytest.raises(ProviderUnavailableError, match="HTTP 500"):
        stripe_provider.charge(amount=700, currency="USD", token="pm_card_visa", idempotency_key="t1")
    outcome = stripe_provider.charge(amount=700, currency="USD", token="pm_card_visa", idempotency_key="t1")
    assert outcome.succeeded
    assert len(stripe_server.state.executed("payment_intents")) == 1


def test_a_key_reused_with_another_amount_is_refused(stripe_provider):
    stripe_provider.charge(amount=700, currency="USD", token="pm_card_visa", idempotency_key="same")
    with pytest.raises(PaymentProviderError, match=r"IdempotencyError"):
        stripe_provider.charge(amount=701, currency="USD", token="pm_card_visa", idempotency_key="same")


def test_an_unreachable_stripe_is_retryable():
    provider = StripeProvider("sk_test_x", "http://127.0.0.1:9")  # discard port: connection refused
    with pytest.raises(ProviderUnavailableError):
        provider.transfer(amount=100, currency="USD", destination="acct_1", idempotency_key="u1")


def test_renewal_payout_and_refund_run_through_stripe_end_to_end(database_url, stripe_server, monkeypatch):
    monkeypatch.setenv("PAYMENT_PROVIDER", "stripe")
    monkeypatch.setenv("STRIPE_API_KEY", stripe_server.api_key)
    monkeypatch.setenv("STRIPE_API_BASE", stripe_server.url)
    get_settings.cache_clear()
    provider = get_payment_provider()
    assert isinstance(provider, StripeProvider)
    with session_scope() as session:
        creator = make_creator(session, destination="acct_creator1")
        plan = subscriptions.create_plan(
            session,
            creator_id=creator.id,
            name="m",
            interval="month",
            price_minor=2000,
            currency="USD",
            tax_inclusive=True,
        )
        ok = subscriptions.start_subscription(
            session,
            user_id=make_user(session).id,
            plan_id=plan.id,
            payment_token="pm_card_visa",
            billing_country="US",
            billing_region="OR",
            now=NOW - timedelta(days=8),
        )
        bad = subscriptions.start_subscription(
            session,
            user_id=make_user(session).id,
            plan_id=plan.id,
            payment_token="pm_card_chargeDeclined",
            billing_country="US",
            billing_region="OR",
            now=NOW - timedelta(days=8),
        )
        ok_id, bad_id = ok.id, bad.id
    report = subscriptions.renew_due_subscriptions(NOW - timedelta(days=8), send_notifications=False)
    assert (report.succeeded, report.declined) == (1, 1)
    intents = stripe_server.state.executed("payment_intents")
    with session_scope() as session:
        charge = session.query(Charge).filter_by(subscription_id=ok_id).one()
        assert charge.provider_reference == intents[0]["id"]
        assert intents[0]["idempotency_key"] == charge.idempotency_key
        assert session.get(Subscription, bad_id).status == "past_due"
        charge_id = charge.id
    payouts.run_weekly_payouts(WEEK, now=NOW, fan_out=False)
    transfers = stripe_server.state.executed("transfers")
    assert [(t["amount"], t["destination"]) for t in transfers] == [(1600, "acct_creator1")]  # 2000 - 20 %
    with session_scope() as session:
        assert session.query(Payout).one().provider_reference == transfers[0]["id"]
    result = refunds.refund_charge(charge_id)  # all of it, after the payout: the creator's share becomes debt
    assert result.status == "succeeded" and result.to_debt == 1600
    assert stripe_server.state.executed("refunds")[0]["amount"] == 2000
    with session_scope() as session:
        assert check_ledger(session).ok
