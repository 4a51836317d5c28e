"""The hourly and daily rollups: incremental by ingestion watermark, exact by recomputation.

A run reads the ids of ``analytics_events`` past its watermark, finds the hours (or days) those
events happened in, and recomputes each such bucket from every raw event in it, with one upsert
per row. So a run costs what is new (plus the buckets it touches), and running it again can
never count anything twice: a bucket's row is always the whole bucket, never an increment.

The read side (``top_content``, the derived rates) is ``rollup_reads``; this module writes.
"""

from __future__ import annotations

import typing
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import (
    ColumnElement,
    Select,
    UniqueConstraint,
    case,
    delete,
    distinct,
    func,
    literal,
    select,
    text,
    true,
)
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.engine import CursorResult
from sqlalchemy.orm import InstrumentedAttribute, Session

from jobs.analytics.contracts import EventType
from jobs.analytics.models import (
    AnalyticsEventRow,
    ContentRollupRow,
    CreatorRollupRow,
    PlatformRollupRow,
    RollupGrain,
    RollupWatermarkRow,
)
from jobs.analytics.settings import AnalyticsSettings
from jobs.analytics.watermarks import lock_watermark_row
from odyssey_workers.db.base import table_of, utcnow

GRAIN_LENGTH = {RollupGrain.HOUR: timedelta(hours=1), RollupGrain.DAY: timedelta(days=1)}

COUNTED_TYPES: dict[str, EventType] = {
    "views": EventType.VIEW_START,
    "view_ends": EventType.VIEW_END,
    "likes": EventType.LIKE,
    "comments": EventType.COMMENT,
    "shares": EventType.SHARE,
    "follows": EventType.FOLLOW,
    "unfollows": EventType.UNFOLLOW,
    "subscribes": EventType.SUBSCRIBE,
    "purchases": EventType.PURCHASE,
    "sessions": EventType.SESSION_START,
}
"""Each counted column and the one event type it counts."""

Rollup = type[ContentRollupRow] | type[CreatorRollupRow] | type[PlatformRollupRow]
ROLLUPS: tuple[tuple[Rollup, str | None], ...] = (
    (ContentRollupRow, "content_id"),
    (CreatorRollupRow, "creator_id"),
    (PlatformRollupRow, None),
)
"""Each rollup table and the event column that keys it (None: one row per bucket)."""


@dataclass
class RollupRun:
    """What one run did: the ids it read, the buckets it recomputed and the rows it wrote."""

    grain: RollupGrain
    from_event_id: int  # exclusive: the watermark before the run
    to_event_id: int  # inclusive: the watermark after it
    events_read: int = 0
    buckets: list[datetime] = field(default_factory=list)
    too_old_events: int = 0  # new events in buckets past the late window, left as they were
    rows_written: int = 0

    def as_dict(self) -> dict[str, Any]:
        return {
            "grain": self.grain.value,
            "from_event_id": self.from_event_id,
            "to_event_id": self.to_event_id,
            "events_read": self.events_read,
            "buckets": [bucket.isoformat() for bucket in self.buckets],
            "too_old_events": self.too_old_events,
            "rows_written": self.rows_written,
        }


def bucket_of(moment: datetime, grain: RollupGrain) -> datetime:
    """The start of the UTC hour or day holding ``moment``."""
    start = moment.replace(minute=0, second=0, microsecond=0)
    return start.replace(hour=0) if grain is RollupGrain.DAY else start


AGGREGATION_WORK_MEM = "32MB"
"""PostgreSQL's memory per sort or hash of a rollup query (its default, 4 MB, spills a busy day's
distinct viewers to disk)."""


def _tune_for_aggregation(session: Session) -> None:
    """For the rest of the rollup's transaction on PostgreSQL: no JIT (at 10 million events,
    compiling each bucket's query took a third of its time, and every bucket is a new query) and
    a larger ``work_mem``. ``SET LOCAL`` ends with the transaction; SQLite has neither."""
    if session.get_bind().dialect.name == "postgresql":
        session.execute(text("SET LOCAL jit = off"))
        session.execute(text(f"SET LOCAL work_mem = '{AGGREGATION_WORK_MEM}'"))


def safe_upper_id(session: Session, after_id: int, now: datetime, lag: timedelta) -> int:
    """The highest id this run may read up to, so that no id below the new watermark can still appear.

    On PostgreSQL ids come from a sequence when a row is inserted, not when it commits: a drain's
    transaction holding id 100 may commit after another's holding 101. Taking 101 then would
    skip 100 for ever. So the watermark stops just before the first row received within ``lag``
    of now: a row older than that whose transaction is still open would be a drain transaction
    open for longer than the lag, which the drain's batches never are. SQLite gives ids under its
    one write lock, in commit order, so there the lag is not needed (the caller passes zero).
    """
    events = AnalyticsEventRow
    newest = session.scalar(select(func.max(events.id)).where(events.id > after_id))
    if newest is None:
        return after_id
    if lag <= timedelta(0):
        return newest
    first_recent = session.scalar(
        select(func.min(events.id)).where(events.id > after_id, events.received_at > now - lag)
    )
    return newest if first_recent is None else first_recent - 1


def _new_buckets(session: Session, grain: RollupGrain, after_id: int, upto_id: int) -> tuple[int, set[datetime]]:
    """How many events were ingested in (after_id, upto_id], and the buckets they happened in."""
    moments = session.scalars(
        select(AnalyticsEventRow.occurred_at)
        .where(AnalyticsEventRow.id > after_id, AnalyticsEventRow.id <= upto_id)
        .execution_options(yield_per=10_000)
    )
    count, buckets = 0, set()
    for moment in moments:
        count += 1
        buckets.add(bucket_of(moment, grain))
    return count, buckets


def _viewer_columns() -> tuple[InstrumentedAttribute[int | None], ColumnElement[Any]]:
    """A viewer as two columns: the user's id, else (user_id null) the anonymous visitor's id.

    The same partition as one text per viewer (``'u:' || user_id``, else ``'a:' || anonymous_id``)
    without building a text per row: an event naming both is its user's, as the text would be.
    """
    events = AnalyticsEventRow
    return events.user_id, case((events.user_id.is_(None), events.anonymous_id))


def _unique_viewers() -> ColumnElement[int]:
    """How many distinct viewers started a view: users and anonymous visitors counted apart (a
    user's id and an anonymous id never name the same viewer), so no per-row text is built."""
    events = AnalyticsEventRow
    starts = events.type == EventType.VIEW_START
    users = func.count(distinct(case((starts, events.user_id))))
    anonymous = func.count(distinct(case((starts & events.user_id.is_(None), events.anonymous_id))))
    return users + anonymous


def _aggregate(key_name: str | None, start: datetime, end: datetime) -> Select[Any]:
    """One row per key of the bucket [start, end): its counts, unique viewers and watch time."""
    events = AnalyticsEventRow
    in_bucket = (events.occurred_at >= start, events.occurred_at < end)
    keys: list[InstrumentedAttribute[Any]] = [] if key_name is None else [getattr(events, key_name)]
    keyed = [] if key_name is None else [keys[0].is_not(None)]

    # Watch time: the highest cumulative seconds_watched of each view, then their sum per key.
    per_view = (
        select(*keys, func.max(events.properties["seconds_watched"].as_float()).label("seconds"))
        .where(*in_bucket, *keyed, events.type == EventType.VIEW_PROGRESS)
        .group_by(*keys, *_viewer_columns(), events.session_id, events.content_id)
        .subquery()
    )
    view_keys = [] if key_name is None else [per_view.c[key_name]]
    watched = select(*view_keys, func.sum(per_view.c.seconds).label("watch_seconds")).group_by(*view_keys).subquery()

    counts = [
        func.count(case((events.type == event_type, 1))).label(column) for column, event_type in COUNTED_TYPES.items()
    ]
    viewers = _unique_viewers()
    # A content's row also names its creator, so a creator's top content reads this table alone.
    creator = [func.max(events.creator_id).label("creator_id")] if key_name == "content_id" else []
    counted = (
        select(*keys, *creator, *counts, viewers.label("unique_viewers")).where(*in_bucket, *keyed).group_by(*keys)
    )
    counted_sub = counted.subquery()

    seconds = func.coalesce(watched.c.watch_seconds, 0.0).label("watch_seconds")
    joined = select(counted_sub, seconds)
    if key_name is None:  # one row on each side
        return joined.select_from(counted_sub.outerjoin(watched, true()))
    return joined.select_from(counted_sub.outerjoin(watched, counted_sub.c[key_name] == watched.c[key_name]))


def _upsert_from(session: Session, model: Rollup, grain: RollupGrain, start: datetime, rows: Select[Any]) -> int:
    """Write ``rows`` (one bucket's aggregate) into ``model``'s table with one ``INSERT ... SELECT
    ... ON CONFLICT DO UPDATE``, inside the database; returns the rows written.

    The rows never come to Python: sending a bucket of thousands of content back as a multi-row
    VALUES cost far more than computing it (SQLAlchemy compiles one bind parameter per value).
    """
    table = table_of(model)
    insert = postgresql.insert if session.get_bind().dialect.name == "postgresql" else sqlite.insert
    [unique] = [constraint for constraint in table.constraints if isinstance(constraint, UniqueConstraint)]
    key_columns = [column.name for column in unique.columns]
    aggregate = rows.subquery()
    stamps = {"grain": grain, "bucket_start": start, "computed_at": utcnow()}
    source = select(
        *(literal(value, type_=table.c[name].type).label(name) for name, value in stamps.items()), *aggregate.c
    )
    # WHERE: SQLite reads "ON" after a SELECT's join as the join's; a WHERE ends the SELECT first.
    statement = insert(table).from_select([*stamps, *aggregate.c.keys()], source.where(true()))
    updated = {name: statement.excluded[name] for name in [*stamps, *aggregate.c.keys()] if name not in key_columns}
    upsert = statement.on_conflict_do_update(index_elements=key_columns, set_=updated)
    # preserve_rowcount: SQLAlchemy keeps an INSERT's row count only when asked (psycopg's is exact).
    result = session.execute(upsert.execution_options(preserve_rowcount=True))
    return int(typing.cast(CursorResult[Any], result).rowcount)  # an INSERT's result is a cursor's


def recompute_bucket(session: Session, grain: RollupGrain, start: datetime) -> int:
    """Rewrite every rollup row of one bucket from the raw events; returns the rows written."""
    end = start + GRAIN_LENGTH[grain]
    return sum(
        _upsert_from(session, model, grain, start, _aggregate(key_name, start, end)) for model, key_name in ROLLUPS
    )


def run_rollup(
    session: Session, grain: RollupGrain, settings: AnalyticsSettings, now: datetime | None = None
) -> RollupRun:
    """One incremental run of ``grain``'s rollup, in the caller's transaction (commit to keep it)."""
    now = now or utcnow()
    watermark = lock_watermark_row(session, RollupWatermarkRow, "grain", grain)
    _tune_for_aggregation(session)
    postgres = session.get_bind().dialect.name == "postgresql"
    lag = timedelta(seconds=settings.analytics_rollup_safety_lag_seconds if postgres else 0)
    upto = safe_upper_id(session, watermark.last_event_id, now, lag)
    run = RollupRun(grain=grain, from_event_id=watermark.last_event_id, to_event_id=upto)
    if upto == watermark.last_event_id:
        return run
    run.events_read, buckets = _new_buckets(session, grain, watermark.last_event_id, upto)
    # A bucket that ended before the late window is final: the drain no longer accepts events
    # for it, so one that still arrives (stored before a long rollup outage) is left out.
    oldest_open = now - timedelta(hours=settings.analytics_late_window_hours)
    for start in sorted(buckets):
        if start + GRAIN_LENGTH[grain] <= oldest_open:
            run.too_old_events += _count_in(session, watermark.last_event_id, upto, start, grain)
            continue
        run.rows_written += recompute_bucket(session, grain, start)
        run.buckets.append(start)
    watermark.last_event_id, watermark.updated_at = upto, now
    return run


def _buckets_between(session: Session, grain: RollupGrain, upto_id: int) -> list[datetime]:
    """Every bucket holding an event of id <= ``upto_id``, oldest first: from the first event's
    bucket to the last's, keeping those with an event (one indexed probe per bucket)."""
    events = AnalyticsEventRow
    first, last = session.execute(
        select(func.min(events.occurred_at), func.max(events.occurred_at)).where(events.id <= upto_id)
    ).one()
    if first is None:
        return []
    held, start, length = [], bucket_of(first, grain), GRAIN_LENGTH[grain]
    while start <= last:
        in_bucket = events.occurred_at >= start, events.occurred_at < start + length, events.id <= upto_id
        if session.scalar(select(literal(1)).where(*in_bucket).limit(1)) is not None:
            held.append(start)
        start += length
    return held


def rebuild_rollup(
    session: Session, grain: RollupGrain, settings: AnalyticsSettings, now: datetime | None = None
) -> RollupRun:
    """``grain``'s rollup recomputed from every raw event, in the caller's transaction.

    For after a rollup table was lost or its semantics changed: every row of the grain is deleted,
    every bucket holding an event is recomputed (also those past the late window, which an
    incremental run leaves as they are: here the operator asked for all of it), and the watermark
    is set to the events read, so the next incremental run goes on from there. Holds the same lock
    as an incremental run, so the two never interleave.
    """
    now = now or utcnow()
    watermark = lock_watermark_row(session, RollupWatermarkRow, "grain", grain)
    _tune_for_aggregation(session)
    postgres = session.get_bind().dialect.name == "postgresql"
    lag = timedelta(seconds=settings.analytics_rollup_safety_lag_seconds if postgres else 0)
    upto = safe_upper_id(session, 0, now, lag)
    run = RollupRun(grain=grain, from_event_id=0, to_event_id=upto)
    for model, _key in ROLLUPS:
        session.execute(delete(model).where(model.grain == grain))
    run.events_read = session.scalar(select(func.count()).where(AnalyticsEventRow.id <= upto)) or 0
    for start in _buckets_between(session, grain, upto):
        run.rows_written += recompute_bucket(session, grain, start)
        run.buckets.append(start)
    watermark.last_event_id, watermark.updated_at = upto, now
    return run


def _count_in(session: Session, after_id: int, upto_id: int, start: datetime, grain: RollupGrain) -> int:
    events = AnalyticsEventRow
    return (
        session.scalar(
            select(func.count()).where(
                events.id > after_id,
                events.id <= upto_id,
                events.occurred_at >= start,
                events.occurred_at < start + GRAIN_LENGTH[grain],
            )
        )
        or 0
    )


def describe(runs: Iterable[RollupRun]) -> list[str]:
    """One line per run, as the command prints it."""
    lines = []
    for run in runs:
        if run.to_event_id == run.from_event_id:
            lines.append(f"{run.grain.value} rollup: nothing new since event {run.from_event_id}")
            continue
        named = [f"{bucket:%Y-%m-%d %H:%M}" for bucket in run.buckets]
        # A rebuild recomputes hundreds: the line names the first and the last.
        buckets = ", ".join(named) if len(named) <= 6 else f"{named[0]} .. {named[-1]} ({len(named)} buckets)"
        buckets = buckets or "none"
        lines.append(
            f"{run.grain.value} rollup: events {run.from_event_id + 1}..{run.to_event_id} "
            f"({run.events_read:,} read), buckets recomputed: {buckets}; {run.rows_written} rows written"
            + (f"; {run.too_old_events} past the late window left out" if run.too_old_events else "")
        )
    return lines
