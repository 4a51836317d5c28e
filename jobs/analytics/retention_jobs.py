"""``analytics.maintain_partitions``: raw events' months made ahead, and months past retention gone.

The retention cut is the first of the month ``ANALYTICS_RAW_RETENTION_MONTHS`` before the current
one: an event that happened before it has expired. With 13, on any day of December 2026 the cut
is 1 November 2025, so November 2025 to December 2026 are kept.

PostgreSQL: the months from the current one to ``MONTHS_AHEAD`` ahead are made if missing, and
each partition wholly before the cut is detached and dropped; no row is deleted one by one.
SQLite has no partitions: expired rows are deleted ``SQLITE_EXPIRY_CHUNK`` at a time, each chunk
its own transaction, so a drain waiting for the write lock waits for one chunk, not the whole run.
Both are safe to run twice, and twice at once (PostgreSQL: every create and drop takes the
partitions' advisory lock and looks again; SQLite: its one write lock).
"""

from __future__ import annotations

import logging
from dataclasses import asdict, dataclass, field
from datetime import datetime
from typing import Any

from sqlalchemy import Engine, delete, select

from jobs.analytics.models import AnalyticsEventRow
from jobs.analytics.partitions import (
    MONTHS_AHEAD,
    Partition,
    add_months,
    drop_partition,
    ensure_months,
    existing_partitions,
    is_postgres,
    month_start,
    months_between,
    retention_cut,
)
from jobs.analytics.settings import AnalyticsSettings, analytics_settings
from odyssey_workers.db.base import utcnow
from odyssey_workers.db.session import get_engine

logger = logging.getLogger(__name__)

SQLITE_EXPIRY_CHUNK = 5000
"""Expired rows deleted per transaction on SQLite."""


def expired(partitions: list[Partition], cut: datetime) -> list[Partition]:
    """The partitions whose whole month is before ``cut``."""
    return [partition for partition in partitions if partition.end <= cut]


@dataclass
class MaintenanceRun:
    """What one run did. ``created`` and ``dropped`` name the partitions this run made and dropped
    (PostgreSQL); ``deleted_rows`` counts the rows it deleted (SQLite)."""

    cut: datetime
    created: list[str] = field(default_factory=list)
    dropped: list[str] = field(default_factory=list)
    deleted_rows: int = 0

    def as_dict(self) -> dict[str, Any]:
        return {**asdict(self), "cut": self.cut.isoformat()}


def _maintain_postgres(engine: Engine, run: MaintenanceRun, now: datetime) -> None:
    run.created = ensure_months(engine, months_between(now, add_months(month_start(now), MONTHS_AHEAD)))
    with engine.connect() as connection:
        old = expired(existing_partitions(connection), run.cut)
    run.dropped = [partition.name for partition in old if drop_partition(engine, partition)]


def _expire_sqlite(engine: Engine, run: MaintenanceRun) -> None:
    events = AnalyticsEventRow
    oldest = select(events.id).where(events.occurred_at < run.cut).order_by(events.id).limit(SQLITE_EXPIRY_CHUNK)
    while True:
        with engine.begin() as connection:
            deleted = connection.execute(delete(events).where(events.id.in_(oldest.scalar_subquery()))).rowcount
        run.deleted_rows += deleted
        if deleted < SQLITE_EXPIRY_CHUNK:
            return


def maintain(engine: Engine, settings: AnalyticsSettings, now: datetime | None = None) -> MaintenanceRun:
    """One run against ``engine``: months ahead made and expired months dropped, or expired rows deleted."""
    now = now or utcnow()
    run = MaintenanceRun(cut=retention_cut(now, settings.analytics_raw_retention_months))
    if is_postgres(engine):
        _maintain_postgres(engine, run, now)
    else:
        _expire_sqlite(engine, run)
    return run


def maintain_partitions() -> dict[str, Any]:
    """The job: raw event retention on the service's database; returns what it made and dropped."""
    run = maintain(get_engine(), analytics_settings())
    logger.info(
        "raw events kept from %s: partitions made %s, dropped %s; rows deleted %d",
        f"{run.cut:%Y-%m-%d}",
        ", ".join(run.created) or "none",
        ", ".join(run.dropped) or "none",
        run.deleted_rows,
    )
    return run.as_dict()
