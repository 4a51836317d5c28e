"""What real worker processes do with catalog jobs, foreign jobs, permanent and passing failures."""

from __future__ import annotations

import json
import os
import pickle
import re
import uuid
import zlib
from datetime import UTC, datetime
from pathlib import Path

import pytest
from redis import Redis
from rq import Callback
from rq.registry import FailedJobRegistry, ScheduledJobRegistry

import odyssey_workers
from odyssey_workers.errors import UnknownJobError
from odyssey_workers.queues import failure_text, fetch_job, get_queue
from tests.support.workers import start_worker, stop_worker, wait_until


def write_raw_job(redis_conn: Redis, queue: str, data: bytes, **fields: str) -> str:
    """A job written into Redis by hand, the way a hostile or careless producer could."""
    job_id = str(uuid.uuid4())
    redis_conn.hset(
        f"rq:job:{job_id}",
        mapping={
            "data": zlib.compress(data),
            "status": "queued",
            "origin": queue,
            "created_at": "2026-11-29T00:00:00.000000Z",
            "enqueued_at": "2026-11-29T00:00:00.000000Z",
            "description": "hand written",
            "timeout": 30,
            **fields,
        },
    )
    redis_conn.rpush(f"rq:queue:{queue}", job_id)
    redis_conn.sadd("rq:queues", f"rq:queue:{queue}")
    return job_id


def import_recording_module(tmp_path: Path) -> tuple[dict[str, str], Path]:
    """A module ``hostile_callback`` that writes a file when imported, and the env to find it."""
    proof = tmp_path / "hostile-callback-imported"
    (tmp_path / "hostile_callback.py").write_text(
        f"from pathlib import Path\nPath({str(proof)!r}).touch()\n\ndef hook(*args):\n    pass\n"
    )
    return {"PYTHONPATH": os.pathsep.join(filter(None, [str(tmp_path), os.environ.get("PYTHONPATH")]))}, proof


def run_burst(env: dict[str, str], tmp_path: Path, plain_rq: bool = False) -> str:
    log = tmp_path / "worker.log"
    process = start_worker(env, burst=True, plain_rq=plain_rq, log=log)
    process.wait(timeout=60)
    return log.read_text()


def test_non_catalog_function_is_refused_before_import_and_lands_in_failed_registry(
    redis_conn: Redis, env: dict[str, str], tmp_path: Path
) -> None:
    proof = tmp_path / "os-system-ran"
    data = json.dumps(["os.system", None, [f"touch {proof}"], {}]).encode()
    job_id = write_raw_job(redis_conn, "default", data)
    run_burst(env, tmp_path)
    assert not proof.exists(), "os.system must never run"
    job = fetch_job(job_id)
    assert job.get_status() == "failed"
    assert job_id in FailedJobRegistry("default", connection=redis_conn).get_job_ids()
    assert "refused: 'os.system' is not a catalog job, so it was not imported or run" in (failure_text(job) or "")


@pytest.mark.parametrize("kind", ["success", "failure", "stopped"])
def test_undeclared_callback_is_refused_before_import_and_the_job_fails_naming_it(
    redis_conn: Redis, env: dict[str, str], tmp_path: Path, kind: str
) -> None:
    extra_env, proof = import_recording_module(tmp_path)
    data = json.dumps(["tests.support.jobs.mark", None, [], {"token": kind}]).encode()
    job_id = write_raw_job(redis_conn, "default", data, **{f"{kind}_callback_name": "hostile_callback.hook"})
    run_burst({**env, **extra_env}, tmp_path)
    assert not proof.exists(), "the undeclared callback's module must never be imported"
    assert redis_conn.get(f"test:runs:{kind}") is None, "the job must not do its work before being refused"
    job = fetch_job(job_id)
    assert job.get_status() == "failed"
    assert job_id in FailedJobRegistry("default", connection=redis_conn).get_job_ids()
    expected = f"refused: {kind} callback 'hostile_callback.hook' is not a callback the catalog declares"
    assert expected in (failure_text(job) or "")


@pytest.mark.parametrize("callback", ["os.system", "builtins.print", "tests.support.jobs.mark"])
def test_success_callback_naming_a_builtin_or_a_job_function_is_refused(
    redis_conn: Redis, env: dict[str, str], tmp_path: Path, callback: str
) -> None:
    data = json.dumps(["tests.support.jobs.mark", None, [], {"token": "cb"}]).encode()
    job_id = write_raw_job(redis_conn, "default", data, success_callback_name=callback)
    run_burst(env, tmp_path)
    job = fetch_job(job_id)
    assert job.get_status() == "failed"
    assert f"refused: success callback {callback!r}" in (failure_text(job) or "")
    assert redis_conn.get("test:runs:cb") is None


def test_dependent_job_with_an_undeclared_callback_is_refused_when_its_dependency_finishes(
    redis_conn: Redis, env: dict[str, str], tmp_path: Path
) -> None:
    extra_env, proof = import_recording_module(tmp_path)
    first = odyssey_workers.enqueue("testing.mark", token="first")
    second = get_queue("default").enqueue("tests.support.jobs.mark", token="second", depends_on=first)
    # A producer rewrites the waiting dependent's hash.
    redis_conn.hset(second.key, "failure_callback_name", "hostile_callback.hook")
    run_burst({**env, **extra_env}, tmp_path)
    assert fetch_job(first.id).get_status() == "finished"
    assert not proof.exists()
    assert redis_conn.get("test:runs:second") is None
    assert "refused: failure callback 'hostile_callback.hook'" in (failure_text(fetch_job(second.id)) or "")


def test_declared_callback_runs_after_its_job(redis_conn: Redis, env: dict[str, str], tmp_path: Path) -> None:
    from tests.support.contracts import RECORD_SUCCESS_CALLBACK

    job = get_queue("default").enqueue(
        "tests.support.jobs.mark", token="declared", on_success=Callback(RECORD_SUCCESS_CALLBACK)
    )
    run_burst(env, tmp_path)
    assert fetch_job(job.id).get_status() == "finished"
    assert redis_conn.lrange("test:success_callbacks", 0, -1) == [job.id.encode()]


def test_enqueue_with_an_undeclared_callback_is_refused_and_stores_nothing(redis_conn: Redis) -> None:
    queue = get_queue("default")
    refusal = "refused: failure callback 'builtins.print' is not a callback"
    with pytest.raises(UnknownJobError, match=re.escape(refusal)):
        queue.enqueue("tests.support.jobs.mark", token="never", on_failure=Callback("builtins.print"))
    assert queue.count == 0
    assert redis_conn.keys("rq:job:*") == []


def test_pickled_job_is_never_unpickled(redis_conn: Redis, env: dict[str, str], tmp_path: Path) -> None:
    proof = tmp_path / "pickle-ran"

    class Exploit:
        def __reduce__(self) -> tuple[object, tuple[str]]:
            import os

            return (os.system, (f"touch {proof}",))

    job_id = write_raw_job(redis_conn, "default", pickle.dumps(("jobs.system.health.ping", None, [Exploit()], {})))
    run_burst(env, tmp_path)
    assert not proof.exists()
    assert fetch_job(job_id).get_status() == "failed"


def test_catalog_job_runs_and_returns_its_result(redis_conn: Redis, env: dict[str, str], tmp_path: Path) -> None:
    job = odyssey_workers.enqueue("system.ping", message="hello")
    run_burst(env, tmp_path)
    job = fetch_job(job.id)
    assert job.get_status() == "finished"
    assert job.return_value()["message"] == "hello"


def test_plain_rq_worker_with_project_environment_runs_catalog_jobs(
    redis_conn: Redis, env: dict[str, str], tmp_path: Path
) -> None:
    jobs = [odyssey_workers.enqueue("testing.mark", token="plain"), odyssey_workers.enqueue("system.ping")]
    run_burst(env, tmp_path, plain_rq=True)
    assert [fetch_job(job.id).get_status() for job in jobs] == ["finished", "finished"]
    assert redis_conn.get("test:runs:plain") == b"1"


def test_payload_is_validated_again_when_the_job_runs(redis_conn: Redis, env: dict[str, str], tmp_path: Path) -> None:
    # A producer that bypasses enqueue() and sends a wrong payload straight through RQ.
    from rq import Queue
    from rq.serializers import JSONSerializer

    queue = Queue("default", connection=redis_conn, serializer=JSONSerializer)
    job = queue.enqueue("tests.support.jobs.mark", token="x", seconds="later")
    run_burst(env, tmp_path)
    job = fetch_job(job.id)
    assert job.get_status() == "failed"
    assert "testing.mark: bad payload: seconds: Input should be a valid number" in (failure_text(job) or "")
    assert redis_conn.get("test:runs:x") is None


def test_permanent_error_fails_at_once_is_never_retried_and_keeps_its_message(
    redis_conn: Redis, env: dict[str, str], tmp_path: Path
) -> None:
    job = odyssey_workers.enqueue("testing.permanent", token="perm")
    assert job.retries_left == 2
    run_burst(env, tmp_path)
    job = fetch_job(job.id)
    assert job.get_status() == "failed"
    assert redis_conn.get("test:attempts:perm") == b"1"
    assert "perm: this input can never work" in (failure_text(job) or "")
    assert job.id in FailedJobRegistry("default", connection=redis_conn).get_job_ids()


@pytest.mark.timeout(60)
def test_passing_failures_are_retried_with_exponential_backoff_until_success(
    redis_conn: Redis, env: dict[str, str]
) -> None:
    # testing.flaky: 4 attempts, backoff 1 s then 2 s then 4 s, no jitter. The worker runs in
    # burst mode, one attempt per pass; what is checked is what RQ stored (the intervals, the
    # retries left, the time each retry was scheduled for), never a gap measured by the clock.
    from odyssey_workers.worker import OdysseyWorker

    job = odyssey_workers.enqueue("testing.flaky", token="flaky", failures=2)
    registry = ScheduledJobRegistry("default", connection=redis_conn)
    stored = fetch_job(job.id)
    assert stored.retry_intervals == [1, 2, 4]
    assert stored.retries_left == 3
    next_intervals, retries_left, delays = [], [], []

    def attempt(number: int) -> None:
        # A burst worker enqueues a due retry only if it gets the queue's scheduler lock; should
        # another scheduler hold it for a moment, the next burst picks the job up instead.
        def made() -> bool:
            OdysseyWorker(["default"], connection=redis_conn).work(burst=True)
            return int(redis_conn.get("test:attempts:flaky") or 0) >= number

        wait_until(made, timeout=15, interval=0.2)

    for number in (1, 2):
        next_intervals.append(fetch_job(job.id).get_retry_interval())
        attempt(number)  # this attempt fails
        stored = fetch_job(job.id)
        assert stored.get_status() == "scheduled"
        retries_left.append(stored.retries_left)
        due = registry.get_scheduled_time(job.id)
        assert stored.ended_at is not None
        delays.append((due - stored.ended_at).total_seconds())
        wait_until(lambda due=due: datetime.now(UTC) >= due, timeout=15)  # the retry's time comes
    attempt(3)  # the third attempt passes

    assert next_intervals == [1, 2]
    assert retries_left == [2, 1]
    # RQ schedules "end of the attempt + interval" rounded down to the whole second, so each
    # stored delay is its interval less a fraction of a second (plus the few microseconds
    # between the attempt's end and the scheduling, should they straddle a second).
    for interval, delay in zip(next_intervals, delays, strict=True):
        assert interval - 1 < delay <= interval + 0.5
    assert redis_conn.get("test:attempts:flaky") == b"3"
    times = [float(t) for t in redis_conn.lrange("test:attempt_times:flaky", 0, -1)]
    assert times == sorted(times) and len(times) == 3  # three attempts, one after the other
    assert fetch_job(job.id).get_status() == "finished"
    assert fetch_job(job.id).return_value() == "succeeded on attempt 3"
    assert registry.get_job_ids() == []


@pytest.mark.timeout(60)
def test_retries_run_out_after_the_policy_attempts(redis_conn: Redis, env: dict[str, str], tmp_path: Path) -> None:
    job = odyssey_workers.enqueue("testing.flaky", token="never", failures=10)
    worker = start_worker(env, log=tmp_path / "worker.log")
    try:
        wait_until(lambda: fetch_job(job.id).get_status() == "failed", timeout=40)
    finally:
        stop_worker(worker)
    assert redis_conn.get("test:attempts:never") == b"4"
    assert "attempt 4 of never failed on purpose" in (failure_text(fetch_job(job.id)) or "")
    assert get_queue("default").count == 0
