"""Read-only verification of the payments ledger (``odyssey-workers payments check``).

Plain queries over the payments models, so the check runs with no worker and no job code. It
reports, each as one readable line:

* a transaction whose entries do not sum to zero in a currency, or with fewer than two entries;
* an entry in another currency than its account;
* an account whose cached balance differs from the balance derived from its entries;
* an account below zero where it may not go (creator balances, debt, tax, revenue, refunds payable);
* a charge refunded beyond its amount, or a succeeded charge with no ledger transaction;
* a payout whose ledger does not match its status (paid without settle, failed without reverse,
  two of settle/reverse, anything but one initiate);
* money whose provider outcome is unknown for too long: a charge or refund pending longer than
  ``STALE_PENDING``, a payout in transit longer than ``STALE_IN_TRANSIT`` (the job that owns it
  ran out of retries: run it again, it repeats the same key).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timedelta

from sqlalchemy import func, literal, select
from sqlalchemy.orm import Session, aliased
from sqlalchemy.sql.selectable import ScalarSelect

from jobs.payments.models import (
    Charge,
    ChargeStatus,
    LedgerAccount,
    LedgerEntry,
    LedgerTransaction,
    Payout,
    PayoutStatus,
    Refund,
    RefundStatus,
)
from odyssey_workers.db.base import utcnow

STALE_PENDING = timedelta(days=1)
"""A charge or refund still pending after this long needs a person (or a re-run of its job)."""

STALE_IN_TRANSIT = timedelta(days=3)
"""A payout still in transit after this long needs a person (or a re-run of the payout job)."""

MAX_LINES_PER_CHECK = 50
"""At most this many problem lines per kind of check (the count is always exact)."""


@dataclass
class LedgerReport:
    transactions: int = 0
    entries: int = 0
    accounts: int = 0
    totals: dict[str, int] = field(default_factory=dict)  # currency -> sum of all entries (must be 0)
    problems: list[str] = field(default_factory=list)
    problem_count: int = 0

    @property
    def ok(self) -> bool:
        return self.problem_count == 0

    def add(self, lines: list[str], total: int) -> None:
        self.problems.extend(lines[:MAX_LINES_PER_CHECK])
        if total > MAX_LINES_PER_CHECK:
            self.problems.append(f"... and {total - MAX_LINES_PER_CHECK} more like the line above")
        self.problem_count += total


def check_ledger(session: Session, now: datetime | None = None) -> LedgerReport:
    report = LedgerReport()
    report.transactions = session.scalar(select(func.count()).select_from(LedgerTransaction)) or 0
    report.entries = session.scalar(select(func.count()).select_from(LedgerEntry)) or 0
    report.accounts = session.scalar(select(func.count()).select_from(LedgerAccount)) or 0
    report.totals = {
        currency: int(total)
        for currency, total in session.execute(
            select(LedgerEntry.currency, func.sum(LedgerEntry.amount)).group_by(LedgerEntry.currency)
        )
    }
    lines = [f"currency {c}: all entries sum to {t:+d}, not 0" for c, t in sorted(report.totals.items()) if t]
    report.add(lines, len(lines))
    _transactions(session, report)
    _accounts(session, report)
    _charges(session, report)
    _payouts(session, report)
    _stale(session, report, now or utcnow())
    return report


def _transactions(session: Session, report: LedgerReport) -> None:
    unbalanced = session.execute(
        select(LedgerTransaction.idempotency_key, LedgerEntry.currency, func.sum(LedgerEntry.amount))
        .join(LedgerEntry, LedgerEntry.transaction_id == LedgerTransaction.id)
        .group_by(LedgerTransaction.id, LedgerTransaction.idempotency_key, LedgerEntry.currency)
        .having(func.sum(LedgerEntry.amount) != 0)
    ).all()
    report.add([f"transaction {k}: {c} entries sum to {s:+d}, not 0" for k, c, s in unbalanced], len(unbalanced))
    thin = session.execute(
        select(LedgerTransaction.idempotency_key, func.count(LedgerEntry.id))
        .outerjoin(LedgerEntry, LedgerEntry.transaction_id == LedgerTransaction.id)
        .group_by(LedgerTransaction.id, LedgerTransaction.idempotency_key)
        .having(func.count(LedgerEntry.id) < 2)
    ).all()
    report.add([f"transaction {k}: {n} entries, a transaction needs at least 2" for k, n in thin], len(thin))
    mixed = session.execute(
        select(LedgerEntry.id, LedgerAccount.code, LedgerEntry.currency)
        .join(LedgerAccount, LedgerAccount.id == LedgerEntry.account_id)
        .where(LedgerEntry.currency != LedgerAccount.currency)
    ).all()
    report.add([f"entry {i} on {code} is in {c}, not the account's currency" for i, code, c in mixed], len(mixed))


def _accounts(session: Session, report: LedgerReport) -> None:
    sums = (
        select(LedgerEntry.account_id, func.sum(LedgerEntry.amount).label("total"))
        .group_by(LedgerEntry.account_id)
        .subquery()
    )
    derived = LedgerAccount.normal_side * func.coalesce(sums.c.total, 0)
    rows = session.execute(
        select(LedgerAccount.code, LedgerAccount.balance, derived.label("derived"), LedgerAccount.non_negative)
        .outerjoin(sums, sums.c.account_id == LedgerAccount.id)
        .where((LedgerAccount.balance != derived) | (LedgerAccount.non_negative & (derived < 0)))
    ).all()
    drift = [
        f"account {r.code}: cached balance {r.balance} but entries give {r.derived}"
        for r in rows
        if r.balance != r.derived
    ]
    below = [
        f"account {r.code}: balance {r.derived} is below zero, which it may not be"
        for r in rows
        if r.non_negative and r.derived < 0
    ]
    report.add(drift, len(drift))
    report.add(below, len(below))


def _charges(session: Session, report: LedgerReport) -> None:
    over = session.execute(
        select(Charge.id, Charge.gross_amount, Charge.refunded_amount).where(
            Charge.refunded_amount > Charge.gross_amount
        )
    ).all()
    report.add([f"charge {i}: refunded {r} of {g}" for i, g, r in over], len(over))
    unposted = session.execute(
        select(Charge.idempotency_key)
        .outerjoin(LedgerTransaction, LedgerTransaction.idempotency_key == Charge.idempotency_key)
        .where(Charge.status == ChargeStatus.SUCCEEDED, LedgerTransaction.id.is_(None))
    ).all()
    report.add([f"charge {k} succeeded but has no ledger transaction" for (k,) in unposted], len(unposted))


def _payouts(session: Session, report: LedgerReport) -> None:
    def has(suffix: str) -> ScalarSelect[int]:
        tx = aliased(LedgerTransaction)
        return (
            select(func.count(tx.id))
            .where(tx.idempotency_key == Payout.idempotency_key + literal(suffix))
            .correlate(Payout)
            .scalar_subquery()
        )

    rows = session.execute(
        select(
            Payout.idempotency_key,
            Payout.status,
            has(":initiate").label("initiate"),
            has(":settle").label("settle"),
            has(":reverse").label("reverse"),
        )
    )
    expected = {
        PayoutStatus.IN_TRANSIT: (1, 0, 0),
        PayoutStatus.PAID: (1, 1, 0),
        PayoutStatus.FAILED: (1, 0, 1),
    }
    lines = []
    for key, status, initiate, settle, reverse in rows:
        if expected.get(status) != (initiate, settle, reverse):
            lines.append(
                f"payout {key} is {status} but the ledger has initiate={initiate} settle={settle} reverse={reverse}"
            )
    report.add(lines, len(lines))


def _stale(session: Session, report: LedgerReport, now: datetime) -> None:
    charges = session.execute(
        select(Charge.idempotency_key, Charge.created_at).where(
            Charge.status == ChargeStatus.PENDING, Charge.created_at < now - STALE_PENDING
        )
    ).all()
    report.add(
        [f"charge {k} pending since {t:%Y-%m-%d %H:%M}: provider outcome unknown" for k, t in charges], len(charges)
    )
    refunds = session.execute(
        select(Refund.idempotency_key, Refund.created_at).where(
            Refund.status == RefundStatus.PENDING, Refund.created_at < now - STALE_PENDING
        )
    ).all()
    report.add(
        [f"refund {k} pending since {t:%Y-%m-%d %H:%M}: provider outcome unknown" for k, t in refunds], len(refunds)
    )
    payouts = session.execute(
        select(Payout.idempotency_key, Payout.created_at).where(
            Payout.status == PayoutStatus.IN_TRANSIT, Payout.created_at < now - STALE_IN_TRANSIT
        )
    ).all()
    report.add(
        [f"payout {k} in transit since {t:%Y-%m-%d %H:%M}: re-run its payout job" for k, t in payouts], len(payouts)
    )
