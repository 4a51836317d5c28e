"""Firing an entry once per period: claim the period's durable key, then enqueue the target job.

The claim is a ``schedule_runs`` row whose primary key is the period key. The row is inserted
and the target job enqueued *inside one database transaction*, and the transaction commits only
after the enqueue succeeded:

* two firings of one period (two schedulers, a restart, a retried ``schedules.fire``) race on
  the primary key; the loser waits for the winner's transaction and then gets an IntegrityError:
  "already fired";
* if the enqueue fails, the transaction rolls back and no claim is left without a job, so a
  retry of ``schedules.fire`` claims and enqueues again;
* if the commit fails after the enqueue, the target job already sits in Redis under its
  deterministic id (derived from the period key); the retry sees it there and records it
  instead of enqueuing it a second time.

A committed row therefore always means "this period's job was enqueued". It is never enqueued
again from the row alone: a finished job's record expires from Redis, and re-running, say, a
payout because its record expired would be worse than the rare loss of a Redis that runs
without ``appendonly``.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, Literal

from redis import Redis
from sqlalchemy.exc import IntegrityError

from odyssey_workers.catalog import get_catalog
from odyssey_workers.connection import get_redis
from odyssey_workers.db.models.schedules import ScheduleRun
from odyssey_workers.db.session import session_factory
from odyssey_workers.jobclass import CatalogJob
from odyssey_workers.payloads import validate_payload
from odyssey_workers.queues import enqueue
from odyssey_workers.scheduling.periods import FIRE_JOB, period_key, target_job_id

logger = logging.getLogger(__name__)

FireStatus = Literal["fired", "already fired"]


@dataclass(frozen=True)
class FireResult:
    """What one firing did."""

    status: FireStatus
    period_key: str
    job_id: str | None

    def as_dict(self) -> dict[str, Any]:
        return {"status": self.status, "period_key": self.period_key, "job_id": self.job_id}


def fire_entry(
    entry: str,
    cron: str,
    job: str,
    args: dict[str, Any] | None = None,
    scheduled_for: datetime | None = None,
    *,
    connection: Redis | None = None,
    database_url: str | None = None,
) -> FireResult:
    """Enqueue catalog job ``job`` for the period of ``scheduled_for`` unless it already ran.

    ``scheduled_for`` is the cron tick being fired (default: now); the period is that of the
    latest tick at or before it. An unknown job or bad arguments raise at once (a permanent
    error) and claim nothing.
    """
    args = dict(args or {})
    if job == FIRE_JOB:
        raise ValueError(f"{FIRE_JOB} cannot fire itself")
    spec = get_catalog().get(job)
    validate_payload(spec, args)
    key = period_key(entry, cron, scheduled_for or datetime.now(UTC))
    job_id = target_job_id(key)
    connection = connection or get_redis()

    session = session_factory(database_url)()
    try:
        session.add(ScheduleRun(period_key=key, entry=entry, job_id=job_id, fired_at=datetime.now(UTC)))
        try:
            session.flush()
        except IntegrityError:
            session.rollback()
            claimed = session.get(ScheduleRun, key)
            logger.info("schedule %s: period %s already fired (job %s)", entry, key, claimed and claimed.job_id)
            return FireResult("already fired", key, claimed.job_id if claimed else None)
        if CatalogJob.exists(job_id, connection=connection):
            # An earlier attempt enqueued it and then lost its commit: record, do not repeat.
            logger.warning("schedule %s: job %s for %s was already enqueued; recording the claim", entry, job_id, key)
        else:
            enqueue(job, _connection=connection, _job_id=job_id, _meta={"schedule": entry, "period_key": key}, **args)
        session.commit()
    except BaseException:
        session.rollback()
        raise
    finally:
        session.close()
    logger.info("schedule %s: fired %s as job %s (%s)", entry, key, job_id, job)
    return FireResult("fired", key, job_id)
