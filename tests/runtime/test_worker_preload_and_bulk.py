"""Runtime speed-ups keep their contracts: on-first-use module loading and pipelined bulk enqueue.

* A worker in the default ``lazy`` mode imports a catalog job's module in the worker process,
  before the fork, the first time such a job comes up; the job still runs in its own horse;
  a function outside the catalog is never imported by the worker.
* ``enqueue_many`` writes jobs with ``depends_on`` correctly, even on a job of the same batch.
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
