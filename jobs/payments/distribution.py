"""Revenue distribution: how one charge is split, apportioned back on refunds, and released.

Split rule (one ledger transaction per succeeded charge):

* tax lines as ``tax.compute`` gives them (half up per line) -> each jurisdiction's liability;
* commission = ``round_half_up(net x commission rate)`` -> platform revenue;
* creator share = net - commission -> the creator's pending balance.

tax + commission + creator share = gross exactly, so no minor unit is left over; the only
rounding is the half-up of each tax line and of the commission, and the creator takes the rest.

Pending becomes available ``PAYOUT_HOLD_DAYS`` after the charge (``release_due``).
"""

from __future__ import annotations

import logging
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal

from sqlalchemy import select, update
from sqlalchemy.orm import Session

from jobs.payments import ledger, tax
from jobs.payments.currencies import check_currency
from jobs.payments.models import AccountKind, Charge, ChargeStatus, CreatorPaymentProfile
from jobs.payments.money import require_minor_units, require_rate, round_half_up
from jobs.payments.settings import payments_settings
from odyssey_workers.db.bulk import chunks

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class Split:
    currency: str
    gross: int
    net: int
    tax_lines: tuple[tax.TaxLine, ...]
    commission: int
    creator: int
    commission_rate: Decimal

    @property
    def tax(self) -> int:
        return sum(line.amount for line in self.tax_lines)


def split_charge(
    price: int, currency: str, rates: tuple[tax.TaxRate, ...], *, inclusive: bool, commission_rate: Decimal
) -> Split:
    """The split of one charge of ``price`` minor units (gross if ``inclusive``, else net of tax)."""
    check_currency(currency)
    require_minor_units(price, "price")
    rate = require_rate(commission_rate, "commission rate")
    taxed = tax.compute(price, rates, inclusive=inclusive)
    commission = round_half_up(taxed.net * rate)
    return Split(currency, taxed.gross, taxed.net, taxed.lines, commission, taxed.net - commission, rate)


def charge_posting(key: str, creator_id: int, split: Split) -> ledger.Posting:
    """The ledger transaction of a succeeded charge: clearing in, liabilities and shares out."""
    currency = split.currency
    entries: list[tuple[ledger.Account, int]] = [(ledger.processor_clearing(currency), -split.gross)]
    by_jurisdiction: dict[str, int] = {}
    for line in split.tax_lines:
        by_jurisdiction[line.jurisdiction] = by_jurisdiction.get(line.jurisdiction, 0) + line.amount
    entries += [(ledger.tax_liability(j, currency), a) for j, a in sorted(by_jurisdiction.items()) if a]
    if split.commission:
        entries.append((ledger.platform_revenue(currency), split.commission))
    if split.creator:
        entries.append((ledger.creator_account(creator_id, AccountKind.CREATOR_PENDING, currency), split.creator))
    return ledger.Posting(key=key, kind="charge", entries=tuple(entries))


def commission_rates(session: Session, creator_ids: Iterable[int]) -> dict[int, Decimal]:
    """Each creator's commission rate: their override, else ``PLATFORM_COMMISSION_RATE``."""
    platform = require_rate(payments_settings().platform_commission_rate, "PLATFORM_COMMISSION_RATE")
    ids = sorted(set(creator_ids))
    rates = dict.fromkeys(ids, platform)
    for part in chunks(ids):
        for creator_id, rate in session.execute(
            select(CreatorPaymentProfile.creator_id, CreatorPaymentProfile.commission_rate).where(
                CreatorPaymentProfile.creator_id.in_(part), CreatorPaymentProfile.commission_rate.is_not(None)
            )
        ):
            rates[creator_id] = require_rate(rate, f"commission rate of creator {creator_id}")
    return rates


def apportion(amount: int, parts: Sequence[int]) -> list[int]:
    """Split ``amount`` over ``parts`` in proportion, in whole minor units, summing exactly to ``amount``.

    Rounding rule: each part first gets floor(part x amount / total); the minor units left over
    go one each to the parts with the largest remainders, ties to the earlier part. With
    ``amount`` <= total no part gets more than itself, so a refund never reverses more of a
    component than is left of it.
    """
    total = sum(parts)
    if amount < 0 or amount > total:
        raise ValueError(f"cannot apportion {amount} over parts totalling {total}")
    if total == 0:
        return [0] * len(parts)
    shares = [part * amount // total for part in parts]
    remainders = sorted(range(len(parts)), key=lambda i: (-(parts[i] * amount % total), i))
    for index in remainders[: amount - sum(shares)]:
        shares[index] += 1
    return shares


def release_due(session: Session, now: datetime, limit: int = 1000) -> int:
    """Move the creator share of charges past their hold from pending to available; returns how many."""
    rows = session.execute(
        select(Charge.id, Charge.creator_id, Charge.currency, Charge.creator_amount, Charge.refunded_creator)
        .where(
            Charge.status == ChargeStatus.SUCCEEDED,
            Charge.released_at.is_(None),
            Charge.available_at <= now,
        )
        .order_by(Charge.id)
        .limit(limit)
        .with_for_update()
    ).all()
    postings = []
    for row in rows:
        # Before release every creator refund was taken from pending, so this is what is left there.
        amount = row.creator_amount - row.refunded_creator
        if amount > 0:
            pending = ledger.creator_account(row.creator_id, AccountKind.CREATOR_PENDING, row.currency)
            available = ledger.creator_account(row.creator_id, AccountKind.CREATOR_AVAILABLE, row.currency)
            postings.append(ledger.Posting(f"release:{row.id}", "release", ((pending, -amount), (available, amount))))
    ledger.post_many(session, postings)
    for part in chunks([row.id for row in rows]):
        session.execute(update(Charge).where(Charge.id.in_(part)).values(released_at=now))
    if rows:
        logger.info("released %d charges from pending to available", len(rows))
    return len(rows)
