"""Who is paid in a payout week, read-only: what ``payments payouts --week`` prints and what the
weekly payout run starts from. Plain queries over the payments models, no job code.

A creator is eligible when, in their payout currency, the available balance less any debt (which
is netted first) is at least the minimum, their payout method is verified and they are not on
hold. Everyone else with money available is listed with the reason they are skipped.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass

from sqlalchemy import and_, func, select
from sqlalchemy.orm import Session, aliased

from jobs.payments.models import AccountKind, CreatorPaymentProfile, LedgerAccount, Payout
from jobs.payments.settings import PaymentsSettings, payments_settings
from odyssey_workers.db.models.core import Creator

ELIGIBLE = "eligible"
ON_HOLD = "on_hold"
NO_METHOD = "no_verified_method"
BELOW_MINIMUM = "below_minimum"


def minimum_payout(currency: str, settings: PaymentsSettings | None = None) -> int:
    """The smallest payout in ``currency``, in minor units (``PAYOUT_MINIMUMS`` or ``PAYOUT_MINIMUM_MINOR``)."""
    settings = settings or payments_settings()
    return settings.payout_minimums.get(currency, settings.payout_minimum_minor)


@dataclass(frozen=True)
class Candidate:
    creator_id: int
    handle: str
    currency: str
    available: int
    debt: int
    destination: str | None
    status: str  # ELIGIBLE, ON_HOLD, NO_METHOD, BELOW_MINIMUM

    @property
    def amount(self) -> int:
        """What a payout would send: available less the debt netted from it."""
        return self.available - min(self.debt, self.available)


def scan_candidates(session: Session, *, after_creator_id: int = 0, limit: int = 1000) -> list[Candidate]:
    """One page (keyset by creator id) of creators with money available in any currency."""
    available = aliased(LedgerAccount)
    debt = aliased(LedgerAccount)
    rows = session.execute(
        select(
            available.creator_id,
            available.currency,
            available.balance,
            Creator.handle,
            Creator.on_hold,
            CreatorPaymentProfile.payout_verified,
            CreatorPaymentProfile.payout_destination,
            CreatorPaymentProfile.payout_currency,
            debt.balance.label("debt"),
        )
        .join(Creator, Creator.id == available.creator_id)
        .outerjoin(CreatorPaymentProfile, CreatorPaymentProfile.creator_id == available.creator_id)
        .outerjoin(
            debt,
            and_(
                debt.creator_id == available.creator_id,
                debt.kind == AccountKind.CREATOR_DEBT.value,
                debt.currency == available.currency,
            ),
        )
        .where(
            available.kind == AccountKind.CREATOR_AVAILABLE.value,
            available.balance > 0,
            available.creator_id > after_creator_id,
            # only the payout currency is paid out; one row per creator keeps the keyset exact
            available.currency == func.coalesce(CreatorPaymentProfile.payout_currency, available.currency),
        )
        .order_by(available.creator_id, available.currency)
        .limit(limit)
    ).all()
    out = []
    for row in rows:
        debt_amount = row.debt or 0
        amount = row.balance - min(debt_amount, row.balance)
        if row.on_hold:
            status = ON_HOLD
        elif not (row.payout_verified and row.payout_destination):
            status = NO_METHOD
        elif amount < minimum_payout(row.currency):
            status = BELOW_MINIMUM
        else:
            status = ELIGIBLE
        out.append(
            Candidate(
                row.creator_id, row.handle, row.currency, row.balance, debt_amount, row.payout_destination, status
            )
        )
    return out


def iter_candidates(session: Session, page_size: int = 1000) -> Iterator[Candidate]:
    """Every creator with money available, page by page (memory stays flat)."""
    after = 0
    while True:
        page = scan_candidates(session, after_creator_id=after, limit=page_size)
        if not page:
            return
        yield from page
        after = page[-1].creator_id


@dataclass(frozen=True)
class WeekLine:
    creator_id: int
    handle: str
    currency: str
    amount: int
    status: str  # a payout status (paid, in_transit, failed) or a Candidate status
    detail: str = ""


def week_lines(session: Session, week: str) -> list[WeekLine]:
    """What was paid in ``week`` and, for everyone not paid yet, what would be paid now."""
    lines: list[WeekLine] = []
    paid: set[int] = set()
    for payout, handle in session.execute(
        select(Payout, Creator.handle).join(Creator, Creator.id == Payout.creator_id).where(Payout.week == week)
    ).all():
        paid.add(payout.creator_id)
        detail = payout.failure_reason or (f"debt netted {payout.debt_netted}" if payout.debt_netted else "")
        lines.append(WeekLine(payout.creator_id, handle, payout.currency, payout.amount, payout.status, detail))
    for candidate in iter_candidates(session):
        if candidate.creator_id in paid:
            continue
        status = "would_pay" if candidate.status == ELIGIBLE else candidate.status
        detail = f"debt {candidate.debt} netted first" if candidate.debt and candidate.status == ELIGIBLE else ""
        lines.append(
            WeekLine(candidate.creator_id, candidate.handle, candidate.currency, candidate.amount, status, detail)
        )
    return sorted(lines, key=lambda line: (line.creator_id, line.currency))
