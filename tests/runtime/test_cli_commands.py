"""The ``odyssey-workers`` commands: help, one-line errors, enqueue, status, jobs, requeue."""

from __future__ import annotations

import json
import os
import subprocess
from pathlib import Path

import click
import pytest
from click.testing import CliRunner
from redis import Redis

from odyssey_workers.cli import main
from odyssey_workers.cli.status import STATUS_SECTIONS, register_status_section
from odyssey_workers.queues import enqueue, fetch_job
from tests.support.servers import free_port
from tests.support.workers import VENV_BIN, start_worker, stop_worker, wait_until


def all_command_paths(group: click.Group = main, prefix: tuple[str, ...] = ()) -> list[tuple[str, ...]]:
    paths = [prefix]
    for name, command in sorted(group.commands.items()):
        if isinstance(command, click.Group):
            paths.extend(all_command_paths(command, (*prefix, name)))
        else:
            paths.append((*prefix, name))
    return paths


@pytest.mark.parametrize("path", all_command_paths(), ids=lambda path: " ".join(path) or "main")
def test_every_command_answers_help(path: tuple[str, ...]) -> None:
    result = CliRunner().invoke(main, [*path, "--help"])
    assert result.exit_code == 0, result.output
    assert result.output.startswith("Usage: ")


def run_cli(env: dict[str, str], *args: str, timeout: float = 60) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [str(VENV_BIN / "odyssey-workers"), *args],
        env={**os.environ, **env},
        capture_output=True,
        text=True,
        timeout=timeout,
    )


COMMANDS_THAT_NEED_REDIS = [
    ("status",),
    ("enqueue", "testing.mark", "--json", '{"token": "x"}'),
    ("requeue", "--all"),
    ("run", "--no-dashboard", "--no-metrics"),
]


@pytest.mark.parametrize("args", COMMANDS_THAT_NEED_REDIS, ids=lambda args: args[0])
def test_malformed_redis_url_is_one_line_naming_the_variable(env: dict[str, str], args: tuple[str, ...]) -> None:
    result = run_cli({**env, "REDIS_URL": "http://cache.internal:6379"}, *args)
    assert result.returncode == 1
    assert result.stderr.strip().splitlines() == [
        "Error: invalid configuration: REDIS_URL: expected a redis://, rediss://, unix:// or redis+sentinel:// URL"
    ]
    assert "Traceback" not in result.stdout + result.stderr


@pytest.mark.parametrize("args", COMMANDS_THAT_NEED_REDIS[:3], ids=lambda args: args[0])
def test_unreachable_redis_is_one_line_naming_where(env: dict[str, str], args: tuple[str, ...]) -> None:
    url = f"redis://127.0.0.1:{free_port()}/0"
    result = run_cli({**env, "REDIS_URL": url}, *args)
    assert result.returncode == 1
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1
    assert lines[0].startswith(f"Error: cannot reach Redis at {url}: ")
    assert "Connection refused" in lines[0]


def test_redis_password_is_never_shown_in_the_unreachable_error(env: dict[str, str]) -> None:
    result = run_cli({**env, "REDIS_URL": f"redis://:hunter2-secret@127.0.0.1:{free_port()}/0"}, "status")
    assert result.returncode == 1
    assert "hunter2-secret" not in result.stderr
    assert ":***@127.0.0.1" in result.stderr


def no_job_written(redis_conn: Redis) -> bool:
    return not list(redis_conn.scan_iter("rq:job:*")) and redis_conn.llen("rq:queue:default") == 0


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (("enqueue", "testing.mark", "--json", "{token"), "Error: --json is not valid JSON: Expecting property name"),
        (("enqueue", "testing.mark", "--json", "[1, 2]"), "Error: --json must be a JSON object of payload fields"),
        (("enqueue", "testing.mrak", "--json", "{}"), "Error: unknown job 'testing.mrak'; did you mean testing.mark"),
        (
            ("enqueue", "testing.mark", "--json", '{"token": 5, "extra": 1}'),
            "Error: testing.mark: bad payload: token: Input should be a valid string; extra: is not a field",
        ),
        (("enqueue", "testing.mark", "--json", '{"_job_id": "x"}'), "Error: testing.mark: bad payload: token: is"),
        (("requeue",), "Error: give failed job ids, or --all (not both)"),
        (("worker", "--processes", "0"), "Error: Invalid value for '--processes'"),
    ],
    ids=["bad-json", "not-object", "unknown-job", "bad-fields", "option-as-field", "requeue-nothing", "bad-option"],
)
def test_bad_command_line_input_is_one_line_and_writes_nothing(
    env: dict[str, str], redis_conn: Redis, args: tuple[str, ...], message: str
) -> None:
    result = CliRunner().invoke(main, list(args))
    assert result.exit_code in (1, 2)
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1, result.stderr
    assert lines[0].startswith(message), lines[0]
    assert no_job_written(redis_conn)


def test_enqueue_prints_the_job_id_and_the_job_is_in_redis(env: dict[str, str], redis_conn: Redis) -> None:
    result = CliRunner().invoke(main, ["enqueue", "testing.mark", "--json", '{"token": "cli"}'])
    assert result.exit_code == 0, result.output
    job = fetch_job(result.stdout.strip())
    assert job.kwargs == {"token": "cli", "seconds": 0.0}
    assert job.origin == "default"


@pytest.mark.timeout(120)
def test_enqueue_wait_shows_progress_then_prints_the_result(
    env: dict[str, str], redis_conn: Redis, tmp_path: Path
) -> None:
    worker = start_worker(env)
    try:
        result = run_cli(env, "enqueue", "system.sleep", "--json", '{"seconds": 1.5, "steps": 3}', "--wait")
    finally:
        stop_worker(worker)
    assert result.returncode == 0, result.stderr
    job_id, printed = result.stdout.strip().splitlines()
    assert fetch_job(job_id).get_status() == "finished"
    assert json.loads(printed)["slept"] >= 1.5
    assert "system.sleep" in result.stderr  # the progress bar, on stderr
    assert "100%" in result.stderr


@pytest.mark.timeout(120)
def test_enqueue_wait_on_a_failing_job_exits_1_with_its_reason(env: dict[str, str], redis_conn: Redis) -> None:
    worker = start_worker(env)
    try:
        result = run_cli(env, "enqueue", "testing.permanent", "--json", '{"token": "doomed"}', "--wait")
    finally:
        stop_worker(worker)
    assert result.returncode == 1
    job_id = result.stdout.strip()
    assert fetch_job(job_id).get_status() == "failed"
    last = result.stderr.strip().splitlines()[-1]
    assert last == f"Error: job {job_id} failed: PermanentError: doomed: this input can never work"


def test_enqueue_wait_gives_up_after_its_timeout_and_leaves_the_job_queued(
    env: dict[str, str], redis_conn: Redis
) -> None:
    result = CliRunner().invoke(
        main, ["enqueue", "testing.mark", "--json", '{"token": "t"}', "--wait", "--timeout", "0.5"]
    )
    assert result.exit_code == 1
    job_id = result.stdout.strip()
    assert result.stderr.strip().splitlines()[-1] == f"Error: gave up waiting after 0.5s; job {job_id} is still queued"
    assert fetch_job(job_id).get_status() == "queued"


@pytest.mark.timeout(120)
def test_status_shows_depths_running_progress_failures_and_registered_sections(
    env: dict[str, str], redis_conn: Redis
) -> None:
    failed = enqueue("testing.permanent", token="status-failure")
    burst = start_worker(env, burst=True)
    assert burst.wait(timeout=60) == 0
    running = enqueue("system.sleep", seconds=30, steps=30)
    worker = start_worker(env)
    registered = list(STATUS_SECTIONS)  # other areas' sections (notifications) stay after this test
    register_status_section("deliveries", lambda connection: [{"channel": "email", "sent": 3}])
    try:
        wait_until(lambda: "progress" in fetch_job(running.id).get_meta(), timeout=60)
        for _ in range(2):
            enqueue("testing.mark_low", token="waiting")
        result = CliRunner().invoke(main, ["status", "--json"])
    finally:
        STATUS_SECTIONS[:] = registered
        stop_worker(worker, timeout=1)
    assert result.exit_code == 0, result.output
    status = json.loads(result.stdout)
    depths = {row["queue"]: row["queued"] for row in status["queues"]}
    assert depths == {"high": 0, "default": 0, "low": 2}
    assert [row["id"] for row in status["running"]] == [running.id]
    assert status["running"][0]["job"] == "system.sleep"
    assert status["running"][0]["progress"].endswith("%")
    assert len(status["workers"]) == 1
    assert status["workers"][0]["current_job"] == running.id
    assert status["recent failures"] == [
        {
            "id": failed.id,
            "job": "testing.permanent",
            "queue": "default",
            "failed_at": status["recent failures"][0]["failed_at"],
            "reason": "PermanentError: status-failure: this input can never work",
        }
    ]
    assert status["deliveries"] == [{"channel": "email", "sent": 3}]


def test_status_as_tables_names_every_section(env: dict[str, str], redis_conn: Redis) -> None:
    result = CliRunner().invoke(main, ["status"], terminal_width=200)
    assert result.exit_code == 0, result.output
    for title in ("queues", "workers", "running", "recent failures"):
        assert title in result.stdout


def test_jobs_lists_the_catalog_and_one_jobs_payload_fields() -> None:
    listing = CliRunner().invoke(main, ["jobs", "--json"])
    assert listing.exit_code == 0
    rows = {row["name"]: row for row in json.loads(listing.stdout)}
    assert rows["testing.mark"]["queue"] == "default"
    assert rows["testing.mark_high"]["queue"] == "high"
    assert rows["testing.limited"]["concurrency"] == 2

    one = CliRunner().invoke(main, ["jobs", "testing.mark", "--json"])
    fields = {row["field"]: row for row in json.loads(one.stdout)["fields"]}
    assert fields["token"]["required"] is True
    assert fields["seconds"]["required"] is False
    assert "maxLength 100" in fields["token"]["limits"]

    unknown = CliRunner().invoke(main, ["jobs", "testing.mrak"])
    assert unknown.exit_code == 1
    assert unknown.stderr.strip().startswith("Error: unknown job 'testing.mrak'; did you mean testing.mark")
    assert len(unknown.stderr.strip().splitlines()) == 1


def _two_failed_jobs(env: dict[str, str]) -> list[str]:
    jobs = [enqueue("testing.permanent", token="first"), enqueue("testing.permanent", token="second")]
    worker = start_worker(env, burst=True)
    assert worker.wait(timeout=60) == 0
    assert all(fetch_job(job.id).get_status() == "failed" for job in jobs)
    return [job.id for job in jobs]


def test_requeue_puts_the_named_failed_job_back_on_its_queue(env: dict[str, str], redis_conn: Redis) -> None:
    first, second = _two_failed_jobs(env)
    result = CliRunner().invoke(main, ["requeue", first])
    assert result.exit_code == 0, result.output
    assert result.stdout.strip() == first
    assert fetch_job(first).get_status() == "queued"
    assert fetch_job(second).get_status() == "failed"


def test_requeue_with_an_unknown_id_requeues_nothing(env: dict[str, str], redis_conn: Redis) -> None:
    first, _ = _two_failed_jobs(env)
    result = CliRunner().invoke(main, ["requeue", first, "no-such-job"])
    assert result.exit_code == 1
    assert result.stderr.strip() == (
        "Error: not in the failed registry of high, default, low: no-such-job; nothing was requeued"
    )
    assert fetch_job(first).get_status() == "failed"


def test_requeue_all_of_one_queue_leaves_other_queues_alone(env: dict[str, str], redis_conn: Redis) -> None:
    failed = _two_failed_jobs(env)
    untouched = CliRunner().invoke(main, ["requeue", "--all", "--queue", "low"])
    assert untouched.exit_code == 0
    assert untouched.stdout == ""
    result = CliRunner().invoke(main, ["requeue", "--all", "--queue", "default"])
    assert result.exit_code == 0
    assert sorted(result.stdout.split()) == sorted(failed)
    assert all(fetch_job(job_id).get_status() == "queued" for job_id in failed)
