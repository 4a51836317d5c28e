"""Weekly creator payouts: one payout per (creator, ISO week), never two, whatever crashes.

``run_weekly_payouts`` releases pending money past its hold, lists the creators (see
``jobs.payments.payout_preview``), reports those skipped (on hold, no verified method, below the
minimum) and fans the eligible ones out to ``payments.pay_creators`` jobs of ``PAYOUT_CHUNK_SIZE``.

``pay_creators`` pays one chunk in three steps, each creator isolated from the others:

1. one transaction: lock each creator's available and debt accounts, net any debt
   (``debt-net:<creator>:<week>``), create the payout row keyed ``payout:<creator>:<week>`` and
   move the amount available -> in transit; commit. A creator who already has a payout for the
   week is not paid again, only resumed if still in transit;
2. the provider transfer with the payout's key (a retry repeats the key: one transfer);
3. one transaction: for each payout still in transit, success settles it (in transit -> processor
   clearing), a refusal reverses it (in transit -> available) and marks it failed.

A transient provider fault leaves that payout in transit and makes the job retry after the others
are recorded; a creator who fails never stops the rest of the chunk.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from jobs.payments import distribution, ledger, notify, payout_preview
from jobs.payments.models import AccountKind, CreatorPaymentProfile, Payout, PayoutStatus
from jobs.payments.periods import iso_week, parse_week
from jobs.payments.provider import get_payment_provider
from jobs.payments.settings import payments_settings
from odyssey_workers.db.base import table_of, utcnow
from odyssey_workers.db.bulk import chunks, lock_keys, update_by_key
from odyssey_workers.db.idempotent import insert_if_absent
from odyssey_workers.db.models.core import Creator
from odyssey_workers.db.session import session_scope
from odyssey_workers.errors import PermanentError, RetryableError
from odyssey_workers.providers.payments import PaymentProvider
from odyssey_workers.providers.payments.base import PaymentProviderError, ProviderUnavailableError, TransferOutcome
from odyssey_workers.queues import JobRequest, enqueue_many

logger = logging.getLogger(__name__)

PAYOUTS = table_of(Payout)


class PayoutRefusedError(PermanentError):
    """A creator cannot be paid: on hold, no verified payout method, or nothing to pay."""


def payout_key(creator_id: int, week: str) -> str:
    return f"payout:{creator_id}:{week}"


@dataclass
class PayoutReport:
    week: str
    paid: list[int] = field(default_factory=list)
    failed: list[int] = field(default_factory=list)
    in_transit: list[int] = field(default_factory=list)  # transient fault: retried with the same key
    already_done: list[int] = field(default_factory=list)
    skipped: dict[int, str] = field(default_factory=dict)  # creator -> reason

    def as_dict(self) -> dict[str, Any]:
        return {
            "week": self.week,
            "paid": len(self.paid),
            "failed": self.failed,
            "in_transit": self.in_transit,
            "already_done": len(self.already_done),
            "skipped": {str(k): v for k, v in list(self.skipped.items())[:200]},
        }


def release_all_due(now: datetime) -> int:
    released = 0
    while True:
        with session_scope() as session:
            count = distribution.release_due(session, now)
        released += count
        if count == 0:
            return released


def run_weekly_payouts(
    week: str | None = None,
    *,
    now: datetime | None = None,
    chunk_size: int | None = None,
    fan_out: bool = True,
    provider: PaymentProvider | None = None,
) -> dict[str, Any]:
    """List this week's payouts and enqueue ``payments.pay_creators`` per chunk (or pay inline)."""
    now = now or utcnow()
    week = week or iso_week(now)
    parse_week(week)
    size = chunk_size or payments_settings().payout_chunk_size
    released = release_all_due(now)
    eligible: list[int] = []
    skipped: dict[str, list[int]] = {}
    with session_scope() as session:
        for candidate in payout_preview.iter_candidates(session):
            if candidate.status == payout_preview.ELIGIBLE:
                eligible.append(candidate.creator_id)
            else:
                skipped.setdefault(candidate.status, []).append(candidate.creator_id)
        # payouts of this week left in transit by an earlier run are resumed too
        eligible += session.scalars(
            select(Payout.creator_id).where(Payout.week == week, Payout.status == PayoutStatus.IN_TRANSIT)
        ).all()
    eligible = sorted(set(eligible))
    if skipped.get(payout_preview.ON_HOLD):
        logger.warning(
            "payouts %s: %d creators on hold skipped: %s",
            week,
            len(skipped[payout_preview.ON_HOLD]),
            skipped[payout_preview.ON_HOLD][:50],
        )
    batches = [list(part) for part in chunks(eligible, size)]
    if fan_out:
        enqueue_many([JobRequest("payments.pay_creators", {"week": week, "creator_ids": batch}) for batch in batches])
    else:
        for batch in batches:
            pay_creators(week, batch, provider=provider, now=now, raise_on_transient=False)
    result = {
        "week": week,
        "released": released,
        "eligible": len(eligible),
        "jobs": len(batches) if fan_out else 0,
        "on_hold": skipped.get(payout_preview.ON_HOLD, []),
        "no_verified_method": len(skipped.get(payout_preview.NO_METHOD, [])),
        "below_minimum": len(skipped.get(payout_preview.BELOW_MINIMUM, [])),
    }
    logger.info("payouts %s: %s", week, {k: v for k, v in result.items() if k != "on_hold"})
    return result


@dataclass
class _Open:
    payout_id: int
    creator_id: int
    key: str
    amount: int
    currency: str
    destination: str


def pay_creators(
    week: str,
    creator_ids: Sequence[int],
    *,
    provider: PaymentProvider | None = None,
    now: datetime | None = None,
    raise_on_transient: bool = True,
    send_notifications: bool = True,
) -> PayoutReport:
    """Pay one chunk of creators for ``week`` (see the module doc)."""
    parse_week(week)
    provider = provider or get_payment_provider()
    now = now or utcnow()
    report = PayoutReport(week)
    ids = sorted(set(creator_ids))
    with session_scope() as session:
        _open_payouts(session, week, ids, now, provider.name, report)
    with session_scope() as session:
        open_payouts = _in_transit(session, week, ids)
    outcomes: dict[int, TransferOutcome] = {}
    for payout in open_payouts:
        try:
            outcomes[payout.payout_id] = provider.transfer(
                amount=payout.amount,
                currency=payout.currency,
                destination=payout.destination,
                idempotency_key=payout.key,
            )
        except ProviderUnavailableError as exc:
            report.in_transit.append(payout.creator_id)
            logger.warning("payout %s still in transit, will retry with the same key: %s", payout.key, exc)
        except PaymentProviderError as exc:
            outcomes[payout.payout_id] = TransferOutcome(False, None, f"provider refused: {exc}")
    if outcomes:
        with session_scope() as session:
            _settle(session, [p for p in open_payouts if p.payout_id in outcomes], outcomes, now, report)
    if send_notifications and report.paid:
        _notify_paid(week, [p for p in open_payouts if p.creator_id in set(report.paid)])
    if report.in_transit and raise_on_transient:
        raise RetryableError(f"payouts {week}: {len(report.in_transit)} transfers hit a transient fault; retrying")
    return report


def _notify_paid(week: str, paid: list[_Open]) -> None:
    if not paid or not notify.notifications_available():
        return
    with session_scope() as session:
        rows = session.execute(select(Creator.id, Creator.user_id).where(Creator.id.in_([p.creator_id for p in paid])))
        users = {creator_id: user_id for creator_id, user_id in rows}
    notify.emit(
        [
            notify.PaymentEvent(
                notify.PAYOUT_SENT,
                users[p.creator_id],
                p.key,
                {"amount_minor": p.amount, "currency": p.currency, "week": week},
            )
            for p in paid
        ]
    )


def pay_creator(creator_id: int, week: str, *, provider: PaymentProvider | None = None) -> PayoutReport:
    """Pay one creator for ``week``; a creator who cannot be paid is a PayoutRefusedError naming why."""
    report = pay_creators(week, [creator_id], provider=provider)
    if creator_id in report.skipped:
        raise PayoutRefusedError(f"creator {creator_id} cannot be paid for {week}: {report.skipped[creator_id]}")
    return report


def _open_payouts(
    session: Session, week: str, ids: list[int], now: datetime, provider_name: str, report: PayoutReport
) -> None:
    profiles = {
        p.creator_id: p
        for part in chunks(ids)
        for p in session.scalars(select(CreatorPaymentProfile).where(CreatorPaymentProfile.creator_id.in_(part)))
    }
    on_hold = {
        creator_id
        for part in chunks(ids)
        for creator_id in session.scalars(select(Creator.id).where(Creator.id.in_(part), Creator.on_hold.is_(True)))
    }
    payable: dict[int, CreatorPaymentProfile] = {}
    for creator_id in ids:
        profile = profiles.get(creator_id)
        if creator_id in on_hold:
            report.skipped[creator_id] = "on hold (moderation or fraud flag)"
        elif profile is None or not profile.payout_verified or not profile.payout_destination:
            report.skipped[creator_id] = "no verified payout method"
        else:
            payable[creator_id] = profile
    accounts = {}
    for creator_id, profile in payable.items():
        currency = profile.payout_currency
        accounts[creator_id] = (
            ledger.creator_account(creator_id, AccountKind.CREATOR_AVAILABLE, currency),
            ledger.creator_account(creator_id, AccountKind.CREATOR_DEBT, currency),
            ledger.creator_account(creator_id, AccountKind.CREATOR_IN_TRANSIT, currency),
        )
    # Locks first, then read what exists: a concurrent run of the same chunk waits here and then
    # sees the payouts the first one made.
    locked = ledger.lock_accounts(session, (a for trio in accounts.values() for a in trio))
    existing = {
        creator_id
        for part in chunks(list(payable))
        for creator_id in session.scalars(
            select(PAYOUTS.c.creator_id).where(PAYOUTS.c.creator_id.in_(part), PAYOUTS.c.week == week)
        )
    }
    postings: list[ledger.Posting] = []
    rows: list[dict[str, Any]] = []
    for creator_id, profile in payable.items():
        if creator_id in existing:
            continue
        available, debt, in_transit = accounts[creator_id]
        have, owed = locked[available.code].balance, locked[debt.code].balance
        netted = min(have, owed)
        amount = have - netted
        if netted:
            postings.append(
                ledger.Posting(f"debt-net:{creator_id}:{week}", "debt_net", ((available, -netted), (debt, netted)))
            )
        if amount < payout_preview.minimum_payout(profile.payout_currency):
            report.skipped[creator_id] = f"below minimum ({amount} {profile.payout_currency} after {netted} debt)"
            continue
        key = payout_key(creator_id, week)
        postings.append(ledger.Posting(f"{key}:initiate", "payout", ((available, -amount), (in_transit, amount))))
        rows.append(
            {
                "creator_id": creator_id,
                "week": week,
                "idempotency_key": key,
                "status": PayoutStatus.IN_TRANSIT,
                "currency": profile.payout_currency,
                "amount": amount,
                "debt_netted": netted,
                "provider": provider_name,
                "destination": profile.payout_destination,
                "created_at": now,
            }
        )
    ledger.post_many(session, postings)
    insert_if_absent(session, PAYOUTS, rows, ["idempotency_key"])


def _in_transit(session: Session, week: str, ids: list[int]) -> list[_Open]:
    out = []
    for part in chunks(ids):
        for row in session.execute(
            select(PAYOUTS).where(
                PAYOUTS.c.creator_id.in_(part),
                PAYOUTS.c.week == week,
                PAYOUTS.c.status == PayoutStatus.IN_TRANSIT,
            )
        ):
            out.append(_Open(row.id, row.creator_id, row.idempotency_key, row.amount, row.currency, row.destination))
    return out


def _settle(
    session: Session, payouts: list[_Open], outcomes: dict[int, TransferOutcome], now: datetime, report: PayoutReport
) -> None:
    ids = [p.payout_id for p in payouts]
    still_open = lock_keys(session, PAYOUTS, "id", ids, PAYOUTS.c.status == PayoutStatus.IN_TRANSIT)
    postings: list[ledger.Posting] = []
    updates: list[dict[str, Any]] = []
    for payout in payouts:
        if payout.payout_id not in still_open:
            report.already_done.append(payout.creator_id)
            continue
        outcome = outcomes[payout.payout_id]
        in_transit = ledger.creator_account(payout.creator_id, AccountKind.CREATOR_IN_TRANSIT, payout.currency)
        if outcome.succeeded:
            clearing = ledger.processor_clearing(payout.currency)
            entries = ((in_transit, -payout.amount), (clearing, payout.amount))
            postings.append(ledger.Posting(f"{payout.key}:settle", "payout_settle", entries))
            status = PayoutStatus.PAID
            report.paid.append(payout.creator_id)
        else:
            available = ledger.creator_account(payout.creator_id, AccountKind.CREATOR_AVAILABLE, payout.currency)
            entries = ((in_transit, -payout.amount), (available, payout.amount))
            postings.append(ledger.Posting(f"{payout.key}:reverse", "payout_reverse", entries))
            status = PayoutStatus.FAILED
            report.failed.append(payout.creator_id)
        updates.append(
            {
                "id": payout.payout_id,
                "status": status,
                "provider_reference": outcome.reference,
                "failure_reason": outcome.failure_reason,
                "settled_at": now,
            }
        )
    ledger.post_many(session, postings)
    update_by_key(session, PAYOUTS, "id", updates)
