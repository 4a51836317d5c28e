"""Real `odyssey-workers scheduler` processes: once per period with two of them, and across a restart."""

from __future__ import annotations

import os
import signal
import subprocess
import time
from datetime import UTC, datetime
from pathlib import Path

import pytest
import yaml
from redis import Redis
from rq.registry import FinishedJobRegistry
from sqlalchemy import select

from odyssey_workers.db.models.schedules import ScheduleRun
from odyssey_workers.db.session import session_scope
from odyssey_workers.queues import fetch_job
from odyssey_workers.scheduling.periods import next_run, period_tick
from tests.support.servers import RedisServer
from tests.support.workers import VENV_BIN, start_worker, stop_worker, wait_until

SCHEDULED = "rq:scheduler:scheduled_jobs"
CRON = "0 3 * * *"  # daily: the next real tick is hours away, so only the ticks a test makes fire
TICKET = "schedule-testing-nightly"


def write_schedules(path: Path) -> Path:
    entry = {
        "name": "testing.nightly",
        "cron": CRON,
        "job": "testing.mark",
        "args": {"token": "nightly"},
        "description": "Marks the nightly token.",
        "enabled": True,
    }
    path.write_text(yaml.safe_dump({"schedules": [entry]}))
    return path


def start_scheduler(env: dict[str, str], schedules: Path, log: Path, *extra: str) -> subprocess.Popen[bytes]:
    command = [str(VENV_BIN / "odyssey-workers"), "scheduler", "--file", str(schedules), "--interval", "0.3", *extra]
    with log.open("ab") as output:  # the child keeps its own copy of the descriptor
        return subprocess.Popen(
            command, env={**os.environ, **env}, stdout=output, stderr=subprocess.STDOUT, start_new_session=True
        )


def stop_scheduler(process: subprocess.Popen[bytes]) -> int:
    if process.poll() is None:
        process.send_signal(signal.SIGTERM)
        try:
            return process.wait(timeout=20)
        except subprocess.TimeoutExpired:
            os.killpg(process.pid, signal.SIGKILL)
            process.wait(timeout=10)
            raise
    return process.returncode


def show_log(log: Path) -> None:
    """Print the processes' output, which pytest shows when the test fails."""
    if log.exists():
        print(log.read_text()[-20_000:])


def make_due(connection: Redis, tick: datetime) -> None:
    """Put the entry's ticket back at ``tick``, as a scheduler that died before moving it leaves it."""
    connection.zadd(SCHEDULED, {TICKET: int(tick.timestamp())})


def fire_results(connection: Redis) -> list[str]:
    """The status each finished schedules.fire job returned."""
    registry = FinishedJobRegistry("high", connection=connection)
    return sorted(fetch_job(job_id, connection).return_value()["status"] for job_id in registry.get_job_ids())


def claimed_periods() -> list[str]:
    with session_scope() as session:
        return list(session.scalars(select(ScheduleRun.period_key)))


@pytest.mark.timeout(150)
def test_two_scheduler_processes_fire_each_period_once(
    database_url: str, env: dict[str, str], redis_conn: Redis, tmp_path: Path
) -> None:
    schedules = write_schedules(tmp_path / "schedules.yaml")
    log = tmp_path / "processes.log"
    worker = start_worker(env, processes=2, log=log)
    first = start_scheduler(env, schedules, log)
    second = start_scheduler(env, schedules, log)
    try:
        wait_until(lambda: redis_conn.zscore(SCHEDULED, TICKET) is not None, timeout=30)
        tick = period_tick(CRON, datetime.now(UTC))
        make_due(redis_conn, tick)
        wait_until(lambda: fire_results(redis_conn) == ["fired"], timeout=60)
        wait_until(lambda: redis_conn.get("test:runs:nightly") == b"1", timeout=30)

        # The ticket moved on; put it back on the same tick so the other scheduler fires it too.
        assert redis_conn.zscore(SCHEDULED, TICKET) == next_run(CRON, datetime.now(UTC)).timestamp()
        make_due(redis_conn, tick)
        wait_until(lambda: len(fire_results(redis_conn)) == 2, timeout=60)
        assert first.poll() is None and second.poll() is None  # both ran all along
    finally:
        codes = [stop_scheduler(first), stop_scheduler(second)]
        stop_worker(worker)
        show_log(log)
    assert codes == [0, 0]  # SIGTERM stops a scheduler cleanly
    assert fire_results(redis_conn) == ["already fired", "fired"]
    assert redis_conn.get("test:runs:nightly") == b"1"
    assert claimed_periods() == [f"testing.nightly:{tick:%Y-%m-%d}"]
    assert redis_conn.zcard(SCHEDULED) == 1  # both synced the same file: one ticket
    instances = redis_conn.keys("rq:scheduler_instance:*")
    assert len(instances) == 2 and all(redis_conn.hexists(key, "death") for key in instances)


@pytest.mark.timeout(150)
def test_a_restarted_scheduler_does_not_fire_a_period_again(
    database_url: str, env: dict[str, str], redis_conn: Redis, tmp_path: Path
) -> None:
    schedules = write_schedules(tmp_path / "schedules.yaml")
    log = tmp_path / "processes.log"
    worker = start_worker(env, processes=1, log=log)
    try:
        assert start_scheduler(env, schedules, log, "--once").wait(timeout=60) == 0  # sync; nothing due yet
        tick = period_tick(CRON, datetime.now(UTC))
        make_due(redis_conn, tick)
        assert start_scheduler(env, schedules, log, "--once").wait(timeout=60) == 0
        wait_until(lambda: redis_conn.get("test:runs:nightly") == b"1", timeout=60)

        # Restart after a crash that left the ticket on the tick it had just fired.
        make_due(redis_conn, tick)
        assert start_scheduler(env, schedules, log, "--once").wait(timeout=60) == 0
        wait_until(lambda: len(fire_results(redis_conn)) == 2, timeout=60)
    finally:
        stop_worker(worker)
        show_log(log)
    assert fire_results(redis_conn) == ["already fired", "fired"]
    assert redis_conn.get("test:runs:nightly") == b"1"
    assert claimed_periods() == [f"testing.nightly:{tick:%Y-%m-%d}"]


@pytest.mark.timeout(120)
def test_a_scheduler_rides_out_a_lost_redis_and_restores_its_tickets(env: dict[str, str], tmp_path: Path) -> None:
    own = RedisServer().start()  # a Redis of its own, which this test stops and starts again
    own_env = {**env, "REDIS_URL": own.url, "RQ_REDIS_URL": own.url}
    schedules = write_schedules(tmp_path / "schedules.yaml")
    log = tmp_path / "scheduler.log"
    scheduler = start_scheduler(own_env, schedules, log)
    connection = Redis.from_url(own.url)
    try:
        wait_until(lambda: connection.zscore(SCHEDULED, TICKET) is not None, timeout=30)
        own.stop()  # lost mid-run, and with it every ticket (no persistence)
        time.sleep(1.5)
        assert scheduler.poll() is None  # still running, waiting for Redis
        own = RedisServer(port=own.port).start()
        wait_until(lambda: connection.zscore(SCHEDULED, TICKET) is not None, timeout=30)  # synced again
        make_due(connection, period_tick(CRON, datetime.now(UTC)))
        wait_until(lambda: connection.llen("rq:queue:high") == 1, timeout=30)  # and firing again
    finally:
        code = stop_scheduler(scheduler)
        connection.close()
        own.stop()
        show_log(log)
    assert code == 0
    output = log.read_text()
    assert "Traceback" not in output
    assert "Redis unreachable" in output and "Redis is back" in output


def test_a_scheduler_started_before_redis_waits_for_it(env: dict[str, str], tmp_path: Path) -> None:
    gone = RedisServer().start()
    gone.stop()  # a port that was Redis's and is closed now
    own_env = {**env, "REDIS_URL": gone.url, "RQ_REDIS_URL": gone.url}
    log = tmp_path / "scheduler.log"
    scheduler = start_scheduler(own_env, write_schedules(tmp_path / "schedules.yaml"), log)
    own = None
    try:
        wait_until(lambda: "cannot reach Redis" in log.read_text(), timeout=30)
        assert scheduler.poll() is None  # waiting, not exited
        own = RedisServer(port=gone.port).start()
        connection = Redis.from_url(own.url)
        wait_until(lambda: connection.zscore(SCHEDULED, TICKET) is not None, timeout=30)  # synced once it answers
        connection.close()
    finally:
        code = stop_scheduler(scheduler)
        if own is not None:
            own.stop()
        show_log(log)
    assert code == 0
    assert "Traceback" not in log.read_text()
