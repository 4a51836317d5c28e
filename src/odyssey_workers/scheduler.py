"""The scheduler process: validate ``schedules.yaml``, sync it into rq-scheduler, run it.

The pieces live in ``odyssey_workers.scheduling``; this module is the one entry point the
``odyssey-workers scheduler`` command and ``odyssey-workers run`` use.
"""

from __future__ import annotations

import functools
import logging
from collections.abc import Callable
from pathlib import Path

from redis import Redis
from redis.exceptions import ConnectionError as RedisConnectionError
from redis.exceptions import TimeoutError as RedisTimeoutError

from odyssey_workers.connection import get_redis, wait_for_redis
from odyssey_workers.scheduling.entries import ScheduleEntry, load_schedules, parse_schedules
from odyssey_workers.scheduling.firing import FireResult, fire_entry
from odyssey_workers.scheduling.periods import next_run, period_key
from odyssey_workers.scheduling.rqscheduler import OdysseyScheduler
from odyssey_workers.scheduling.sync import SyncReport, scheduled_tickets, sync_schedules
from odyssey_workers.settings import get_settings

__all__ = [
    "FireResult",
    "OdysseyScheduler",
    "ScheduleEntry",
    "SyncReport",
    "fire_entry",
    "load_schedules",
    "next_run",
    "parse_schedules",
    "period_key",
    "run_scheduler",
    "scheduled_tickets",
    "sync_schedules",
]

logger = logging.getLogger(__name__)


def run_scheduler(
    path: Path | str | None = None,
    interval: float | None = None,
    once: bool = False,
    connection: Redis | None = None,
    announce: Callable[[str], object] = logger.info,
) -> SyncReport:
    """Validate the whole file (nothing is synced if any entry is wrong), sync it, then run.

    Runs until SIGTERM/SIGINT, or for one pass with ``once``; ``announce`` receives one line
    saying what was synced. Returns the sync report.
    """
    settings = get_settings()
    path = Path(path or settings.schedules_file)
    interval = interval or settings.scheduler_interval_seconds
    entries = load_schedules(path)
    connection = connection or get_redis()
    wait_for_redis(connection, label="scheduler: ")  # one started before Redis waits, as a worker does
    enabled = sum(entry.enabled for entry in entries)
    try:
        report = sync_schedules(entries, connection, interval=interval)
        synced, lost = report.summary(), False
    except (RedisConnectionError, RedisTimeoutError) as exc:
        # Redis answered the ping, then went away mid-sync. The sync is idempotent: the
        # scheduler waits for Redis and syncs again, as after any outage, instead of exiting.
        report, synced, lost = SyncReport(), f"cut short ({exc}); again once Redis is back", True
    announce(f"{path}: {enabled} of {len(entries)} entries enabled; synced: {synced}")
    resync = functools.partial(sync_schedules, entries, connection, interval=interval)
    OdysseyScheduler(connection, interval=interval, on_reconnect=resync).run(burst=once, lost=lost)
    return report
