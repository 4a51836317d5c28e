"""The double-entry ledger: accounts, and transactions posted once per idempotency key.

Sign convention: an entry's ``amount`` is positive for a credit and negative for a debit, and
every transaction's entries sum to zero in each currency. An account's balance is
``normal_side x sum(amounts)``: credit-normal accounts (what the platform owes: creator
balances, tax, revenue, refunds payable) grow with credits; debit-normal accounts (what it
holds or is owed: processor clearing, creator debt) grow with debits.

Posting (``post``/``post_many``), inside the caller's database transaction:

1. every posting is checked (integer non-zero amounts, known currencies, zero sum per currency)
   before anything is written;
2. the accounts are created if missing and locked, in code order (``SELECT ... FOR UPDATE`` on
   PostgreSQL; SQLite's ``BEGIN IMMEDIATE`` already serializes writers), so concurrent postings
   on the same accounts serialize and never deadlock;
3. keys already posted are looked up *after* the locks: the same key with the same entries
   returns the first transaction, with other entries it is ``IdempotencyConflictError``;
4. balances that may not go below zero are checked, then transactions, entries and the cached
   balances are written with one statement each (executemany), whatever the batch size.

Any error leaves the ledger as it was: the caller's transaction rolls back.
"""

from __future__ import annotations

import hashlib
import logging
from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from sqlalchemy import bindparam, select, update
from sqlalchemy.orm import Session

from jobs.payments.currencies import check_currency
from jobs.payments.models import AccountKind, LedgerAccount, LedgerEntry, LedgerTransaction
from jobs.payments.money import AmountError
from odyssey_workers.db.base import table_of, utcnow
from odyssey_workers.db.bulk import chunks
from odyssey_workers.db.idempotent import insert_if_absent
from odyssey_workers.errors import PermanentError

logger = logging.getLogger(__name__)

ACCOUNTS = table_of(LedgerAccount)
TRANSACTIONS = table_of(LedgerTransaction)
ENTRIES = table_of(LedgerEntry)

# kind -> (normal side, may not go below zero)
ACCOUNT_RULES: dict[AccountKind, tuple[int, bool]] = {
    AccountKind.CREATOR_PENDING: (1, True),
    AccountKind.CREATOR_AVAILABLE: (1, True),
    AccountKind.CREATOR_IN_TRANSIT: (1, True),
    AccountKind.CREATOR_DEBT: (-1, True),
    AccountKind.PLATFORM_REVENUE: (1, True),
    AccountKind.TAX_LIABILITY: (1, True),
    AccountKind.REFUNDS_PAYABLE: (1, True),
    AccountKind.PROCESSOR_CLEARING: (-1, False),  # the platform may front refunds a creator owes
}


class LedgerError(PermanentError):
    """A posting is malformed: empty, unbalanced, or with a bad amount or currency."""


class IdempotencyConflictError(LedgerError):
    """An idempotency key was posted before with different entries."""


class InsufficientFundsError(LedgerError):
    """A posting would take an account below zero where it may not go."""


@dataclass(frozen=True)
class Account:
    """Which account: kind, currency and owner (creator id or tax jurisdiction)."""

    kind: AccountKind
    currency: str
    creator_id: int | None = None
    jurisdiction: str | None = None

    @property
    def code(self) -> str:
        if self.kind.value.startswith("creator_"):
            return f"creator:{self.creator_id}:{self.kind.value.removeprefix('creator_')}:{self.currency}"
        if self.kind is AccountKind.TAX_LIABILITY:
            return f"tax:{self.jurisdiction}:{self.currency}"
        return f"{self.kind.value.replace('_', ':', 1)}:{self.currency}"

    def row(self) -> dict[str, object]:
        normal_side, non_negative = ACCOUNT_RULES[self.kind]
        return {
            "code": self.code,
            "kind": self.kind.value,
            "creator_id": self.creator_id,
            "jurisdiction": self.jurisdiction,
            "currency": self.currency,
            "normal_side": normal_side,
            "non_negative": non_negative,
            "balance": 0,
            "created_at": utcnow(),
        }


def creator_account(creator_id: int, kind: AccountKind, currency: str) -> Account:
    return Account(kind, currency, creator_id=creator_id)


def platform_revenue(currency: str) -> Account:
    return Account(AccountKind.PLATFORM_REVENUE, currency)


def processor_clearing(currency: str) -> Account:
    return Account(AccountKind.PROCESSOR_CLEARING, currency)


def refunds_payable(currency: str) -> Account:
    return Account(AccountKind.REFUNDS_PAYABLE, currency)


def tax_liability(jurisdiction: str, currency: str) -> Account:
    return Account(AccountKind.TAX_LIABILITY, currency, jurisdiction=jurisdiction)


@dataclass(frozen=True)
class Posting:
    """One transaction to post: its idempotency key, kind and (account, signed amount) entries."""

    key: str
    kind: str
    entries: tuple[tuple[Account, int], ...]
    memo: str = ""

    def fingerprint(self) -> str:
        canonical = "|".join(f"{code}={amount}" for code, amount in sorted(self._merged().items()))
        return hashlib.sha256(canonical.encode()).hexdigest()

    def _merged(self) -> dict[str, int]:
        merged: dict[str, int] = defaultdict(int)
        for account, amount in self.entries:
            merged[account.code] += amount
        return dict(merged)


def validate(posting: Posting) -> None:
    """Every rule a posting must meet before it may touch the database."""
    if not posting.key or len(posting.key) > 200:
        raise LedgerError(f"posting key must be 1-200 characters, got {posting.key!r}")
    if len(posting.entries) < 2:
        raise LedgerError(f"posting {posting.key}: a transaction needs at least two entries")
    sums: dict[str, int] = defaultdict(int)
    for account, amount in posting.entries:
        check_currency(account.currency)
        if isinstance(amount, bool) or not isinstance(amount, int):
            raise AmountError(f"posting {posting.key}: amount on {account.code} must be an integer, got {amount!r}")
        if amount == 0:
            raise AmountError(f"posting {posting.key}: zero amount on {account.code}")
        if account.kind.value.startswith("creator_") and not account.creator_id:
            raise LedgerError(f"posting {posting.key}: creator account without a creator id")
        if account.kind is AccountKind.TAX_LIABILITY and not account.jurisdiction:
            raise LedgerError(f"posting {posting.key}: tax account without a jurisdiction")
        sums[account.currency] += amount
    unbalanced = {currency: total for currency, total in sums.items() if total}
    if unbalanced:
        detail = ", ".join(f"{currency} {total:+d}" for currency, total in sorted(unbalanced.items()))
        raise LedgerError(f"posting {posting.key} does not balance: {detail}")


def lock_accounts(session: Session, accounts: Iterable[Account]) -> dict[str, LockedAccount]:
    """Create missing accounts, then lock them in code order; returns code -> (id, balance, rules)."""
    by_code = {account.code: account for account in accounts}
    codes = sorted(by_code)
    insert_if_absent(session, ACCOUNTS, (by_code[code].row() for code in codes), ["code"])
    locked: dict[str, LockedAccount] = {}
    for part in chunks(codes):
        rows = session.execute(
            select(ACCOUNTS.c.id, ACCOUNTS.c.code, ACCOUNTS.c.balance, ACCOUNTS.c.normal_side, ACCOUNTS.c.non_negative)
            .where(ACCOUNTS.c.code.in_(part))
            .order_by(ACCOUNTS.c.code)
            .with_for_update()
        )
        for row in rows:
            locked[row.code] = LockedAccount(row.id, row.code, row.balance, row.normal_side, row.non_negative)
    return locked


@dataclass
class LockedAccount:
    id: int
    code: str
    balance: int
    normal_side: int
    non_negative: bool


def post(session: Session, posting: Posting) -> int:
    """Post one transaction (see ``post_many``); returns its id."""
    return post_many(session, [posting])[0]


def post_many(session: Session, postings: Sequence[Posting]) -> list[int]:
    """Post every posting in the caller's transaction; returns the transaction id of each, in order."""
    unique: dict[str, Posting] = {}
    for posting in postings:
        validate(posting)
        seen = unique.setdefault(posting.key, posting)
        if seen is not posting and seen.fingerprint() != posting.fingerprint():
            raise IdempotencyConflictError(f"idempotency key {posting.key!r} given twice with different entries")
    if not unique:
        return []
    locked = lock_accounts(session, (account for p in unique.values() for account, _ in p.entries))

    existing: dict[str, tuple[int, str]] = {}
    for part in chunks(sorted(unique)):
        for row in session.execute(
            select(TRANSACTIONS.c.id, TRANSACTIONS.c.idempotency_key, TRANSACTIONS.c.fingerprint).where(
                TRANSACTIONS.c.idempotency_key.in_(part)
            )
        ):
            existing[row.idempotency_key] = (row.id, row.fingerprint)
    for key, (_, fingerprint) in existing.items():
        if fingerprint != unique[key].fingerprint():
            raise IdempotencyConflictError(
                f"idempotency key {key!r} was already posted with different amounts; refusing to post it again"
            )
    new = [p for key, p in unique.items() if key not in existing]

    # Floors are checked posting by posting, in order, so no account dips below zero even
    # between two postings of one batch.
    running = {code: account.balance for code, account in locked.items()}
    for posting in new:
        for code, amount in posting._merged().items():
            running[code] += locked[code].normal_side * amount
        for code in posting._merged():
            account = locked[code]
            if account.non_negative and running[code] < 0:
                taken = account.balance - running[code]
                raise InsufficientFundsError(
                    f"posting {posting.key}: account {code} holds {account.balance}; taking {taken} "
                    "would leave it below zero"
                )
    deltas = {code: running[code] - account.balance for code, account in locked.items()}

    ids = {key: tx_id for key, (tx_id, _) in existing.items()}
    if new:
        now = utcnow()
        # Plain executemany, then the ids by key: one statement each way on every dialect
        # (RETURNING with ordered rows falls back to one statement per row on SQLite).
        session.execute(
            TRANSACTIONS.insert(),
            [
                {
                    "idempotency_key": p.key,
                    "kind": p.kind,
                    "fingerprint": p.fingerprint(),
                    "memo": p.memo,
                    "created_at": now,
                }
                for p in new
            ],
        )
        for part in chunks([p.key for p in new]):
            for tx_id, key in session.execute(
                select(TRANSACTIONS.c.id, TRANSACTIONS.c.idempotency_key).where(
                    TRANSACTIONS.c.idempotency_key.in_(part)
                )
            ):
                ids[key] = tx_id
        session.execute(
            ENTRIES.insert(),
            [
                {
                    "transaction_id": ids[p.key],
                    "account_id": locked[account.code].id,
                    "currency": account.currency,
                    "amount": amount,
                }
                for p in new
                for account, amount in p.entries
            ],
        )
        changed = [{"account_id": locked[code].id, "delta": delta} for code, delta in sorted(deltas.items()) if delta]
        if changed:
            session.execute(
                update(ACCOUNTS)
                .where(ACCOUNTS.c.id == bindparam("account_id"))
                .values(balance=ACCOUNTS.c.balance + bindparam("delta")),
                changed,
            )
        for code, delta in deltas.items():
            locked[code].balance += delta
    return [ids[p.key] for p in postings]


def balances(session: Session, accounts: Iterable[Account]) -> dict[Account, int]:
    """Cached balances (0 for an account that does not exist yet)."""
    wanted = {account.code: account for account in accounts}
    out = dict.fromkeys(wanted.values(), 0)
    for part in chunks(sorted(wanted)):
        for code, balance in session.execute(
            select(ACCOUNTS.c.code, ACCOUNTS.c.balance).where(ACCOUNTS.c.code.in_(part))
        ):
            out[wanted[code]] = balance
    return out


def balance(session: Session, account: Account) -> int:
    return balances(session, [account])[account]
