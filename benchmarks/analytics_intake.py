"""The analytics benchmark's intake half: ``track_many`` through ``analytics.drain_events`` into
``analytics_events``, against the naive form (one RQ job per event, each INSERTing its one row),
and the drain's peak memory at two backlog sizes.

Both forms are timed the way they run: a producer process (another service) sends while the
intake works, from the first send to the last event stored; both use the machine's 2 cores the
same way (producer, Redis and the intake side by side).

The naive job validates the event with the same model and stores it with the ORM, one commit per
event, as a first version of an intake would. It is worked by RQ's own ``SimpleWorker`` in this
process (no fork per job, so the naive form is not charged for process creation).
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from benchmarks.analytics_events import live_events

ROOT = Path(__file__).resolve().parents[1]


def naive_store_event(text: str) -> None:
    """The naive job: one event, validated, inserted with the ORM and committed alone."""
    from jobs.analytics.contracts import AnalyticsEvent
    from jobs.analytics.models import AnalyticsEventRow
    from odyssey_workers.db.session import session_scope

    event = AnalyticsEvent.model_validate_json(text)
    with session_scope() as session:
        session.add(
            AnalyticsEventRow(
                event_id=event.id,
                type=event.type,
                user_id=event.user_id,
                anonymous_id=event.anonymous_id,
                content_id=event.content_id,
                creator_id=event.creator_id,
                occurred_at=event.occurred_at,
                session_id=event.session_id,
                country=event.country,
                device=event.device,
                properties=event.properties,
                received_at=datetime.now(UTC),
            )
        )


@contextmanager
def intake_database(backend: str, redis_url: str, postgres: Any) -> Iterator[str]:
    """A migrated, empty database and this process's settings pointing at it and at Redis."""
    from odyssey_workers.db.migrate import upgrade
    from odyssey_workers.db.session import dispose_engines
    from odyssey_workers.settings import get_settings

    with tempfile.TemporaryDirectory(prefix="bench-analytics-") as tmp:
        url = f"sqlite:///{tmp}/bench.db" if backend == "sqlite" else postgres.create_database("bench_intake")
        os.environ.update(DATABASE_URL=url, REDIS_URL=redis_url, VAR_DIR=tmp, ANALYTICS_DRAIN_TIME_BUDGET_SECONDS="500")
        get_settings.cache_clear()
        dispose_engines()
        upgrade(url)
        try:
            yield url
        finally:
            dispose_engines()
            if backend != "sqlite":
                postgres.drop_database("bench_intake")


def stored_count() -> int:
    from sqlalchemy import func, select

    from jobs.analytics.models import AnalyticsEventRow
    from odyssey_workers.db.session import session_scope

    with session_scope() as session:
        return session.scalar(select(func.count()).select_from(AnalyticsEventRow)) or 0


def _flush_redis() -> None:
    from odyssey_workers.connection import get_redis

    get_redis().flushdb()


PRODUCER_CHILD = """
import sys
from datetime import UTC, datetime
sys.path.insert(0, sys.argv[1])
from benchmarks.analytics_events import live_events
from benchmarks.analytics_intake import produce
kind, count, seed = sys.argv[2], int(sys.argv[3]), int(sys.argv[4])
events = live_events(count, datetime.now(UTC), seed=seed)  # made before the clock starts
print("ready", flush=True)
sys.stdin.readline()
produce(kind, events)
"""

PRODUCER_SLICE = 1_000
"""Events a producer hands over per call, as a service flushing its buffer would."""


def produce(kind: str, events: list[dict[str, Any]]) -> None:
    """What the producer process sends: ``track_many`` slices (ours) or one enqueue per event."""
    from rq import Queue
    from rq.serializers import JSONSerializer

    from odyssey_workers.connection import get_redis
    from odyssey_workers.events import track_many

    connection = get_redis()
    if kind == "ours":
        for first in range(0, len(events), PRODUCER_SLICE):
            track_many(events[first : first + PRODUCER_SLICE], connection=connection)
        return
    queue = Queue("low", connection=connection, serializer=JSONSerializer)
    for event in events:
        queue.enqueue("benchmarks.analytics_intake.naive_store_event", json.dumps(event))


@contextmanager
def producer(kind: str, count: int, seed: int) -> Iterator[subprocess.Popen[str]]:
    """A separate producer process with its events made, waiting for the word to send them:
    producers are other services, so they run beside the intake, not in its process."""
    child = subprocess.Popen(
        [sys.executable, "-c", PRODUCER_CHILD, str(ROOT), kind, str(count), str(seed)],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        assert child.stdout is not None and child.stdin is not None
        if child.stdout.readline().strip() != "ready":
            raise RuntimeError("the producer process did not start")
        yield child
    finally:
        if child.poll() is None:
            child.wait(timeout=600)
    if child.returncode != 0:
        raise RuntimeError(f"the producer process exited with {child.returncode}")


def _go(child: subprocess.Popen[str]) -> float:
    assert child.stdin is not None
    child.stdin.write("go\n")
    child.stdin.flush()
    return time.perf_counter()


def ours_seconds(count: int) -> float:
    """A producer process sending ``count`` events with ``track_many`` while this process runs
    the drain, until every one is stored; from the first send to the last commit."""
    from jobs.analytics.intake import drain
    from jobs.analytics.settings import analytics_settings
    from odyssey_workers.connection import get_redis

    _flush_redis()
    connection, settings = get_redis(), analytics_settings()
    before = stored_count()
    stored = 0
    with producer("ours", count, seed=7) as child:
        started = _go(child)
        while stored < count:
            accepted = drain(connection, settings).accepted
            stored += accepted
            if not accepted:
                if child.poll() not in (None, 0):
                    break
                time.sleep(0.002)  # the producer is ahead of nothing: wait for its next slice
        seconds = time.perf_counter() - started
    if stored_count() - before != count:
        raise RuntimeError(f"the drain stored {stored_count() - before} of {count} events")
    return seconds


def naive_seconds(count: int, offset: int) -> float:
    """A producer process making one ``enqueue`` per event of the naive job while an RQ worker in
    this process works them, until all ``count`` are done; from the first enqueue to the last."""
    from rq import Queue, SimpleWorker
    from rq.serializers import JSONSerializer

    from odyssey_workers.connection import get_redis

    _flush_redis()
    connection = get_redis()
    before = stored_count()
    queue = Queue("low", connection=connection, serializer=JSONSerializer)
    worker = SimpleWorker([queue], connection=connection, serializer=JSONSerializer)
    with producer("naive", count, seed=offset) as child:
        started = _go(child)
        worker.work(max_jobs=count, logging_level="WARNING")
        seconds = time.perf_counter() - started
    if stored_count() - before != count:
        raise RuntimeError(f"the naive jobs stored {stored_count() - before} of {count} events")
    return seconds


@dataclass
class DrainMemory:
    events: int
    peak_rss_mb: float


MEMORY_CHILD = """
import sys, time
sys.path.insert(0, sys.argv[2])
from benchmarks.common import peak_rss_mb as peak_mb
from jobs.analytics.intake import drain
from jobs.analytics.settings import analytics_settings
from odyssey_workers.connection import get_redis
while drain(get_redis(), analytics_settings()).accepted:
    pass
print(peak_mb())
"""


def drain_peak_rss_mb(count: int) -> DrainMemory:
    """Peak resident memory of a fresh process draining a backlog of ``count`` events."""
    from odyssey_workers.connection import get_redis
    from odyssey_workers.events import track_many

    _flush_redis()
    now = datetime.now(UTC)
    for first in range(0, count, 20_000):  # the backlog is made in slices: only the drain is measured
        track_many(live_events(min(20_000, count - first), now, seed=first), connection=get_redis())
    before = stored_count()
    done = subprocess.run(
        [sys.executable, "-c", MEMORY_CHILD, "drain", str(ROOT)], check=True, capture_output=True, text=True
    )
    if stored_count() - before != count:
        raise RuntimeError(f"the measured drain stored {stored_count() - before} of {count} events")
    return DrainMemory(count, float(done.stdout.strip().splitlines()[-1]))
