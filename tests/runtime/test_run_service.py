"""``odyssey-workers run``: the whole service from one command, with the bundled Redis."""

from __future__ import annotations

import contextlib
import os
import signal
import socket
import subprocess
import time
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import pytest
from redis import Redis

from odyssey_workers.bundled_redis import BundledRedis
from odyssey_workers.queues import enqueue, fetch_job
from odyssey_workers.settings import Settings
from tests.support.servers import RedisServer, free_port, wait_for_port
from tests.support.workers import VENV_BIN, session_pids, wait_until

REPO_ROOT = Path(__file__).resolve().parents[2]


def _process_name(pid: int) -> str:
    try:
        return Path(f"/proc/{pid}/comm").read_text().strip()
    except OSError:
        return ""


def start_run(env: dict[str, str], log: Path, *extra: str) -> subprocess.Popen[bytes]:
    """``odyssey-workers run`` in a session of its own, so the test can find every descendant."""
    with log.open("ab") as output:
        return subprocess.Popen(
            [str(VENV_BIN / "odyssey-workers"), "run", "--processes", "2", *extra],
            env=env,
            stdout=output,
            stderr=subprocess.STDOUT,
            start_new_session=True,
            cwd=REPO_ROOT,
        )


@pytest.fixture
def run_env(env: dict[str, str], var_dir: Path) -> Iterator[dict[str, str]]:
    """The environment of a ``run`` with the bundled Redis (REDIS_URL unset) and free ports."""
    values = {key: value for key, value in os.environ.items() if key not in ("REDIS_URL", "RQ_REDIS_URL")}
    values.update({key: value for key, value in env.items() if key not in ("REDIS_URL", "RQ_REDIS_URL")})
    values["DASHBOARD_PORT"] = str(free_port())
    values["METRICS_PORT"] = str(free_port())
    values["SCHEDULES_FILE"] = str(REPO_ROOT / "schedules.yaml")
    yield values


def _stop_everything(process: subprocess.Popen[bytes]) -> None:
    for pid in session_pids(process.pid):
        try:
            os.kill(pid, signal.SIGKILL)
        except ProcessLookupError:
            pass
    if process.poll() is None:
        process.wait(timeout=10)


@pytest.mark.timeout(180)
def test_run_starts_bundled_redis_runs_a_job_and_stops_every_child_on_ctrl_c(
    run_env: dict[str, str], var_dir: Path, tmp_path: Path
) -> None:
    log = tmp_path / "run.log"
    process = start_run(run_env, log)
    try:
        socket_path = var_dir / "redis" / "redis.sock"
        wait_until(socket_path.exists, timeout=30)
        connection = Redis(unix_socket_path=str(socket_path))
        wait_until(lambda: connection.scard("rq:workers") >= 2, timeout=60)

        # The bundled server is configured as production wants Redis.
        assert connection.config_get("appendonly")["appendonly"] == "yes"
        assert connection.config_get("maxmemory-policy")["maxmemory-policy"] == "noeviction"
        assert connection.config_get("port")["port"] == "0"  # socket only, nothing on the network

        job = enqueue("testing.mark", token="through-run", _connection=connection)
        wait_until(lambda: fetch_job(job.id, connection).get_status() == "finished", timeout=60)
        assert connection.get("test:runs:through-run") == b"1"

        wait_for_port(int(run_env["DASHBOARD_PORT"]), timeout=30)
        wait_for_port(int(run_env["METRICS_PORT"]), timeout=30)
        metrics = urllib.request.urlopen(f"http://127.0.0.1:{run_env['METRICS_PORT']}/metrics", timeout=10).read()
        assert b'odyssey_jobs_finished_total{job_name="testing.mark"} 1.0' in metrics

        children = [pid for pid in session_pids(process.pid) if pid != process.pid]
        names = {_process_name(pid) for pid in children}
        assert "redis-server" in names
        assert len(children) >= 6  # redis, worker pool + 2 workers, scheduler, dashboard, metrics
        connection.close()

        process.send_signal(signal.SIGINT)
        assert process.wait(timeout=90) == 0, log.read_text()
        left = [pid for pid in children if Path(f"/proc/{pid}").exists() and _process_name(pid)]
        assert session_pids(process.pid) == []
        assert left == []
        assert not socket_path.exists()
        assert any((var_dir / "redis").glob("appendonly*"))  # the data stays for the next start
    finally:
        _stop_everything(process)


def test_run_refuses_a_busy_dashboard_port_in_one_line_and_starts_nothing(
    run_env: dict[str, str], var_dir: Path, tmp_path: Path
) -> None:
    with socket.socket() as busy:
        busy.bind(("127.0.0.1", 0))
        busy.listen()
        port = busy.getsockname()[1]
        run_env["DASHBOARD_PORT"] = str(port)
        result = subprocess.run(
            [str(VENV_BIN / "odyssey-workers"), "run"], env=run_env, capture_output=True, text=True, timeout=60
        )
    assert result.returncode == 1
    assert result.stderr.strip() == f"Error: DASHBOARD_PORT: 127.0.0.1:{port} is already in use; choose another port"
    assert not (var_dir / "redis").exists()


@pytest.mark.timeout(180)
def test_run_waits_for_an_unreachable_redis_and_starts_when_it_answers(
    run_env: dict[str, str], var_dir: Path, tmp_path: Path
) -> None:
    late = RedisServer()
    run_env["REDIS_URL"] = late.url
    log = tmp_path / "run.log"
    process = start_run(run_env, log, "--no-dashboard", "--no-metrics", "--no-scheduler")
    try:
        time.sleep(3)
        assert process.poll() is None, log.read_text()  # still waiting, not crashed
        late.start()
        connection = Redis.from_url(late.url)
        wait_until(lambda: connection.scard("rq:workers") >= 2, timeout=60)
        job = enqueue("testing.mark", token="late-redis", _connection=connection)
        wait_until(lambda: fetch_job(job.id, connection).get_status() == "finished", timeout=60)
        process.send_signal(signal.SIGTERM)
        assert process.wait(timeout=60) == 0
        output = log.read_text()
        # No traceback of the outage (other tracebacks, as a job module failing to import, are
        # not about Redis); the waiting is told in one line per attempt.
        assert "redis.exceptions" not in output
        assert "ConnectionRefusedError" not in output
        waiting = [line for line in output.splitlines() if "cannot reach Redis" in line]
        assert 1 <= len(waiting) <= 6  # one line per attempt with backoff, not a storm
        connection.close()
    finally:
        _stop_everything(process)
        late.stop()


@pytest.mark.timeout(180)
def test_run_stops_everything_with_exit_1_when_the_scheduler_keeps_failing(
    run_env: dict[str, str], var_dir: Path, tmp_path: Path
) -> None:
    broken = tmp_path / "schedules.yaml"
    broken.write_text(
        "schedules:\n  - name: bad.entry\n    cron: '99 * * * *'\n    job: system.ping\n    args: {}\n"
        "    description: a minute that does not exist\n"
    )
    run_env["SCHEDULES_FILE"] = str(broken)
    log = tmp_path / "run.log"
    process = start_run(run_env, log, "--no-dashboard", "--no-metrics")
    try:
        assert process.wait(timeout=120) == 1
        output = log.read_text()
        assert "cron '99 * * * *' is not a valid cron expression" in output
        assert "scheduler keeps exiting (code 1); stopping the service" in output
        assert session_pids(process.pid) == []  # workers and the bundled Redis are gone too
        assert not (var_dir / "redis" / "redis.sock").exists()
    finally:
        _stop_everything(process)


def _start_run_with_running_jobs(
    run_env: dict[str, str], var_dir: Path, log: Path, seconds: float, count: int
) -> tuple[subprocess.Popen[bytes], Redis, list[str]]:
    """``run`` on the bundled Redis with ``count`` jobs of ``seconds`` each already running."""
    process = start_run(run_env, log, "--no-dashboard", "--no-metrics", "--no-scheduler")
    socket_path = var_dir / "redis" / "redis.sock"
    wait_until(socket_path.exists, timeout=60)
    connection = Redis(unix_socket_path=str(socket_path))
    wait_until(lambda: connection.scard("rq:workers") >= 2, timeout=60)
    jobs = [enqueue("testing.mark", token=f"cut-{i}", seconds=seconds, _connection=connection) for i in range(count)]
    wait_until(lambda: all(fetch_job(job.id, connection).get_status() == "started" for job in jobs), timeout=60)
    return process, connection, [job.id for job in jobs]


@pytest.mark.slow
@pytest.mark.timeout(180)
def test_run_exits_75_naming_the_cut_jobs_when_sigterm_reaches_every_process_at_once(
    run_env: dict[str, str], var_dir: Path, tmp_path: Path
) -> None:
    log = tmp_path / "run.log"
    process, connection, job_ids = _start_run_with_running_jobs(run_env, var_dir, log, seconds=60, count=2)
    try:
        connection.close()
        # systemd's default KillMode=control-group: SIGTERM to the supervisor, the workers, their
        # work horses and the bundled Redis at the same moment (each child has a process group of
        # its own, so os.killpg on run's group would reach run alone).
        for pid in session_pids(process.pid):
            with contextlib.suppress(ProcessLookupError):
                os.kill(pid, signal.SIGTERM)
        assert process.wait(timeout=90) == 75, log.read_text()
        output = log.read_text()
        assert "2 job(s) were cut short by the stop and will be retried if they have retries left" in output
        assert all(job_id in output for job_id in job_ids)
        assert session_pids(process.pid) == []
        assert list(var_dir.glob("*.cut-jobs")) == []  # the note is read and removed
    finally:
        _stop_everything(process)

    # Nothing lost: the cut jobs are still in Redis, not finished, for a worker to retry.
    again = BundledRedis(Settings(var_dir=var_dir)).start()
    try:
        connection = Redis(unix_socket_path=str(again.socket_path))
        for job_id in job_ids:
            assert fetch_job(job_id, connection).get_status() != "finished"
        assert connection.get("test:runs:cut-0") is None
        connection.close()
    finally:
        again.stop()


@pytest.mark.slow
@pytest.mark.timeout(180)
def test_sigterm_to_run_alone_lets_the_running_job_finish_and_exits_0(
    run_env: dict[str, str], var_dir: Path, tmp_path: Path
) -> None:
    log = tmp_path / "run.log"
    process, connection, job_ids = _start_run_with_running_jobs(run_env, var_dir, log, seconds=4, count=1)
    try:
        connection.close()
        process.send_signal(signal.SIGTERM)  # KillMode=mixed: the main process only
        assert process.wait(timeout=90) == 0, log.read_text()
        assert "cut short" not in log.read_text()
    finally:
        _stop_everything(process)
    again = BundledRedis(Settings(var_dir=var_dir)).start()
    try:
        connection = Redis(unix_socket_path=str(again.socket_path))
        assert fetch_job(job_ids[0], connection).get_status() == "finished"
        assert connection.get("test:runs:cut-0") == b"1"
        connection.close()
    finally:
        again.stop()


@pytest.mark.slow
@pytest.mark.timeout(180)
def test_a_second_sigterm_cuts_the_running_job_and_run_exits_75_naming_it(
    run_env: dict[str, str], var_dir: Path, tmp_path: Path
) -> None:
    log = tmp_path / "run.log"
    process, connection, job_ids = _start_run_with_running_jobs(run_env, var_dir, log, seconds=60, count=1)
    try:
        connection.close()
        process.send_signal(signal.SIGTERM)  # warm: the job would run its 60 s
        wait_until(lambda: "stopping: running jobs finish first" in log.read_text(), timeout=30)
        time.sleep(1.5)  # RQ ignores a repeated signal within 1 s (the pool's and the OS's copies)
        process.send_signal(signal.SIGTERM)  # cold: the workers kill their horses
        assert process.wait(timeout=90) == 75, log.read_text()
        assert f"1 job(s) were cut short by the stop and will be retried if they have retries left: {job_ids[0]}" in (
            log.read_text()
        )
    finally:
        _stop_everything(process)
    again = BundledRedis(Settings(var_dir=var_dir)).start()
    try:
        connection = Redis(unix_socket_path=str(again.socket_path))
        assert fetch_job(job_ids[0], connection).get_status() != "finished"  # left for recovery
        connection.close()
    finally:
        again.stop()
