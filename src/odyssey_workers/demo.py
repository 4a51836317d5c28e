"""``make demo``: the whole service on its embedded defaults, end to end, ending in a visible result.

It starts ``odyssey-workers run`` (bundled Redis under ``var/redis``, SQLite under ``var/``, files
under ``var/storage``, worker processes, the scheduler, the dashboard and the metrics endpoint),
then acts as another service of the platform would: it enqueues catalog jobs by name, ingests
generated media, sends notifications and runs billing, waits for real workers to do the work,
prints what they did, and stops the service cleanly.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
import urllib.request
from collections.abc import Callable
from pathlib import Path
from typing import Any

from rich.console import Console
from rich.table import Table

console = Console()
BIN = Path(sys.executable).parent
COMMAND = str(BIN / "odyssey-workers")


def demo_env() -> dict[str, str]:
    """The embedded defaults: no REDIS_URL, DATABASE_URL or STORAGE_URL."""
    env = {k: v for k, v in os.environ.items() if k not in ("REDIS_URL", "DATABASE_URL", "STORAGE_URL")}
    env.setdefault("VAR_DIR", "var")
    env.setdefault("COLUMNS", "120")  # rich tables from the CLI stay readable in a pipe
    return env


def cli(*args: str, check: bool = True) -> subprocess.CompletedProcess[str]:
    """Run one ``odyssey-workers`` command the way an operator would."""
    out = subprocess.run([COMMAND, *args], env=demo_env(), capture_output=True, text=True, timeout=600)
    if check and out.returncode != 0:
        raise RuntimeError(f"odyssey-workers {' '.join(args)} failed: {out.stderr.strip().splitlines()[-1:]}")
    return out


def wait_for(predicate: Callable[[], bool], what: str, timeout: float = 120) -> None:
    deadline = time.monotonic() + timeout
    while not predicate():
        if time.monotonic() > deadline:
            raise TimeoutError(f"timed out waiting for {what}")
        time.sleep(0.2)


def health_ok(port: int) -> bool:
    try:
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/health", timeout=2) as response:
            return bool(response.status == 200)
    except OSError:
        return False


def start_service() -> subprocess.Popen[bytes]:
    from odyssey_workers.settings import load_settings

    settings = load_settings()
    log = Path(demo_env()["VAR_DIR"]) / "demo-service.log"
    log.parent.mkdir(parents=True, exist_ok=True)
    console.print(f"[bold]1. Starting the service[/bold] (odyssey-workers run; its log: {log})")
    with log.open("ab") as handle:
        process = subprocess.Popen(
            [COMMAND, "run"], env=demo_env(), stdout=handle, stderr=subprocess.STDOUT, start_new_session=True
        )
    try:
        wait_for(lambda: health_ok(settings.metrics_port) or process.poll() is not None, "the health check")
    except TimeoutError:
        process.kill()
        raise
    if process.poll() is not None:
        raise RuntimeError(f"odyssey-workers run exited with {process.returncode}; see {log}")
    console.print(
        f"   healthy: dashboard http://127.0.0.1:{settings.dashboard_port}, "
        f"metrics http://127.0.0.1:{settings.metrics_port}/metrics"
    )
    return process


def stop_service(process: subprocess.Popen[bytes]) -> None:
    console.print("[bold]Stopping the service[/bold] (SIGINT: running jobs finish, then Redis stops)")
    process.send_signal(signal.SIGINT)
    try:
        code = process.wait(timeout=90)
    except subprocess.TimeoutExpired:
        os.killpg(process.pid, signal.SIGKILL)
        code = process.wait()
    console.print(f"   stopped, exit code {code}")


def runtime_round_trip() -> None:
    """Catalog jobs by name through real Redis and real worker processes."""
    import odyssey_workers
    from odyssey_workers.queues import failure_reason, fetch_job

    console.print("[bold]2. Runtime[/bold]: three catalog jobs enqueued by name, done by worker processes")
    jobs = [
        odyssey_workers.enqueue("system.ping", message="hello from the demo"),
        odyssey_workers.enqueue("system.media_check"),
        odyssey_workers.enqueue("system.sleep", seconds=1.5, steps=3),
    ]
    wait_for(lambda: all(fetch_job(j.id).get_status().value in ("finished", "failed") for j in jobs), "the jobs")
    table = Table("job", "queue", "status", "result")
    for job in jobs:
        stored = fetch_job(job.id)
        result: Any = stored.return_value() if stored.get_status().value == "finished" else failure_reason(stored)
        table.add_row(stored.meta.get("job_name", ""), stored.origin, stored.get_status().value, _short(result))
    console.print(table)


def _short(value: Any, limit: int = 110) -> str:
    text = json.dumps(value, default=str) if not isinstance(value, str) else value
    return text if len(text) <= limit else text[: limit - 1] + "…"


STEPS: list[tuple[str, Callable[[], None]]] = [("runtime", runtime_round_trip)]


def main() -> int:
    process = start_service()
    failures = []
    try:
        for name, step in STEPS:
            try:
                step()
            except Exception as exc:  # noqa: BLE001 - one failing area must not hide what the others did
                failures.append(name)
                console.print(f"[red]   {name} step failed: {exc}[/red]")
        console.print("[bold]Status[/bold] (odyssey-workers status)")
        console.print(cli("status", check=False).stdout)
    finally:
        stop_service(process)
    if failures:
        console.print(f"[red]demo finished with failures in: {', '.join(failures)}[/red]")
        return 1
    console.print("[green bold]demo finished: every step ran through real Redis and real workers[/green bold]")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
