"""The platform metrics table and the watermark of the jobs that keep it current.

Loaded with the rest of the analytics tables (``models`` imports this module), so Alembic and
the test that compares models to migrations see them.
"""

from __future__ import annotations

from datetime import date, datetime

from sqlalchemy import BigInteger, Date, Float, String
from sqlalchemy.orm import Mapped, mapped_column

from odyssey_workers.db.base import Base, utcnow


class PlatformDayRow(Base):
    """The platform's user figures of one UTC day, computed from ``analytics_events``.

    A user is a ``user_id``, or an ``anonymous_id`` for an event without one (so a visitor who
    later signs in counts as two). Stickiness (dau / mau) and the average session length
    (session_seconds / sessions) are derived on read, so they always agree with the counts.
    """

    __tablename__ = "analytics_platform_daily"

    day: Mapped[date] = mapped_column(Date, primary_key=True)
    dau: Mapped[int] = mapped_column(default=0)  # distinct users with an event that day
    wau: Mapped[int] = mapped_column(default=0)  # distinct users in the 7 days ending that day
    mau: Mapped[int] = mapped_column(default=0)  # distinct users in the 30 days ending that day
    new_users: Mapped[int] = mapped_column(default=0)  # users whose first stored event is that day
    sessions: Mapped[int] = mapped_column(default=0)  # session ids whose first event is that day
    # Sum over those sessions of (last event - first event), in seconds, wherever the last one falls.
    session_seconds: Mapped[float] = mapped_column(Float, default=0)
    computed_at: Mapped[datetime] = mapped_column(default=utcnow)


class MetricWatermarkRow(Base):
    """How far one metrics job has read ``analytics_events`` (every id up to ``last_event_id``);
    the row is also that job's lock (``SELECT ... FOR UPDATE`` on PostgreSQL)."""

    __tablename__ = "analytics_metric_watermarks"

    name: Mapped[str] = mapped_column(String(32), primary_key=True)
    last_event_id: Mapped[int] = mapped_column(BigInteger, default=0)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow)
