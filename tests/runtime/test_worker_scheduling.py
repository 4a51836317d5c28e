"""Priority under a backlog and the concurrency limit across several worker processes."""

from __future__ import annotations

from pathlib import Path

import pytest
from redis import Redis

import odyssey_workers
from odyssey_workers.queues import JobRequest, fetch_job
from tests.support.workers import start_worker, stop_worker, wait_until


@pytest.mark.timeout(90)
def test_high_job_behind_thousands_of_low_jobs_is_the_next_one_taken(
    redis_conn: Redis, env: dict[str, str], tmp_path: Path
) -> None:
    odyssey_workers.enqueue_many([JobRequest("testing.mark_low", {"token": f"low{i}"}) for i in range(3000)])
    worker = start_worker(env, log=tmp_path / "worker.log")
    try:
        wait_until(lambda: redis_conn.llen("test:order") >= 20, timeout=30)
        # The worker is now busy with the low backlog; a high job arrives behind 2,980 of them.
        high = odyssey_workers.enqueue("testing.mark_high", token="HIGH")
        done_when_high_arrived = int(redis_conn.llen("test:order"))
        wait_until(lambda: fetch_job(high.id).get_status() == "finished", timeout=30)
    finally:
        stop_worker(worker)
    order = [token.decode() for token in redis_conn.lrange("test:order", 0, -1)]
    # One worker process: at most the single low job already running when HIGH arrived may
    # finish before it; everything else in the 2,980-job backlog waits.
    assert order.index("HIGH") <= done_when_high_arrived + 1
    assert redis_conn.llen("rq:queue:low") > 2000, "the backlog must still be there: HIGH jumped it"


@pytest.mark.timeout(90)
def test_concurrency_limit_holds_across_four_worker_processes(
    redis_conn: Redis, env: dict[str, str], tmp_path: Path
) -> None:
    jobs = odyssey_workers.enqueue_many(
        [JobRequest("testing.limited", {"token": str(i), "seconds": 0.4}) for i in range(12)]
    )
    worker = start_worker(env, processes=4, log=tmp_path / "worker.log")
    try:
        wait_until(lambda: redis_conn.get("test:limited:done") == b"12", timeout=60)
    finally:
        stop_worker(worker)
    peak = int(redis_conn.get("test:limited:max") or 0)
    assert peak == 2, f"testing.limited allows 2 at once; the highest simultaneous count seen was {peak}"
    assert all(fetch_job(job.id).get_status() == "finished" for job in jobs)
