"""Prometheus metrics and the health check, served on one local HTTP endpoint.

Why the counts live in Redis: jobs run in many processes — several workers per machine, a
forked work horse per job, workers on many machines — while Prometheus scrapes one endpoint.
prometheus_client's in-process counters would die with each work horse, and its multiprocess
mode only adds up processes on one machine through files. So the worker hooks add to small
Redis hashes (one ``HINCRBY`` per event, in the same Redis the jobs already use), and the
endpoint's collector reads them at scrape time: the numbers are the whole fleet's, survive
worker restarts, and any ``odyssey-workers metrics`` process shows the same values.

Job names used as labels come from the catalog only (never from what a producer wrote), so a
hostile producer cannot blow up label cardinality; anything else is counted as ``unknown``.
"""

from __future__ import annotations

import json
import logging
import math
import threading
from collections.abc import Iterable, Iterator, Mapping
from datetime import UTC, datetime
from typing import Any
from wsgiref.simple_server import WSGIRequestHandler, make_server

from prometheus_client import CollectorRegistry
from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily, HistogramMetricFamily, Metric
from prometheus_client.exposition import ThreadingWSGIServer, choose_encoder
from prometheus_client.registry import Collector
from redis import Redis
from redis.backoff import NoBackoff
from redis.client import Pipeline
from redis.exceptions import RedisError
from redis.retry import Retry
from rq.exceptions import AbandonedJobError, DeserializationError
from rq.job import Job
from rq.queue import Queue
from rq.registry import FailedJobRegistry, ScheduledJobRegistry, StartedJobRegistry
from rq.utils import utcparse
from rq.worker import Worker

from odyssey_workers.catalog import get_catalog
from odyssey_workers.errors import OdysseyError
from odyssey_workers.routing import queue_names
from odyssey_workers.settings import Settings, get_settings

logger = logging.getLogger(__name__)

KEY_PREFIX = "odyssey:metrics:"
"""Every metrics key in Redis starts with this."""

EVENTS = ("started", "finished", "failed", "retried", "abandoned")
"""Job events counted per job name: attempt began; succeeded; failed for good; failed and will
be retried; found abandoned (its worker died) by the maintenance pass."""

JOB_LABEL = "job_name"
"""The catalog name's label. Not ``job``: Prometheus sets ``job`` on every scraped series itself
and renames a ``job`` label of the target's to ``exported_job``."""

DURATION_BUCKETS: tuple[float, ...] = (0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 120, 300, 600, 1800, 3600)
"""Upper bounds of the job duration histogram, in seconds (media jobs run for minutes)."""

UNKNOWN_JOB = "unknown"

EVENT_OUTCOMES = ("accepted", "duplicate", "rejected")
"""What a drain of the event stream (``odyssey_workers.events``) did with each event: stored it;
found its id already stored; set it aside as bad."""

EVENT_OUTCOMES_KEY = f"{KEY_PREFIX}events"
"""One hash of the drained-event counts, a field per outcome."""


TRACKER_OUTCOMES = ("forwarded", "dropped", "retried", "skipped")
"""What forwarding to an outside tracker did, counted per tracker: events it took; events refused
for good (by it, or unsendable to it); requests sent again after a busy answer; events left out
on purpose (opted-out users, or no id to send without contact data)."""

TRACKER_OUTCOMES_KEY = f"{KEY_PREFIX}trackers"
"""One hash of the forwarding counts, a field per ``<tracker>:<outcome>``."""


def _event_key(event: str) -> str:
    return f"{KEY_PREFIX}jobs:{event}"


def _duration_key(job_name: str) -> str:
    return f"{KEY_PREFIX}duration:{job_name}"


DURATION_INDEX_KEY = f"{KEY_PREFIX}duration:index"
"""A set of the job names that have a duration histogram, so a scrape never needs SCAN."""


def metric_job_name(job: Job) -> str:
    """The catalog name of ``job``, or ``unknown``; never raises."""
    try:
        spec = get_catalog().by_function(job.func_name or "")
    except DeserializationError:  # an undecodable job is still counted, just not by name
        return UNKNOWN_JOB
    return spec.name if spec else UNKNOWN_JOB


def add_event(pipeline: Pipeline, event: str, job: Job) -> None:
    """Queue one job event's count on a pipeline the caller executes (RQ's own, in the worker)."""
    pipeline.hincrby(_event_key(event), metric_job_name(job), 1)


def record_event(connection: Redis, event: str, job: Job) -> None:
    """Count one job event. A metrics failure is logged, never raised into the job's handling."""
    try:
        connection.hincrby(_event_key(event), metric_job_name(job), 1)
    except RedisError as exc:
        logger.warning("could not record metric %s for job %s: %s", event, job.id, exc)


def count_abandoned_job(job: Job, exc_type: type[BaseException] | None, *_exc_info: Any) -> None:
    """RQ exception handler: the maintenance pass calls it with AbandonedJobError for each job
    whose worker died. Other exceptions are counted by the worker's failure hook, not here.
    Returning None lets RQ's remaining handlers run."""
    if exc_type is AbandonedJobError and job.connection is not None:
        record_event(job.connection, "abandoned", job)


def bucket_index(seconds: float) -> int:
    """The histogram bucket for a duration: the first bound it fits under (len = +Inf)."""
    for index, bound in enumerate(DURATION_BUCKETS):
        if seconds <= bound:
            return index
    return len(DURATION_BUCKETS)


def add_job_end(pipeline: Pipeline, job: Job, event: str, outcome: str) -> None:
    """Queue, on RQ's own pipeline for the attempt's end, the ``event`` count and the attempt's
    run time (started_at to ended_at) in its job's histogram under ``outcome``.

    Written in the same round trip (and transaction) as the job's result, so the counts cannot
    disagree with what Redis says happened to the job, and cost the work horse no extra trip.
    """
    name = metric_job_name(job)
    pipeline.hincrby(_event_key(event), name, 1)
    if not (job.started_at and job.ended_at):
        return
    seconds = max((job.ended_at - job.started_at).total_seconds(), 0.0)
    key = _duration_key(name)
    # Buckets are stored one count per bucket (not cumulative): one HINCRBY per attempt.
    pipeline.hincrby(key, f"{outcome}:bucket:{bucket_index(seconds)}", 1)
    pipeline.hincrbyfloat(key, f"{outcome}:sum", seconds)
    pipeline.hincrby(key, f"{outcome}:count", 1)
    pipeline.sadd(DURATION_INDEX_KEY, name)


def add_event_outcomes(pipeline: Pipeline, counts: Mapping[str, int]) -> None:
    """Queue the counts of one drained batch on a pipeline the caller executes: the drain sends
    them with the batch's ``XACK``, so the counts move exactly when the events leave the stream."""
    for outcome, count in counts.items():
        if outcome not in EVENT_OUTCOMES:
            raise ValueError(f"unknown event outcome {outcome!r} (outcomes: {', '.join(EVENT_OUTCOMES)})")
        if count:
            pipeline.hincrby(EVENT_OUTCOMES_KEY, outcome, count)


def add_tracker_outcomes(pipeline: Pipeline, tracker: str, counts: Mapping[str, int]) -> None:
    """Queue one tracker's counts on a pipeline the caller executes (after the cursor moved)."""
    for outcome, count in counts.items():
        if outcome not in TRACKER_OUTCOMES:
            raise ValueError(f"unknown tracker outcome {outcome!r} (outcomes: {', '.join(TRACKER_OUTCOMES)})")
        if count:
            pipeline.hincrby(TRACKER_OUTCOMES_KEY, f"{tracker}:{outcome}", count)


def _decode(value: bytes | str) -> str:
    return value.decode() if isinstance(value, bytes) else value


class QueueCollector(Collector):
    """Reads queue depths, registries and the worker-recorded counters from Redis at scrape time."""

    def __init__(self, connection: Redis) -> None:
        self.connection = connection

    def collect(self) -> Iterator[Metric]:
        up = GaugeMetricFamily("odyssey_redis_up", "1 when Redis answered this scrape, 0 otherwise.")
        try:
            metrics = list(self._collect_from_redis())
        except (RedisError, OSError) as exc:
            logger.warning("metrics scrape could not read Redis: %s", exc)
            up.add_metric([], 0)
            yield up
            return
        up.add_metric([], 1)
        yield up
        yield from metrics

    def _head_age_seconds(self, queue: Queue) -> float:
        """Age of the job RQ pops next: the list's head (workers pop from the left, so the head
        is the oldest unless a job was pushed to the front on purpose)."""
        head = self.connection.lindex(queue.key, 0)
        if head is None:
            return 0.0
        enqueued_at = self.connection.hget(Job.key_for(_decode(head)), "enqueued_at")
        if not enqueued_at:
            return 0.0  # the id outlived its job hash (expired or deleted): no age to report
        age = datetime.now(UTC) - utcparse(_decode(enqueued_at)).replace(tzinfo=UTC)
        return max(age.total_seconds(), 0.0)

    def _collect_from_redis(self) -> Iterable[Metric]:
        from odyssey_workers.queues import get_queue

        depth = GaugeMetricFamily("odyssey_queue_depth", "Jobs waiting in each queue.", labels=["queue"])
        running = GaugeMetricFamily("odyssey_queue_running", "Jobs running now, per queue.", labels=["queue"])
        scheduled = GaugeMetricFamily(
            "odyssey_queue_scheduled", "Jobs waiting for a later time (retries), per queue.", labels=["queue"]
        )
        failed = GaugeMetricFamily("odyssey_queue_failed", "Jobs in each queue's failed registry.", labels=["queue"])
        oldest = GaugeMetricFamily(
            "odyssey_queue_oldest_job_age_seconds",
            "Seconds since the job at the head of each queue was enqueued (0 when the queue is empty).",
            labels=["queue"],
        )
        serving = GaugeMetricFamily(
            "odyssey_queue_workers", "Worker processes listening on each queue.", labels=["queue"]
        )
        for name in queue_names():
            queue = get_queue(name, self.connection)
            depth.add_metric([name], queue.count)
            oldest.add_metric([name], self._head_age_seconds(queue))
            serving.add_metric([name], Worker.count(connection=self.connection, queue=queue))
            running.add_metric(
                [name], StartedJobRegistry(name, connection=self.connection).get_job_count(cleanup=False)
            )
            scheduled_registry = ScheduledJobRegistry(name, connection=self.connection)  # type: ignore[no-untyped-call]
            scheduled.add_metric([name], scheduled_registry.get_job_count(cleanup=False))
            failed.add_metric([name], FailedJobRegistry(name, connection=self.connection).get_job_count(cleanup=False))
        yield from (depth, running, scheduled, failed, oldest, serving)

        workers = GaugeMetricFamily("odyssey_workers", "Worker processes registered in Redis.")
        workers.add_metric([], Worker.count(connection=self.connection))
        yield workers

        help_texts = {
            "started": "Job attempts started, per job name.",
            "finished": "Jobs finished successfully, per job name.",
            "failed": "Jobs failed for good (no retry left, or a permanent error), per job name.",
            "retried": "Failed attempts that were scheduled to run again, per job name.",
            "abandoned": "Jobs found abandoned because their worker died, per job name.",
        }
        for event in EVENTS:
            counter = CounterMetricFamily(f"odyssey_jobs_{event}", help_texts[event], labels=[JOB_LABEL])
            for job_name, count in self.connection.hgetall(_event_key(event)).items():
                counter.add_metric([_decode(job_name)], float(count))
            yield counter

        event_help = {
            "accepted": "Stream events drained and stored.",
            "duplicate": "Stream events drained whose id was already stored (a retried XADD or a redelivery).",
            "rejected": "Stream events drained and set aside as bad, with their reason.",
        }
        outcomes = {_decode(k): float(v) for k, v in self.connection.hgetall(EVENT_OUTCOMES_KEY).items()}
        for outcome in EVENT_OUTCOMES:
            events = CounterMetricFamily(f"odyssey_events_{outcome}", event_help[outcome])
            events.add_metric([], outcomes.get(outcome, 0.0))
            yield events

        yield from self._tracker_metrics()

        histogram = HistogramMetricFamily(
            "odyssey_job_duration_seconds",
            "How long job attempts ran, per job name and outcome (finished or failed).",
            labels=[JOB_LABEL, "outcome"],
        )
        for raw_name in sorted(self.connection.smembers(DURATION_INDEX_KEY)):
            job_name = _decode(raw_name)
            fields = {_decode(k): _decode(v) for k, v in self.connection.hgetall(_duration_key(job_name)).items()}
            for outcome in ("finished", "failed"):
                if f"{outcome}:count" not in fields:
                    continue
                cumulative, buckets = 0.0, []
                for index, bound in enumerate((*DURATION_BUCKETS, math.inf)):
                    cumulative += float(fields.get(f"{outcome}:bucket:{index}", 0))
                    buckets.append(("+Inf" if bound == math.inf else str(bound), cumulative))
                histogram.add_metric([job_name, outcome], buckets, float(fields.get(f"{outcome}:sum", 0)))
        yield histogram

    def _tracker_metrics(self) -> Iterable[Metric]:
        names = {
            "forwarded": ("odyssey_tracker_events_forwarded", "Events an outside tracker took, per tracker."),
            "dropped": ("odyssey_tracker_events_dropped", "Events refused for good by a tracker or unsendable to it."),
            "retried": ("odyssey_tracker_requests_retried", "Tracker requests sent again after 429, 5xx or no answer."),
            "skipped": (
                "odyssey_tracker_events_skipped",
                "Events left out of forwarding on purpose (opted-out users, or no id to send).",
            ),
        }
        counted: dict[str, dict[str, float]] = {outcome: {} for outcome in TRACKER_OUTCOMES}
        for field_name, value in self.connection.hgetall(TRACKER_OUTCOMES_KEY).items():
            tracker, _, outcome = _decode(field_name).rpartition(":")
            if outcome in counted and tracker:
                counted[outcome][tracker] = float(value)
        for outcome in TRACKER_OUTCOMES:
            name, help_text = names[outcome]
            family = CounterMetricFamily(name, help_text, labels=["tracker"])
            for tracker, total in sorted(counted[outcome].items()):
                family.add_metric([tracker], total)
            yield family


def metrics_registry(connection: Redis) -> CollectorRegistry:
    registry = CollectorRegistry(auto_describe=False)
    registry.register(QueueCollector(connection))
    return registry


# --- health -----------------------------------------------------------------------------------


def check_health(settings: Settings | None = None, connection: Redis | None = None) -> dict[str, str]:
    """``{"redis": "ok" | "error: ...", "database": ...}``: each part asked right now."""
    # Imported here, not at module level: the worker imports this module for its metric
    # hooks, and SQLAlchemy would add ~11 MB to it, which every fork of a work horse pays for.
    from sqlalchemy import text
    from sqlalchemy.exc import SQLAlchemyError

    from odyssey_workers.connection import get_redis
    from odyssey_workers.db.session import get_engine

    settings = settings or get_settings()
    results: dict[str, str] = {}
    try:
        (connection or get_redis(settings)).ping()
        results["redis"] = "ok"
    except (RedisError, OSError) as exc:
        results["redis"] = f"error: {exc}"
    try:
        with get_engine(settings.resolved_database_url).connect() as db:
            db.execute(text("SELECT 1"))
        results["database"] = "ok"
    except (SQLAlchemyError, OdysseyError, OSError) as exc:  # the message says which
        first_line = str(getattr(exc, "orig", None) or exc).strip().splitlines()
        results["database"] = f"error: {first_line[0] if first_line else type(exc).__name__}"
    return results


# --- the HTTP endpoint -----------------------------------------------------------------------------


class _QuietHandler(WSGIRequestHandler):
    """Scrapes every few seconds would flood the log; errors still go to the module logger."""

    def log_message(self, format: str, *args: Any) -> None:
        logger.debug("metrics endpoint: " + format, *args)


class MonitoringApp:
    """A WSGI app: ``/metrics`` (Prometheus text format) and ``/health`` (200 or 503, JSON)."""

    def __init__(self, settings: Settings, connection: Redis) -> None:
        self.settings = settings
        self.connection = connection
        self.registry = metrics_registry(connection)

    def __call__(self, environ: dict[str, Any], start_response: Any) -> list[bytes]:
        path = environ.get("PATH_INFO", "/")
        if path == "/metrics":
            # OpenMetrics when the scraper's Accept header asks for it (Prometheus does, and
            # then reads exemplars and _created), else the classic text format.
            encoder, content_type = choose_encoder(environ.get("HTTP_ACCEPT", ""))
            start_response("200 OK", [("Content-Type", content_type)])
            return [encoder(self.registry)]
        if path in ("/health", "/healthz"):
            results = check_health(self.settings, self.connection)
            failed = sorted(part for part, result in results.items() if result != "ok")
            status = "503 Service Unavailable" if failed else "200 OK"
            payload = {"status": "fail" if failed else "ok", "failed": failed, "checks": results}
            start_response(status, [("Content-Type", "application/json")])
            return [json.dumps(payload).encode()]
        start_response("404 Not Found", [("Content-Type", "text/plain")])
        return [b"not found: try /metrics or /health\n"]


def health_connection(settings: Settings) -> Redis:
    """A Redis client that gives up quickly, so /health answers 503 in seconds, not minutes."""
    from odyssey_workers.connection import redis_url

    # No retries: redis-py would otherwise back off and try again for seconds before answering.
    return Redis.from_url(redis_url(settings), socket_connect_timeout=2, socket_timeout=2, retry=Retry(NoBackoff(), 0))


class MetricsServer:
    """The endpoint on ``host:port``, served from threads; ``serve_forever`` or ``start``/``stop``."""

    def __init__(self, settings: Settings, host: str | None = None, port: int | None = None) -> None:
        self.settings = settings
        app = MonitoringApp(settings, health_connection(settings))
        self.server = make_server(
            host or settings.metrics_host,
            settings.metrics_port if port is None else port,
            app,
            ThreadingWSGIServer,
            handler_class=_QuietHandler,
        )
        self._thread: threading.Thread | None = None

    @property
    def address(self) -> tuple[str, int]:
        host, port = self.server.server_address[:2]
        return str(host), int(port)

    def serve_forever(self) -> None:
        self.server.serve_forever()

    def start(self) -> MetricsServer:
        self._thread = threading.Thread(target=self.serve_forever, name="metrics", daemon=True)
        self._thread.start()
        return self

    def stop(self) -> None:
        self.server.shutdown()
        self.server.server_close()
        if self._thread:
            self._thread.join(timeout=5)
