"""``odyssey-workers run``: the whole service under one supervisor process.

Order of start: Redis (bundled when ``REDIS_URL`` is unset), database migrations, then the
worker pool, the scheduler, the dashboard and the metrics endpoint as child processes. Order
of stop (Ctrl-C or SIGTERM): every child gets one SIGTERM — a warm shutdown for the workers,
whose running jobs finish — and Redis is stopped last, after the workers are gone. A second
Ctrl-C turns the workers' shutdown cold (RQ stops the running job; it is retried later).
``run`` exits 0 only when no job was cut short: when a stop killed running jobs (a cold
shutdown, or a SIGTERM sent to every process at once, as systemd's ``KillMode=control-group``
does), it says how many and exits with ``JOBS_CUT_EXIT_CODE`` (75).

Each child runs in its own process group, so the terminal's Ctrl-C reaches only this
supervisor (RQ treats a *second* SIGINT as a cold shutdown: a worker receiving one from the
terminal and one from us would drop its job). Children also get SIGTERM if the supervisor
dies without cleaning up (``PR_SET_PDEATHSIG``), so nothing is left running behind it.
"""

from __future__ import annotations

import contextlib
import logging
import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from types import FrameType

from odyssey_workers.bundled_redis import BundledRedis
from odyssey_workers.connection import get_redis, wait_for_redis
from odyssey_workers.cut_jobs import CUT_JOBS_FILE_VARIABLE, JOBS_CUT_EXIT_CODE, read_cut_jobs
from odyssey_workers.errors import ConfigurationError, OdysseyError
from odyssey_workers.parent_death import die_with_parent
from odyssey_workers.settings import Settings

logger = logging.getLogger(__name__)

RESTART_DELAY_SECONDS = 2.0
"""How long the supervisor waits before restarting a child that exited on its own, in seconds."""

CRASH_LOOP_SECONDS = 10.0
"""A child that exits within this many seconds of its start counts as a quick failure, in seconds."""

CRASH_LOOP_LIMIT = 3
"""After this many quick failures in a row the supervisor gives up and stops the service."""

FORCED_STOP_GRACE_SECONDS = 10.0
"""After a second Ctrl-C, how long children get before SIGKILL, in seconds."""


class SupervisorError(OdysseyError):
    """The service could not start, or a part of it kept failing."""


def _die_with_parent() -> None:
    """Runs in each child between fork and exec: SIGTERM it if the supervisor dies."""
    die_with_parent(signal.SIGTERM)


def port_is_free(host: str, port: int) -> bool:
    with contextlib.closing(socket.socket(socket.AF_INET6 if ":" in host else socket.AF_INET)) as sock:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            sock.bind((host, port))
        except OSError:
            return False
    return True


@dataclass
class Child:
    """One supervised child process."""

    name: str
    argv: list[str]
    where: str = ""
    process: subprocess.Popen[bytes] | None = None
    started_at: float = 0.0
    quick_failures: int = 0
    restart_at: float | None = None
    env: dict[str, str] = field(default_factory=dict)

    def start(self) -> None:
        self.process = subprocess.Popen(
            self.argv,
            env=self.env,
            stdin=subprocess.DEVNULL,
            process_group=0,
            preexec_fn=_die_with_parent,  # safe: the supervisor runs no threads
        )
        self.started_at = time.monotonic()
        self.restart_at = None
        logger.info("started %s (pid %s)", self.name, self.process.pid)

    @property
    def alive(self) -> bool:
        return self.process is not None and self.process.poll() is None

    def signal(self, signum: int) -> None:
        if self.alive and self.process is not None:
            with contextlib.suppress(ProcessLookupError):
                os.kill(self.process.pid, signum)

    def kill_group(self) -> None:
        if self.process is not None:
            with contextlib.suppress(ProcessLookupError, PermissionError):
                os.killpg(self.process.pid, signal.SIGKILL)


@dataclass
class ServicePlan:
    """What ``run`` starts; built from the settings and the command line."""

    processes: int
    scheduler: bool = True
    dashboard: bool = True
    metrics: bool = True
    log_level: str = "INFO"


class Supervisor:
    """Starts the parts, restarts a child that dies, and stops everything in order."""

    def __init__(self, settings: Settings, plan: ServicePlan) -> None:
        self.settings = settings
        self.plan = plan
        self.redis: BundledRedis | None = None
        self.children: list[Child] = []
        self.stop_requests = 0
        self.exit_code = 0
        # Where the workers note jobs a stop cut short (see odyssey_workers.cut_jobs).
        self.cut_jobs_file = (settings.var_dir / f"run-{os.getpid()}.cut-jobs").resolve()

    # --- start ----------------------------------------------------------------------------
    def check_ports(self) -> None:
        wanted = []
        if self.plan.dashboard:
            wanted.append(("DASHBOARD_PORT", self.settings.dashboard_host, self.settings.dashboard_port))
        if self.plan.metrics:
            wanted.append(("METRICS_PORT", self.settings.metrics_host, self.settings.metrics_port))
        for variable, host, port in wanted:
            if not port_is_free(host, port):
                raise ConfigurationError(f"{variable}: {host}:{port} is already in use; choose another port")

    def start_redis(self) -> str:
        """The Redis URL every child will use: the bundled server's socket, or REDIS_URL."""
        if self.settings.redis_url:
            self.wait_for_external_redis()
            return self.settings.redis_url
        self.redis = BundledRedis(self.settings).start(preexec_fn=_die_with_parent)
        return self.redis.url

    def wait_for_external_redis(self) -> None:
        """A service waits for its Redis (it may be starting too); one log line per attempt."""
        if not wait_for_redis(get_redis(self.settings), stopping=lambda: bool(self.stop_requests)):
            raise SupervisorError("stopped while waiting for Redis")

    def child_env(self, url: str) -> dict[str, str]:
        env = dict(os.environ)
        env["REDIS_URL"] = url  # the bundled socket made explicit, so no child has to derive it
        env["VAR_DIR"] = str(self.settings.var_dir.resolve())
        env[CUT_JOBS_FILE_VARIABLE] = str(self.cut_jobs_file)
        return env

    def build_children(self, url: str) -> list[Child]:
        command = [sys.executable, "-m", "odyssey_workers.cli", "--log-level", self.plan.log_level]
        env = self.child_env(url)
        children = [
            Child(
                "workers",
                [*command, "worker", "--processes", str(self.plan.processes)],
                f"{self.plan.processes} process(es) on high, default, low",
                env=env,
            )
        ]
        if self.plan.scheduler:
            schedules = str(getattr(self.settings, "schedules_file", "schedules.yaml"))
            children.append(Child("scheduler", [*command, "scheduler"], schedules, env=env))
        if self.plan.dashboard:
            host, port = self.settings.dashboard_host, self.settings.dashboard_port
            children.append(Child("dashboard", [*command, "dashboard"], f"http://{host}:{port}/", env=env))
        if self.plan.metrics:
            host, port = self.settings.metrics_host, self.settings.metrics_port
            where = f"http://{host}:{port}/metrics and /health"
            children.append(Child("metrics", [*command, "metrics"], where, env=env))
        return children

    def start(self, describe: Callable[[Supervisor, str], None] | None = None) -> None:
        from odyssey_workers.db.migrate import upgrade

        self.check_ports()
        self.cut_jobs_file.parent.mkdir(parents=True, exist_ok=True)
        self.cut_jobs_file.unlink(missing_ok=True)  # a supervisor with our pid that was killed -9
        url = self.start_redis()
        try:
            revisions = upgrade(self.settings.resolved_database_url)
            logger.info("database at migration(s) %s", ", ".join(sorted(revisions)) or "none")
            self.children = self.build_children(url)
            for child in self.children:
                child.start()
        except BaseException:
            self.shutdown()
            raise
        if describe:
            describe(self, url)

    # --- run ------------------------------------------------------------------------------
    def request_stop(self, signum: int, _frame: FrameType | None) -> None:
        self.stop_requests += 1
        if self.stop_requests == 1:
            logger.info("stopping: running jobs finish first (press Ctrl-C again to stop them now)")
        else:
            logger.warning("stopping now: running jobs are interrupted (retried later if they have retries left)")

    def install_signal_handlers(self) -> None:
        signal.signal(signal.SIGINT, self.request_stop)
        signal.signal(signal.SIGTERM, self.request_stop)

    def watch(self) -> None:
        """Until a stop is requested: restart children that exit, give up on a crash loop."""
        while not self.stop_requests:
            now = time.monotonic()
            for child in self.children:
                if child.alive:
                    continue
                if child.restart_at is None:
                    code = child.process.returncode if child.process else None
                    quick = now - child.started_at < CRASH_LOOP_SECONDS
                    child.quick_failures = child.quick_failures + 1 if quick else 1
                    if child.quick_failures >= CRASH_LOOP_LIMIT:
                        logger.error("%s keeps exiting (code %s); stopping the service", child.name, code)
                        self.exit_code = 1
                        self.stop_requests = 1
                        break
                    logger.warning("%s exited with code %s; restarting it", child.name, code)
                    child.restart_at = now + RESTART_DELAY_SECONDS
                elif now >= child.restart_at:
                    child.start()
            time.sleep(0.2)

    # --- stop -----------------------------------------------------------------------------
    def shutdown(self) -> None:
        """SIGTERM every child once, wait (escalating on a second Ctrl-C), then stop Redis."""
        seen_requests = max(self.stop_requests, 1)
        for child in self.children:
            child.signal(signal.SIGTERM)
        forced_at: float | None = None
        while any(child.alive for child in self.children):
            if self.stop_requests > seen_requests and forced_at is None:
                # The second request: RQ turns a second signal into a cold shutdown.
                forced_at = time.monotonic()
                for child in self.children:
                    child.signal(signal.SIGTERM)
            if forced_at is not None and time.monotonic() - forced_at > FORCED_STOP_GRACE_SECONDS:
                for child in self.children:
                    if child.alive:
                        logger.warning("%s did not stop; killing it", child.name)
                        child.kill_group()
                break
            time.sleep(0.1)
        for child in self.children:
            if child.process is not None:
                with contextlib.suppress(subprocess.TimeoutExpired):
                    child.process.wait(timeout=5)
        self.report_cut_jobs()
        if self.redis is not None:
            self.redis.stop()
            logger.info("bundled redis-server stopped")

    def report_cut_jobs(self) -> None:
        """After the workers are gone: one line naming the jobs the stop cut short, and exit 75."""
        cut = read_cut_jobs(self.cut_jobs_file)
        self.cut_jobs_file.unlink(missing_ok=True)
        if not cut:
            return
        shown = ", ".join(cut[:5]) + (f" and {len(cut) - 5} more" if len(cut) > 5 else "")
        logger.error(
            "%d job(s) were cut short by the stop and will be retried if they have retries left: %s",
            len(cut),
            shown,
        )
        if self.exit_code == 0:
            self.exit_code = JOBS_CUT_EXIT_CODE

    def run(self, describe: Callable[[Supervisor, str], None] | None = None) -> int:
        """Start, watch until stopped, stop; returns the exit code."""
        self.install_signal_handlers()
        self.start(describe)
        try:
            self.watch()
        finally:
            self.shutdown()
        return self.exit_code
