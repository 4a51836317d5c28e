"""Refunds, full or partial: the charge's split reversed in proportion, in one ledger transaction.

The reversal is apportioned over what is *left* of each part of the charge (each tax line,
commission, creator share) with ``distribution.apportion``, so refunds never reverse more of a part
than it had, and refunding the whole remainder reverses every part exactly.

The creator's part comes back from pending while the charge is still on hold; after release it
comes from available, and what available cannot cover becomes creator debt, which the next
payout nets first. Refunded money waits on ``refunds_payable`` until the provider confirms the
refund, then leaves processor clearing.

Steps (each idempotent under the refund's key, so a retry or a crash repeats nothing):
1. lock the charge, check the amount (> 0, <= charge - earlier refunds), post the reversal and
   create the refund row as pending; commit;
2. call the provider's refund with the key;
3. settle: refunds payable -> processor clearing, refund succeeded (or failed, left payable).
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from jobs.payments import ledger
from jobs.payments.distribution import apportion
from jobs.payments.models import AccountKind, Charge, ChargeStatus, Refund, RefundStatus
from jobs.payments.money import require_minor_units
from jobs.payments.provider import get_payment_provider
from odyssey_workers.db.base import utcnow
from odyssey_workers.db.session import session_scope
from odyssey_workers.errors import PermanentError
from odyssey_workers.providers.payments import PaymentProvider
from odyssey_workers.providers.payments.base import PaymentProviderError, RefundOutcome

logger = logging.getLogger(__name__)


class RefundError(PermanentError):
    """A refund cannot be made as asked (unknown or unpaid charge, amount too large, key reused)."""


@dataclass(frozen=True)
class RefundResult:
    refund_id: int
    status: str
    amount: int
    tax: int
    commission: int
    creator: int
    to_debt: int

    def as_dict(self) -> dict[str, Any]:
        return dict(self.__dict__)


def refund_charge(
    charge_id: int,
    amount: int | None = None,
    *,
    idempotency_key: str | None = None,
    reason: str = "",
    provider: PaymentProvider | None = None,
) -> RefundResult:
    """Refund ``amount`` minor units of a charge (all that is left when None). See the module doc."""
    if amount is not None:
        require_minor_units(amount, "refund amount")
    if amount is not None and idempotency_key is None:
        raise RefundError("a partial refund needs an idempotency key (the refund request's id)")
    key = idempotency_key or f"charge:{charge_id}:full"
    if len(key) > 150:
        raise RefundError("refund idempotency key is longer than 150 characters")
    refund_key = f"refund:{key}"
    with session_scope() as session:
        refund = _record(session, charge_id, amount, refund_key, reason)
        if refund.status != "pending":
            return _result(refund)
        charge = session.get(Charge, charge_id)
        assert charge is not None
        reference, refund_id = charge.provider_reference, refund.id
    provider = provider or get_payment_provider()
    try:
        outcome = provider.refund(
            charge_reference=reference or "",
            amount=refund.amount,
            currency=refund.currency,
            idempotency_key=refund_key,
        )
    except PaymentProviderError as exc:
        outcome = RefundOutcome(False, None, f"provider refused: {exc}")
    with session_scope() as session:
        return _settle(session, refund_id, outcome)


def _record(session: Session, charge_id: int, amount: int | None, key: str, reason: str) -> Refund:
    charge = session.get(Charge, charge_id, with_for_update=True)
    if charge is None:
        raise RefundError(f"charge {charge_id} does not exist")
    existing = session.scalars(select(Refund).where(Refund.idempotency_key == key)).first()
    if existing is not None:
        if existing.charge_id != charge_id or (amount is not None and existing.amount != amount):
            raise ledger.IdempotencyConflictError(
                f"refund key {key!r} was used for {existing.amount} on charge {existing.charge_id}; "
                f"refusing {amount} on charge {charge_id}"
            )
        return existing
    if charge.status != ChargeStatus.SUCCEEDED:
        raise RefundError(f"charge {charge_id} is {charge.status}; only a succeeded charge can be refunded")
    remaining = charge.gross_amount - charge.refunded_amount
    amount = remaining if amount is None else amount
    if amount <= 0 or amount > remaining:
        raise RefundError(
            f"refund of {amount} on charge {charge_id} exceeds what is left to refund: {remaining} "
            f"(charged {charge.gross_amount}, refunded {charge.refunded_amount})"
        )
    refunded_lines = dict(charge.refunded_tax_lines or {})
    jurisdictions = sorted({line["jurisdiction"] for line in charge.tax_lines})
    tax_left = [
        sum(line["amount"] for line in charge.tax_lines if line["jurisdiction"] == j) - refunded_lines.get(j, 0)
        for j in jurisdictions
    ]
    parts = apportion(
        amount,
        [
            *tax_left,
            charge.commission_amount - charge.refunded_commission,
            charge.creator_amount - charge.refunded_creator,
        ],
    )
    tax_parts = dict(zip(jurisdictions, parts[: len(jurisdictions)], strict=True))
    commission, creator = parts[-2], parts[-1]

    currency, creator_id = charge.currency, charge.creator_id
    pending = ledger.creator_account(creator_id, AccountKind.CREATOR_PENDING, currency)
    available = ledger.creator_account(creator_id, AccountKind.CREATOR_AVAILABLE, currency)
    debt = ledger.creator_account(creator_id, AccountKind.CREATOR_DEBT, currency)
    from_pending = from_available = to_debt = 0
    if charge.released_at is None:
        from_pending = creator  # the share is still on hold: take it back from there
    else:
        have = ledger.lock_accounts(session, [available])[available.code].balance
        from_available = min(have, creator)
        to_debt = creator - from_available
    entries: list[tuple[ledger.Account, int]] = [(ledger.refunds_payable(currency), amount)]
    entries += [(ledger.tax_liability(j, currency), -a) for j, a in tax_parts.items() if a]
    if commission:
        entries.append((ledger.platform_revenue(currency), -commission))
    if from_pending:
        entries.append((pending, -from_pending))
    if from_available:
        entries.append((available, -from_available))
    if to_debt:
        entries.append((debt, -to_debt))  # a debit: the creator now owes this
    ledger.post(session, ledger.Posting(key, "refund", tuple(entries), memo=f"refund of charge {charge_id}"))

    for jurisdiction, part in tax_parts.items():
        refunded_lines[jurisdiction] = refunded_lines.get(jurisdiction, 0) + part
    charge.refunded_amount += amount
    charge.refunded_tax += sum(tax_parts.values())
    charge.refunded_commission += commission
    charge.refunded_creator += creator
    charge.refunded_tax_lines = refunded_lines
    refund = Refund(
        idempotency_key=key,
        charge_id=charge_id,
        status=RefundStatus.PENDING,
        currency=currency,
        amount=amount,
        tax_amount=sum(tax_parts.values()),
        commission_amount=commission,
        creator_amount=creator,
        from_pending=from_pending,
        from_available=from_available,
        to_debt=to_debt,
        tax_lines=tax_parts,
        reason=reason[:200],
    )
    session.add(refund)
    session.flush()
    logger.info("refund %s: %d %s on charge %d (debt %d)", key, amount, currency, charge_id, to_debt)
    return refund


def _settle(session: Session, refund_id: int, outcome: RefundOutcome) -> RefundResult:
    refund = session.get(Refund, refund_id, with_for_update=True)
    assert refund is not None
    if refund.status != "pending":
        return _result(refund)
    refund.provider_reference = outcome.reference
    refund.settled_at = utcnow()
    if outcome.succeeded:
        payable, clearing = ledger.refunds_payable(refund.currency), ledger.processor_clearing(refund.currency)
        entries = ((payable, -refund.amount), (clearing, refund.amount))
        ledger.post(session, ledger.Posting(f"{refund.idempotency_key}:settle", "refund_settle", entries))
        refund.status = RefundStatus.SUCCEEDED
    else:
        # The reversal stands and the money waits on refunds payable for a person to resolve.
        refund.status = RefundStatus.FAILED
        refund.failure_reason = outcome.failure_reason
        logger.error("refund %s refused by the provider: %s", refund.idempotency_key, outcome.failure_reason)
    return _result(refund)


def _result(refund: Refund) -> RefundResult:
    return RefundResult(
        refund.id,
        refund.status,
        refund.amount,
        refund.tax_amount,
        refund.commission_amount,
        refund.creator_amount,
        refund.to_debt,
    )
