"""``make demo`` talks to the service it started, on one set of settings, or stops saying why."""

from __future__ import annotations

import http.server
import os
import socket
import subprocess
import sys
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.support.servers import free_port

REPO_ROOT = Path(__file__).resolve().parents[2]
ONLY_RUNTIME_STEP = (
    "import sys; from odyssey_workers import demo; "
    "every_step = demo.domain_steps; "
    "demo.domain_steps = lambda: [step for step in every_step() if step[0] == 'runtime']; sys.exit(demo.main())"
)


def run_demo(env: dict[str, str], cwd: Path, script: str = ONLY_RUNTIME_STEP) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-c", script], env=env, cwd=cwd, capture_output=True, text=True, timeout=300)


@pytest.fixture
def shell_env(tmp_path: Path) -> dict[str, str]:
    """A user's shell with a .env loaded: every URL points somewhere other than the demo's service."""
    values = {key: value for key, value in os.environ.items() if not key.startswith(("RQ_", "ODYSSEY_"))}
    values.update(
        {
            "REDIS_URL": f"redis://127.0.0.1:{free_port()}/0",  # nothing listens there
            "DATABASE_URL": f"sqlite:///{tmp_path / 'elsewhere' / 'other.db'}",
            "STORAGE_URL": (tmp_path / "elsewhere" / "storage").as_uri(),
            "VAR_DIR": str(tmp_path / "elsewhere" / "var"),
            "DASHBOARD_PORT": str(free_port()),
            "METRICS_PORT": str(free_port()),
            "SCHEDULES_FILE": str(REPO_ROOT / "schedules.yaml"),
        }
    )
    (tmp_path / "elsewhere").mkdir()
    return values


@pytest.mark.slow
@pytest.mark.timeout(300)
def test_demo_ignores_the_shells_urls_and_talks_to_the_service_it_started(
    shell_env: dict[str, str], tmp_path: Path
) -> None:
    result = run_demo(shell_env, tmp_path)
    output = result.stdout + result.stderr
    assert result.returncode == 0, output
    first = result.stdout.splitlines()[0]
    assert f"under {tmp_path / 'var' / 'demo'}" in first
    assert "ignoring your REDIS_URL, DATABASE_URL, STORAGE_URL, VAR_DIR" in first
    assert "healthy" in output
    assert "timed out" not in output
    assert "demo finished: every step ran" in output
    # Everything the demo and its service wrote is under var/demo; nothing went elsewhere.
    assert (tmp_path / "var" / "demo" / "odyssey.db").exists()
    assert not (tmp_path / "elsewhere" / "other.db").exists()
    assert sorted(path.name for path in (tmp_path / "elsewhere").iterdir()) == []


class _HealthyElsewhere(http.server.BaseHTTPRequestHandler):
    """Another service's health check: always 200."""

    def do_GET(self) -> None:
        self.send_response(200)
        self.end_headers()
        self.wfile.write(b'{"status": "ok"}')

    def log_message(self, format: str, *args: object) -> None:
        pass


@pytest.fixture
def another_service(shell_env: dict[str, str]) -> Iterator[None]:
    """Another service holding the demo's dashboard port and answering /health on its metrics port."""
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), _HealthyElsewhere)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    with socket.socket() as dashboard:
        dashboard.bind(("127.0.0.1", 0))
        dashboard.listen()
        shell_env["DASHBOARD_PORT"] = str(dashboard.getsockname()[1])
        shell_env["METRICS_PORT"] = str(server.server_address[1])
        yield
    server.shutdown()
    server.server_close()
    thread.join()


@pytest.mark.timeout(300)
def test_demo_whose_service_exits_prints_its_error_and_never_healthy(
    shell_env: dict[str, str], another_service: None, tmp_path: Path
) -> None:
    result = run_demo(shell_env, tmp_path, "import sys; from odyssey_workers import demo; sys.exit(demo.main())")
    output = result.stdout + result.stderr
    assert result.returncode == 1, output
    port = shell_env["DASHBOARD_PORT"]
    assert f"DASHBOARD_PORT: 127.0.0.1:{port} is already in use" in result.stdout
    assert "the demo's service did not start: odyssey-workers run exited with code 1" in result.stdout
    assert "healthy" not in output
    assert "cannot reach Redis" not in output
    assert "step failed" not in output
