"""Refunds: the split reversed in proportion, never more than was charged, debt when short."""

from __future__ import annotations

import pytest
from sqlalchemy import select

from jobs.payments import ledger, payouts, refunds, subscriptions
from jobs.payments.ledger_check import check_ledger
from jobs.payments.models import AccountKind, Charge, Refund
from odyssey_workers.db.session import session_scope
from tests.payments.conftest import NOW, WEEK, ledger_snapshot, make_creator, make_user


def charged(sandbox, price: int = 2000, country: str = "CA", region: str | None = "QC") -> tuple[int, int]:  # type: ignore[no-untyped-def]
    from datetime import timedelta

    with session_scope() as session:
        creator = make_creator(session)
        plan = subscriptions.create_plan(
            session,
            creator_id=creator.id,
            name="p",
            interval="month",
            price_minor=price,
            currency="CAD",
            tax_inclusive=False,
        )
        subscriptions.start_subscription(
            session,
            user_id=make_user(session).id,
            plan_id=plan.id,
            payment_token="tok_ok",
            billing_country=country,
            billing_region=region,
            now=NOW - timedelta(days=8),
        )
        creator_id = creator.id
    subscriptions.renew_due_subscriptions(NOW - timedelta(days=8), provider=sandbox, send_notifications=False)
    with session_scope() as session:
        return session.scalars(select(Charge.id)).one(), creator_id


def balance(creator_id: int, kind: AccountKind) -> int:
    with session_scope() as session:
        return ledger.balance(session, ledger.creator_account(creator_id, kind, "CAD"))


def test_a_partial_refund_reverses_tax_commission_and_share_in_proportion(database_url, sandbox):
    charge_id, creator_id = charged(sandbox)  # 2000 + GST 100 + QST 200 (199.5 -> 200) = 2300
    result = refunds.refund_charge(charge_id, 1150, idempotency_key="half", provider=sandbox)
    assert (result.amount, result.tax, result.commission, result.creator) == (1150, 150, 200, 800)
    assert balance(creator_id, AccountKind.CREATOR_PENDING) == 1600 - 800
    with session_scope() as session:
        refund = session.scalars(select(Refund)).one()
        assert refund.tax_lines == {"CA": 50, "CA-QC": 100} and refund.status == "succeeded"
        assert check_ledger(session).ok


def test_refunding_everything_left_reverses_every_part_exactly(database_url, sandbox):
    charge_id, creator_id = charged(sandbox, price=999)
    refunds.refund_charge(charge_id, 333, idempotency_key="a", provider=sandbox)
    refunds.refund_charge(charge_id, 1, idempotency_key="b", provider=sandbox)
    refunds.refund_charge(charge_id, provider=sandbox)  # the rest
    with session_scope() as session:
        charge = session.get(Charge, charge_id)
        assert charge is not None
        assert (charge.refunded_amount, charge.refunded_tax, charge.refunded_commission, charge.refunded_creator) == (
            charge.gross_amount,
            charge.tax_amount,
            charge.commission_amount,
            charge.creator_amount,
        )
        report = check_ledger(session)
    assert report.ok
    assert balance(creator_id, AccountKind.CREATOR_PENDING) == 0
    assert sum(r["amount"] for r in sandbox.records("refund")) == 999 + 50 + 100  # gross of 999 in QC


def test_a_refund_larger_than_what_is_left_is_refused_and_changes_nothing(database_url, sandbox):
    charge_id, _ = charged(sandbox)
    refunds.refund_charge(charge_id, 2000, idempotency_key="first", provider=sandbox)
    before = ledger_snapshot()
    with pytest.raises(refunds.RefundError, match="exceeds what is left to refund: 300"):
        refunds.refund_charge(charge_id, 301, idempotency_key="second", provider=sandbox)
    assert ledger_snapshot() == before
    with session_scope() as session:
        assert len(session.scalars(select(Refund)).all()) == 1


@pytest.mark.parametrize("amount", [0, -5])
def test_a_zero_or_negative_refund_is_refused_and_changes_nothing(database_url, sandbox, amount):
    charge_id, _ = charged(sandbox)
    before = ledger_snapshot()
    with pytest.raises(Exception, match="must be positive"):
        refunds.refund_charge(charge_id, amount, idempotency_key="x", provider=sandbox)
    assert ledger_snapshot() == before


def test_the_same_refund_key_twice_refunds_once_and_with_another_amount_is_refused(database_url, sandbox):
    charge_id, _ = charged(sandbox)
    first = refunds.refund_charge(charge_id, 500, idempotency_key="req-1", provider=sandbox)
    again = refunds.refund_charge(charge_id, 500, idempotency_key="req-1", provider=sandbox)
    assert first == again and len(sandbox.records("refund")) == 1
    with pytest.raises(ledger.IdempotencyConflictError, match="refusing 600"):
        refunds.refund_charge(charge_id, 600, idempotency_key="req-1", provider=sandbox)


def test_a_refund_after_payout_becomes_debt_netted_from_the_next_payout(database_url, sandbox):
    charge_id, creator_id = charged(sandbox, price=5000, country="US", region="OR")  # no tax: creator 4000
    with session_scope() as session:
        from jobs.payments.models import CreatorPaymentProfile

        session.get(CreatorPaymentProfile, creator_id).payout_currency = "CAD"  # type: ignore[union-attr]
    payouts.run_weekly_payouts(WEEK, now=NOW, fan_out=False, provider=sandbox)
    assert sandbox.records("transfer")[0]["amount"] == 4000
    result = refunds.refund_charge(charge_id, 2500, idempotency_key="after", provider=sandbox)
    assert (result.creator, result.to_debt) == (2000, 2000)
    assert balance(creator_id, AccountKind.CREATOR_DEBT) == 2000
    later = ledger.creator_account(creator_id, AccountKind.CREATOR_AVAILABLE, "CAD")
    posting = ledger.Posting("later-earnings", "test", ((ledger.processor_clearing("CAD"), -3500), (later, 3500)))
    with session_scope() as session:
        ledger.post(session, posting)
    payouts.pay_creators("2026-W46", [creator_id], provider=sandbox)
    later_transfers = [r["amount"] for r in sandbox.records("transfer") if r["idempotency_key"].endswith("W46")]
    assert later_transfers == [3500 - 2000]
    assert balance(creator_id, AccountKind.CREATOR_DEBT) == 0
    with session_scope() as session:
        assert check_ledger(session).ok
