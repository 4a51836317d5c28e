"""What the reports read: the hourly and daily rollups over a period, zero-filled, and the
period's distinct viewers.

The rollups have no weekly or monthly grain, and a viewer seen on two days of a week is one
viewer of that week, so a period's unique viewers are counted here from the raw events (one
``COUNT(DISTINCT ...)`` over the period's indexed ``occurred_at`` range), never summed from days.
Everything else is the rollups' counts, summed: counts add up across days exactly.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, fields
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import String, cast, distinct, func, literal, select
from sqlalchemy.orm import Session

from jobs.analytics.contracts import EventType
from jobs.analytics.models import AnalyticsEventRow, ContentRollupRow, CreatorRollupRow, PlatformRollupRow, RollupGrain
from jobs.analytics.reports.periods import Period
from jobs.analytics.rollup_reads import ViewRates


@dataclass
class Counts(ViewRates):
    """A rollup row's numbers; ``add`` sums another's in (unique viewers are not summable: see
    module). The engagement and completion rates are ``rollup_reads.ViewRates``'."""

    views: int = 0
    unique_viewers: int = 0
    view_ends: int = 0
    watch_seconds: float = 0.0
    likes: int = 0
    comments: int = 0
    shares: int = 0
    follows: int = 0
    unfollows: int = 0
    subscribes: int = 0
    purchases: int = 0
    sessions: int = 0

    @classmethod
    def of(cls, row: Any) -> Counts:
        return cls(**{f.name: getattr(row, f.name) for f in fields(cls)})

    def add(self, other: Counts) -> None:
        for f in fields(self):
            if f.name != "unique_viewers":
                setattr(self, f.name, getattr(self, f.name) + getattr(other, f.name))


def platform_buckets(session: Session, grain: RollupGrain, start: datetime, end: datetime) -> list[Counts]:
    """The platform's counts for each hour (or day) of [start, end), zero where no event fell."""
    step = timedelta(hours=1) if grain is RollupGrain.HOUR else timedelta(days=1)
    rows = session.scalars(
        select(PlatformRollupRow).where(
            PlatformRollupRow.grain == grain,
            PlatformRollupRow.bucket_start >= start,
            PlatformRollupRow.bucket_start < end,
        )
    )
    found = {row.bucket_start: Counts.of(row) for row in rows}
    buckets, at = [], start
    while at < end:
        buckets.append(found.get(at, Counts()))
        at += step
    return buckets


def creator_days(session: Session, creator_id: int, period: Period) -> list[Counts]:
    """One creator's counts for each day of the period, zero where none."""
    return creator_buckets(session, creator_id, period.start, period.end)


def creator_buckets(session: Session, creator_id: int, start: datetime, end: datetime) -> list[Counts]:
    """One creator's counts for each UTC day of [start, end), zero where no event named them."""
    rows = session.scalars(
        select(CreatorRollupRow).where(
            CreatorRollupRow.grain == RollupGrain.DAY,
            CreatorRollupRow.creator_id == creator_id,
            CreatorRollupRow.bucket_start >= start,
            CreatorRollupRow.bucket_start < end,
        )
    )
    found = {row.bucket_start: Counts.of(row) for row in rows}
    return [found.get(start + timedelta(days=n), Counts()) for n in range((end - start).days)]


def creator_totals(session: Session, period: Period) -> dict[int, Counts]:
    """Every creator with a daily row in the period, and their summed counts."""
    totals: dict[int, Counts] = defaultdict(Counts)
    rows = session.scalars(
        select(CreatorRollupRow).where(
            CreatorRollupRow.grain == RollupGrain.DAY,
            CreatorRollupRow.bucket_start >= period.start,
            CreatorRollupRow.bucket_start < period.end,
        )
    )
    for row in rows:
        totals[row.creator_id].add(Counts.of(row))
    return dict(totals)


def content_totals(
    session: Session, period: Period, creator_id: int | None = None, top: int | None = None
) -> dict[int, Counts]:
    """Each content's counts summed over the period's days (only ``creator_id``'s when given),
    most viewed first (then by id), the ``top`` first only when given; with each one's distinct
    viewers in the period, from the raw events."""
    rollup = ContentRollupRow
    of_creator = [] if creator_id is None else [rollup.creator_id == creator_id]
    summed: dict[int, Counts] = defaultdict(Counts)
    rows = session.scalars(
        select(rollup).where(
            rollup.grain == RollupGrain.DAY,
            rollup.bucket_start >= period.start,
            rollup.bucket_start < period.end,
            *of_creator,
        )
    )
    for found in rows:
        summed[found.content_id].add(Counts.of(found))
    ranked = sorted(summed.items(), key=lambda item: (-item[1].views, item[0]))
    totals = dict(ranked if top is None else ranked[:top])
    for content_id, viewers in _viewers_by_content(session, period, list(totals)).items():
        totals[content_id].unique_viewers = viewers
    return totals


def _viewer() -> Any:
    """One text per viewer, as the rollups count them: a user by id, else the anonymous id."""
    events = AnalyticsEventRow
    return func.coalesce(literal("u:") + cast(events.user_id, String), literal("a:") + events.anonymous_id)


def _views_in(period: Period) -> tuple[Any, ...]:
    events = AnalyticsEventRow
    return (events.type == EventType.VIEW_START, events.occurred_at >= period.start, events.occurred_at < period.end)


def _viewers_by_content(session: Session, period: Period, content_ids: list[int]) -> dict[int, int]:
    events = AnalyticsEventRow
    counted: dict[int, int] = {}
    for first in range(0, len(content_ids), 500):
        chunk = content_ids[first : first + 500]
        query = (
            select(events.content_id, func.count(distinct(_viewer())))
            .where(*_views_in(period), events.content_id.in_(chunk))
            .group_by(events.content_id)
        )
        for content_id, viewers in session.execute(query):
            if content_id is not None:
                counted[content_id] = viewers
    return counted


def distinct_viewers(session: Session, period: Period, creator_id: int | None = None) -> int:
    """Viewers who started at least one view in the period (of ``creator_id``'s content when given)."""
    events = AnalyticsEventRow
    of_creator = [] if creator_id is None else [events.creator_id == creator_id]
    query = select(func.count(distinct(_viewer()))).where(*_views_in(period), *of_creator)
    return int(session.scalar(query) or 0)
