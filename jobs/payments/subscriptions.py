"""Subscriptions: starting one, and the daily renewal run that charges those that are due.

The run works in pages of ``RENEWAL_BATCH_SIZE`` subscriptions, a handful of statements per page
whatever its size, and keeps nothing of a page once it is done, so memory stays flat:

1. read the due page (keyset by id) and make each charge's idempotency key,
   ``charge:sub:<id>:<period end>:a<attempt>``, then insert the charges as *pending* and commit:
   the keys exist before the provider is ever called;
2. call the provider for every charge still pending, with its key (a crash or a retry repeats
   the same key, so the provider charges once);
3. in one transaction, re-read those charges locked, record the outcomes still pending, post one
   ledger transaction per success (``distribution.charge_posting``) and move the subscriptions on;
4. enqueue ``payment_success`` / ``payment_failed`` notifications (if that job exists).

A decline moves the subscription to past_due and retries it ``DUNNING_SCHEDULE_DAYS`` after the due
date (1, 3 and 5 days by default); when the last retry fails it is canceled. A transient provider
fault changes nothing: the charge stays pending and the next run (or the job's retry) repeats it.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import select, update
from sqlalchemy.orm import Session

from jobs.payments import distribution, ledger, notify, tax
from jobs.payments.currencies import check_currency
from jobs.payments.models import (
    Charge,
    ChargeStatus,
    Plan,
    PlanInterval,
    Subscription,
    SubscriptionStatus,
)
from jobs.payments.money import require_minor_units
from jobs.payments.periods import period_end
from jobs.payments.provider import get_payment_provider
from jobs.payments.settings import payments_settings
from odyssey_workers.db.base import table_of, utcnow
from odyssey_workers.db.bulk import chunks, lock_keys, update_by_key
from odyssey_workers.db.idempotent import insert_if_absent
from odyssey_workers.db.session import session_scope
from odyssey_workers.errors import PermanentError, RetryableError
from odyssey_workers.providers.payments import PaymentProvider
from odyssey_workers.providers.payments.base import ChargeOutcome, PaymentProviderError, ProviderUnavailableError

logger = logging.getLogger(__name__)

CHARGES = table_of(Charge)
SUBSCRIPTIONS = table_of(Subscription)
DUE_STATUSES = (SubscriptionStatus.TRIALING, SubscriptionStatus.ACTIVE, SubscriptionStatus.PAST_DUE)


def create_plan(
    session: Session, *, creator_id: int, name: str, interval: str, price_minor: int, currency: str, tax_inclusive: bool
) -> Plan:
    if interval not in (PlanInterval.MONTH, PlanInterval.YEAR):
        raise PermanentError(f"plan interval must be 'month' or 'year', got {interval!r}")
    plan = Plan(
        creator_id=creator_id,
        name=name,
        interval=interval,
        price_minor=require_minor_units(price_minor, "plan price"),
        currency=check_currency(currency),
        tax_inclusive=tax_inclusive,
    )
    session.add(plan)
    session.flush()
    return plan


def start_subscription(
    session: Session,
    *,
    user_id: int,
    plan_id: int,
    payment_token: str,
    billing_country: str,
    billing_region: str | None = None,
    trial_days: int = 0,
    now: datetime | None = None,
) -> Subscription:
    """A new subscription, due at once (or at the end of its trial). The address is checked now."""
    now = now or utcnow()
    plan = session.get(Plan, plan_id)
    if plan is None or not plan.active:
        raise PermanentError(f"plan {plan_id} does not exist or is no longer sold")
    tax.lookup(billing_country, billing_region)  # an unknown region is refused before anything is written
    first_due = now + timedelta(days=trial_days)
    subscription = Subscription(
        user_id=user_id,
        plan_id=plan.id,
        creator_id=plan.creator_id,
        status=(SubscriptionStatus.TRIALING if trial_days else SubscriptionStatus.ACTIVE).value,
        payment_token=payment_token,
        billing_country=billing_country.upper(),
        billing_region=billing_region.upper() if billing_region else None,
        anchor_at=first_due,
        periods_paid=0,
        current_period_start=now,
        current_period_end=first_due,
        next_attempt_at=first_due,
        created_at=now,
        updated_at=now,
    )
    session.add(subscription)
    session.flush()
    return subscription


@dataclass
class RenewalReport:
    due: int = 0
    succeeded: int = 0
    declined: int = 0
    canceled: int = 0
    expired: int = 0
    transient: int = 0
    errors: list[str] = field(default_factory=list)
    notified: int = 0

    def as_dict(self) -> dict[str, Any]:
        return {**self.__dict__, "errors": self.errors[:50]}


@dataclass
class _Due:
    row: Any
    key: str
    split: distribution.Split


def charge_key(subscription_id: int, due_at: datetime, attempt: int) -> str:
    return f"charge:sub:{subscription_id}:{due_at:%Y%m%dT%H%M%S}:a{attempt}"


def renew_due_subscriptions(
    now: datetime | None = None,
    *,
    provider: PaymentProvider | None = None,
    batch_size: int | None = None,
    send_notifications: bool = True,
    subscription_ids: Sequence[int] | None = None,
) -> RenewalReport:
    """Charge every subscription due at ``now`` (or only ``subscription_ids``); see the module doc."""
    now = now or utcnow()
    provider = provider or get_payment_provider()
    size = batch_size or payments_settings().renewal_batch_size
    report = RenewalReport()
    last_id = 0
    while True:
        with session_scope() as session:
            query = (
                select(
                    SUBSCRIPTIONS,
                    Plan.price_minor,
                    Plan.currency,
                    Plan.interval,
                    Plan.tax_inclusive,
                )
                .join(Plan, Plan.id == SUBSCRIPTIONS.c.plan_id)
                .where(
                    SUBSCRIPTIONS.c.status.in_(DUE_STATUSES),
                    SUBSCRIPTIONS.c.next_attempt_at <= now,
                    SUBSCRIPTIONS.c.id > last_id,
                )
                .order_by(SUBSCRIPTIONS.c.id)
                .limit(size)
            )
            if subscription_ids is not None:
                query = query.where(SUBSCRIPTIONS.c.id.in_(list(subscription_ids)))
            page = session.execute(query).all()
        if not page:
            break
        last_id = page[-1].id
        _renew_page(page, now, provider, report, send_notifications)
    logger.info("renewal run at %s: %s", now.isoformat(), report.as_dict())
    return report


def _renew_page(
    page: Sequence[Any], now: datetime, provider: PaymentProvider, report: RenewalReport, send_notifications: bool
) -> None:
    report.due += len(page)
    expiring = [row for row in page if row.cancel_at_period_end]
    charging = [row for row in page if not row.cancel_at_period_end]

    # 1. Keys and pending charges, committed before any provider call.
    dues: list[_Due] = []
    with session_scope() as session:
        rates = distribution.commission_rates(session, (row.creator_id for row in charging))
        for row in charging:
            try:
                lines = tax.lookup(row.billing_country, row.billing_region)
                split = distribution.split_charge(
                    row.price_minor,
                    row.currency,
                    lines,
                    inclusive=row.tax_inclusive,
                    commission_rate=rates[row.creator_id],
                )
            except PermanentError as exc:
                report.errors.append(f"subscription {row.id}: {exc}")
                continue
            dues.append(_Due(row, charge_key(row.id, row.current_period_end, row.failed_attempts + 1), split))
        insert_if_absent(
            session, CHARGES, (_pending_charge(due, now, provider.name) for due in dues), ["idempotency_key"]
        )
        state = _charge_state(session, [due.key for due in dues])

    # 2. The provider, outside any database transaction.
    outcomes: dict[str, ChargeOutcome] = {}
    for due in dues:
        _, status = state[due.key]
        if status != ChargeStatus.PENDING:
            continue  # finished by an earlier run whose subscription update is already in
        try:
            outcomes[due.key] = provider.charge(
                amount=due.split.gross,
                currency=due.split.currency,
                token=due.row.payment_token,
                idempotency_key=due.key,
                description=f"subscription {due.row.id}",
            )
        except ProviderUnavailableError as exc:
            report.transient += 1
            logger.warning("charge %s not settled, will retry with the same key: %s", due.key, exc)
        except PaymentProviderError as exc:
            outcomes[due.key] = ChargeOutcome(False, None, f"provider refused: {exc}")

    # 3. Outcomes, ledger and subscriptions in one transaction.
    events: list[notify.PaymentEvent] = []
    with session_scope() as session:
        ids = [state[key][0] for key in outcomes]
        still_pending = _lock_pending(session, ids)
        settled = [due for due in dues if due.key in outcomes and state[due.key][0] in still_pending]
        _record_outcomes(session, settled, outcomes, now, report, events)
        _expire(session, expiring, now, report)

    # 4. Notifications, after the commit (a notification never precedes the money).
    if send_notifications and events:
        report.notified += notify.emit(events)


def _pending_charge(due: _Due, now: datetime, provider_name: str) -> dict[str, Any]:
    row, split = due.row, due.split
    return {
        "idempotency_key": due.key,
        "subscription_id": row.id,
        "user_id": row.user_id,
        "creator_id": row.creator_id,
        "status": ChargeStatus.PENDING,
        "currency": split.currency,
        "gross_amount": split.gross,
        "net_amount": split.net,
        "tax_amount": split.tax,
        "commission_amount": split.commission,
        "creator_amount": split.creator,
        "commission_rate": split.commission_rate,
        "tax_lines": [line.as_json() for line in split.tax_lines],
        "tax_inclusive": row.tax_inclusive,
        "billing_country": row.billing_country,
        "billing_region": row.billing_region,
        "payment_token": row.payment_token,
        "period_end": row.current_period_end,
        "attempt": row.failed_attempts + 1,
        "provider": provider_name,
        "refunded_amount": 0,
        "refunded_tax": 0,
        "refunded_commission": 0,
        "refunded_creator": 0,
        "refunded_tax_lines": {},
        "created_at": now,
    }


def _charge_state(session: Session, keys: list[str]) -> dict[str, tuple[int, str]]:
    state: dict[str, tuple[int, str]] = {}
    for part in chunks(keys):
        for charge_id, key, status in session.execute(
            select(CHARGES.c.id, CHARGES.c.idempotency_key, CHARGES.c.status).where(CHARGES.c.idempotency_key.in_(part))
        ):
            state[key] = (charge_id, status)
    return state


def _lock_pending(session: Session, charge_ids: list[int]) -> set[int]:
    """Lock the charges and keep those still pending: a concurrent run may have recorded some."""
    return lock_keys(session, CHARGES, "id", charge_ids, CHARGES.c.status == ChargeStatus.PENDING)


def _record_outcomes(
    session: Session,
    settled: list[_Due],
    outcomes: dict[str, ChargeOutcome],
    now: datetime,
    report: RenewalReport,
    events: list[notify.PaymentEvent],
) -> None:
    hold = timedelta(days=payments_settings().payout_hold_days)
    schedule = payments_settings().dunning_schedule_days
    postings = []
    charge_rows: list[dict[str, Any]] = []
    sub_rows: list[dict[str, Any]] = []
    for due in settled:
        outcome, row = outcomes[due.key], due.row
        amount_data = {
            "amount_minor": due.split.gross,
            "currency": due.split.currency,
            "description": f"subscription {row.id}",
            "subscription_id": row.id,
        }
        if outcome.succeeded:
            postings.append(distribution.charge_posting(due.key, row.creator_id, due.split))
            charge_rows.append(
                {
                    "idempotency_key": due.key,
                    "status": ChargeStatus.SUCCEEDED,
                    "provider_reference": outcome.reference,
                    "failure_reason": None,
                    "settled_at": now,
                    "available_at": now + hold,
                }
            )
            paid = row.periods_paid + 1
            sub_rows.append(
                {
                    "id": row.id,
                    "status": SubscriptionStatus.ACTIVE,
                    "periods_paid": paid,
                    "current_period_start": period_end(row.anchor_at, paid - 1, row.interval),
                    "current_period_end": period_end(row.anchor_at, paid, row.interval),
                    "next_attempt_at": period_end(row.anchor_at, paid, row.interval),
                    "failed_attempts": 0,
                    "canceled_at": None,
                    "ended_at": None,
                    "updated_at": now,
                }
            )
            report.succeeded += 1
            events.append(notify.PaymentEvent(notify.PAYMENT_SUCCESS, row.user_id, due.key, amount_data))
            continue
        failed = row.failed_attempts + 1
        canceled = failed > len(schedule)
        charge_rows.append(
            {
                "idempotency_key": due.key,
                "status": ChargeStatus.DECLINED,
                "provider_reference": outcome.reference,
                "failure_reason": outcome.failure_reason,
                "settled_at": now,
                "available_at": None,
            }
        )
        sub_rows.append(
            {
                "id": row.id,
                "status": (SubscriptionStatus.CANCELED if canceled else SubscriptionStatus.PAST_DUE).value,
                "periods_paid": row.periods_paid,
                "current_period_start": row.current_period_start,
                "current_period_end": row.current_period_end,
                "next_attempt_at": None if canceled else row.current_period_end + timedelta(days=schedule[failed - 1]),
                "failed_attempts": failed,
                "canceled_at": now if canceled else None,
                "ended_at": now if canceled else None,
                "updated_at": now,
            }
        )
        report.declined += 1
        report.canceled += int(canceled)
        data = {**amount_data, "reason": outcome.failure_reason or "declined", "attempt": failed, "canceled": canceled}
        events.append(notify.PaymentEvent(notify.PAYMENT_FAILED, row.user_id, due.key, data))

    ledger.post_many(session, postings)
    update_by_key(session, CHARGES, "idempotency_key", charge_rows)
    update_by_key(session, SUBSCRIPTIONS, "id", sub_rows)


def _expire(session: Session, rows: Sequence[Any], now: datetime, report: RenewalReport) -> None:
    """Subscriptions canceled at period end stop here, uncharged."""
    for part in chunks([row.id for row in rows]):
        session.execute(
            update(SUBSCRIPTIONS)
            .where(SUBSCRIPTIONS.c.id.in_(part), SUBSCRIPTIONS.c.status.in_(DUE_STATUSES))
            .values(
                status=SubscriptionStatus.EXPIRED,
                ended_at=SUBSCRIPTIONS.c.current_period_end,
                next_attempt_at=None,
                updated_at=now,
            )
        )
    report.expired += len(rows)


def cancel_subscription(session: Session, subscription_id: int, *, at_period_end: bool = True) -> Subscription:
    """Stop renewing: at the end of the paid period (expired then), or at once (canceled)."""
    subscription = session.get(Subscription, subscription_id, with_for_update=True)
    if subscription is None:
        raise PermanentError(f"subscription {subscription_id} does not exist")
    if at_period_end:
        subscription.cancel_at_period_end = True
    else:
        now = utcnow()
        subscription.status = SubscriptionStatus.CANCELED
        subscription.canceled_at = subscription.ended_at = now
        subscription.next_attempt_at = None
    return subscription


def raise_if_transient(report: RenewalReport) -> None:
    """Make the job retry (same keys) when some charges could not be settled this time."""
    if report.transient:
        raise RetryableError(f"{report.transient} charges hit a transient provider fault; retrying with the same keys")
