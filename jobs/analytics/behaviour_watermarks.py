"""The behaviour computations' watermarks: how far each has read ``analytics_events``, and its lock.

The same pattern as the rollups' (``rollups._lock_watermark``, ``rollups.safe_upper_id``), on a
table of its own keyed by name, so the rollup grains stay what they are.
"""

from __future__ import annotations

from datetime import datetime, timedelta

from sqlalchemy import select
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Session

from jobs.analytics.behaviour_models import BehaviourWatermarkRow
from jobs.analytics.rollups import safe_upper_id
from jobs.analytics.settings import AnalyticsSettings
from odyssey_workers.db.base import utcnow


def lock_watermark(session: Session, name: str) -> BehaviourWatermarkRow:
    """``name``'s watermark row, locked until the caller commits, so two runs at once serialize.

    PostgreSQL: ``SELECT ... FOR UPDATE`` (the second run waits, then reads the first one's
    watermark). SQLite: the session began with ``BEGIN IMMEDIATE`` and holds the one write lock.
    """
    insert = postgresql.insert if session.get_bind().dialect.name == "postgresql" else sqlite.insert
    session.execute(
        insert(BehaviourWatermarkRow)
        .values(name=name, last_event_id=0, updated_at=utcnow())
        .on_conflict_do_nothing(index_elements=["name"])
    )
    locked = select(BehaviourWatermarkRow).where(BehaviourWatermarkRow.name == name).with_for_update()
    return session.scalars(locked.execution_options(populate_existing=True)).one()


def readable_upto(session: Session, after_id: int, settings: AnalyticsSettings, now: datetime) -> int:
    """The highest event id a run may read (the rollups' safety lag on PostgreSQL, none on SQLite)."""
    postgres = session.get_bind().dialect.name == "postgresql"
    lag = timedelta(seconds=settings.analytics_rollup_safety_lag_seconds if postgres else 0)
    return safe_upper_id(session, after_id, now, lag)
