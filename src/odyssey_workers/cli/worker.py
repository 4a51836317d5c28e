"""``odyssey-workers worker``: N worker processes on the named queues."""

from __future__ import annotations

import logging

import click
from rq.serializers import JSONSerializer
from rq.worker_pool import WorkerPool

from odyssey_workers import defaults
from odyssey_workers.cli import main
from odyssey_workers.connection import get_redis
from odyssey_workers.db.migrate import ensure_up_to_date
from odyssey_workers.jobclass import CatalogJob
from odyssey_workers.settings import get_settings
from odyssey_workers.worker import OdysseyWorker, preload_job_modules

logger = logging.getLogger(__name__)


def run_workers(queues: list[str], processes: int, burst: bool, check_database: bool = True) -> None:
    """Run ``processes`` workers until stopped (SIGTERM/SIGINT: warm shutdown) or, in burst mode, idle."""
    for name in queues:
        if name not in defaults.QUEUE_NAMES:
            raise click.BadParameter(f"unknown queue {name!r} (queues: {', '.join(defaults.QUEUE_NAMES)})")
    connection = get_redis()
    connection.ping()
    if check_database:
        ensure_up_to_date()
    # Import job modules once here, so every worker process and work horse inherits them.
    preload_job_modules()
    if processes == 1:
        worker = OdysseyWorker(queues, connection=connection)
        worker.work(burst=burst, with_scheduler=True)
        return
    pool = WorkerPool(
        queues,
        connection=connection,
        num_workers=processes,
        worker_class=OdysseyWorker,
        job_class=CatalogJob,
        serializer=JSONSerializer,
    )
    pool.start(burst=burst)


@main.command()
@click.argument("queues", nargs=-1)
@click.option(
    "--processes", "-n", type=click.IntRange(1, 64), default=None, help="Worker processes (WORKER_PROCESSES)."
)
@click.option("--burst", is_flag=True, help="Quit when the queues are empty.")
def worker(queues: tuple[str, ...], processes: int | None, burst: bool) -> None:
    """Work QUEUES (default: high default low, in that order)."""
    run_workers(list(queues) or list(defaults.QUEUE_NAMES), processes or get_settings().worker_processes, burst)
