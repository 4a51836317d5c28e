"""Runtime speed-ups keep their contracts: on-first-use module loading and pipelined bulk enqueue.

* A worker in the default ``lazy`` mode imports a catalog job's module in the worker process,
  before the fork, the first time such a job comes up; the job still runs in its own horse;
  a function outside the catalog is never imported by the worker.
* ``enqueue_many`` writes jobs with ``depends_on`` correctly, even on a job of the same batch.
* Its leaner writes (two commands per job, no empty fields under a new id, payloads validated
  per job name at once) store the same job ``enqueue`` stores, and a bad payload is named.
"""

from __future__ import annotations

import os
import sys

import pytest
from redis import Redis
from rq.job import JobStatus

import odyssey_workers
from odyssey_workers import worker as worker_module
from odyssey_workers.errors import ConfigurationError
from odyssey_workers.queues import JobRequest, fetch_job, get_queue
from odyssey_workers.worker import OdysseyWorker

JOB_MODULE = "tests.support.jobs"


def forget_job_module() -> None:
    sys.modules.pop(JOB_MODULE, None)
    worker_module._preloaded.discard(JOB_MODULE)


@pytest.mark.parametrize(("mode", "loaded_by_worker"), [("lazy", True), ("none", False)])
def test_a_lazy_worker_imports_the_job_module_before_forking_and_the_job_runs_in_a_horse(
    redis_conn: Redis, monkeypatch: pytest.MonkeyPatch, mode: str, loaded_by_worker: bool
) -> None:
    monkeypatch.setenv("ODYSSEY_PRELOAD", mode)
    forget_job_module()
    job = odyssey_workers.enqueue("testing.mark", token=f"lazy-{mode}")
    worker = OdysseyWorker(["default"], connection=redis_conn)
    assert JOB_MODULE not in sys.modules  # nothing loaded at start-up in either mode

    worker.work(burst=True, with_scheduler=False)

    finished = fetch_job(job.id)
    assert finished.get_status() == JobStatus.FINISHED
    assert finished.return_value()["pid"] != os.getpid()  # isolated in its own forked process
    assert (JOB_MODULE in sys.modules) is loaded_by_worker


def test_a_lazy_worker_never_imports_a_function_outside_the_catalog(
    redis_conn: Redis, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("ODYSSEY_PRELOAD", "lazy")
    queue = get_queue("default", redis_conn)
    job = queue.enqueue("tests.support.not_a_job_module.run", job_id="outsider")
    worker = OdysseyWorker(["default"], connection=redis_conn)

    worker.work(burst=True, with_scheduler=False)

    assert "tests.support.not_a_job_module" not in worker_module._preloaded
    failed = fetch_job(job.id)
    assert failed.get_status() == JobStatus.FAILED
    assert "is not a catalog job" in (failed.latest_result().exc_string or "")  # type: ignore[union-attr]


def test_a_bad_preload_setting_is_one_line_naming_the_variable(
    redis_conn: Redis, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("ODYSSEY_PRELOAD", "sometimes")

    with pytest.raises(ConfigurationError, match=r"^ODYSSEY_PRELOAD: expected lazy, all or none"):
        OdysseyWorker(["default"], connection=redis_conn)


def test_enqueue_many_writes_jobs_depending_on_earlier_jobs_of_the_same_batch(redis_conn: Redis) -> None:
    first = odyssey_workers.enqueue("testing.mark", token="first")
    jobs = odyssey_workers.enqueue_many(
        [
            JobRequest("testing.mark", {"token": "a"}, job_id="bulk-a"),
            JobRequest("testing.mark", {"token": "b"}, depends_on=first),
            JobRequest("testing.mark_low", {"token": "c"}, depends_on="bulk-a"),
            ("testing.mark_high", {"token": "d"}),
        ],
        connection=redis_conn,
    )

    assert [job.get_status() for job in jobs] == [
        JobStatus.QUEUED,
        JobStatus.DEFERRED,
        JobStatus.DEFERRED,
        JobStatus.QUEUED,
    ]
    assert get_queue("default", redis_conn).job_ids == [first.id, "bulk-a"]
    assert get_queue("high", redis_conn).job_ids == [jobs[3].id]
    assert get_queue("low", redis_conn).deferred_job_registry.get_job_ids() == [jobs[2].id]
    assert redis_conn.smembers("rq:queues") == {b"rq:queue:default", b"rq:queue:high", b"rq:queue:low"}


def _job_fields(job_id: str, connection: Redis) -> dict[str, object]:
    job = fetch_job(job_id, connection)
    return {
        "func_name": job.func_name,
        "kwargs": job.kwargs,
        "origin": job.origin,
        "status": job.get_status(),
        "timeout": job.timeout,
        "result_ttl": job.result_ttl,
        "failure_ttl": job.failure_ttl,
        "meta": job.meta,
        "description": job.description,
        "retries_left": job.retries_left,
        "started_at": job.started_at,
        "worker_name": job.worker_name,
        "enqueued_at is set": job.enqueued_at is not None,
    }


def test_a_bulk_enqueued_job_reads_back_the_same_as_one_enqueued_alone(redis_conn: Redis) -> None:
    single = odyssey_workers.enqueue("testing.flaky", _connection=redis_conn, token="same", failures=1)
    (bulk,) = odyssey_workers.enqueue_many([("testing.flaky", {"token": "same", "failures": 1})], connection=redis_conn)
    assert _job_fields(bulk.id, redis_conn) == _job_fields(single.id, redis_conn)
    assert get_queue("default", redis_conn).job_ids == [single.id, bulk.id]


def test_bulk_enqueue_under_a_reused_job_id_clears_what_the_last_run_left(redis_conn: Redis) -> None:
    odyssey_workers.enqueue_many([JobRequest("testing.mark", {"token": "one"}, job_id="again")], connection=redis_conn)
    worker = OdysseyWorker(["default"], connection=redis_conn)
    assert worker.work(burst=True, with_scheduler=False)
    assert fetch_job("again", redis_conn).get_status() == JobStatus.FINISHED

    odyssey_workers.enqueue_many([JobRequest("testing.mark", {"token": "two"}, job_id="again")], connection=redis_conn)
    job = fetch_job("again", redis_conn)
    assert (job.get_status(), job.kwargs["token"], job.started_at, job.worker_name) == (
        JobStatus.QUEUED,
        "two",
        None,
        None,
    )


def test_bulk_enqueue_names_the_bad_payload_of_a_mixed_batch_and_writes_nothing(redis_conn: Redis) -> None:
    from odyssey_workers.errors import PayloadError

    requests = [
        ("testing.mark_high", {"token": "fine"}),
        *[("testing.mark", {"token": f"t{i}"}) for i in range(50)],
        ("testing.mark", {"token": "x", "surprise": 1}),
    ]
    with pytest.raises(PayloadError, match=r"^testing\.mark: bad payload: surprise: is not a field of this job"):
        odyssey_workers.enqueue_many(requests, connection=redis_conn)
    assert redis_conn.keys("*") == []
