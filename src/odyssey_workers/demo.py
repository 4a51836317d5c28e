"""``make demo``: the whole service on its embedded defaults, end to end, ending in a visible result.

It starts ``odyssey-workers run`` on its own embedded defaults under ``var/demo`` (bundled Redis,
SQLite, files; see ``demo_service``: the shell's ``REDIS_URL``, ``DATABASE_URL``, ``STORAGE_URL``
and ``VAR_DIR`` are ignored by the demo and by its service alike), then acts as another service
of the platform would: it enqueues catalog jobs by name, ingests generated media, sends
notifications and runs billing, waits for real workers to do the work, prints what they did, and
stops the service cleanly. If the service exits on its own, the demo stops with its error line.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from rich.console import Console
from rich.markup import escape

from odyssey_workers.demo_service import DemoService, ServiceExited, demo_env, ignored_settings, start_service

console = Console(width=120)  # the same layout in a terminal and in a pipe
BIN = Path(sys.executable).parent
COMMAND = str(BIN / "odyssey-workers")


_service: DemoService | None = None
"""The service this demo started; every wait checks it is still running."""


def say_failure(text: str) -> None:
    """A failure in red on one line, as written (an error may hold brackets rich would eat)."""
    console.print(f"[red]{escape(text)}[/red]", soft_wrap=True)


def use_demo_settings() -> None:
    """Make this process read the same settings as the service and the commands it starts."""
    from odyssey_workers.db.session import dispose_engines
    from odyssey_workers.settings import get_settings

    env = demo_env()
    os.environ.clear()
    os.environ.update(env)
    get_settings.cache_clear()
    dispose_engines()


def cli(*args: str, check: bool = True) -> subprocess.CompletedProcess[str]:
    """Run one ``odyssey-workers`` command the way an operator would."""
    out = subprocess.run([COMMAND, *args], env=dict(os.environ), capture_output=True, text=True, timeout=600)
    if check and out.returncode != 0:
        raise RuntimeError(f"odyssey-workers {' '.join(args)} failed: {out.stderr.strip().splitlines()[-1:]}")
    return out


def wait_for(predicate: Callable[[], bool], what: str, timeout: float = 120) -> None:
    deadline = time.monotonic() + timeout
    while not predicate():
        if _service is not None:
            _service.check()  # a dead service will never finish anything: say why now
        if time.monotonic() > deadline:
            raise TimeoutError(f"timed out waiting for {what}")
        time.sleep(0.2)


def start_demo_service() -> DemoService:
    from odyssey_workers.settings import get_settings

    settings = get_settings()
    log = settings.var_dir / "demo-service.log"
    console.print(f"[bold]Starting the service[/bold] (odyssey-workers run; its log: {log})")
    service = start_service(COMMAND, os.environ, log)
    service.wait_until_healthy(settings.metrics_port)
    console.print(
        f"   healthy: dashboard http://127.0.0.1:{settings.dashboard_port}, "
        f"metrics http://127.0.0.1:{settings.metrics_port}/metrics (pid {service.process.pid})"
    )
    return service


def stop_service(service: DemoService) -> None:
    console.print("[bold]Stopping the service[/bold] (SIGINT: running jobs finish, then Redis stops)")
    console.print(f"   stopped, exit code {service.stop()}")


def show(text: str) -> None:
    """Print a command's own output as it is (already laid out for 120 columns)."""
    sys.stdout.write(text.rstrip() + "\n")
    sys.stdout.flush()


def short(value: Any, limit: int = 110) -> str:
    text = json.dumps(value, default=str) if not isinstance(value, str) else value
    return text if len(text) <= limit else text[: limit - 1] + "…"


def wait_for_jobs(jobs: list[Any], what: str, timeout: float = 300) -> list[Any]:
    """Wait until every job has finished or failed; raise naming the first failure."""
    from odyssey_workers.queues import failure_reason, fetch_job

    wait_for(lambda: all(fetch_job(j.id).get_status().value in ("finished", "failed") for j in jobs), what, timeout)
    stored = [fetch_job(j.id) for j in jobs]
    for job in stored:
        if job.get_status().value == "failed":
            raise RuntimeError(f"{job.meta.get('job_name')} failed: {failure_reason(job)}")
    return [job.return_value() for job in stored]


def demo_people() -> tuple[int, list[int]]:
    """A creator and three fans, as the platform's API service would have made them."""
    from sqlalchemy import select

    from odyssey_workers.db.models import Creator, Follow, User
    from odyssey_workers.db.session import session_scope

    stamp = time.strftime("%Y%m%d%H%M%S")
    with session_scope() as session:
        existing = session.scalar(select(Creator).where(Creator.handle == "demo-creator"))
        if existing is None:
            owner = User(email="creator@example.com", display_name="Ana (demo creator)")
            session.add(owner)
            session.flush()
            existing = Creator(user_id=owner.id, handle="demo-creator")
            session.add(existing)
            session.flush()
        fans = [
            User(email=f"fan{i}-{stamp}@example.com", display_name=f"Fan {i}", locale=locale, time_zone=zone)
            for i, (locale, zone) in enumerate([("en", "UTC"), ("fr", "Europe/Paris"), ("de", "Europe/Berlin")])
        ]
        session.add_all(fans)
        session.flush()
        session.add_all(Follow(follower_id=fan.id, creator_id=existing.id) for fan in fans)
        return existing.id, [fan.id for fan in fans]


def domain_steps() -> list[tuple[str, Callable[[], None]]]:
    """Each domain's part of the demo (``jobs/<domain>/demo.py``: ``DEMO_NAME``, ``DEMO_ORDER``,
    ``run``), in ``DEMO_ORDER``: the runtime's round trip first, then what each domain does."""
    from odyssey_workers.domains import import_part

    modules = sorted(import_part("demo"), key=lambda module: (module.DEMO_ORDER, module.DEMO_NAME))
    return [(module.DEMO_NAME, module.run) for module in modules]


def main() -> int:
    global _service
    ignored = ignored_settings()
    use_demo_settings()
    console.print(
        f"Demo settings: its own embedded service under {os.environ['VAR_DIR']} (bundled Redis, SQLite, "
        "local files), for the demo and the service alike"
        + (f"; ignoring your {', '.join(ignored)}" if ignored else ""),
        soft_wrap=True,  # one line, so the first line says it all
    )
    try:
        _service = start_demo_service()
    except ServiceExited as exc:
        say_failure(f"the demo's service did not start: {exc}")
        return 1
    failures = []
    try:
        for name, step in domain_steps():
            try:
                step()
            except ServiceExited as exc:
                failures.append(name)
                say_failure(f"   {name} step stopped: the demo's service is gone: {exc}")
                break
            except Exception as exc:  # noqa: BLE001 - one failing area must not hide what the others did
                failures.append(name)
                say_failure(f"   {name} step failed: {exc}")
                if _service.process.poll() is not None:  # the failure was the service going away
                    say_failure(f"   the demo's service is gone: {_service.last_error_line()}")
                    break
        if _service.process.poll() is None:
            console.print("[bold]Status[/bold] (odyssey-workers status)")
            show(cli("status", check=False).stdout)
    finally:
        stop_service(_service)
    if failures:
        console.print(f"[red]demo finished with failures in: {', '.join(failures)}[/red]")
        return 1
    console.print("[green bold]demo finished: every step ran through real Redis and real workers[/green bold]")
    return 0


if __name__ == "__main__":
    # Run the imported module, not this __main__ copy: the domains' demo steps import
    # odyssey_workers.demo, and they must see the service this run starts.
    from odyssey_workers import demo

    raise SystemExit(demo.main())
