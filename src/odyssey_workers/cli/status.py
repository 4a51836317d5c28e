"""``odyssey-workers status``: queue depths, workers, running jobs, recent failures.

Other parts of the service add their own section (say, notification delivery counts) with
``register_status_section(title, collect)``: ``collect(connection)`` returns rows (dicts with
the same keys), shown as a table and included in ``--json``. Register from the module that
owns the data, for example in its CLI module, which ``odyssey_workers.cli`` imports.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import click
from redis import Redis
from rich.console import Console
from rich.table import Table
from rq.job import Job
from rq.registry import FailedJobRegistry, ScheduledJobRegistry, StartedJobRegistry
from rq.serializers import JSONSerializer
from rq.worker import Worker

from odyssey_workers.cli import main
from odyssey_workers.cli.jobinfo import job_name, progress_text, to_json
from odyssey_workers.queues import failure_reason
from odyssey_workers.routing import queue_names

logger = logging.getLogger(__name__)

Rows = list[dict[str, Any]]


@dataclass(frozen=True)
class StatusSection:
    title: str
    collect: Callable[[Redis], Rows]


STATUS_SECTIONS: list[StatusSection] = []
"""Sections shown after the built-in ones, in registration order."""


def register_status_section(title: str, collect: Callable[[Redis], Rows]) -> None:
    """Add a section to ``odyssey-workers status`` (registering a title twice replaces it)."""
    STATUS_SECTIONS[:] = [section for section in STATUS_SECTIONS if section.title != title]
    STATUS_SECTIONS.append(StatusSection(title, collect))


def _when(value: datetime | None) -> str:
    return value.strftime("%Y-%m-%d %H:%M:%S UTC") if value else ""


def queue_rows(connection: Redis) -> Rows:
    from odyssey_workers.queues import get_queue

    rows = []
    for name in queue_names():
        rows.append(
            {
                "queue": name,
                "queued": get_queue(name, connection).count,
                "running": StartedJobRegistry(name, connection=connection).get_job_count(cleanup=False),
                "scheduled": ScheduledJobRegistry(name, connection=connection).get_job_count(  # type: ignore[no-untyped-call]
                    cleanup=False
                ),
                "failed": FailedJobRegistry(name, connection=connection).get_job_count(cleanup=False),
            }
        )
    return rows


def worker_rows(connection: Redis) -> Rows:
    from odyssey_workers.jobclass import CatalogJob

    rows = []
    for worker in Worker.all(connection=connection, job_class=CatalogJob, serializer=JSONSerializer):
        current = worker.get_current_job_id()
        rows.append(
            {
                "worker": worker.name,
                "host": worker.hostname or "",
                "pid": worker.pid,
                "state": str(worker.get_state()),
                "queues": ",".join(worker.queue_names()),
                "current_job": current or "",
                "finished": worker.successful_job_count,
                "failed": worker.failed_job_count,
            }
        )
    return sorted(rows, key=lambda row: (row["host"], row["worker"]))


def running_rows(connection: Redis) -> Rows:
    from odyssey_workers.jobclass import CatalogJob

    rows = []
    for name in queue_names():
        ids = StartedJobRegistry(name, connection=connection).get_job_ids(cleanup=False)
        for job in CatalogJob.fetch_many(ids, connection=connection):
            if job is None:
                continue
            rows.append(
                {
                    "id": job.id,
                    "job": job_name(job),
                    "queue": name,
                    "started": _when(job.started_at),
                    "progress": progress_text(job),
                }
            )
    return rows


def failure_rows(connection: Redis, limit: int) -> Rows:
    from odyssey_workers.jobclass import CatalogJob

    jobs: list[tuple[str, Job]] = []
    for name in queue_names():
        # Scores are expiry times (failure time + TTL): the highest are the most recent.
        ids = FailedJobRegistry(name, connection=connection).get_job_ids(0, limit - 1, desc=True, cleanup=False)
        jobs.extend((name, job) for job in CatalogJob.fetch_many(ids, connection=connection) if job is not None)
    jobs.sort(key=lambda item: item[1].ended_at.timestamp() if item[1].ended_at else 0.0, reverse=True)
    return [
        {
            "id": job.id,
            "job": job_name(job),
            "queue": name,
            "failed_at": _when(job.ended_at),
            "reason": failure_reason(job),
        }
        for name, job in jobs[:limit]
    ]


def collect_status(connection: Redis, failures: int = 10) -> dict[str, Rows]:
    """Every section's rows, built-in first; a failing extra section reports its error as a row."""
    status = {
        "queues": queue_rows(connection),
        "workers": worker_rows(connection),
        "running": running_rows(connection),
        "recent failures": failure_rows(connection, failures),
    }
    for section in STATUS_SECTIONS:
        try:
            status[section.title] = section.collect(connection)
        except Exception as exc:  # noqa: BLE001 - one broken section must not hide the others
            logger.warning("status section %r failed: %s", section.title, exc)
            status[section.title] = [{"error": f"{type(exc).__name__}: {exc}"}]
    return status


def render(status: dict[str, Rows], console: Console) -> None:
    for title, rows in status.items():
        if not rows:
            console.print(f"[bold]{title}[/bold]: none")
            continue
        table = Table(title=title, title_justify="left", title_style="bold")
        for column in rows[0]:
            table.add_column(column, overflow="fold")
        for row in rows:
            table.add_row(*("" if value is None else str(value) for value in row.values()))
        console.print(table)


@main.command()
@click.option("--json", "as_json", is_flag=True, help="Print the status as JSON.")
@click.option("--failures", type=click.IntRange(1, 1000), default=10, help="How many recent failures to show.")
def status(as_json: bool, failures: int) -> None:
    """Show queue depths, workers, running jobs with progress and recent failures with reasons."""
    from odyssey_workers.connection import get_redis

    connection = get_redis()
    connection.ping()
    result = collect_status(connection, failures)
    if as_json:
        click.echo(to_json(result))
    else:
        render(result, Console())
