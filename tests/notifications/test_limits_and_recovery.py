"""The shared per-provider token bucket, and recovery of deliveries a lost worker left behind."""

from __future__ import annotations

import subprocess
import sys
from datetime import timedelta

import pytest
from sqlalchemy import update

from jobs.notifications.deliver import deliver_to
from jobs.notifications.models import Delivery
from jobs.notifications.send import claim
from odyssey_workers.db.base import utcnow
from odyssey_workers.db.session import session_scope
from odyssey_workers.providers.outcomes import ProviderUnavailable
from odyssey_workers.providers.ratelimit import TokenBucket
from odyssey_workers.queues import enqueue
from tests.notifications.conftest import deliveries, drain

RECEIPT = {"amount_minor": 100, "currency": "EUR", "description": "x"}


def test_token_bucket_quota_is_shared_by_every_client(redis_conn) -> None:
    worker_a = TokenBucket(redis_conn, "mailgun", rate=5, capacity=5)
    worker_b = TokenBucket(redis_conn, "mailgun", rate=5, capacity=5)  # another worker, same Redis
    assert worker_a.try_take(3) == 0 and worker_b.try_take(2) == 0
    wait = worker_a.try_take(1)
    assert 0.1 < wait <= 0.2  # one token refills in 1/5 s
    assert worker_b.try_take(1) > 0  # the other worker sees the same empty bucket
    with pytest.raises(ProviderUnavailable, match="mailgun rate limit"):
        worker_b.take(5, max_wait=0.05)
    assert worker_b.take(1, max_wait=1.0) > 0  # waits for the refill, then gets it


def test_recover_stuck_requeues_abandoned_claims_and_lost_enqueues(db, people, var_dir) -> None:
    deliver_to("payment_success", [people(), people()], RECEIPT, key="lost")
    first, second = (d.id for d in deliveries())
    claim([first], "dead-worker-job", utcnow())  # a worker died mid-send
    old = utcnow() - timedelta(hours=2)
    with session_scope() as session:
        session.execute(update(Delivery).where(Delivery.id == first).values(claimed_at=old))
        session.execute(update(Delivery).where(Delivery.id == second).values(updated_at=old))
    from odyssey_workers.connection import get_redis

    get_redis().flushdb()  # the original send job is gone, as after a Redis loss
    enqueue("notifications.recover_stuck")
    drain()
    assert [d.status for d in deliveries()] == ["sent", "sent"]
    assert len(list((var_dir / "outbox" / "email").glob("*.eml"))) == 2


def test_producers_load_no_job_code_or_provider_clients() -> None:
    # The commands load each domain's contracts, tables and read-side helpers, never a module
    # that holds a job or a callback (those import the provider clients).
    code = (
        "import sys, odyssey_workers.cli\n"
        "from odyssey_workers.catalog import get_catalog\n"
        "catalog = get_catalog()\n"
        "assert 'notifications.notify' in catalog\n"
        "paths = [spec.function for spec in catalog] + sorted(catalog.callbacks)\n"
        "job_code = {path.rpartition('.')[0] for path in paths}\n"
        "print(sorted(m for m in sys.modules if m in job_code or m in ('pywebpush', 'httpx', 'h2')))\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.strip() == "[]"
