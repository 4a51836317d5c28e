"""The behaviour computations' watermarks: how far each has read ``analytics_events``, and its lock.

The same pattern as the rollups' (``watermarks.lock_watermark_row``, ``rollups.safe_upper_id``), on a
table of its own keyed by name, so the rollup grains stay what they are.
"""

from __future__ import annotations

from datetime import datetime, timedelta

from sqlalchemy.orm import Session

from jobs.analytics.behaviour_models import BehaviourWatermarkRow
from jobs.analytics.rollups import safe_upper_id
from jobs.analytics.settings import AnalyticsSettings
from jobs.analytics.watermarks import lock_watermark_row


def lock_watermark(session: Session, name: str) -> BehaviourWatermarkRow:
    """``name``'s watermark row, locked until the caller commits, so two runs at once serialize."""
    return lock_watermark_row(session, BehaviourWatermarkRow, "name", name)


def readable_upto(session: Session, after_id: int, settings: AnalyticsSettings, now: datetime) -> int:
    """The highest event id a run may read (the rollups' safety lag on PostgreSQL, none on SQLite)."""
    postgres = session.get_bind().dialect.name == "postgresql"
    lag = timedelta(seconds=settings.analytics_rollup_safety_lag_seconds if postgres else 0)
    return safe_upper_id(session, after_id, now, lag)
