"""enqueue(_on_success=, _on_failure=): callbacks named as the catalog declares them, run by a
real worker on a real Redis; an undeclared name is refused before anything is written."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from redis import Redis
from rq import Callback, Queue
from rq.serializers import JSONSerializer

import odyssey_workers
from odyssey_workers.errors import UnknownJobError
from odyssey_workers.queues import JobRequest, enqueue_many, fetch_job
from tests.support.contracts import RECORD_FAILURE_CALLBACK, RECORD_SUCCESS_CALLBACK
from tests.support.workers import start_worker


def run_burst(env: dict[str, str], tmp_path: Path, plain_rq: bool = False) -> None:
    process = start_worker(env, burst=True, plain_rq=plain_rq, log=tmp_path / "worker.log")
    process.wait(timeout=60)


def test_a_declared_success_callback_runs_after_its_job(redis_conn: Redis, env: dict[str, str], tmp_path: Path) -> None:
    job = odyssey_workers.enqueue("testing.mark", token="ok", _on_success=RECORD_SUCCESS_CALLBACK)
    assert fetch_job(job.id)._success_callback_name == RECORD_SUCCESS_CALLBACK
    run_burst(env, tmp_path)
    assert fetch_job(job.id).get_status() == "finished"
    assert redis_conn.lrange("test:success_callbacks", 0, -1) == [job.id.encode()]
    assert redis_conn.lrange("test:failure_callbacks", 0, -1) == []


def test_a_declared_failure_callback_runs_when_its_job_fails(
    redis_conn: Redis, env: dict[str, str], tmp_path: Path
) -> None:
    job = odyssey_workers.enqueue(
        "testing.permanent", token="bad", _on_success=RECORD_SUCCESS_CALLBACK, _on_failure=RECORD_FAILURE_CALLBACK
    )
    run_burst(env, tmp_path)
    assert fetch_job(job.id).get_status() == "failed"
    assert redis_conn.lrange("test:failure_callbacks", 0, -1) == [f"{job.id} PermanentError".encode()]
    assert redis_conn.lrange("test:success_callbacks", 0, -1) == []


def test_callbacks_keep_the_other_options(redis_conn: Redis) -> None:
    first = odyssey_workers.enqueue("testing.mark", token="first")
    job = odyssey_workers.enqueue(
        "testing.mark",
        token="second",
        _job_id="with-callbacks",
        _depends_on=first,
        _timeout=77,
        _meta={"run": "r1"},
        _on_failure=RECORD_FAILURE_CALLBACK,
    )
    stored = fetch_job(job.id)
    assert (stored.id, stored.timeout, stored.dependency_ids, stored.meta) == (
        "with-callbacks",
        77,
        [first.id],
        {"job_name": "testing.mark", "run": "r1"},
    )
    assert (stored._failure_callback_name, stored._success_callback_name) == (RECORD_FAILURE_CALLBACK, None)


@pytest.mark.parametrize(("option", "kind"), [("_on_success", "success"), ("_on_failure", "failure")])
def test_an_undeclared_callback_name_is_refused_naming_it_and_nothing_reaches_redis(
    redis_conn: Redis, option: str, kind: str
) -> None:
    refusal = f"refused: {kind} callback 'builtins.print' is not a callback the catalog declares"
    with pytest.raises(UnknownJobError, match=re.escape(refusal)):
        odyssey_workers.enqueue("testing.mark", token="never", **{option: "builtins.print"})
    assert redis_conn.keys("*") == []


def test_enqueue_many_refuses_an_undeclared_callback_before_writing_any_job(redis_conn: Redis) -> None:
    requests = [
        JobRequest("testing.mark", {"token": "a"}, on_success=RECORD_SUCCESS_CALLBACK),
        JobRequest("testing.mark", {"token": "b"}, on_failure="os.system"),
    ]
    with pytest.raises(UnknownJobError, match=re.escape("failure callback 'os.system'")):
        enqueue_many(requests)
    assert redis_conn.keys("rq:job:*") == []


def test_the_plain_rq_producer_with_a_declared_callback_still_works(
    redis_conn: Redis, env: dict[str, str], tmp_path: Path
) -> None:
    queue = Queue("default", connection=redis_conn, serializer=JSONSerializer)
    job = queue.enqueue("tests.support.jobs.mark", token="plain", on_success=Callback(RECORD_SUCCESS_CALLBACK))
    run_burst(env, tmp_path, plain_rq=True)
    assert fetch_job(job.id).get_status() == "finished"
    assert redis_conn.lrange("test:success_callbacks", 0, -1) == [job.id.encode()]
