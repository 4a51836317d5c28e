"""``odyssey-workers worker``: N worker processes on the named queues."""

from __future__ import annotations

import logging
from typing import Any

import click
from rq.serializers import JSONSerializer
from rq.worker_pool import ForkProcess, WorkerPool

from odyssey_workers import defaults
from odyssey_workers.cli import main
from odyssey_workers.connection import get_redis, wait_for_redis
from odyssey_workers.cut_jobs import CutJobsNotingWorker
from odyssey_workers.db.migrate import ensure_up_to_date
from odyssey_workers.jobclass import CatalogJob
from odyssey_workers.routing import queue_names
from odyssey_workers.settings import get_settings
from odyssey_workers.worker import preload_job_modules, preload_mode

logger = logging.getLogger(__name__)


def run_workers(queues: list[str], processes: int, burst: bool, check_database: bool = True) -> None:
    """Run ``processes`` workers until stopped (SIGTERM/SIGINT: warm shutdown) or, in burst mode, idle."""
    known = queue_names()
    for name in queues:
        if name not in known:
            raise click.BadParameter(f"unknown queue {name!r} (queues: {', '.join(known)})")
    connection = get_redis()
    wait_for_redis(connection)  # a worker started before Redis waits for it
    if check_database:
        ensure_up_to_date()
    if preload_mode() == "all":
        # Import every job module once here, so every pool worker and work horse inherits them.
        preload_job_modules()
    if processes == 1:
        worker = CutJobsNotingWorker(queues, connection=connection)
        worker.work(burst=burst, with_scheduler=True)
        return
    pool = OdysseyWorkerPool(
        queues,
        connection=connection,
        num_workers=processes,
        worker_class=CutJobsNotingWorker,
        job_class=CatalogJob,
        serializer=JSONSerializer,
    )
    pool.start(burst=burst)


class OdysseyWorkerPool(WorkerPool):
    """RQ's worker pool, each worker process connecting through ``get_redis()`` after the fork.

    RQ rebuilds a child's connection from the parent's pool arguments, which cannot describe a
    Sentinel-managed connection; our own settings can, for every kind of ``REDIS_URL``.
    """

    def get_worker_process(self, name: str, burst: bool, _sleep: float = 0, logging_level: str = "INFO") -> Any:
        return ForkProcess(
            target=_run_pool_worker,
            args=(name, self._queue_names, burst, logging_level),
            name=f"Worker {name} (WorkerPool {self.name})",
        )


def _run_pool_worker(name: str, queue_names: list[str], burst: bool, logging_level: str) -> None:
    worker = CutJobsNotingWorker(queue_names, name=name, connection=get_redis())
    worker.work(burst=burst, with_scheduler=True, logging_level=logging_level)


@main.command()
@click.argument("queues", nargs=-1)
@click.option(
    "--processes", "-n", type=click.IntRange(1, 64), default=None, help="Worker processes (WORKER_PROCESSES)."
)
@click.option("--burst", is_flag=True, help="Quit when the queues are empty.")
def worker(queues: tuple[str, ...], processes: int | None, burst: bool) -> None:
    """Work QUEUES (default: high default low, in that order; a queue JOB_ROUTES names only when asked)."""
    run_workers(list(queues) or list(defaults.QUEUE_NAMES), processes or get_settings().worker_processes, burst)
