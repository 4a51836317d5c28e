"""rq-dashboard reading our JSON jobs: seen in headless Chromium, and guarded by basic auth."""

from __future__ import annotations

import base64
import os
import shutil
import subprocess
import urllib.error
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import pytest
from redis import Redis

from odyssey_workers.queues import enqueue, fetch_job
from tests.support.servers import free_port, wait_for_port
from tests.support.workers import VENV_BIN, start_worker, stop_worker, wait_until

CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")
needs_chromium = pytest.mark.skipif(
    CHROMIUM is None, reason="chromium not installed (Debian package 'chromium'; make test installs it as root)"
)


def start_dashboard(env: dict[str, str], port: int, log: Path) -> subprocess.Popen[bytes]:
    with log.open("ab") as output:
        process = subprocess.Popen(
            [str(VENV_BIN / "odyssey-workers"), "dashboard", "--port", str(port)],
            env={**os.environ, **env},
            stdout=output,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
    wait_for_port(port, timeout=30)
    return process


@pytest.fixture
def dashboard(env: dict[str, str], redis_conn: Redis, tmp_path: Path) -> Iterator[str]:
    port = free_port()
    process = start_dashboard(env, port, tmp_path / "dashboard.log")
    yield f"http://127.0.0.1:{port}"
    stop_worker(process)


def dump_dom(url: str, profile: Path) -> str:
    """The page as Chromium renders it, after its scripts fetched the data (virtual time budget)."""
    assert CHROMIUM is not None
    command = [
        CHROMIUM,
        "--headless",
        "--no-sandbox",
        "--disable-gpu",
        "--disable-quic",
        "--no-first-run",
        "--disable-background-networking",
        "--disable-component-update",
        "--disable-sync",
        f"--user-data-dir={profile}",
        "--virtual-time-budget=8000",
        "--dump-dom",
        url,
    ]
    result = subprocess.run(command, capture_output=True, text=True, timeout=90)
    assert result.returncode == 0, result.stderr[-2000:]
    return result.stdout


@needs_chromium
@pytest.mark.timeout(240)
def test_dashboard_in_chromium_shows_the_three_queues_and_a_failed_jobs_reason(
    env: dict[str, str], redis_conn: Redis, dashboard: str, tmp_path: Path
) -> None:
    job = enqueue("testing.permanent", token="shown-in-chromium")
    worker = start_worker(env, burst=True)
    assert worker.wait(timeout=60) == 0
    assert fetch_job(job.id).get_status() == "failed"

    queues_page = dump_dom(f"{dashboard}/", tmp_path / "profile")
    for name in ("high", "default", "low"):
        assert f"<td>{name}</td>" in queues_page

    failed_page = dump_dom(f"{dashboard}/0/view/jobs/default/failed/8/asc/1", tmp_path / "profile")
    assert job.id in failed_page
    assert "PermanentError: shown-in-chromium: this input can never work" in failed_page


@needs_chromium
@pytest.mark.timeout(240)
def test_dashboard_in_chromium_shows_a_running_jobs_progress(
    env: dict[str, str], redis_conn: Redis, dashboard: str, tmp_path: Path
) -> None:
    job = enqueue("system.sleep", seconds=30, steps=30)
    worker = start_worker(env)
    try:
        wait_until(lambda: "progress" in fetch_job(job.id).get_meta(), timeout=60)
        page = dump_dom(f"{dashboard}/0/view/jobs/default/started/8/asc/1", tmp_path / "profile")
        assert job.id in page
        assert "system.sleep [progress " in page
        assert "%]" in page
    finally:
        stop_worker(worker, timeout=1)  # the job need not finish; the worker is killed after 1 s


def _get(url: str, auth: tuple[str, str] | None = None) -> int:
    request = urllib.request.Request(url)
    if auth:
        token = base64.b64encode(f"{auth[0]}:{auth[1]}".encode()).decode()
        request.add_header("Authorization", f"Basic {token}")
    try:
        with urllib.request.urlopen(request, timeout=10) as response:
            return int(response.status)
    except urllib.error.HTTPError as exc:
        return int(exc.code)


def test_dashboard_with_credentials_requires_basic_auth_on_every_page(
    env: dict[str, str], redis_conn: Redis, tmp_path: Path
) -> None:
    port = free_port()
    env_with_auth = {**env, "DASHBOARD_USERNAME": "ops", "DASHBOARD_PASSWORD": "s3cret-pass"}
    process = start_dashboard(env_with_auth, port, tmp_path / "dashboard.log")
    try:
        base = f"http://127.0.0.1:{port}"
        for path in ("/", "/0/data/queues.json", "/0/view/workers", "/static/css/main.css"):
            assert _get(base + path) == 401
            assert _get(base + path, ("ops", "wrong")) == 401
            assert _get(base + path, ("someone", "s3cret-pass")) == 401
        assert _get(base + "/", ("ops", "s3cret-pass")) == 200
        assert _get(base + "/0/data/queues.json", ("ops", "s3cret-pass")) == 200
    finally:
        stop_worker(process)


def test_dashboard_bound_beyond_localhost_refuses_to_start_without_auth(env: dict[str, str]) -> None:
    port = free_port()
    result = subprocess.run(
        [str(VENV_BIN / "odyssey-workers"), "dashboard", "--port", str(port)],
        env={**os.environ, **env, "DASHBOARD_HOST": "0.0.0.0"},
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode == 1
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1
    assert lines[0].startswith("Error: DASHBOARD_HOST is '0.0.0.0', not a loopback address")
    assert "DASHBOARD_USERNAME and DASHBOARD_PASSWORD" in lines[0]


def test_dashboard_with_only_a_username_names_the_missing_password(env: dict[str, str]) -> None:
    result = subprocess.run(
        [str(VENV_BIN / "odyssey-workers"), "dashboard", "--port", str(free_port())],
        env={**os.environ, **env, "DASHBOARD_USERNAME": "ops"},
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode == 1
    assert result.stderr.strip().splitlines() == [
        "Error: DASHBOARD_PASSWORD: set both DASHBOARD_USERNAME and DASHBOARD_PASSWORD, or neither"
    ]
