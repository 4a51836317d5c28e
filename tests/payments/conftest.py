"""Payments test helpers: creators, fans, plans and funded balances on the real test database."""

from __future__ import annotations

import itertools
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import pytest
from sqlalchemy import func, select

from jobs.payments.models import CreatorPaymentProfile, LedgerAccount, LedgerEntry, LedgerTransaction
from odyssey_workers.db.models.core import Creator, User
from odyssey_workers.db.session import session_scope
from odyssey_workers.providers.payments.sandbox import SandboxProvider

NOW = datetime(2026, 11, 2, 9, 0, tzinfo=UTC)  # a Monday; ISO week 2026-W45
WEEK = "2026-W45"
_counter = itertools.count(1)


def make_user(session) -> User:  # type: ignore[no-untyped-def]
    n = next(_counter)
    user = User(email=f"fan{n}-{id(session)}@example.com", display_name=f"fan {n}")
    session.add(user)
    session.flush()
    return user


def make_creator(  # type: ignore[no-untyped-def]
    session,
    *,
    verified: bool = True,
    destination: str | None = "acct_ok",
    currency: str = "USD",
    commission=None,
    on_hold: bool = False,
    profile: bool = True,
) -> Creator:
    user = make_user(session)
    creator = Creator(user_id=user.id, handle=f"creator{user.id}", on_hold=on_hold)
    session.add(creator)
    session.flush()
    if profile:
        session.add(
            CreatorPaymentProfile(
                creator_id=creator.id,
                commission_rate=commission,
                payout_destination=destination,
                payout_currency=currency,
                payout_verified=verified,
            )
        )
        session.flush()
    return creator


def ledger_snapshot() -> tuple[int, int, list[tuple[str, int]]]:
    """Transactions, entries and every cached balance: equal before and after means nothing was written."""
    with session_scope() as session:
        transactions = session.scalar(select(func.count()).select_from(LedgerTransaction)) or 0
        entries = session.scalar(select(func.count()).select_from(LedgerEntry)) or 0
        balances = [tuple(row) for row in session.execute(select(LedgerAccount.code, LedgerAccount.balance))]
    return transactions, entries, sorted(balances)  # type: ignore[arg-type]


@pytest.fixture
def sandbox(tmp_path: Path) -> Iterator[SandboxProvider]:
    yield SandboxProvider(tmp_path / "sandbox")
