"""``odyssey-workers run`` (the whole service), ``dashboard`` and ``metrics`` (its web parts alone)."""

from __future__ import annotations

import logging
import signal
import sys
from types import FrameType

import click
from rich.console import Console
from rich.table import Table

from odyssey_workers.cli import main
from odyssey_workers.connection import safe_url
from odyssey_workers.settings import get_settings

logger = logging.getLogger(__name__)


def _print_summary(supervisor: object, url: str) -> None:
    from odyssey_workers.service import Supervisor

    assert isinstance(supervisor, Supervisor)
    settings = supervisor.settings
    table = Table(title="odyssey-workers is running", title_justify="left", show_header=True)
    table.add_column("part")
    table.add_column("where")
    table.add_column("pid", justify="right")
    redis_where = safe_url(url) + (" (bundled, data in var/redis)" if supervisor.redis else "")
    table.add_row(
        "redis", redis_where, str(supervisor.redis.process.pid) if supervisor.redis and supervisor.redis.process else ""
    )
    table.add_row("database", safe_url(settings.resolved_database_url), "")
    table.add_row("storage", safe_url(settings.resolved_storage_url), "")
    for child in supervisor.children:
        table.add_row(child.name, child.where, str(child.process.pid) if child.process else "")
    if not supervisor.plan.scheduler:
        table.add_row("scheduler", "[yellow]not started[/yellow]", "")
    console = Console(stderr=True)
    console.print(table)
    console.print("Press Ctrl-C to stop (running jobs finish first).")


@main.command()
@click.option(
    "--processes", "-n", type=click.IntRange(1, 64), default=None, help="Worker processes (WORKER_PROCESSES)."
)
@click.option("--no-scheduler", is_flag=True, help="Do not start the scheduler.")
@click.option("--no-dashboard", is_flag=True, help="Do not start rq-dashboard.")
@click.option("--no-metrics", is_flag=True, help="Do not start the metrics and health endpoint.")
@click.pass_context
def run(ctx: click.Context, processes: int | None, no_scheduler: bool, no_dashboard: bool, no_metrics: bool) -> None:
    """Run the whole service: Redis (bundled if REDIS_URL is unset), workers, scheduler, dashboard, metrics."""
    from odyssey_workers.service import ServicePlan, Supervisor

    settings = get_settings()
    scheduler = not no_scheduler
    if scheduler and "scheduler" not in main.commands:
        # The scheduler command ships with the scheduling module; without it, run the rest.
        logger.warning("the 'scheduler' command is not available in this installation; running without it")
        scheduler = False
    plan = ServicePlan(
        processes=processes or settings.worker_processes,
        scheduler=scheduler,
        dashboard=not no_dashboard,
        metrics=not no_metrics,
        log_level=logging.getLevelName(logging.getLogger().level),
    )
    code = Supervisor(settings, plan).run(describe=_print_summary)
    ctx.exit(code)


@main.command()
@click.option("--port", type=click.IntRange(1, 65535), default=None, help="Port (DASHBOARD_PORT).")
def dashboard(port: int | None) -> None:
    """Serve rq-dashboard on DASHBOARD_HOST (127.0.0.1 unless set; elsewhere only with basic auth)."""
    from odyssey_workers.dashboard import serve_dashboard

    settings = get_settings()
    _exit_cleanly_on_sigterm()
    # No Redis check here: the dashboard starts anyway and shows Redis errors on its pages.
    serve_dashboard(settings, port)


@main.command()
@click.option("--port", type=click.IntRange(1, 65535), default=None, help="Port (METRICS_PORT).")
def metrics(port: int | None) -> None:
    """Serve Prometheus metrics at /metrics and the health check at /health (METRICS_HOST:METRICS_PORT)."""
    from odyssey_workers.monitoring import MetricsServer

    settings = get_settings()
    server = MetricsServer(settings, port=port)
    host, bound = server.address
    click.echo(f"metrics on http://{host}:{bound}/metrics, health on http://{host}:{bound}/health", err=True)
    _exit_cleanly_on_sigterm()
    server.serve_forever()


def _exit_cleanly_on_sigterm() -> None:
    """SIGTERM and Ctrl-C end a server loop with exit code 0 instead of a signal death."""

    def stop(_signum: int, _frame: FrameType | None) -> None:
        sys.exit(0)

    signal.signal(signal.SIGTERM, stop)
    signal.signal(signal.SIGINT, stop)
