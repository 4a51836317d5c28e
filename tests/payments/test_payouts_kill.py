"""kill -9 workers again and again while 1,000 payouts run: none lost, none paid twice."""

from __future__ import annotations

import random
import time
from pathlib import Path

import pytest
from sqlalchemy import func, insert, select

from jobs.payments import ledger
from jobs.payments.ledger_check import check_ledger
from jobs.payments.models import AccountKind, CreatorPaymentProfile, Payout
from odyssey_workers.db.models.core import Creator, User
from odyssey_workers.db.session import session_scope
from odyssey_workers.providers.payments.sandbox import SandboxProvider
from odyssey_workers.queues import enqueue
from tests.support.workers import horse_pids, kill_group, start_worker, stop_worker, wait_until

CREATORS = 1000
WEEK = "2026-W48"


def seed_creators(count: int) -> list[int]:
    with session_scope() as session:
        base = (session.scalar(select(func.max(User.id))) or 0) + 1
        ids = list(range(base, base + count))
        session.execute(insert(User), [{"id": i, "email": f"k{i}@example.com", "display_name": f"c{i}"} for i in ids])
        session.execute(insert(Creator), [{"id": i, "user_id": i, "handle": f"kill{i}", "settings": {}} for i in ids])
        session.execute(
            insert(CreatorPaymentProfile),
            [
                {"creator_id": i, "payout_destination": f"acct_{i}", "payout_currency": "USD", "payout_verified": True}
                for i in ids
            ],
        )
        postings = [
            ledger.Posting(
                f"seed:{i}",
                "test",
                (
                    (ledger.processor_clearing("USD"), -(1000 + i)),
                    (ledger.creator_account(i, AccountKind.CREATOR_AVAILABLE, "USD"), 1000 + i),
                ),
            )
            for i in ids
        ]
        ledger.post_many(session, postings)
    return ids


def paid_count() -> int:
    with session_scope() as session:
        return session.scalar(select(func.count()).select_from(Payout).where(Payout.status == "paid")) or 0


@pytest.mark.timeout(300)
def test_kill_9_during_a_thousand_payouts_loses_none_and_pays_none_twice(database_url, env, redis_conn, tmp_path):
    sandbox_dir = tmp_path / "sandbox"
    env.update(
        PAYMENT_SANDBOX_DIR=str(sandbox_dir),
        PAYMENT_SANDBOX_LATENCY_MS="15",
        PAYOUT_CHUNK_SIZE="25",
        PAYMENT_NOTIFICATIONS="false",
    )
    ids = seed_creators(CREATORS)
    logs = tmp_path / "workers.log"
    steady = start_worker(env, log=logs)  # started first: it holds the scheduler that fires delayed retries
    time.sleep(2)
    victims = [start_worker(env, log=logs) for _ in range(2)]
    enqueue("payments.run_weekly_payouts", week=WEEK)
    rng = random.Random(48)
    kills = 0
    try:
        deadline = time.monotonic() + 12
        while time.monotonic() < deadline and paid_count() < CREATORS:
            time.sleep(rng.uniform(0.8, 1.6))
            index = rng.randrange(len(victims) + 1)
            if index == len(victims):
                for pid in horse_pids(steady):  # a lost work horse, its worker survives
                    Path(f"/proc/{pid}").exists() and __import__("os").kill(pid, 9)
            else:
                kill_group(victims[index])
                victims[index] = start_worker(env, log=logs)
            kills += 1
        started = time.monotonic()
        wait_until(lambda: paid_count() == CREATORS, timeout=180, interval=1)
        print(f"kills={kills}, recovered in {time.monotonic() - started:.1f}s after the kill phase")
    finally:
        for process in (steady, *victims):
            stop_worker(process, timeout=10)
    assert kills >= 5

    provider = SandboxProvider(sandbox_dir)
    transfers = provider.records("transfer")
    keys = [t["idempotency_key"] for t in transfers]
    assert len(keys) == CREATORS and len(set(keys)) == CREATORS  # exactly 1,000 distinct keys, 1 transfer each
    assert set(keys) == {f"payout:{i}:{WEEK}" for i in ids}
    assert all(t["amount"] == 1000 + int(t["idempotency_key"].split(":")[1]) for t in transfers)
    with session_scope() as session:
        payouts = session.execute(select(Payout.creator_id, Payout.status, Payout.amount)).all()
        assert len(payouts) == CREATORS and {p.status for p in payouts} == {"paid"}
        left = session.scalar(
            select(func.count())
            .select_from(ledger.ACCOUNTS)
            .where(
                ledger.ACCOUNTS.c.kind.in_(["creator_available", "creator_in_transit"]), ledger.ACCOUNTS.c.balance != 0
            )
        )
        assert left == 0
        report = check_ledger(session)
    assert report.ok, report.problems
