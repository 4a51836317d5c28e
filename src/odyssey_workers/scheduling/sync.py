"""Sync validated entries into rq-scheduler, idempotently.

Each enabled entry owns one ticket with a fixed id (``schedule-<entry>``) and a fingerprint of
what it fires (cron, job, args). Syncing:

* leaves an unchanged ticket alone, *including its next run time*, so a restarted scheduler
  still fires a tick that came due while it was down, and syncing twice changes nothing;
* replaces a ticket whose fingerprint changed, due at the new cron's next tick;
* removes the tickets of entries that were deleted or disabled.

Only ``schedule-`` tickets are touched; anything else in rq-scheduler's set is left as it is.
A Redis lock keeps two schedulers starting at once from interleaving their writes.
"""

from __future__ import annotations

import hashlib
import json
import logging
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import UTC, datetime

from redis import Redis
from rq.exceptions import NoSuchJobError

from odyssey_workers.catalog import get_catalog
from odyssey_workers.jobclass import CatalogJob
from odyssey_workers.payloads import payload_to_json
from odyssey_workers.scheduling.entries import ScheduleEntry
from odyssey_workers.scheduling.periods import FIRE_JOB, TICKET_PREFIX, next_run, ticket_id
from odyssey_workers.scheduling.rqscheduler import OdysseyScheduler, unix_seconds

logger = logging.getLogger(__name__)

SYNC_LOCK_KEY = "odyssey:schedules:sync-lock"
SYNC_LOCK_SECONDS = 60


@dataclass
class SyncReport:
    """What one sync changed, by entry name."""

    added: list[str] = field(default_factory=list)
    replaced: list[str] = field(default_factory=list)
    removed: list[str] = field(default_factory=list)
    unchanged: list[str] = field(default_factory=list)

    @property
    def changed(self) -> bool:
        return bool(self.added or self.replaced or self.removed)

    def summary(self) -> str:
        return (
            f"{len(self.added)} added, {len(self.replaced)} replaced, "
            f"{len(self.removed)} removed, {len(self.unchanged)} unchanged"
        )


def fingerprint(entry: ScheduleEntry) -> str:
    """A digest of what a ticket fires; a change of cron, job or args changes it."""
    document = json.dumps({"cron": entry.cron, "job": entry.job, "args": entry.args}, sort_keys=True, default=str)
    return hashlib.sha256(document.encode()).hexdigest()[:16]


def _write_ticket(scheduler: OdysseyScheduler, entry: ScheduleEntry, now: datetime) -> None:
    spec = get_catalog().get(FIRE_JOB)
    kwargs = payload_to_json(spec, {"entry": entry.name, "cron": entry.cron, "job": entry.job, "args": entry.args})
    kwargs.pop("scheduled_for", None)  # each firing adds its own tick
    ticket = scheduler._create_job(
        spec.function,
        kwargs=kwargs,
        commit=False,
        result_ttl=-1,
        id=ticket_id(entry.name),
        description=f"{entry.name}: {entry.description}",
        queue_name=spec.routed_queue,
        timeout=spec.timeout,
        meta={
            "job_name": FIRE_JOB,
            "schedule": entry.name,
            "cron_string": entry.cron,
            "use_local_timezone": False,
            "schedule_fingerprint": fingerprint(entry),
        },
    )
    # Replace atomically: the old hash (stale fields and all) goes, the new one and its next
    # run time come, in one transaction a running scheduler sees entirely or not at all.
    with scheduler.connection.pipeline(transaction=True) as pipe:
        pipe.delete(ticket.key)
        ticket.save(pipeline=pipe)
        pipe.zadd(scheduler.scheduled_jobs_key, {ticket.id: unix_seconds(next_run(entry.cron, now))})
        pipe.execute()


def _remove_ticket(scheduler: OdysseyScheduler, ticket: str) -> None:
    with scheduler.connection.pipeline(transaction=True) as pipe:
        pipe.zrem(scheduler.scheduled_jobs_key, ticket)
        pipe.delete(CatalogJob.key_for(ticket))
        pipe.execute()


def _ticket_fingerprint(connection: Redis, ticket: str) -> str | None:
    try:
        job = CatalogJob.fetch(ticket, connection=connection)
    except NoSuchJobError:
        return None
    value = job.meta.get("schedule_fingerprint")
    return str(value) if value else None


def sync_schedules(
    entries: Iterable[ScheduleEntry], connection: Redis, now: datetime | None = None, interval: float = 5
) -> SyncReport:
    """Make rq-scheduler's tickets match the enabled ``entries``; returns what changed."""
    now = now or datetime.now(UTC)
    scheduler = OdysseyScheduler(connection, interval=interval)
    wanted = {ticket_id(entry.name): entry for entry in entries if entry.enabled}
    report = SyncReport()
    with connection.lock(SYNC_LOCK_KEY, timeout=SYNC_LOCK_SECONDS, blocking_timeout=SYNC_LOCK_SECONDS):
        present = {ticket for ticket, _ in scheduler.tickets() if ticket.startswith(TICKET_PREFIX)}
        for ticket, entry in sorted(wanted.items()):
            current = _ticket_fingerprint(connection, ticket) if ticket in present else None
            if current == fingerprint(entry):
                report.unchanged.append(entry.name)
                continue
            _write_ticket(scheduler, entry, now)
            (report.replaced if ticket in present else report.added).append(entry.name)
        for ticket in sorted(present - wanted.keys()):
            name = _ticket_name(connection, ticket)
            _remove_ticket(scheduler, ticket)
            report.removed.append(name)
    logger.info("schedules synced: %s", report.summary())
    return report


def _ticket_name(connection: Redis, ticket: str) -> str:
    try:
        job = CatalogJob.fetch(ticket, connection=connection)
    except NoSuchJobError:
        return ticket
    return str(job.meta.get("schedule") or ticket)


def scheduled_tickets(connection: Redis) -> dict[str, datetime]:
    """Entry name → next run, for every ticket of ours in rq-scheduler."""
    scheduler = OdysseyScheduler(connection)
    return {
        _ticket_name(connection, ticket): when
        for ticket, when in scheduler.tickets()
        if ticket.startswith(TICKET_PREFIX)
    }
