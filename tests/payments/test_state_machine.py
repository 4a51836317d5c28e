"""A hypothesis state machine over charges, refunds, releases, payouts and debts: after every step
each currency sums to zero, no refund exceeds its charge, no balance goes below what it may."""

from __future__ import annotations

import itertools
from datetime import timedelta
from decimal import Decimal

import pytest
from hypothesis import HealthCheck, event, settings
from hypothesis import strategies as st
from hypothesis.stateful import (
    RuleBasedStateMachine,
    initialize,
    invariant,
    precondition,
    rule,
    run_state_machine_as_test,
)
from sqlalchemy import select

from jobs.payments import distribution, payouts, refunds, subscriptions
from jobs.payments.ledger_check import check_ledger
from jobs.payments.models import Charge
from odyssey_workers.db.session import session_scope
from odyssey_workers.providers.payments.sandbox import SandboxProvider
from odyssey_workers.settings import get_settings
from tests.payments.conftest import NOW, ledger_snapshot, make_creator, make_user

_run = itertools.count()
PLACES = [("FR", None), ("CA", "QC"), ("US", "OR"), ("US", "NY")]


class PaymentsMachine(RuleBasedStateMachine):
    def __init__(self) -> None:
        super().__init__()
        self.run = next(_run)
        self.provider = SandboxProvider()  # in memory: the machine checks the ledger, not the sandbox
        self.charges: list[int] = []
        self.weeks = itertools.count(1)
        self.keys = itertools.count()

    @initialize()
    def creators(self) -> None:
        with session_scope() as session:
            self.creator_ids = [make_creator(session).id, make_creator(session, commission=Decimal("0.35")).id]
            plans = {}
            for creator_id in self.creator_ids:
                for inclusive in (True, False):
                    plans[(creator_id, inclusive)] = subscriptions.create_plan(
                        session,
                        creator_id=creator_id,
                        name="p",
                        interval="month",
                        price_minor=1,
                        currency="USD",
                        tax_inclusive=inclusive,
                    ).id
            self.plans = plans

    @rule(
        creator=st.integers(0, 1), price=st.integers(1, 20_000), place=st.sampled_from(PLACES), inclusive=st.booleans()
    )
    def charge(self, creator: int, price: int, place: tuple[str, str | None], inclusive: bool) -> None:
        with session_scope() as session:
            plan_id = self.plans[(self.creator_ids[creator], inclusive)]
            from jobs.payments.models import Plan

            session.get(Plan, plan_id).price_minor = price  # type: ignore[union-attr]
            sub = subscriptions.start_subscription(
                session,
                user_id=make_user(session).id,
                plan_id=plan_id,
                payment_token="tok_ok",
                billing_country=place[0],
                billing_region=place[1],
                now=NOW,
            )
            sub_id = sub.id
        report = subscriptions.renew_due_subscriptions(
            NOW, provider=self.provider, subscription_ids=[sub_id], send_notifications=False
        )
        assert report.succeeded == 1
        with session_scope() as session:
            self.charges.append(session.scalars(select(Charge.id).where(Charge.subscription_id == sub_id)).one())

    @precondition(lambda self: self.charges)
    @rule(pick=st.integers(0, 10**6), share=st.fractions(0, 1))
    def refund(self, pick: int, share) -> None:  # type: ignore[no-untyped-def]
        charge_id = self.charges[pick % len(self.charges)]
        with session_scope() as session:
            charge = session.get(Charge, charge_id)
            assert charge is not None
            left = charge.gross_amount - charge.refunded_amount
        if left == 0:
            return
        amount = max(1, int(left * share))
        result = refunds.refund_charge(
            charge_id, amount, idempotency_key=f"sm{self.run}-{next(self.keys)}", provider=self.provider
        )
        event("refund made creator debt" if result.to_debt else "refund covered by the creator's balance")

    @precondition(lambda self: self.charges)
    @rule(pick=st.integers(0, 10**6), extra=st.integers(1, 1000))
    def refund_too_much(self, pick: int, extra: int) -> None:
        charge_id = self.charges[pick % len(self.charges)]
        with session_scope() as session:
            charge = session.get(Charge, charge_id)
            assert charge is not None
            too_much = charge.gross_amount - charge.refunded_amount + extra
        before = ledger_snapshot()
        with pytest.raises(refunds.RefundError):
            refunds.refund_charge(
                charge_id, too_much, idempotency_key=f"sm{self.run}-{next(self.keys)}", provider=self.provider
            )
        assert ledger_snapshot() == before

    @rule()
    def release(self) -> None:
        with session_scope() as session:
            distribution.release_due(session, NOW + timedelta(days=30))

    @rule(creator=st.integers(0, 1))
    def payout(self, creator: int) -> None:
        week = f"20{27 + self.run % 70:02d}-W{next(self.weeks) % 52 + 1:02d}"
        report = payouts.pay_creators(week, [self.creator_ids[creator]], provider=self.provider)
        event("payout paid" if report.paid else "payout skipped")

    @invariant()
    def ledger_is_consistent(self) -> None:
        with session_scope() as session:
            report = check_ledger(session)
        assert report.ok, report.problems
        assert all(total == 0 for total in report.totals.values())


@pytest.mark.timeout(600)
def test_charges_refunds_releases_payouts_and_debts_keep_every_invariant(database_url, monkeypatch):
    monkeypatch.setenv("PAYOUT_MINIMUM_MINOR", "1")  # pay out small balances too, so debts arise often
    get_settings.cache_clear()
    run_state_machine_as_test(
        PaymentsMachine,
        settings=settings(
            max_examples=25, stateful_step_count=20, deadline=None, suppress_health_check=list(HealthCheck)
        ),
    )
