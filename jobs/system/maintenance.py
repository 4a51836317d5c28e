"""``system.maintenance``: weekly housekeeping of RQ's registries and the scheduler's records.

RQ's workers clean registries as they go, but only for the queues they listen on and only for
entries past their expiry. This job goes over every queue of the service:

* runs each registry's ``cleanup()`` (started: abandoned jobs are retried or failed; finished
  and failed: expired entries go; deferred and scheduled: RQ's own rules);
* drops *dangling* entries, ids whose job hash no longer exists (a job deleted by hand, or a
  hash that expired while its registry entry stayed), from the finished, failed, deferred and
  scheduled registries;
* cleans every rate-limit registry (stale slots freed, waiting jobs promoted, empty ones gone);
* deletes ``schedule_runs`` rows older than the retention, keeping recent periods' claims.

It returns the counts, which end up as the job's result.
"""

from __future__ import annotations

import logging
from datetime import UTC, datetime, timedelta
from typing import Any

from redis import Redis
from rq.job import Job
from rq.rate_limit import RateLimitRegistry
from rq.registry import (
    BaseRegistry,
    DeferredJobRegistry,
    FailedJobRegistry,
    FinishedJobRegistry,
    ScheduledJobRegistry,
    StartedJobRegistry,
)
from sqlalchemy import delete

from odyssey_workers import defaults
from odyssey_workers.connection import get_redis
from odyssey_workers.db.models.schedules import ScheduleRun
from odyssey_workers.db.session import session_scope
from odyssey_workers.queues import get_queue
from odyssey_workers.settings import get_settings

logger = logging.getLogger(__name__)

REGISTRIES: dict[str, type[BaseRegistry]] = {
    "started": StartedJobRegistry,
    "finished": FinishedJobRegistry,
    "failed": FailedJobRegistry,
    "deferred": DeferredJobRegistry,
    "scheduled": ScheduledJobRegistry,
}
# The started registry holds "<job id>:<execution id>" entries; RQ's cleanup owns those.
DANGLING_CHECKED = ("finished", "failed", "deferred", "scheduled")
EXISTS_CHUNK = 500


def drop_dangling(connection: Redis, registry: BaseRegistry) -> int:
    """Remove entries whose job hash is gone; returns how many."""
    removed = 0
    ids = [raw.decode() if isinstance(raw, bytes) else str(raw) for raw in connection.zrange(registry.key, 0, -1)]
    for start in range(0, len(ids), EXISTS_CHUNK):
        chunk = ids[start : start + EXISTS_CHUNK]
        with connection.pipeline(transaction=False) as pipe:
            for job_id in chunk:
                pipe.exists(Job.key_for(job_id))
            present = pipe.execute()
        missing = [job_id for job_id, found in zip(chunk, present, strict=True) if not found]
        if missing:
            removed += int(connection.zrem(registry.key, *missing))
    return removed


def clean_queue_registries(connection: Redis, queue_name: str) -> dict[str, int]:
    """Clean one queue's registries; returns entries removed per registry (and dangling ones)."""
    queue = get_queue(queue_name, connection)
    counts: dict[str, int] = {}
    for label, registry_class in REGISTRIES.items():
        registry = registry_class(queue=queue, job_class=queue.job_class)
        before = int(connection.zcard(registry.key))
        registry.cleanup()
        counts[label] = before - int(connection.zcard(registry.key))
        if label in DANGLING_CHECKED:
            counts[f"{label}_dangling"] = drop_dangling(connection, registry)
    return counts


def clean_rate_limits(connection: Redis) -> dict[str, int]:
    """Clean every rate-limit registry; returns slots freed and empty registries removed."""
    registries = RateLimitRegistry.all(connection)
    slots_before = sum(registry.get_allowed_job_count() for registry in registries)
    for registry in registries:
        registry.cleanup()
    remaining = RateLimitRegistry.all(connection)
    return {
        "registries": len(registries),
        "registries_removed": len(registries) - len(remaining),
        "slots_before": slots_before,
        "slots_after": sum(registry.get_allowed_job_count() for registry in remaining),
    }


def prune_schedule_runs(retention_days: int, now: datetime | None = None) -> int:
    """Delete claims of periods fired more than ``retention_days`` ago; returns how many."""
    cutoff = (now or datetime.now(UTC)) - timedelta(days=retention_days)
    with session_scope() as session:
        result = session.execute(delete(ScheduleRun).where(ScheduleRun.fired_at < cutoff))
        return int(result.rowcount or 0)  # type: ignore[attr-defined]  # a DELETE gives a CursorResult


def run_maintenance(retention_days: int | None = None) -> dict[str, Any]:
    """Clean every queue's registries and the rate limits, prune old schedule runs; report counts."""
    connection = get_redis()
    retention = retention_days or get_settings().schedule_runs_retention_days
    queues = {name: clean_queue_registries(connection, name) for name in defaults.QUEUE_NAMES}
    rate_limits = clean_rate_limits(connection)
    pruned = prune_schedule_runs(retention)
    report = {
        "queues": queues,
        "rate_limits": rate_limits,
        "schedule_runs_pruned": pruned,
        "retention_days": retention,
    }
    logger.info(
        "maintenance: %s registry entries removed, %s rate-limit registries removed, %s schedule runs pruned",
        sum(sum(counts.values()) for counts in queues.values()),
        rate_limits["registries_removed"],
        pruned,
    )
    return report
