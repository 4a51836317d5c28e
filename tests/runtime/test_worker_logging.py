"""What real worker processes write to their log: retries as one warning line, lines named by job."""

from __future__ import annotations

from pathlib import Path

import pytest
from redis import Redis

import odyssey_workers
from tests.support.workers import start_worker


def run_burst(env: dict[str, str], tmp_path: Path, plain_rq: bool = False) -> str:
    log = tmp_path / "worker.log"
    process = start_worker(env, burst=True, plain_rq=plain_rq, log=log)
    process.wait(timeout=60)
    return log.read_text()


def lines_naming(log: str, job_id: str) -> list[str]:
    return [line for line in log.splitlines() if job_id in line]


def test_a_retried_failure_is_one_warning_line_without_a_traceback(
    redis_conn: Redis, env: dict[str, str], tmp_path: Path
) -> None:
    job = odyssey_workers.enqueue("testing.flaky", _connection=redis_conn, token="warn", failures=1)
    log = run_burst(env, tmp_path)

    assert job.get_status(refresh=True) == "scheduled"  # the retry, 1 s later
    failed = [line for line in lines_naming(log, job.id) if "failed" in line]
    assert len(failed) == 1, log
    assert " WARNING " in failed[0], log
    assert "RetryableError: attempt 1 of warn failed on purpose" in failed[0]
    assert "will be retried (3 retries left)" in failed[0]
    assert "Traceback" not in log
    assert " ERROR " not in log


def test_a_failure_with_no_retry_left_is_still_an_error_with_its_traceback(
    redis_conn: Redis, env: dict[str, str], tmp_path: Path
) -> None:
    # A PermanentError ends the job at once: no retry is left, so it is RQ's ERROR line.
    job = odyssey_workers.enqueue("testing.permanent", _connection=redis_conn, token="final")
    log = run_burst(env, tmp_path)

    assert job.get_status(refresh=True) == "failed"
    assert any(" ERROR " in line and "exception raised while executing" in line for line in lines_naming(log, job.id))
    assert "Traceback (most recent call last)" in log


@pytest.mark.parametrize("plain_rq", [False, True], ids=["odyssey-workers", "plain-rq"])
def test_a_line_logged_inside_a_job_carries_the_job_id_and_catalog_name(
    redis_conn: Redis, env: dict[str, str], tmp_path: Path, plain_rq: bool
) -> None:
    job = odyssey_workers.enqueue("testing.log_line", _connection=redis_conn, token="hello-42")
    log = run_burst(env, tmp_path, plain_rq=plain_rq)

    assert job.get_status(refresh=True) == "finished", log
    [line] = [line for line in log.splitlines() if "a line from inside the job" in line]
    assert f"[job {job.id} testing.log_line] a line from inside the job: hello-42" in line
    # Lines of the worker itself, outside any job, carry no job prefix.
    assert not any("[job " in line for line in log.splitlines() if "started with PID" in line)
