"""Helpers of ``bench_payments``: bulk seeding, the naive baselines, round-trip and memory meters."""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any

import psutil
from sqlalchemy import Engine, event, insert, select
from sqlalchemy.orm import Session

from jobs.payments import distribution, ledger, tax
from jobs.payments.models import (
    AccountKind,
    Charge,
    CreatorPaymentProfile,
    LedgerAccount,
    LedgerEntry,
    LedgerTransaction,
    Payout,
    Plan,
    Subscription,
)
from jobs.payments.periods import period_end
from odyssey_workers.db.models.core import Creator, User
from odyssey_workers.providers.payments.base import ChargeOutcome, RefundOutcome, TransferOutcome

NOW = datetime(2026, 11, 30, 10, 0, tzinfo=UTC)


class InstantProcessor:
    """A processor stand-in that answers at once and keeps nothing, so both forms pay the same
    (zero) provider cost and memory measures only our side. Tests use the real sandbox and Stripe."""

    name = "bench"

    def __init__(self) -> None:
        self.calls = 0

    def charge(
        self, *, amount: int, currency: str, token: str, idempotency_key: str, description: str = ""
    ) -> ChargeOutcome:
        self.calls += 1
        return ChargeOutcome(True, f"ch_{idempotency_key[-24:]}")

    def transfer(self, *, amount: int, currency: str, destination: str, idempotency_key: str) -> TransferOutcome:
        self.calls += 1
        return TransferOutcome(True, f"tr_{idempotency_key[-24:]}")

    def refund(self, *, charge_reference: str, amount: int, currency: str, idempotency_key: str) -> RefundOutcome:
        self.calls += 1
        return RefundOutcome(True, f"re_{idempotency_key[-24:]}")


class RoundTrips:
    """Statements sent to the database (an executemany counts once) plus commits."""

    def __init__(self, engine: Engine) -> None:
        self.count = 0
        event.listen(engine, "before_cursor_execute", self._statement)
        event.listen(engine, "commit", self._commit)

    def _statement(self, *args: Any) -> None:
        self.count += 1

    def _commit(self, *args: Any) -> None:
        self.count += 1


@dataclass
class Measure:
    seconds: float = 0.0
    round_trips: int = 0
    peak_rss_mb: float = 0.0


@contextmanager
def measure(trips: RoundTrips) -> Iterator[Measure]:
    """Wall time, round trips and the peak growth of this process's resident memory (sampled)."""
    process = psutil.Process()
    start_rss = process.memory_info().rss
    peak = [start_rss]
    done = threading.Event()

    def sample() -> None:
        while not done.wait(0.02):
            peak[0] = max(peak[0], process.memory_info().rss)

    sampler = threading.Thread(target=sample, daemon=True)
    sampler.start()
    result = Measure()
    before, started = trips.count, time.perf_counter()
    try:
        yield result
    finally:
        result.seconds = time.perf_counter() - started
        result.round_trips = trips.count - before
        done.set()
        sampler.join()
        peak[0] = max(peak[0], process.memory_info().rss)
        result.peak_rss_mb = (peak[0] - start_rss) / 2**20


def seed_creators(session: Session, count: int, first_id: int) -> list[int]:
    ids = list(range(first_id, first_id + count))
    for start in range(0, count, 5000):
        part = ids[start : start + 5000]
        session.execute(insert(User), [{"id": i, "email": f"c{i}@bench", "display_name": ""} for i in part])
        session.execute(insert(Creator), [{"id": i, "user_id": i, "handle": f"c{i}", "settings": {}} for i in part])
        session.execute(
            insert(CreatorPaymentProfile),
            [
                {"creator_id": i, "payout_destination": f"acct_{i}", "payout_currency": "EUR", "payout_verified": True}
                for i in part
            ],
        )
    return ids


def seed_subscriptions(session: Session, creators: list[int], count: int, first_user: int, due: datetime) -> None:
    plans = {}
    for creator_id in creators:
        plans[creator_id] = session.execute(
            insert(Plan)
            .values(
                creator_id=creator_id, name="m", interval="month", price_minor=999, currency="EUR", tax_inclusive=True
            )
            .returning(Plan.id)
        ).scalar_one()
    for start in range(0, count, 5000):
        users = range(first_user + start, first_user + min(start + 5000, count))
        session.execute(insert(User), [{"id": u, "email": f"f{u}@bench", "display_name": ""} for u in users])
        rows = []
        for u in users:
            creator_id = creators[u % len(creators)]
            rows.append(
                {
                    "user_id": u,
                    "plan_id": plans[creator_id],
                    "creator_id": creator_id,
                    "status": "active",
                    "payment_token": "tok_ok",
                    "billing_country": "FR",
                    "billing_region": None,
                    "anchor_at": due,
                    "periods_paid": 0,
                    "current_period_start": due - timedelta(days=30),
                    "current_period_end": due,
                    "next_attempt_at": due,
                    "failed_attempts": 0,
                    "cancel_at_period_end": False,
                    "created_at": due,
                    "updated_at": due,
                }
            )
        session.execute(insert(Subscription), rows)


def fund_creators(session: Session, creators: list[int], amount: int) -> None:
    for start in range(0, len(creators), 2000):
        ledger.post_many(
            session,
            [
                ledger.Posting(
                    f"fund:{c}",
                    "bench",
                    (
                        (ledger.processor_clearing("EUR"), -amount),
                        (ledger.creator_account(c, AccountKind.CREATOR_AVAILABLE, "EUR"), amount),
                    ),
                )
                for c in creators[start : start + 2000]
            ],
        )


def _naive_post(session: Session, posting: ledger.Posting) -> None:
    """The ledger written the plain ORM way: one query per account, objects added one by one."""
    tx = LedgerTransaction(idempotency_key=posting.key, kind=posting.kind, fingerprint=posting.fingerprint())
    session.add(tx)
    session.flush()
    for account, amount in posting.entries:
        row = session.scalars(select(LedgerAccount).where(LedgerAccount.code == account.code).with_for_update()).first()
        if row is None:
            values = account.row()
            row = LedgerAccount(**values)
            session.add(row)
            session.flush()
        row.balance += row.normal_side * amount
        session.add(LedgerEntry(transaction_id=tx.id, account_id=row.id, currency=account.currency, amount=amount))


def naive_renew(engine: Engine, subscription_ids: list[int], provider: InstantProcessor) -> None:
    """Baseline: one ORM load and one commit per subscription."""
    for sub_id in subscription_ids:
        with Session(engine) as session:
            sub = session.get(Subscription, sub_id)
            assert sub is not None
            plan = session.get(Plan, sub.plan_id)
            assert plan is not None
            profile = session.get(CreatorPaymentProfile, sub.creator_id)
            rate = profile.commission_rate if profile and profile.commission_rate is not None else Decimal("0.20")
            split = distribution.split_charge(
                plan.price_minor,
                plan.currency,
                tax.lookup(sub.billing_country),
                inclusive=plan.tax_inclusive,
                commission_rate=rate,
            )
            key = f"naive:{sub.id}:{sub.current_period_end:%Y%m%d}"
            outcome = provider.charge(
                amount=split.gross, currency=split.currency, token=sub.payment_token, idempotency_key=key
            )
            session.add(
                Charge(
                    idempotency_key=key,
                    subscription_id=sub.id,
                    user_id=sub.user_id,
                    creator_id=sub.creator_id,
                    status="succeeded",
                    currency=split.currency,
                    gross_amount=split.gross,
                    net_amount=split.net,
                    tax_amount=split.tax,
                    commission_amount=split.commission,
                    creator_amount=split.creator,
                    commission_rate=rate,
                    tax_lines=[line.as_json() for line in split.tax_lines],
                    tax_inclusive=plan.tax_inclusive,
                    billing_country=sub.billing_country,
                    payment_token=sub.payment_token,
                    provider="bench",
                    provider_reference=outcome.reference,
                    settled_at=NOW,
                )
            )
            _naive_post(session, distribution.charge_posting(key, sub.creator_id, split))
            sub.periods_paid += 1
            sub.current_period_start = sub.current_period_end
            sub.current_period_end = sub.next_attempt_at = period_end(sub.anchor_at, sub.periods_paid, plan.interval)
            session.commit()


def naive_payouts(engine: Engine, creator_ids: list[int], week: str, provider: InstantProcessor) -> None:
    """Baseline: one ORM load and one commit per creator."""
    for creator_id in creator_ids:
        with Session(engine) as session:
            creator = session.get(Creator, creator_id)
            profile = session.get(CreatorPaymentProfile, creator_id)
            assert creator is not None and profile is not None
            available = ledger.creator_account(creator_id, AccountKind.CREATOR_AVAILABLE, "EUR")
            in_transit = ledger.creator_account(creator_id, AccountKind.CREATOR_IN_TRANSIT, "EUR")
            account = session.scalars(select(LedgerAccount).where(LedgerAccount.code == available.code)).one()
            amount = account.balance
            key = f"naive-payout:{creator_id}:{week}"
            destination = profile.payout_destination or ""
            session.add(
                Payout(
                    creator_id=creator_id,
                    week=week,
                    idempotency_key=key,
                    status="paid",
                    currency="EUR",
                    amount=amount,
                    provider="bench",
                    destination=destination,
                )
            )
            _naive_post(
                session, ledger.Posting(f"{key}:initiate", "payout", ((available, -amount), (in_transit, amount)))
            )
            provider.transfer(
                amount=amount, currency="EUR", destination=profile.payout_destination or "", idempotency_key=key
            )
            settle = ((in_transit, -amount), (ledger.processor_clearing("EUR"), amount))
            _naive_post(session, ledger.Posting(f"{key}:settle", "payout_settle", settle))
            session.commit()
