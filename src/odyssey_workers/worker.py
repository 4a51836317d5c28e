"""The worker class: RQ's forking ``Worker`` with the service's contracts built in.

Use it through ``odyssey-workers worker`` or the plain ``rq worker`` with
``RQ_WORKER_CLASS=odyssey_workers.worker.OdysseyWorker`` (and ``RQ_JOB_CLASS``, see README).

* JSON and the catalog job class on every queue, whatever the command line said.
* Job modules from the catalog are imported once in the parent, before any fork (by default
  the first time a job of the module comes up, see ``ODYSSEY_PRELOAD``), so each job still runs
  isolated in its own forked process but does not pay for ``import PIL`` again.
* Abandoned jobs (a worker killed with ``kill -9``) are found within seconds, not RQ's ten
  minutes: a shorter heartbeat grace and a maintenance pass every few seconds.
* The RQ scheduler runs inside the worker by default, so delayed retries fire, and its process
  stops when the worker dies, even by SIGKILL (``odyssey_workers.bound_scheduler``).
* Nothing popped is lost: jobs are taken by a move into a per-worker holding list, in queue
  order (``odyssey_workers.dequeue``), and the held jobs of dead workers go back to the front
  of their queues (``odyssey_workers.held_recovery``).
* A ``RetryableError``, or any failure the job will be retried after, is one WARNING line
  without a traceback (dramatiq's rule); only a failure that ends the job is an ERROR with one.
* Every record logged while a job runs begins ``[job <id> <catalog name>]``
  (``odyssey_workers.joblog``).
* A lost Redis connection restarts the work loop without leaking the command-channel thread
  or its connection.
"""

from __future__ import annotations

import importlib
import logging
import math
import os
import time
from collections.abc import Iterable
from typing import Any

from redis.client import Pipeline, PubSub, PubSubWorkerThread
from redis.exceptions import ConnectionError as RedisConnectionError
from redis.exceptions import TimeoutError as RedisTimeoutError
from redis.exceptions import WatchError
from rq import Queue, Worker, worker_registration
from rq.defaults import DEFAULT_LOGGING_DATE_FORMAT, DEFAULT_LOGGING_FORMAT
from rq.exceptions import DequeueTimeout, NoSuchJobError
from rq.executions import Execution
from rq.job import Job, JobStatus
from rq.job_lifecycle import call_exception_handlers
from rq.registry import FailedJobRegistry
from rq.serializers import JSONSerializer
from rq.utils import now
from rq.worker import WorkerStatus

from odyssey_workers import defaults, monitoring
from odyssey_workers.bound_scheduler import WorkerBoundScheduler
from odyssey_workers.catalog import get_catalog
from odyssey_workers.connection import wait_for_redis
from odyssey_workers.dequeue import UNBEGUN_COUNT_FIELD, HoldingList
from odyssey_workers.errors import ConfigurationError, PermanentError, RetryableError
from odyssey_workers.held_recovery import recover_held_jobs
from odyssey_workers.jobclass import CatalogJob
from odyssey_workers.joblog import job_log_context
from odyssey_workers.settings import get_settings

logger = logging.getLogger(__name__)


_preloaded: set[str] = set()

PRELOAD_MODES = {"lazy": "lazy", "": "lazy", "all": "all", "1": "all", "none": "none", "0": "none"}
"""``ODYSSEY_PRELOAD``: when the worker process imports job modules (always before forking).

* ``lazy`` (default): a job's module the first time a job of it is taken, so a worker only
  grows by the modules of the jobs it runs. Every fork copies the worker's page tables, so a
  lean worker forks faster: a worker that only sends notifications never carries Pillow.
* ``all`` (or ``1``): every catalog module at start-up (a pool parent shares them with its
  workers; start-up takes longer and every fork pays for everything).
* ``none`` (or ``0``): nothing; each work horse imports its module, as stock ``rq worker`` does.
"""


def preload_mode() -> str:
    value = os.environ.get("ODYSSEY_PRELOAD", "lazy").strip().lower()
    if value not in PRELOAD_MODES:
        raise ConfigurationError("ODYSSEY_PRELOAD: expected lazy, all or none (1 and 0 also work)")
    return PRELOAD_MODES[value]


def _import_once(module: str) -> bool:
    """Import ``module`` unless this process already tried; False if the import failed (logged)."""
    if module in _preloaded:
        return True
    _preloaded.add(module)
    try:
        importlib.import_module(module)
    except Exception:  # a broken module must not stop the other jobs from running
        logger.exception("could not preload job module %s; its jobs will fail when run", module)
        return False
    return True


def preload_job_modules() -> list[str]:
    """Import every catalog job's module now; returns those that failed to import (logged).

    Each module is tried once per process, so a pool parent and its workers do not repeat it.
    """
    modules = sorted({spec.function.rsplit(".", 1)[0] for spec in get_catalog()} - _preloaded)
    return [module for module in modules if not _import_once(module)]


class RoutineMaintenanceFilter(logging.Filter):
    """Demote RQ's "cleaning registries" lines to DEBUG.

    RQ logs them at INFO on every maintenance pass; with the pass every few seconds (for quick
    kill -9 recovery) they would drown the log. What maintenance finds (abandoned jobs) is
    still logged as a warning by RQ.
    """

    def filter(self, record: logging.LogRecord) -> bool:
        if record.levelno == logging.INFO and "cleaning" in str(record.msg) and "registries" in str(record.msg):
            record.levelno, record.levelname = logging.DEBUG, "DEBUG"
            return logging.getLogger(record.name).isEnabledFor(logging.DEBUG)
        return True


_maintenance_filter = RoutineMaintenanceFilter()


def _queue_names(queues: Iterable[Any]) -> list[str]:
    if isinstance(queues, (str, Queue)):
        queues = [queues]
    return [queue.name if isinstance(queue, Queue) else str(queue) for queue in queues]


class MaintenanceQueue(Queue):
    """RQ's queue, with a maintenance lock that lapses in seconds instead of 15 minutes.

    Maintenance (finding abandoned jobs) runs every few seconds here, so a worker killed while it
    holds the lock is likely; with RQ's 899 s lock no worker would look for abandoned jobs until
    it lapsed. A clean pass releases the lock at once either way.
    """

    def acquire_maintenance_lock(self) -> bool:
        return bool(self.connection.set(self.registry_cleaning_key, 1, nx=True, ex=defaults.MAINTENANCE_LOCK_SECONDS))


class OdysseyWorker(Worker):
    """RQ Worker bound to JSON, the catalog job class and quick abandoned-job recovery."""

    def __init__(self, queues: Iterable[Any], *args: Any, **kwargs: Any) -> None:
        connection = kwargs.get("connection")
        names = _queue_names(queues)
        json_queues = [
            MaintenanceQueue(name, connection=connection, serializer=JSONSerializer, job_class=CatalogJob)
            for name in names
        ]
        kwargs["serializer"] = JSONSerializer
        kwargs["job_class"] = CatalogJob
        kwargs.setdefault("maintenance_interval", get_settings().maintenance_interval_seconds)
        kwargs.setdefault("job_monitoring_interval", defaults.JOB_MONITORING_INTERVAL_SECONDS)
        super().__init__(json_queues, *args, **kwargs)
        self.log.addFilter(_maintenance_filter)  # the same filter object is added once only
        self.push_exc_handler(monitoring.count_abandoned_job)  # type: ignore[no-untyped-call]
        self.holding = HoldingList(self.connection, self.name)
        self._taken_job_id: str | None = None
        """The job this worker last took into its holding list (its horse inherits it)."""
        self.preload = preload_mode()
        if self.preload != "none":
            get_catalog()  # the contracts, once here, rather than in every work horse
        if self.preload == "all":
            preload_job_modules()

    def execute_job(self, job: Job, queue: Queue) -> None:
        if self.preload == "lazy":
            self._load_module_of(job)
        super().execute_job(job, queue)

    def _load_module_of(self, job: Job) -> None:
        """Import a catalog job's module here, before the fork, the first time it comes up.

        Only catalog functions are looked at: anything else is left for the horse to refuse,
        unimported. Nothing here may stop the worker; the horse reports any problem on the job.
        """
        try:
            spec = get_catalog().by_function(job.func_name or "")
        except Exception:  # an unreadable job: the horse fails it with the reason
            logger.debug("job %s: cannot read its function before the fork", job.id, exc_info=True)
            return
        if spec is not None:
            _import_once(spec.function.rsplit(".", 1)[0])

    def perform_job(self, job: Job, queue: Queue, execution: Execution) -> bool:
        # Runs in the work horse (or in this process for a job run in-process), around the
        # job and RQ's handling of its end: those lines name the job too.
        name = getattr(job, "job_name", None) or job.func_name or "?"
        with job_log_context(job.id, name):
            return bool(super().perform_job(job, queue, execution))

    def handle_exception(self, job: Job, *exc_info: Any) -> None:
        """A passing fault or a failure that will be retried: one WARNING line; else RQ's ERROR.

        RQ logs every exception as an ERROR with its traceback, so a provider that is down for a
        minute would fill the error log with tracebacks of nothing wrong. The exception handlers
        (metrics) run either way.
        """
        exc = exc_info[1] if len(exc_info) > 1 else None
        retries_left = int(job.retries_left or 0)
        will_retry = retries_left > 0 and not isinstance(exc, PermanentError)
        if not (will_retry or isinstance(exc, RetryableError)):
            super().handle_exception(job, *exc_info)
            return
        what = f"{type(exc).__name__}: {exc}".replace("\r", " ").replace("\n", " ")
        if will_retry:
            self.log.warning(
                "Worker %s: job %s failed (%s); it will be retried (%d retries left)",
                self.name,
                job.id,
                what,
                retries_left,
            )
        else:
            self.log.warning("Worker %s: job %s failed (%s); no retries left", self.name, job.id, what)
        call_exception_handlers(self._exc_handlers, job, *exc_info)

    # --- metric hooks (counts go to Redis: see odyssey_workers.monitoring for why) ----------
    # Each count rides on a pipeline RQ already sends for the job, so metrics cost the work
    # horse no round trip of their own (separate writes were three per job, ~1.3 ms).
    _pending_end: tuple[Job, str, str] | None = None
    """(job, event, duration outcome) while RQ handles the end of an attempt in this horse."""

    def prepare_job_execution(self, job: Job, remove_from_intermediate_queue: bool = False) -> None:
        # RQ 3.0's prepare_job_execution (run by the work horse as it begins the job), with the
        # "started" count added to its pipeline, and the job leaving the worker's holding list
        # in the same transaction: held until begun, begun once. The watch makes the transaction
        # fail if recovery handed the job back meanwhile (the worker looked dead for a minute).
        self.log.debug("Worker %s: preparing for execution of job ID %s", self.name, job.id)
        while True:
            try:
                self._begin(job, remove_from_intermediate_queue)
                break
            except WatchError:
                continue  # the holding list changed under the watch: look again
        self.procline(f"Processing {job.func_name} from {job.origin} since {time.time()}")  # type: ignore[no-untyped-call]

    def handle_job_success(self, job: Job, queue: Queue, started_job_registry: Any, execution: Any) -> None:
        self._pending_end = (job, "finished", "finished")
        try:
            super().handle_job_success(job, queue, started_job_registry, execution)
        finally:
            self._pending_end = None

    def _begin(self, job: Job, remove_from_intermediate_queue: bool) -> None:
        held = job.id == self._taken_job_id  # False for a job handed to execute_job directly
        with self.connection.pipeline() as pipeline:
            if held:
                pipeline.watch(self.holding.key)  # type: ignore[no-untyped-call]
                if pipeline.lpos(self.holding.key, job.id) is None:
                    self._abandon_handed_back(job, pipeline)
                pipeline.multi()
                self.holding.release(job.id, pipeline)
            heartbeat_ttl = self.get_heartbeat_ttl(job)
            self.heartbeat(heartbeat_ttl, pipeline=pipeline)
            job.heartbeat(now(), heartbeat_ttl, pipeline=pipeline)
            job.prepare_for_execution(self.name, pipeline=pipeline)
            pipeline.persist(job.key)
            if remove_from_intermediate_queue:
                pipeline.lrem(Queue(job.origin, connection=self.connection).intermediate_queue_key, 1, job.id)
            monitoring.add_event(pipeline, "started", job)
            pipeline.execute()

    def _abandon_handed_back(self, job: Job, pipeline: Pipeline) -> None:
        """In the work horse: the job went back to its queue and may run elsewhere; leave it."""
        pipeline.reset()
        self.log.warning(
            "Worker %s: job %s went back to its queue while this worker was out of touch; not running it here",
            self.name,
            job.id,
        )
        with self.connection.pipeline() as cleanup:
            for execution in list(self.executions.values()):
                execution.delete(job=job, pipeline=cleanup)
            cleanup.execute()
        os._exit(0)  # RQ's horse would record a failure for anything raised here

    def handle_job_failure(self, job: Job, queue: Queue, *args: Any, **kwargs: Any) -> None:
        if not self.is_horse and job.id == self._taken_job_id and self._horse_stopped_before_beginning(job):
            return
        # Read before RQ's handling, which spends one of the job's retries.
        will_retry = bool(job.should_retry) and self._stopped_job_id != job.id
        self._pending_end = (job, "retried" if will_retry else "failed", "failed")
        try:
            super().handle_job_failure(job, queue, *args, **kwargs)
        finally:
            self._pending_end = None

    # RQ calls these two exactly once per attempt's end, on the pipeline holding its result.
    def increment_successful_job_count(self, pipeline: Pipeline | None = None) -> None:
        super().increment_successful_job_count(pipeline)
        self._add_pending_end(pipeline)

    def increment_failed_job_count(self, pipeline: Pipeline | None = None) -> None:
        super().increment_failed_job_count(pipeline)
        self._add_pending_end(pipeline)

    def _add_pending_end(self, pipeline: Pipeline | None) -> None:
        if self._pending_end is None:
            return
        job, event, outcome = self._pending_end
        if pipeline is None:  # RQ always passes its pipeline today; keep one round trip anyway
            with self.connection.pipeline(transaction=False) as own:
                monitoring.add_job_end(own, job, event, outcome)
                own.execute()
        else:
            monitoring.add_job_end(pipeline, job, event, outcome)

    @property
    def dequeue_timeout(self) -> int:
        # RQ only runs maintenance between blocking pops, and an idle worker blocks for
        # worker_ttl - 15 s (~7 min); waking every maintenance interval keeps recovery short.
        return max(1, min(self.worker_ttl - 15, int(self.maintenance_interval)))

    def get_heartbeat_ttl(self, job: Job, working_time: float = 0.0) -> int:
        # RQ adds 60 s of grace; a few seconds past a missed heartbeat is enough to call a job
        # abandoned, and keeps kill -9 recovery short.
        interval = self.job_monitoring_interval
        if job.timeout and job.timeout > 0:
            interval = min(job.timeout - working_time, interval)
        return int(interval) + defaults.HEARTBEAT_GRACE_SECONDS

    def work(self, *args: Any, **kwargs: Any) -> bool:
        """RQ's work loop, restarted after Redis goes away and comes back.

        RQ retries a lost connection only while it waits for a job; anywhere else it logs and
        quits, and a quitting worker cannot even record its death without Redis. Here the loop
        waits for Redis with capped backoff (one log line per attempt) and starts again; a job
        that was running is then found abandoned and retried, so nothing is lost.
        """
        kwargs.setdefault("with_scheduler", True)
        endless = not kwargs.get("burst") and kwargs.get("max_jobs") is None and kwargs.get("max_idle_time") is None
        while True:
            try:
                worked = bool(super().work(*args, **kwargs))
            except (RedisConnectionError, RedisTimeoutError) as exc:
                if self.stopping:
                    return False
                self.log.warning("Worker %s: lost Redis (%s); waiting for it to come back", self.name, exc)
            else:
                if self.stopping or not endless:
                    return worked
                self.log.warning("Worker %s: work loop ended unexpectedly; restarting it", self.name)
            self._wait_for_redis()
            self._forget_stale_registration()

    @property
    def stopping(self) -> bool:
        """Whether a warm or cold shutdown was asked for (RQ sets one of these two)."""
        return bool(self._stop_requested or getattr(self, "_shutdown_requested_date", None))

    def _wait_for_redis(self) -> None:
        if not wait_for_redis(self.connection, stopping=lambda: self.stopping, label=f"Worker {self.name}: "):
            raise SystemExit(0)
        self.log.info("Worker %s: Redis is back", self.name)

    def _forget_stale_registration(self) -> None:
        # The worker could not register its death while Redis was down; RQ would refuse to
        # start again under the same name while that record looks alive.
        worker_registration.unregister(self)
        self.connection.delete(self.key)

    # --- reliable dequeue (see odyssey_workers.dequeue) ---------------------------------------

    def dequeue_job_and_maintain_ttl(self, timeout: int | None, max_idle_time: int | None = None) -> Any:
        # RQ 3.0's loop around the dequeue (heartbeat, maintenance, idle limit, retrying a lost
        # connection), with a take into the holding list in place of Queue.dequeue_any, whose
        # multi-queue BLPOP loses a job when the reply to the pop is lost.
        result = None
        self.set_state(WorkerStatus.IDLE)
        self.procline("Listening on " + ",".join(self.queue_names()))  # type: ignore[no-untyped-call]
        connection_wait_time = 1.0
        idle_since = now()
        idle_time_left = max_idle_time
        while True:
            try:
                self.heartbeat()
                if self.should_run_maintenance_tasks:
                    self.run_maintenance_tasks()
                if timeout is not None and idle_time_left is not None:
                    timeout = min(timeout, idle_time_left)
                result = self._take_job(timeout)
                if result is not None:
                    job, queue = result
                    self.reorder_queues(reference_queue=queue)
                    job.redis_server_version = self.get_redis_server_version()  # type: ignore[no-untyped-call]
                    if self.log_job_description:
                        self.log.info("Worker %s: %s: %s (%s)", self.name, queue.name, job.description, job.id)
                    else:
                        self.log.info("Worker %s: %s: %s", self.name, queue.name, job.id)
                break
            except DequeueTimeout:
                if max_idle_time is not None:
                    idle_time_left = math.ceil(max_idle_time - (now() - idle_since).total_seconds())
                    if idle_time_left <= 0:
                        break
            except (RedisConnectionError, RedisTimeoutError) as conn_err:
                self.log.error(
                    "Worker %s: could not connect to Redis instance: %s retrying in %d seconds...",
                    self.name,
                    conn_err,
                    connection_wait_time,
                )
                time.sleep(connection_wait_time)
                connection_wait_time = min(
                    connection_wait_time * self.exponential_backoff_factor, self.max_connection_wait_time
                )
        self.heartbeat()
        return result

    def _take_job(self, timeout: int | None) -> tuple[Job, Queue] | None:
        """The next job, moved into the holding list; None when all queues are empty and
        ``timeout`` is None (burst); raises DequeueTimeout after ``timeout`` seconds of nothing."""
        deadline = None if timeout is None else time.monotonic() + timeout
        while True:
            queue_keys = [queue.key for queue in self._ordered_queues]
            taken = self.holding.take(queue_keys)
            if taken is not None:
                found = self._read_taken_job(*taken)
                if found is not None:
                    self._taken_job_id = found[0].id
                    return found
                continue
            if deadline is None:
                return None
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                raise DequeueTimeout(timeout, queue_keys)
            # Never 0: to Redis a zero timeout means "block forever".
            self.holding.wait(queue_keys, max(0.05, remaining))

    def _read_taken_job(self, queue_key: str | None, job_id: str) -> tuple[Job, Queue] | None:
        """The held job and its queue; None (and out of the holding list) if it cannot run."""
        try:
            job = self.job_class.fetch(job_id, connection=self.connection, serializer=self.serializer)
        except NoSuchJobError:  # deleted while queued: nothing to run, as RQ's dequeue does
            self.holding.drop(job_id)
            return None
        except (RedisConnectionError, RedisTimeoutError):
            raise
        except Exception:  # an unreadable job must not be taken again and again
            self.log.exception("Worker %s: job %s cannot be read; it goes to the failed registry", self.name, job_id)
            self._fail_unreadable(job_id, queue_key)
            return None
        return job, self._queue_named(job.origin)

    def _fail_unreadable(self, job_id: str, queue_key: str | None) -> None:
        origin = self.connection.hget(Job.key_for(job_id), "origin")
        name = origin.decode() if isinstance(origin, bytes) else None
        if name is None and queue_key:
            name = queue_key.removeprefix(Queue.redis_queue_namespace_prefix)
        name = name or self._ordered_queues[0].name
        with self.connection.pipeline() as pipeline:
            registry = FailedJobRegistry(name, connection=self.connection)
            pipeline.zadd(registry.key, {job_id: time.time() + defaults.FAILURE_TTL_SECONDS})
            pipeline.hset(Job.key_for(job_id), "status", JobStatus.FAILED.value)
            self.holding.release(job_id, pipeline)
            pipeline.execute()

    def _queue_named(self, name: str) -> Queue:
        for queue in self.queues:
            if queue.name == name:
                return queue
        return self.queue_class(name, connection=self.connection, job_class=self.job_class, serializer=self.serializer)

    def _horse_stopped_before_beginning(self, job: Job) -> bool:
        """Whether the job's horse died (or lost Redis) before beginning it, and the job goes back.

        Such a job is still in the holding list: nothing of it ran, so it costs no retry, and
        the next take hands it back to the front of its queue. After
        ``defaults.UNBEGUN_REQUEUE_LIMIT`` such ends it fails as RQ fails any lost horse, so a
        job whose horse cannot even begin it does not come back for ever.
        """
        if not self.holding.holds(job.id):
            return False
        count = int(self.connection.hincrby(job.key, UNBEGUN_COUNT_FIELD, 1))
        if count > defaults.UNBEGUN_REQUEUE_LIMIT:
            self.holding.drop(job.id)
            return False
        self.log.warning(
            "Worker %s: the work horse of job %s stopped before beginning it; it goes back to its queue (%d of %d)",
            self.name,
            job.id,
            count,
            defaults.UNBEGUN_REQUEUE_LIMIT,
        )
        return True

    def _start_scheduler(
        self,
        burst: bool = False,
        logging_level: str | None = "INFO",
        date_format: str = DEFAULT_LOGGING_DATE_FORMAT,
        log_format: str = DEFAULT_LOGGING_FORMAT,
    ) -> None:
        # RQ's own body, with the scheduler class that dies with its worker (RQ names its class
        # in the method, so there is no smaller seam).
        self.scheduler = WorkerBoundScheduler(
            self.queues,
            connection=self.connection,
            logging_level=logging_level if logging_level is not None else self.log.level,
            date_format=date_format,
            log_format=log_format,
            serializer=self.serializer,
        )
        self.scheduler.acquire_locks()  # type: ignore[no-untyped-call]
        if not self.scheduler.acquired_locks:
            return
        if not burst:
            self.scheduler.start()
            return
        try:
            self.scheduler.register_birth()
            self.scheduler.enqueue_scheduled_jobs()
        finally:
            self.scheduler.release_locks()  # type: ignore[no-untyped-call]
            self.scheduler.register_death()

    def run_maintenance_tasks(self) -> None:
        super().run_maintenance_tasks()  # type: ignore[no-untyped-call]
        recovered = recover_held_jobs(self.connection)
        if recovered:
            self.log.warning(
                "Worker %s: %d job(s) held by dead workers put back at the front of their queues: %s",
                self.name,
                len(recovered),
                ", ".join(recovered),
            )

    # --- teardown and the command channel --------------------------------------------------

    def teardown(self) -> None:
        # RQ records the death first, which raises without Redis, and so never unsubscribed: each
        # outage left a thread and a subscribed connection behind, and the restarted loop added one.
        if self.is_horse:
            return
        try:
            if self.scheduler:
                self.stop_scheduler()  # type: ignore[no-untyped-call]
            recover_held_jobs(self.connection, only_worker=self.name)
            self.register_death()  # type: ignore[no-untyped-call]
        finally:
            self.unsubscribe()

    def subscribe(self) -> None:
        if self.pubsub_thread is not None and self.pubsub_thread.is_alive():
            return  # still subscribed (redis-py subscribes again after a reconnect)
        self.log.info("Worker %s: subscribing to channel %s", self.name, self.pubsub_channel_name)
        self.pubsub = self.connection.pubsub()  # type: ignore[no-untyped-call]
        self.pubsub.subscribe(**{self.pubsub_channel_name: self.handle_payload})
        # RQ waits 60 s per read; a short wait lets unsubscribe() end the thread promptly.
        self.pubsub_thread = self.pubsub.run_in_thread(  # type: ignore[assignment]
            sleep_time=PUBSUB_POLL_SECONDS, daemon=True, exception_handler=self._pubsub_exception_handler
        )

    def unsubscribe(self) -> None:
        """Stop the command-channel thread; it closes its connection, which ends the subscription.

        Needs no round trip, so it works with Redis gone (RQ's sends UNSUBSCRIBE first).
        """
        thread: PubSubWorkerThread | None = self.pubsub_thread
        self.pubsub_thread, self.pubsub = None, None
        if thread is None:
            return
        self.log.info("Worker %s: unsubscribing from channel %s", self.name, self.pubsub_channel_name)
        thread.stop()
        # The longest the thread can be busy: one read, or RQ's 2 s pause after a failed one.
        thread.join(timeout=PUBSUB_POLL_SECONDS + 3)

    def _pubsub_exception_handler(self, exc: Exception, pubsub: PubSub, pubsub_thread: PubSubWorkerThread) -> None:
        if pubsub_thread is not self.pubsub_thread:
            return  # a retired thread: let its loop end quietly instead of retrying
        super()._pubsub_exception_handler(exc, pubsub, pubsub_thread)


PUBSUB_POLL_SECONDS = 1.0
"""How long the command-channel thread waits for a message before checking it should stop."""
