"""Workers that die, are stopped, or lose Redis: no job is lost, none runs twice."""

from __future__ import annotations

import os
import signal
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from redis import Redis
from rq.registry import StartedJobRegistry

import odyssey_workers
from odyssey_workers.bound_scheduler import WorkerBoundScheduler
from odyssey_workers.queues import fetch_job, get_queue
from tests.support.servers import RedisServer
from tests.support.workers import (
    horse_pids,
    kill_group,
    scheduler_pids,
    session_pids,
    start_worker,
    stop_worker,
    wait_until,
)


def job_status(job_id: str) -> str:
    return fetch_job(job_id).get_status().value


@pytest.mark.timeout(90)
def test_job_of_a_worker_killed_with_sigkill_runs_again_and_completes_once(
    redis_conn: Redis, env: dict[str, str], tmp_path: Path
) -> None:
    job = odyssey_workers.enqueue("testing.mark", token="crash", seconds=3)
    first = start_worker(env, log=tmp_path / "first.log")
    wait_until(lambda: job_status(job.id) == "started", timeout=20)
    wait_until(lambda: horse_pids(first) != [], timeout=10)
    kill_group(first)  # worker, scheduler and work horse: as if the machine went away
    assert job_status(job.id) == "started"

    second = start_worker(env, log=tmp_path / "second.log")
    try:
        wait_until(lambda: job_status(job.id) == "finished", timeout=60)
    finally:
        stop_worker(second)
    assert redis_conn.get("test:runs:crash") == b"1", "the job must complete exactly once"
    assert fetch_job(job.id).retries_left == 1, "the abandoned attempt used one retry"
    assert StartedJobRegistry("default", connection=redis_conn).get_job_ids() == []
    # How soon after the kill the job finishes is a benchmark row (make bench: "kill -9
    # recovery"), not an assertion: a loaded machine must not fail this test.


@pytest.mark.timeout(60)
def test_job_survives_when_only_the_worker_parent_is_killed(
    redis_conn: Redis, env: dict[str, str], tmp_path: Path
) -> None:
    job = odyssey_workers.enqueue("testing.mark", token="orphan", seconds=2)
    worker = start_worker(env, log=tmp_path / "worker.log")
    wait_until(lambda: job_status(job.id) == "started", timeout=20)
    os.kill(worker.pid, signal.SIGKILL)  # the work horse lives on in its own process group
    worker.wait(timeout=10)
    wait_until(lambda: job_status(job.id) == "finished", timeout=20)
    assert redis_conn.get("test:runs:orphan") == b"1"
    kill_group(worker)


@pytest.mark.timeout(60)
def test_the_scheduler_of_a_sigkilled_worker_stops_and_releases_its_locks(
    redis_conn: Redis, env: dict[str, str], tmp_path: Path
) -> None:
    worker = start_worker(env, log=tmp_path / "worker.log")
    try:
        wait_until(lambda: scheduler_pids(worker) != [], timeout=20)
        assert redis_conn.exists("rq:scheduler-lock:default") == 1
        os.kill(worker.pid, signal.SIGKILL)
        worker.wait(timeout=10)
        # An orphaned scheduler would go on holding the lock and enqueueing due jobs for ever.
        wait_until(lambda: session_pids(worker.pid) == [], timeout=10)
        assert redis_conn.exists("rq:scheduler-lock:default") == 0, "locks released, not left to expire"
        assert "has stopped" in (tmp_path / "worker.log").read_text()
    finally:
        kill_group(worker)


def test_a_scheduler_whose_worker_is_gone_enqueues_nothing(redis_conn: Redis, env: dict[str, str]) -> None:
    # The worker can die between the fork and the scheduler asking for a death signal; then the
    # scheduler sees its parent change on its next turn. Due jobs stay where they are.
    queue = get_queue("default")
    due = queue.enqueue_at(datetime.now(UTC) - timedelta(seconds=5), "testing.mark", token="due")
    scheduler = WorkerBoundScheduler([queue], connection=redis_conn)
    scheduler.acquire_locks()
    scheduler._worker_pid = os.getppid() + 1_000_000  # no process has this pid: the worker is gone
    scheduler.heartbeat()
    scheduler.enqueue_scheduled_jobs()
    assert scheduler._stop_requested
    assert fetch_job(due.id).get_status().value == "scheduled"
    scheduler.stop()
    assert redis_conn.exists("rq:scheduler-lock:default") == 0


@pytest.mark.timeout(60)
def test_sigterm_is_a_warm_shutdown_the_running_job_finishes(
    redis_conn: Redis, env: dict[str, str], tmp_path: Path
) -> None:
    running = odyssey_workers.enqueue("testing.mark", token="warm", seconds=2)
    waiting = odyssey_workers.enqueue("testing.mark", token="next")
    worker = start_worker(env, log=tmp_path / "worker.log")
    wait_until(lambda: job_status(running.id) == "started", timeout=20)
    worker.send_signal(signal.SIGTERM)
    assert worker.wait(timeout=30) == 0
    assert job_status(running.id) == "finished"
    assert redis_conn.get("test:runs:warm") == b"1"
    assert job_status(waiting.id) == "queued", "a stopping worker takes no new job"


@pytest.mark.timeout(120)
def test_worker_waits_out_a_redis_outage_and_loses_no_job(env: dict[str, str], tmp_path: Path) -> None:
    server = RedisServer(appendonly=True).start()
    local_env = {**env, "REDIS_URL": server.url, "RQ_REDIS_URL": server.url}
    os.environ["REDIS_URL"] = server.url
    from odyssey_workers.settings import get_settings

    get_settings.cache_clear()
    connection = Redis.from_url(server.url)
    try:
        jobs = [odyssey_workers.enqueue("testing.mark", token=f"o{i}", seconds=0.5) for i in range(6)]
        worker = start_worker(local_env, log=tmp_path / "worker.log")
        wait_until(lambda: connection.get("test:runs:o0") == b"1", timeout=30)
        server.stop()  # Redis dies mid-run
        time.sleep(4)
        assert worker.poll() is None, "the worker must wait for Redis, not exit"
        server.start()  # same port, same data (append-only file)
        try:
            wait_until(lambda: all(job_status(job.id) == "finished" for job in jobs), timeout=60, interval=0.5)
        finally:
            stop_worker(worker)
        runs = [int(connection.get(f"test:runs:o{i}") or 0) for i in range(6)]
        assert all(count >= 1 for count in runs), f"lost jobs: {runs}"
        # Only a job cut off mid-run by the outage may have run twice (at-least-once).
        assert sum(runs) <= 7
        assert StartedJobRegistry("default", connection=connection).get_job_ids() == []
        log = (tmp_path / "worker.log").read_text()
        errors = [line for line in log.splitlines() if " ERROR " in line and "could not preload" not in line]
        assert 1 <= len(errors) <= 10, "a few lines while Redis is away, not a traceback storm"
    finally:
        connection.close()
        server.stop()


@pytest.mark.timeout(60)
def test_worker_started_before_redis_waits_for_it_then_works(env: dict[str, str], tmp_path: Path) -> None:
    # A unix socket of the test's own: no other process can be listening there already.
    server = RedisServer(unix_socket=tmp_path / "late.sock")
    url = server.url
    worker = start_worker({**env, "REDIS_URL": url, "RQ_REDIS_URL": url}, log=tmp_path / "worker.log")
    try:
        time.sleep(2)
        assert worker.poll() is None, "a worker with no Redis yet waits instead of exiting"
        server.start()
        try:
            connection = Redis.from_url(url)
            from rq import Queue
            from rq.serializers import JSONSerializer

            job = Queue("default", connection=connection, serializer=JSONSerializer).enqueue(
                "tests.support.jobs.mark", token="late"
            )
            wait_until(lambda: connection.get("test:runs:late") == b"1", timeout=30)
            assert job.id
            connection.close()
        finally:
            stop_worker(worker)
            server.stop()
    finally:
        kill_group(worker)
    log = (tmp_path / "worker.log").read_text()
    assert "cannot reach Redis at" in log
    assert "Traceback" not in log.split("cannot reach Redis at", 1)[1].split("Listening", 1)[0]


def test_maintenance_lock_of_a_worker_that_died_holding_it_lapses_in_seconds(
    redis_conn: Redis, env: dict[str, str]
) -> None:
    # A worker killed mid-maintenance never releases the lock; RQ's own lasts 899 s, during
    # which no worker would look for abandoned jobs.
    from odyssey_workers import defaults
    from odyssey_workers.worker import OdysseyWorker

    worker = OdysseyWorker(["default"], connection=redis_conn)
    queue = worker.queues[0]
    assert queue.acquire_maintenance_lock()
    assert not queue.acquire_maintenance_lock(), "one worker at a time still"
    assert 0 < redis_conn.ttl(queue.registry_cleaning_key) <= defaults.MAINTENANCE_LOCK_SECONDS
