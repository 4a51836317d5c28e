"""Analytics tables: the raw events the drain accepted, and the ones it set aside.

Neither table has foreign keys: an event may name content or a user the platform deleted
since, and the intake must never refuse a batch because of it.
"""

from __future__ import annotations

import enum
from datetime import datetime
from typing import Any

from sqlalchemy import JSON, BigInteger, String, Text
from sqlalchemy.orm import Mapped, mapped_column

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


class AnalyticsEventRow(Base):
    """One accepted event. ``id`` grows in the order events were drained (an ingestion watermark);
    ``event_id`` is the producer's id, unique, so a redelivered or re-sent event is stored once."""

    __tablename__ = "analytics_events"

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    event_id: Mapped[str] = mapped_column(String(64), unique=True)
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
