"""The worker class: RQ's forking ``Worker`` with the service's contracts built in.

Use it through ``odyssey-workers worker`` or the plain ``rq worker`` with
``RQ_WORKER_CLASS=odyssey_workers.worker.OdysseyWorker`` (and ``RQ_JOB_CLASS``, see README).

* JSON and the catalog job class on every queue, whatever the command line said.
* Job modules from the catalog are imported once in the parent, before any fork, so each job
  still runs isolated in its own forked process but does not pay for ``import PIL`` again.
* Abandoned jobs (a worker killed with ``kill -9``) are found within seconds, not RQ's ten
  minutes: a shorter heartbeat grace and a maintenance pass every few seconds.
* The RQ scheduler runs inside the worker by default, so delayed retries fire.
"""

from __future__ import annotations

import importlib
import logging
import os
from collections.abc import Iterable
from typing import Any

from rq import Queue, Worker
from rq.job import Job
from rq.serializers import JSONSerializer

from odyssey_workers import defaults
from odyssey_workers.catalog import get_catalog
from odyssey_workers.jobclass import CatalogJob
from odyssey_workers.settings import get_settings

logger = logging.getLogger(__name__)


def preload_job_modules() -> list[str]:
    """Import every catalog job's module now; returns those that failed to import (logged)."""
    failed = []
    for module in sorted({spec.function.rsplit(".", 1)[0] for spec in get_catalog()}):
        try:
            importlib.import_module(module)
        except Exception:  # a broken module must not stop the other jobs from running
            logger.exception("could not preload job module %s; its jobs will fail when run", module)
            failed.append(module)
    return failed


def _queue_names(queues: Iterable[Any]) -> list[str]:
    if isinstance(queues, (str, Queue)):
        queues = [queues]
    return [queue.name if isinstance(queue, Queue) else str(queue) for queue in queues]


class OdysseyWorker(Worker):
    """RQ Worker bound to JSON, the catalog job class and quick abandoned-job recovery."""

    def __init__(self, queues: Iterable[Any], *args: Any, **kwargs: Any) -> None:
        connection = kwargs.get("connection")
        names = _queue_names(queues)
        json_queues = [
            Queue(name, connection=connection, serializer=JSONSerializer, job_class=CatalogJob) for name in names
        ]
        kwargs["serializer"] = JSONSerializer
        kwargs["job_class"] = CatalogJob
        kwargs.setdefault("maintenance_interval", get_settings().maintenance_interval_seconds)
        kwargs.setdefault("job_monitoring_interval", defaults.JOB_MONITORING_INTERVAL_SECONDS)
        super().__init__(json_queues, *args, **kwargs)
        if os.environ.get("ODYSSEY_PRELOAD", "1") != "0":
            preload_job_modules()

    def get_heartbeat_ttl(self, job: Job, working_time: float = 0.0) -> int:
        # RQ adds 60 s of grace; a few seconds past a missed heartbeat is enough to call a job
        # abandoned, and keeps kill -9 recovery short.
        interval = self.job_monitoring_interval
        if job.timeout and job.timeout > 0:
            interval = min(job.timeout - working_time, interval)
        return int(interval) + defaults.HEARTBEAT_GRACE_SECONDS

    def work(self, *args: Any, **kwargs: Any) -> bool:
        kwargs.setdefault("with_scheduler", True)
        return bool(super().work(*args, **kwargs))
