"""The ledger: balanced, append-only, idempotent, never below zero, serialized under concurrency."""

from __future__ import annotations

import threading

import pytest
from sqlalchemy import update

from jobs.payments import ledger
from jobs.payments.currencies import UnknownCurrencyError
from jobs.payments.ledger_check import check_ledger
from jobs.payments.models import AccountKind, LedgerAccount
from jobs.payments.money import AmountError
from odyssey_workers.db.session import session_scope
from tests.payments.conftest import ledger_snapshot, make_creator


def _fund(creator_id: int, amount: int, key: str, currency: str = "USD") -> ledger.Posting:
    available = ledger.creator_account(creator_id, AccountKind.CREATOR_AVAILABLE, currency)
    return ledger.Posting(key, "test", ((ledger.processor_clearing(currency), -amount), (available, amount)))


@pytest.fixture
def creator_id(database_url) -> int:
    with session_scope() as session:
        return make_creator(session).id


def test_a_posting_moves_money_and_balances_follow_the_entries(creator_id):
    with session_scope() as session:
        ledger.post(session, _fund(creator_id, 1500, "fund-1"))
    with session_scope() as session:
        available = ledger.creator_account(creator_id, AccountKind.CREATOR_AVAILABLE, "USD")
        assert ledger.balance(session, available) == 1500
        assert ledger.balance(session, ledger.processor_clearing("USD")) == 1500  # debit-normal: holds it
        report = check_ledger(session)
    assert report.ok and report.totals == {"USD": 0}


def test_posting_the_same_key_twice_returns_the_first_transaction(creator_id):
    with session_scope() as session:
        first = ledger.post(session, _fund(creator_id, 700, "same-key"))
    before = ledger_snapshot()
    with session_scope() as session:
        assert ledger.post(session, _fund(creator_id, 700, "same-key")) == first
    assert ledger_snapshot() == before


def test_the_same_key_with_other_amounts_is_an_error_and_changes_nothing(creator_id):
    with session_scope() as session:
        ledger.post(session, _fund(creator_id, 700, "k"))
    before = ledger_snapshot()
    with (
        pytest.raises(ledger.IdempotencyConflictError, match="already posted with different amounts"),
        session_scope() as session,
    ):
        ledger.post(session, _fund(creator_id, 701, "k"))
    assert ledger_snapshot() == before


@pytest.mark.parametrize(
    ("entries", "error", "message"),
    [
        ((("XYZ", -5), ("XYZ", 5)), UnknownCurrencyError, "unknown currency 'XYZ'"),
        ((("USD", -5), ("USD", 4)), ledger.LedgerError, r"does not balance: USD -1"),
        ((("USD", 0), ("USD", 0)), AmountError, "zero amount"),
        ((("USD", -5.0), ("USD", 5.0)), AmountError, "must be an integer"),
        ((("USD", -5),), ledger.LedgerError, "at least two entries"),
    ],
)
def test_a_malformed_posting_is_refused_before_anything_is_written(creator_id, entries, error, message):
    accounts = [
        ledger.processor_clearing,
        lambda c: ledger.creator_account(creator_id, AccountKind.CREATOR_AVAILABLE, c),
    ]
    posting = ledger.Posting("bad", "test", tuple((accounts[i](cur), amt) for i, (cur, amt) in enumerate(entries)))
    before = ledger_snapshot()
    with pytest.raises(error, match=message), session_scope() as session:
        ledger.post(session, posting)
    assert ledger_snapshot() == before


def test_a_negative_amount_taken_below_zero_is_refused_and_changes_nothing(creator_id):
    with session_scope() as session:
        ledger.post(session, _fund(creator_id, 100, "fund"))
    before = ledger_snapshot()
    with (
        pytest.raises(ledger.InsufficientFundsError, match=r"creator:\d+:available:USD holds 100"),
        session_scope() as session,
    ):
        ledger.post(session, _fund(creator_id, -101, "overdraw"))
    assert ledger_snapshot() == before


def test_the_check_reports_a_tampered_cached_balance(creator_id):
    with session_scope() as session:
        ledger.post(session, _fund(creator_id, 100, "fund"))
        session.execute(update(LedgerAccount).where(LedgerAccount.kind == "creator_available").values(balance=99))
    with session_scope() as session:
        report = check_ledger(session)
    assert not report.ok
    assert any("cached balance 99 but entries give 100" in line for line in report.problems)


def test_concurrent_postings_on_the_same_accounts_serialize_without_losing_any(creator_id):
    """Eight threads, each with its own connection, move money in and out of one creator's
    accounts; row locks (PostgreSQL) or BEGIN IMMEDIATE (SQLite) must keep every update."""
    with session_scope() as session:
        ledger.post(session, _fund(creator_id, 10_000, "seed"))
    available = ledger.creator_account(creator_id, AccountKind.CREATOR_AVAILABLE, "USD")
    in_transit = ledger.creator_account(creator_id, AccountKind.CREATOR_IN_TRANSIT, "USD")
    errors: list[Exception] = []

    def worker(n: int) -> None:
        try:
            for i in range(15):
                with session_scope() as session:
                    ledger.post(session, _fund(creator_id, 10, f"in-{n}-{i}"))
                with session_scope() as session:
                    entries = ((available, -7), (in_transit, 7))
                    ledger.post(session, ledger.Posting(f"move-{n}-{i}", "test", entries))
        except Exception as exc:  # noqa: BLE001 - collected and asserted in the test thread
            errors.append(exc)

    threads = [threading.Thread(target=worker, args=(n,)) for n in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert not errors
    with session_scope() as session:
        assert ledger.balance(session, available) == 10_000 + 8 * 15 * (10 - 7)
        assert ledger.balance(session, in_transit) == 8 * 15 * 7
        report = check_ledger(session)
    assert report.ok, report.problems
    assert report.transactions == 1 + 8 * 15 * 2


def test_the_check_flags_a_charge_whose_provider_outcome_is_unknown_for_a_day(database_url, sandbox):
    from datetime import timedelta

    from jobs.payments import subscriptions
    from odyssey_workers.db.base import utcnow
    from tests.payments.conftest import make_user

    with session_scope() as session:
        creator = make_creator(session)
        plan = subscriptions.create_plan(
            session,
            creator_id=creator.id,
            name="p",
            interval="month",
            price_minor=1000,
            currency="USD",
            tax_inclusive=True,
        )
        subscriptions.start_subscription(
            session,
            user_id=make_user(session).id,
            plan_id=plan.id,
            payment_token="tok_transient",
            billing_country="US",
            billing_region="NY",
        )
    assert subscriptions.renew_due_subscriptions(provider=sandbox, send_notifications=False).transient == 1
    with session_scope() as session:
        assert check_ledger(session).ok  # pending for a moment is normal
        later = check_ledger(session, now=utcnow() + timedelta(days=2))
    assert not later.ok
    assert any("pending since" in line and "provider outcome unknown" in line for line in later.problems)
