"""Network drills: workers whose Redis connections are reset lose no job.

Workers talk to the test redis-server through a loopback proxy that resets every connection
(as a flaky network or a failing-over load balancer does); the test enqueues straight to Redis.
After the drill every job must have finished, and none may be left saying ``queued`` while it
sits in no queue, no registry and no holding list, where nothing would ever find it again.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from redis import Redis
from rq.registry import StartedJobRegistry

import odyssey_workers
from odyssey_workers import defaults
from odyssey_workers.queues import JobRequest
from odyssey_workers.worker import PUBSUB_POLL_SECONDS
from tests.support.proxy import ResettingProxy
from tests.support.servers import RedisServer
from tests.support.workers import start_worker, stop_worker, wait_until


@pytest.fixture
def proxy(redis_server: RedisServer) -> Iterator[ResettingProxy]:
    running = ResettingProxy(redis_server.port).start()
    yield running
    running.stop()


def through(proxy: ResettingProxy, env: dict[str, str]) -> dict[str, str]:
    return {**env, "REDIS_URL": proxy.url, "RQ_REDIS_URL": proxy.url}


def enqueue_marks(prefix: str, count: int) -> list[str]:
    requests = [JobRequest("testing.mark", {"token": f"{prefix}{i}"}) for i in range(count)]
    return [job.id for job in odyssey_workers.enqueue_many(requests)]


def nothing_left_to_run(connection: Redis) -> bool:
    queued = sum(int(connection.llen(f"rq:queue:{name}")) for name in defaults.QUEUE_NAMES)
    started = sum(StartedJobRegistry(name, connection=connection).count for name in defaults.QUEUE_NAMES)
    held = sum(int(connection.llen(key)) for key in connection.scan_iter("rq:odyssey:held:*"))
    return queued + started + held == 0


def statuses(connection: Redis, job_ids: list[str]) -> dict[str, int]:
    with connection.pipeline(transaction=False) as pipe:
        for job_id in job_ids:
            pipe.hget(f"rq:job:{job_id}", "status")
        found = pipe.execute()
    counts: dict[str, int] = {}
    for status in found:
        name = status.decode() if status else "missing"
        counts[name] = counts.get(name, 0) + 1
    return counts


def run_counts(connection: Redis, prefix: str, count: int) -> list[int]:
    values = connection.mget([f"test:runs:{prefix}{i}" for i in range(count)])
    return [int(value or 0) for value in values]


def settle_and_check(connection: Redis, job_ids: list[str], prefix: str, cuts: int) -> None:
    """Wait until nothing is queued, held or running, then: all finished, each at least once."""
    try:
        wait_until(lambda: statuses(connection, job_ids).get("finished", 0) == len(job_ids), timeout=60, interval=0.5)
    except TimeoutError:
        pass  # the checks below say which jobs are missing and where the others are
    wait_until(lambda: nothing_left_to_run(connection), timeout=30, interval=0.5)
    runs = run_counts(connection, prefix, len(job_ids))
    lost = [f"{prefix}{i}" for i, count in enumerate(runs) if count == 0]
    if lost:
        by_token = {f"{prefix}{i}": job_id for i, job_id in enumerate(job_ids)}
        first = connection.hgetall(f"rq:job:{by_token[lost[0]]}")
        fields = {k.decode(): v.decode()[:80] for k, v in first.items() if k != b"data"}
        raise AssertionError(f"{len(lost)} jobs never ran: {lost[:5]}; the first: {fields}")
    assert statuses(connection, job_ids) == {"finished": len(job_ids)}
    # A job cut off after its side effect but before its result was stored runs again (at-least-once,
    # the reason every real side effect has an idempotency key); that takes a cut in mid-job.
    duplicates = sum(runs) - len(runs)
    print(f"\n{len(job_ids)} jobs, {cuts} cuts: 0 lost, {duplicates} ran twice")
    assert duplicates <= 2 * cuts


@pytest.mark.slow
@pytest.mark.timeout(150)
def test_no_job_is_lost_when_connections_are_cut_ten_times_for_a_second(
    redis_conn: Redis, env: dict[str, str], proxy: ResettingProxy, tmp_path: Path
) -> None:
    job_ids = enqueue_marks("flap", 800)
    worker = start_worker(through(proxy, env), processes=2, log=tmp_path / "worker.log")
    try:
        wait_until(lambda: redis_conn.llen("test:order") >= 20, timeout=30)
        proxy.flap(cuts=10, cut_seconds=1.0, between_seconds=1.0)
        settle_and_check(redis_conn, job_ids, "flap", cuts=10)
    finally:
        stop_worker(worker)
    assert proxy.connections_reset > 0, "the drill must have cut connections"


@pytest.mark.slow
@pytest.mark.timeout(150)
def test_no_job_is_lost_when_every_connection_is_reset_for_ten_seconds(
    redis_conn: Redis, env: dict[str, str], proxy: ResettingProxy, tmp_path: Path
) -> None:
    # Jobs keep arriving during the outage, so workers are taking jobs the moment Redis returns.
    first = enqueue_marks("reset", 400)
    worker = start_worker(through(proxy, env), processes=2, log=tmp_path / "worker.log")
    more: list[str] = []
    try:
        wait_until(lambda: redis_conn.llen("test:order") >= 20, timeout=30)
        outage = threading.Thread(target=proxy.cut, args=(10.0,))
        outage.start()
        more = [odyssey_workers.enqueue("testing.mark", token=f"reset{400 + i}").id for i in range(200)]
        outage.join()
        settle_and_check(redis_conn, first + more, "reset", cuts=1)
    finally:
        stop_worker(worker)


def thread_count(pid: int) -> int:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("Threads:"):
            return int(line.split()[1])
    raise AssertionError(f"no thread count for process {pid}")


def subscriptions_of(connection: Redis, pid: int) -> int:
    """Connections subscribed to the command channel of the worker with this pid."""
    for key in connection.smembers("rq:workers"):
        if int(connection.hget(key, "pid") or 0) == pid:
            name = key.decode().removeprefix("rq:worker:")
            return int(connection.pubsub_numsub(f"rq:pubsub:{name}")[0][1])
    return 0


def worker_pids(connection: Redis) -> set[int]:
    return {int(connection.hget(key, "pid") or 0) for key in connection.smembers("rq:workers")}


@pytest.mark.slow
@pytest.mark.timeout(150)
def test_repeated_outages_leak_no_thread_and_no_connection(
    redis_conn: Redis, env: dict[str, str], proxy: ResettingProxy, tmp_path: Path
) -> None:
    # RQ's teardown records the death first, which raises without Redis, so it never
    # unsubscribed: each outage left a command-channel thread and its connection behind.
    worker = start_worker(through(proxy, env), log=tmp_path / "worker.log")
    try:
        wait_until(lambda: worker.pid in worker_pids(redis_conn), timeout=30)
        wait_until(lambda: subscriptions_of(redis_conn, worker.pid) == 1, timeout=10)
        threads_before = thread_count(worker.pid)
        for cut in range(6):
            proxy.cut(1.0)
            enqueue_marks(f"leak{cut}-", 5)  # the worker has something to do when Redis is back
            wait_until(lambda cut=cut: run_counts(redis_conn, f"leak{cut}-", 5) == [1] * 5, timeout=30)  # type: ignore[misc]
        wait_until(lambda: worker.pid in worker_pids(redis_conn), timeout=30)
        time.sleep(2 * PUBSUB_POLL_SECONDS + 1)  # a retired channel thread ends within a poll or two
        assert thread_count(worker.pid) <= threads_before
        assert subscriptions_of(redis_conn, worker.pid) == 1
        errors = (tmp_path / "worker.log").read_text().count("could not connect to Redis")
        # At most a few lines per outage (the loop's own wait), not one more per earlier outage.
        assert errors <= 6 * 4, f"{errors} connection error lines for 6 outages"
    finally:
        stop_worker(worker)
    assert proxy.connections_reset > 0
