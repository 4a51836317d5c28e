"""Partition test helpers: where each row sits, which partitions exist, rows written to a month."""

from __future__ import annotations

import itertools
from datetime import datetime

from sqlalchemy import text

from jobs.analytics.contracts import EventType
from jobs.analytics.models import AnalyticsEventRow
from jobs.analytics.partitions import ensure_months
from odyssey_workers.db.base import utcnow
from odyssey_workers.db.session import get_engine, session_scope

_serial = itertools.count(1)


def partition_of_each_event() -> dict[str, str]:
    """Each stored event's id and the table its row sits in (``tableoid::regclass``)."""
    with get_engine().connect() as connection:
        rows = connection.execute(text("SELECT event_id, tableoid::regclass::text FROM analytics_events"))
        return {event_id: table for event_id, table in rows}


def attached_partitions() -> set[str]:
    """The tables pg_inherits lists as partitions of analytics_events."""
    with get_engine().connect() as connection:
        names = connection.execute(
            text("SELECT inhrelid::regclass::text FROM pg_inherits WHERE inhparent = 'analytics_events'::regclass")
        )
        return set(names.scalars())


def table_exists(name: str) -> bool:
    with get_engine().connect() as connection:
        return connection.execute(text("SELECT to_regclass(:name)"), {"name": name}).scalar() is not None


def store_at(*moments: datetime) -> list[int]:
    """One like per moment, written straight into analytics_events (on PostgreSQL their months
    made first, as the drain does); returns their ids."""
    if get_engine().dialect.name == "postgresql":
        ensure_months(get_engine(), moments)
    with session_scope() as session:
        rows = [
            AnalyticsEventRow(
                event_id=f"kept-{next(_serial)}",
                type=EventType.LIKE,
                user_id=1,
                content_id=10,
                occurred_at=moment,
                properties={},
                received_at=utcnow(),
            )
            for moment in moments
        ]
        session.add_all(rows)
        session.flush()
        return [row.id for row in rows]
