"""rq-scheduler, bound to the service: JSON catalog jobs, UTC cron, and firing through the catalog.

rq-scheduler keeps one *ticket* per cron job: a job hash plus its next run time in the sorted
set ``rq:scheduler:scheduled_jobs``. Stock rq-scheduler pushes that same job onto a queue at
every tick, which would share one job id (and one spent retry budget) across all periods, and
it computes ticks with the machine's local clock. ``OdysseyScheduler`` keeps the data model
(tickets stay readable by rq-scheduler's tools) but changes two things:

* at a tick it enqueues a fresh ``schedules.fire`` catalog job carrying the tick time, which
  claims the period and enqueues the target job with the catalog's retry policy;
* the next tick is computed with croniter in UTC, whatever the machine's time zone.

Its run loop stops cleanly on SIGTERM/SIGINT between passes and waits for a lost Redis.
"""

from __future__ import annotations

import logging
import signal
import threading
import time
from collections.abc import Callable, Iterator
from datetime import UTC, datetime
from types import FrameType

from redis import Redis
from redis.exceptions import ConnectionError as RedisConnectionError
from redis.exceptions import TimeoutError as RedisTimeoutError
from rq.job import Job
from rq.queue import Queue
from rq_scheduler import Scheduler

from odyssey_workers.connection import REDIS_WAIT_MAX_SECONDS
from odyssey_workers.jobclass import CatalogJob
from odyssey_workers.queues import enqueue, get_queue
from odyssey_workers.scheduling.periods import FIRE_JOB, next_run, period_tick

logger = logging.getLogger(__name__)


def unix_seconds(moment: datetime) -> int:
    return int(moment.timestamp())


class OdysseyScheduler(Scheduler):  # type: ignore[misc]  # rq-scheduler ships no type hints
    """An rq-scheduler ``Scheduler`` that fires cron tickets through ``schedules.fire``."""

    job_class = CatalogJob

    def __init__(
        self,
        connection: Redis,
        interval: float = 5,
        name: str | None = None,
        on_reconnect: Callable[[], object] | None = None,
    ) -> None:
        super().__init__(queue_name="high", interval=interval, connection=connection, job_class=CatalogJob, name=name)
        self._stop = threading.Event()
        # Called when Redis is back after an outage: a Redis restarted without its data has
        # lost the tickets, and syncing again (idempotent) puts them back.
        self._on_reconnect = on_reconnect

    # --- reading tickets --------------------------------------------------------------------
    def tickets(self) -> Iterator[tuple[str, datetime]]:
        """Every ticket id in the scheduled set with its next run (UTC), soonest first."""
        for raw_id, score in self.connection.zrange(self.scheduled_jobs_key, 0, -1, withscores=True):
            yield raw_id.decode(), datetime.fromtimestamp(score, tz=UTC)

    def get_queue_for_job(self, job: Job) -> Queue:
        # rq-scheduler builds a pickle queue from the job's origin; ours speak JSON.
        return get_queue(job.origin, self.connection)

    # --- firing -----------------------------------------------------------------------------
    def enqueue_jobs(self) -> list[Job]:
        """Fire every ticket that is due; one broken ticket does not stop the others."""
        fired = []
        for job, scheduled_time in list(self.get_jobs_to_queue(with_times=True)):
            try:
                self.fire_ticket(job, scheduled_time.replace(tzinfo=UTC))
            except (RedisConnectionError, RedisTimeoutError):
                raise
            except Exception:
                logger.exception("could not fire scheduled job %s; it stays due", job.id)
                continue
            fired.append(job)
        return fired

    def fire_ticket(self, ticket: Job, scheduled_time: datetime) -> Job | None:
        """Enqueue ``schedules.fire`` for one due tick, then move the ticket to its next tick."""
        cron = ticket.meta.get("cron_string")
        if not ticket.meta.get("schedule") or not cron:
            # Not ours (someone else's delayed job in rq-scheduler): rq-scheduler's own way.
            super().enqueue_job(ticket)
            return None
        tick = period_tick(cron, scheduled_time)
        payload = {**ticket.kwargs, "scheduled_for": tick}
        fire_job = enqueue(FIRE_JOB, _connection=self.connection, **payload)
        logger.info("fired %s for tick %s as job %s", ticket.meta["schedule"], tick.isoformat(), fire_job.id)
        # Enqueue first, then move the ticket: a crash in between fires the same tick again,
        # which the period key turns into "already fired". XX: never re-add a ticket that a
        # concurrent sync removed meanwhile.
        following = next_run(cron, max(datetime.now(UTC), tick))
        self.connection.zadd(self.scheduled_jobs_key, {ticket.id: unix_seconds(following)}, xx=True)
        return fire_job

    # --- the loop ---------------------------------------------------------------------------
    def request_stop(self, signum: int | None = None, frame: FrameType | None = None) -> None:
        logger.info("scheduler %s: stopping", self.name)
        self._stop.set()

    def _install_signal_handlers(self) -> None:
        signal.signal(signal.SIGINT, self.request_stop)
        signal.signal(signal.SIGTERM, self.request_stop)

    def run(self, burst: bool = False, lost: bool = False) -> None:
        """Check for due tickets every ``interval`` seconds until stopped (or once, in burst mode).

        ``lost``: Redis went away before the loop started (the caller's sync was cut short), so
        the loop begins by waiting for it, registering and syncing again (``_recover``)."""
        if threading.current_thread() is threading.main_thread():
            self._install_signal_handlers()
        delay = 0.5
        if not lost:
            try:
                self.register_birth()
            except (RedisConnectionError, RedisTimeoutError) as exc:
                logger.warning("scheduler %s: Redis unreachable at start (%s)", self.name, exc)
                lost = True
        try:
            while not self._stop.is_set():
                started = time.monotonic()
                try:
                    if lost:
                        self._recover()
                        lost = False
                    done = self._pass()
                except (RedisConnectionError, RedisTimeoutError) as exc:
                    logger.warning("scheduler %s: Redis unreachable (%s); next try in %.1f s", self.name, exc, delay)
                    lost = True
                    self._stop.wait(delay)
                    delay = min(delay * 2, REDIS_WAIT_MAX_SECONDS)
                    continue
                delay = 0.5
                if burst and done:
                    break
                self._stop.wait(max(0.0, self._interval - (time.monotonic() - started)))
        finally:
            try:
                self.remove_lock()
                self.register_death()
            except (RedisConnectionError, RedisTimeoutError):
                logger.warning("scheduler %s: could not record its stop (Redis unreachable)", self.name)

    def _recover(self) -> None:
        """Redis answers again: register this scheduler anew and restore the tickets."""
        self.connection.ping()
        logger.info("scheduler %s: Redis is back", self.name)
        if not self.connection.exists(self.key):
            self.register_birth()
        if self._on_reconnect is not None:
            self._on_reconnect()

    def _pass(self) -> bool:
        """One pass: heartbeat, and fire what is due if this scheduler holds the lock."""
        self.heartbeat()
        if not self.acquire_lock():
            logger.debug("scheduler %s: another scheduler holds the lock; skipping this pass", self.name)
            return False
        try:
            self.enqueue_jobs()
        finally:
            self.remove_lock()
        return True
