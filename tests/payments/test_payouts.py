"""Weekly payouts: one transfer per (creator, week) whatever runs twice, crashes or fails."""

from __future__ import annotations

import multiprocessing
import os
import threading

import pytest
from sqlalchemy import select

from jobs.payments import ledger, payouts
from jobs.payments.ledger_check import check_ledger
from jobs.payments.models import AccountKind, Payout
from odyssey_workers.db.session import dispose_engines, session_scope
from odyssey_workers.providers.payments.sandbox import SandboxProvider
from tests.payments.conftest import WEEK, ledger_snapshot, make_creator


def fund(creator_id: int, amount: int, key: str | None = None) -> None:
    available = ledger.creator_account(creator_id, AccountKind.CREATOR_AVAILABLE, "USD")
    posting = ledger.Posting(
        key or f"fund:{creator_id}:{amount}", "test", ((ledger.processor_clearing("USD"), -amount), (available, amount))
    )
    with session_scope() as session:
        ledger.post(session, posting)


def available(creator_id: int, kind: AccountKind = AccountKind.CREATOR_AVAILABLE) -> int:
    with session_scope() as session:
        return ledger.balance(session, ledger.creator_account(creator_id, kind, "USD"))


def assert_ledger_clean() -> None:
    with session_scope() as session:
        report = check_ledger(session)
    assert report.ok, report.problems


def new_creator(**kwargs) -> int:  # type: ignore[no-untyped-def]
    with session_scope() as session:
        return make_creator(session, **kwargs).id


def test_eligible_creators_are_paid_and_the_others_skipped_with_a_reason(database_url, sandbox):
    paid, held, unverified, small = new_creator(), new_creator(on_hold=True), new_creator(verified=False), new_creator()
    for creator_id in (paid, held, unverified):
        fund(creator_id, 5000)
    fund(small, 999)  # minimum is 1000
    result = payouts.run_weekly_payouts(WEEK, fan_out=False, provider=sandbox)
    assert result["eligible"] == 1 and result["on_hold"] == [held]
    assert (result["no_verified_method"], result["below_minimum"]) == (1, 1)
    assert [(r["amount"], r["idempotency_key"]) for r in sandbox.records("transfer")] == [
        (5000, f"payout:{paid}:{WEEK}")
    ]
    assert available(paid) == 0 and available(held) == 5000
    assert_ledger_clean()


def test_a_payout_to_a_creator_without_a_verified_method_is_refused_and_changes_nothing(database_url, sandbox):
    creator_id = new_creator(verified=False)
    fund(creator_id, 5000)
    before = ledger_snapshot()
    with pytest.raises(payouts.PayoutRefusedError, match="no verified payout method"):
        payouts.pay_creator(creator_id, WEEK, provider=sandbox)
    assert ledger_snapshot() == before
    assert sandbox.requests() == []


def test_a_refused_transfer_is_reversed_back_to_available(database_url, sandbox):
    creator_id = new_creator(destination="acct_fail_closed")
    fund(creator_id, 2500)
    report = payouts.pay_creators(WEEK, [creator_id], provider=sandbox)
    assert report.failed == [creator_id]
    assert available(creator_id) == 2500 and available(creator_id, AccountKind.CREATOR_IN_TRANSIT) == 0
    with session_scope() as session:
        assert session.scalars(select(Payout.status)).one() == "failed"
    assert_ledger_clean()


def test_one_creators_failure_never_stops_the_others(database_url, sandbox):
    ids = [
        new_creator(),
        new_creator(destination="acct_transient"),
        new_creator(destination="acct_fail"),
        new_creator(),
    ]
    for creator_id in ids:
        fund(creator_id, 3000)
    with pytest.raises(Exception, match="transient fault"):
        payouts.pay_creators(WEEK, ids, provider=sandbox)
    with session_scope() as session:
        statuses = {c: s for c, s in session.execute(select(Payout.creator_id, Payout.status))}
    assert statuses == {ids[0]: "paid", ids[1]: "in_transit", ids[2]: "failed", ids[3]: "paid"}
    assert_ledger_clean()


def test_a_transient_fault_is_retried_with_the_same_key_and_pays_once(database_url, sandbox):
    creator_id = new_creator(destination="acct_flaky")
    fund(creator_id, 4000)
    with pytest.raises(Exception, match="transient fault"):
        payouts.pay_creators(WEEK, [creator_id], provider=sandbox)
    report = payouts.pay_creators(WEEK, [creator_id], provider=sandbox)
    assert report.paid == [creator_id]
    keys = [r["idempotency_key"] for r in sandbox.requests()]
    assert keys == [f"payout:{creator_id}:{WEEK}"] * 2
    assert len(sandbox.records("transfer")) == 1
    assert_ledger_clean()


def test_the_same_payout_job_run_twice_at_once_and_again_after_makes_one_transfer(database_url, tmp_path):
    creator_id = new_creator()
    fund(creator_id, 6000)
    provider = SandboxProvider(tmp_path / "sbx", latency_ms=200)  # both runs are inside the provider together
    errors: list[Exception] = []

    def run() -> None:
        try:
            payouts.pay_creators(WEEK, [creator_id], provider=provider)
        except Exception as exc:  # noqa: BLE001 - collected and asserted in the test thread
            errors.append(exc)

    threads = [threading.Thread(target=run) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    payouts.pay_creators(WEEK, [creator_id], provider=provider)  # and once more after it finished
    assert not errors
    assert len(provider.records("transfer")) == 1
    assert {r["idempotency_key"] for r in provider.requests()} == {f"payout:{creator_id}:{WEEK}"}
    assert available(creator_id) == 0
    with session_scope() as session:
        assert session.scalars(select(Payout.status)).all() == ["paid"]
    assert_ledger_clean()


class CrashAfterTransfer(SandboxProvider):
    """The real sandbox transfer happens, then the process dies before the database commit."""

    def transfer(self, **kwargs):  # type: ignore[no-untyped-def, override]
        super().transfer(**kwargs)
        os._exit(9)


def _crashing_run(root: str, creator_id: int) -> None:
    dispose_engines()  # the child opens its own connections
    payouts.pay_creators(WEEK, [creator_id], provider=CrashAfterTransfer(root_path(root)))


def root_path(root: str):  # type: ignore[no-untyped-def]
    from pathlib import Path

    return Path(root)


def test_a_crash_between_the_provider_call_and_the_commit_is_repaired_with_the_same_key(database_url, tmp_path):
    creator_id = new_creator()
    fund(creator_id, 7000)
    root = tmp_path / "sbx"
    child = multiprocessing.get_context("fork").Process(target=_crashing_run, args=(str(root), creator_id))
    child.start()
    child.join(60)
    assert child.exitcode == 9
    provider = SandboxProvider(root)
    assert len(provider.records("transfer")) == 1  # the money left, the ledger did not record it
    with session_scope() as session:
        assert session.scalars(select(Payout.status)).one() == "in_transit"
    report = payouts.pay_creators(WEEK, [creator_id], provider=provider)  # the retry
    assert report.paid == [creator_id]
    transfers = provider.records("transfer")
    assert (
        len(transfers) == 1
        and [r["idempotency_key"] for r in provider.requests()] == [f"payout:{creator_id}:{WEEK}"] * 2
    )
    with session_scope() as session:
        payout = session.scalars(select(Payout)).one()
        assert (payout.status, payout.amount, payout.provider_reference) == ("paid", 7000, transfers[0]["reference"])
    assert_ledger_clean()


def test_debt_is_netted_from_the_next_payout(database_url, sandbox):
    creator_id = new_creator()
    fund(creator_id, 5000)
    debt = ledger.creator_account(creator_id, AccountKind.CREATOR_DEBT, "USD")
    owed = ledger.Posting("owed", "test", ((debt, -1200), (ledger.processor_clearing("USD"), 1200)))
    with session_scope() as session:
        ledger.post(session, owed)
    payouts.pay_creators(WEEK, [creator_id], provider=sandbox)
    assert sandbox.records("transfer")[0]["amount"] == 3800
    assert available(creator_id, AccountKind.CREATOR_DEBT) == 0
    with session_scope() as session:
        assert session.scalars(select(Payout.debt_netted)).one() == 1200
    assert_ledger_clean()


def test_a_bad_week_is_refused(database_url, sandbox):
    with pytest.raises(Exception, match="not an ISO week"):
        payouts.pay_creators("2026-48", [1], provider=sandbox)
