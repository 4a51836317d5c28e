"""Rollup test helpers: raw events written straight into analytics_events, runs, rows read back."""

from __future__ import annotations

import itertools
from datetime import datetime
from typing import Any

from sqlalchemy import select

from jobs.analytics.contracts import EventType
from jobs.analytics.models import AnalyticsEventRow, ContentRollupRow, CreatorRollupRow, PlatformRollupRow, RollupGrain
from jobs.analytics.partitions import ensure_months
from jobs.analytics.rollups import COUNTED_TYPES, RollupRun, run_rollup
from jobs.analytics.settings import AnalyticsSettings, analytics_settings
from odyssey_workers.db.base import utcnow
from odyssey_workers.db.session import get_engine, session_scope

_serial = itertools.count(1)

NUMBERS = ("views", "unique_viewers", "watch_seconds", *(name for name in COUNTED_TYPES if name != "views"))


def raw(kind: str, at: datetime, **fields: Any) -> dict[str, Any]:
    """One stored event's columns: ``kind`` at ``at``; by default user 1 in session s-1."""
    row: dict[str, Any] = {"type": EventType(kind), "occurred_at": at, "session_id": "s-1", "properties": {}}
    if "anonymous_id" not in fields:
        row["user_id"] = 1
    row.update(fields)
    if "seconds" in row:
        row["properties"] = {"seconds_watched": row.pop("seconds")}
    return row


def store(*events: dict[str, Any]) -> None:
    """Stores events as the drain would have (in one transaction, received now; on PostgreSQL
    their months' partitions made first, as the drain does)."""
    if get_engine().dialect.name == "postgresql":
        ensure_months(get_engine(), [event["occurred_at"] for event in events])
    with session_scope() as session:
        for event in events:
            session.add(AnalyticsEventRow(event_id=f"evt-{next(_serial)}", received_at=utcnow(), **event))


def no_lag() -> AnalyticsSettings:
    """The settings with no safety lag, so a run reads the events a test has just stored."""
    return analytics_settings().model_copy(update={"analytics_rollup_safety_lag_seconds": 0})


def roll(grain: RollupGrain, settings: AnalyticsSettings | None = None, now: datetime | None = None) -> RollupRun:
    with session_scope() as session:
        return run_rollup(session, grain, settings or no_lag(), now)


def numbers(row: Any) -> dict[str, Any]:
    """A rollup row's numbers, the zero ones left out (so an expectation names only what counts)."""
    return {name: getattr(row, name) for name in NUMBERS if getattr(row, name)}


def content_rows(grain: RollupGrain) -> dict[tuple[datetime, int], dict[str, Any]]:
    with session_scope() as session:
        rows = session.scalars(select(ContentRollupRow).where(ContentRollupRow.grain == grain))
        return {(row.bucket_start, row.content_id): numbers(row) for row in rows}


def creator_rows(grain: RollupGrain) -> dict[tuple[datetime, int], dict[str, Any]]:
    with session_scope() as session:
        rows = session.scalars(select(CreatorRollupRow).where(CreatorRollupRow.grain == grain))
        return {(row.bucket_start, row.creator_id): numbers(row) for row in rows}


def platform_rows(grain: RollupGrain) -> dict[datetime, dict[str, Any]]:
    with session_scope() as session:
        rows = session.scalars(select(PlatformRollupRow).where(PlatformRollupRow.grain == grain))
        return {row.bucket_start: numbers(row) for row in rows}


def computed_times() -> dict[tuple[str, str, datetime, int | None], datetime]:
    """When each row of every rollup table was last written: a row not recomputed keeps its time."""
    times: dict[tuple[str, str, datetime, int | None], datetime] = {}
    with session_scope() as session:
        for row in session.scalars(select(ContentRollupRow)):
            times[("content", row.grain.value, row.bucket_start, row.content_id)] = row.computed_at
        for creator in session.scalars(select(CreatorRollupRow)):
            times[("creator", creator.grain.value, creator.bucket_start, creator.creator_id)] = creator.computed_at
        for platform in session.scalars(select(PlatformRollupRow)):
            times[("platform", platform.grain.value, platform.bucket_start, None)] = platform.computed_at
    return times
