"""``odyssey-workers scheduler`` (validate, sync, run) and ``odyssey-workers schedules`` (the table)."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import click
from redis.exceptions import ConnectionError as RedisConnectionError
from redis.exceptions import TimeoutError as RedisTimeoutError
from rich.console import Console
from rich.table import Table

from odyssey_workers.cli import main
from odyssey_workers.connection import get_redis
from odyssey_workers.scheduler import run_scheduler
from odyssey_workers.scheduling.entries import ScheduleEntry, load_schedules
from odyssey_workers.scheduling.periods import next_run, period_kind
from odyssey_workers.scheduling.sync import scheduled_tickets
from odyssey_workers.settings import get_settings

FILE_OPTION = click.option(
    "--file",
    "-f",
    "path",
    type=click.Path(dir_okay=False, path_type=Path),
    default=None,
    help="The schedules file (SCHEDULES_FILE, default schedules.yaml).",
)


def _entries(path: Path | None) -> tuple[Path, list[ScheduleEntry]]:
    path = path or get_settings().schedules_file
    return path, load_schedules(path)


@main.command()
@FILE_OPTION
@click.option("--check", is_flag=True, help="Only validate the file; schedule nothing.")
@click.option("--once", is_flag=True, help="Sync, fire what is due once, and exit.")
@click.option(
    "--interval",
    type=click.FloatRange(0.1, 3600),
    default=None,
    help="Seconds between checks for due entries (SCHEDULER_INTERVAL_SECONDS, default 5).",
)
def scheduler(path: Path | None, check: bool, once: bool, interval: float | None) -> None:
    """Validate the schedules file, sync it into rq-scheduler, and run it (SIGTERM/Ctrl-C stop it)."""
    if check:
        path, entries = _entries(path)
        enabled = sum(entry.enabled for entry in entries)
        click.echo(f"{path}: {len(entries)} entries are valid ({enabled} enabled, {len(entries) - enabled} disabled)")
        return
    run_scheduler(path, interval, once=once, announce=lambda line: click.echo(line, err=True))


def _next_runs() -> dict[str, datetime]:
    """Next run per entry as rq-scheduler holds it, or nothing when Redis is not reachable."""
    try:
        return scheduled_tickets(get_redis())
    except (RedisConnectionError, RedisTimeoutError):
        return {}


@main.command()
@FILE_OPTION
def schedules(path: Path | None) -> None:
    """List the schedules file's entries: state, cron (UTC), job and next run."""
    path, entries = _entries(path)
    synced = _next_runs()
    now = datetime.now(UTC)
    table = Table(title=f"{path} (all times UTC)")
    for column in ("entry", "state", "cron", "period", "job", "next run", "description"):
        table.add_column(column, overflow="fold")
    for entry in entries:
        state = "enabled" if entry.enabled else f"disabled (area: {entry.area})" if entry.area else "disabled"
        if not entry.enabled:
            when = next_run(entry.cron, now).strftime("%Y-%m-%d %H:%M") + " (when enabled)"
        elif entry.name in synced:
            # Due time from rq-scheduler; one in the past is fired at the scheduler's next pass.
            when = synced[entry.name].strftime("%Y-%m-%d %H:%M")
        else:
            when = next_run(entry.cron, now).strftime("%Y-%m-%d %H:%M") + " (not synced)"
        table.add_row(entry.name, state, entry.cron, period_kind(entry.cron), entry.job, when, entry.description)
    console = Console()
    if not console.is_terminal:  # piped or captured: do not squeeze the table into 80 columns
        console = Console(width=200)
    console.print(table)
