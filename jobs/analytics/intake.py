"""``analytics.drain_events``: the event stream into ``analytics_events``, in batches.

Each round takes up to ``ANALYTICS_DRAIN_BATCH`` entries (first those a dead drain left pending,
then new ones), sorts them into good and bad, writes each kind with one multi-row
``INSERT ... ON CONFLICT DO NOTHING`` in one transaction, and only after the commit
acknowledges them. On PostgreSQL, where ``analytics_events`` is partitioned by month, a batch's
months are made first if missing (``partitions``) and its events checked against those already
stored (``event_dedupe``), since the unique key there also holds ``occurred_at``. Rounds go
on until the stream is drained or ``ANALYTICS_DRAIN_TIME_BUDGET_SECONDS`` is spent, so a big
backlog is worked off by the next scheduled run instead of one run holding the worker.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass
from datetime import datetime, timedelta
from typing import Any

from redis import Redis
from sqlalchemy.exc import DataError, IntegrityError

from jobs.analytics import stream
from jobs.analytics.bulk_insert import insert_if_absent
from jobs.analytics.event_dedupe import lock_for_batch, not_stored_yet
from jobs.analytics.live_counting import count_new_views
from jobs.analytics.models import EVENT_KEY, AnalyticsEventRow, RejectedEventRow, RejectReason
from jobs.analytics.partitions import ensure_months, month_start
from jobs.analytics.settings import AnalyticsSettings, analytics_settings
from jobs.analytics.validation import SortedEntries, StreamEntry, set_aside, sort_entries
from odyssey_workers.connection import get_redis
from odyssey_workers.db.base import utcnow
from odyssey_workers.db.session import get_engine, session_scope

logger = logging.getLogger(__name__)


@dataclass
class DrainCounts:
    """What a drain did: stored; already stored (a re-sent event, or a batch delivered again);
    set aside as bad. Their sum is the entries read."""

    accepted: int = 0
    duplicate: int = 0
    rejected: int = 0

    def add(self, other: DrainCounts) -> None:
        self.accepted += other.accepted
        self.duplicate += other.duplicate
        self.rejected += other.rejected

    def as_dict(self) -> dict[str, int]:
        return asdict(self)


def _write(rows: SortedEntries, oldest_month: datetime) -> DrainCounts:
    """One transaction. On PostgreSQL the batch's months are made first (their own short
    transaction), then the batch is checked for events already stored (``event_dedupe``)."""
    engine = get_engine()
    postgres = engine.dialect.name == "postgresql"
    if postgres and rows.accepted:
        ensure_months(engine, (row["occurred_at"] for row in rows.accepted))
    with session_scope() as session:
        accepted = rows.accepted
        if postgres:
            lock_for_batch(session)
            accepted = not_stored_yet(session, accepted, since=oldest_month)
        stored = insert_if_absent(session, AnalyticsEventRow, accepted, EVENT_KEY[engine.dialect.name])
        kept_aside = insert_if_absent(session, RejectedEventRow, rows.rejected, ["stream_id"])
    already = len(rows.accepted) - stored + len(rows.rejected) - kept_aside
    return DrainCounts(accepted=stored, duplicate=already, rejected=kept_aside)


def store_batch(entries: list[StreamEntry], now: datetime, late_window: timedelta) -> DrainCounts:
    """Write one batch's good events and bad ones in one transaction; returns what it did.

    Storing the same entries again changes nothing and counts them all as duplicates: events
    are keyed by their producer's id, set-aside entries by their stream id.

    If the database refuses the batch for what one row holds, the batch would fail again on
    every run and hold up the whole stream behind it; so it is halved until the refused entry
    is alone, and that entry is set aside as ``unstorable`` with the database's reason.
    """
    return _store(entries, now, late_window)[0]


def _store(
    entries: list[StreamEntry], now: datetime, late_window: timedelta
) -> tuple[DrainCounts, list[dict[str, Any]] | None]:
    """``store_batch``, also returning the rows of the events it stored when it stored every good
    one (no duplicate, nothing halved): then the live count needs no read-back to tell them."""
    oldest_month = month_start(now - late_window)  # every event accepted now happened after it
    try:
        rows = sort_entries(entries, now, late_window)
        counts = _write(rows, oldest_month)
        return counts, (rows.accepted if counts.duplicate == 0 else None)
    except (DataError, IntegrityError) as exc:
        if len(entries) == 1:
            reason = (str(exc.orig).strip().splitlines() or [type(exc.orig).__name__])[0]
            row = set_aside(entries[0], RejectReason.UNSTORABLE, f"the database refused it: {reason}", now)
            return _write(SortedEntries(rejected=[row]), oldest_month), None
        logger.warning(
            "the database refused a batch of %d events (%s); halving it to find the entry", len(entries), exc.orig
        )
    half = len(entries) // 2
    counts = store_batch(entries[:half], now, late_window)
    counts.add(store_batch(entries[half:], now, late_window))
    return counts, None


def _next_batch(
    connection: Redis, consumer: str, settings: AnalyticsSettings, cursor: str | None
) -> tuple[str | None, list[StreamEntry]]:
    """Entries a dead drain left pending first (while the scan of the pending list lasts), else new ones."""
    batch = settings.analytics_drain_batch
    if cursor is not None:
        cursor, entries = stream.claim_stale(
            connection, consumer, batch, settings.analytics_drain_claim_idle_seconds, cursor
        )
        if entries:
            return cursor, entries
    return cursor, stream.read_new(connection, consumer, batch)


def drain(connection: Redis, settings: AnalyticsSettings, clock: Callable[[], datetime] = utcnow) -> DrainCounts:
    """Drain until the stream has nothing for the group or the time budget is spent."""
    stream.ensure_group(connection)
    consumer = stream.consumer_name()
    late_window = timedelta(hours=settings.analytics_late_window_hours)
    deadline = time.monotonic() + settings.analytics_drain_time_budget_seconds
    totals = DrainCounts()
    cursor: str | None = stream.START_OF_PENDING
    while True:
        cursor, entries = _next_batch(connection, consumer, settings, cursor)
        if not entries:
            if cursor is None:
                break
            continue  # that stretch of the pending list held only live drains' entries
        stored_at = clock()
        counts, stored_rows = _store(entries, stored_at, late_window)
        # After the commit and before XACK: only this batch's new views (see live_counting).
        count_new_views(connection, entries, stored_at, settings.analytics_live_retention_minutes, stored_rows)
        stream.acknowledge(connection, [entry.stream_id for entry in entries], counts.as_dict())
        totals.add(counts)
        if time.monotonic() >= deadline:
            logger.info("event drain stopped at its time budget; the next run goes on")
            break
    stream.forget_idle_consumers(connection, settings.analytics_drain_claim_idle_seconds, also=consumer)
    return totals


def drain_events() -> dict[str, int]:
    """The job: drain the event stream; returns {accepted, duplicate, rejected}."""
    counts = drain(get_redis(), analytics_settings())
    logger.info(
        "drained events: %d accepted, %d duplicate, %d rejected", counts.accepted, counts.duplicate, counts.rejected
    )
    return counts.as_dict()
