"""Analytics tables: the raw events the drain accepted, the ones it set aside, and the rollups.

No analytics table has foreign keys: an event may name content or a user the platform deleted
since, and the intake must never refuse a batch because of it.
"""

from __future__ import annotations

import enum
from datetime import datetime
from typing import Any

from sqlalchemy import JSON, BigInteger, Float, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from jobs.analytics import behaviour_models as behaviour_models  # its tables join the metadata with these
from jobs.analytics.contracts import EventType
from odyssey_workers.db.base import Base, BigId, enum_type, utcnow


class RejectReason(enum.StrEnum):
    MALFORMED = "malformed"  # the entry holds no JSON object under its ``event`` field
    UNKNOWN_TYPE = "unknown_type"
    MISSING_FIELD = "missing_field"
    INVALID_FIELD = "invalid_field"  # present but wrong: a naive time, a bad id, an unknown field...
    IN_FUTURE = "in_future"  # occurred_at past the clock-skew tolerance
    TOO_OLD = "too_old"  # occurred_at before the late window (ANALYTICS_LATE_WINDOW_HOURS)
    PROPERTIES_TOO_LARGE = "properties_too_large"
    UNSTORABLE = "unstorable"  # valid, yet the database refused its row (set aside so it blocks nothing)


EVENT_KEY: dict[str, tuple[str, ...]] = {
    "sqlite": ("event_id",),
    # PostgreSQL requires the partition key in every unique key of a partitioned table.
    "postgresql": ("event_id", "occurred_at"),
}
"""Per dialect, the unique key a stored event is found by (the drain's ON CONFLICT target)."""


class AnalyticsEventRow(Base):
    """One accepted event. ``id`` grows in the order events were drained (an ingestion watermark);
    ``event_id`` is the producer's id, so a redelivered or re-sent event is stored once.

    SQLite: one table, ``id`` its primary key, ``event_id`` unique. PostgreSQL: partitioned by
    month of ``occurred_at`` (``partitions.py``, migration 0405), so its keys hold the partition
    key: the primary key is ``(id, occurred_at)`` (ids still come from the parent's one sequence)
    and the unique key ``(event_id, occurred_at)``; the drain's pre-check (``event_dedupe.py``)
    keeps ``event_id`` unique across the months it accepts events for. The mapper's identity is
    ``id`` on both; each unique key is declared for its dialect only (``ddl_if``), and the schema
    compare honours that (``schema_compare.py``). Alembic does not compare primary keys.
    """

    __tablename__ = "analytics_events"
    __table_args__ = tuple(UniqueConstraint(*columns).ddl_if(dialect=dialect) for dialect, columns in EVENT_KEY.items())

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    event_id: Mapped[str] = mapped_column(String(64))
    type: Mapped[EventType] = mapped_column(enum_type(EventType, length=32))
    user_id: Mapped[int | None] = mapped_column(BigInteger)
    anonymous_id: Mapped[str | None] = mapped_column(String(64))
    content_id: Mapped[int | None] = mapped_column(BigInteger)
    creator_id: Mapped[int | None] = mapped_column(BigInteger)
    occurred_at: Mapped[datetime] = mapped_column(index=True)
    session_id: Mapped[str | None] = mapped_column(String(64))
    country: Mapped[str | None] = mapped_column(String(2))
    device: Mapped[str | None] = mapped_column(String(32))
    properties: Mapped[dict[str, Any]] = mapped_column(JSON)
    received_at: Mapped[datetime] = mapped_column(default=utcnow)


class RejectedEventRow(Base):
    """One event the drain set aside, with why. ``stream_id`` (the Redis stream entry id) is unique,
    so a batch delivered again after a crash sets nothing aside twice."""

    __tablename__ = "analytics_rejected_events"

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    stream_id: Mapped[str] = mapped_column(String(40), unique=True)
    event_id: Mapped[str | None] = mapped_column(String(200))  # as sent, when it could be read
    reason: Mapped[RejectReason] = mapped_column(enum_type(RejectReason, length=32), index=True)
    detail: Mapped[str] = mapped_column(String(500))
    raw: Mapped[str] = mapped_column(Text)  # the entry's text, cut at RAW_MAX_CHARS
    received_at: Mapped[datetime] = mapped_column(default=utcnow, index=True)


class RollupGrain(enum.StrEnum):
    HOUR = "hour"
    DAY = "day"


class _RollupCounts:
    """The numbers every rollup row holds, for the events of its bucket that name its key.

    ``watch_seconds`` is the sum, over each (viewer, session, content) of the bucket, of the
    highest ``seconds_watched`` its view_progress events reported inside that bucket (the value is
    cumulative, so the maximum is what that view watched). A view that crosses a bucket's edge is
    counted in each bucket with the figure it had reached there: hours can add up to more than
    their day, never less.
    """

    views: Mapped[int] = mapped_column(default=0)  # view_start events
    unique_viewers: Mapped[int] = mapped_column(default=0)  # distinct user_id or anonymous_id among them
    view_ends: Mapped[int] = mapped_column(default=0)  # view_end events: the completion rate's numerator
    watch_seconds: Mapped[float] = mapped_column(Float, default=0)
    likes: Mapped[int] = mapped_column(default=0)
    comments: Mapped[int] = mapped_column(default=0)
    shares: Mapped[int] = mapped_column(default=0)
    follows: Mapped[int] = mapped_column(default=0)  # followers gained
    unfollows: Mapped[int] = mapped_column(default=0)
    subscribes: Mapped[int] = mapped_column(default=0)
    purchases: Mapped[int] = mapped_column(default=0)
    sessions: Mapped[int] = mapped_column(default=0)  # session_start events
    computed_at: Mapped[datetime] = mapped_column(default=utcnow)


class ContentRollupRow(_RollupCounts, Base):
    """One content's numbers in one hour or day (UTC), from the events naming that content."""

    __tablename__ = "analytics_content_rollups"
    __table_args__ = (UniqueConstraint("grain", "bucket_start", "content_id"),)

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    grain: Mapped[RollupGrain] = mapped_column(enum_type(RollupGrain, length=8))
    bucket_start: Mapped[datetime] = mapped_column()
    content_id: Mapped[int] = mapped_column(BigInteger)
    # The creator its events name (the highest, should they disagree); None if none names one.
    creator_id: Mapped[int | None] = mapped_column(BigInteger)


class CreatorRollupRow(_RollupCounts, Base):
    """One creator's numbers in one hour or day (UTC), from the events naming that creator."""

    __tablename__ = "analytics_creator_rollups"
    __table_args__ = (UniqueConstraint("grain", "bucket_start", "creator_id"),)

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    grain: Mapped[RollupGrain] = mapped_column(enum_type(RollupGrain, length=8))
    bucket_start: Mapped[datetime] = mapped_column()
    creator_id: Mapped[int] = mapped_column(BigInteger)


class PlatformRollupRow(_RollupCounts, Base):
    """The whole platform's numbers in one hour or day (UTC), from every event."""

    __tablename__ = "analytics_platform_rollups"
    __table_args__ = (UniqueConstraint("grain", "bucket_start"),)

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    grain: Mapped[RollupGrain] = mapped_column(enum_type(RollupGrain, length=8))
    bucket_start: Mapped[datetime] = mapped_column()


class RollupWatermarkRow(Base):
    """How far one rollup has read ``analytics_events``: every id up to ``last_event_id`` is in
    its tables. The row is also the rollup's lock (``SELECT ... FOR UPDATE`` on PostgreSQL)."""

    __tablename__ = "analytics_rollup_watermarks"

    grain: Mapped[RollupGrain] = mapped_column(enum_type(RollupGrain, length=8), primary_key=True)
    last_event_id: Mapped[int] = mapped_column(BigInteger, default=0)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow)


# The platform metrics tables live in their own module; importing it here registers them with
# every other analytics table.
from jobs.analytics import metric_models  # noqa: E402, F401

# The trackers' tables live with the trackers; imported here so the metadata holds them.
from jobs.analytics.trackers import models as _tracker_models  # noqa: E402, F401
