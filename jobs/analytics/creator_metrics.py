"""Content performance over a span of days, and a creator's summary: followers, earnings, top content.

Everything is read, nothing stored: the counts come from the daily rollups, the earnings from
payments' ``payment_daily_metrics`` (the creator's rows, as payments computed them). Days are
UTC and both ends of a span are included.

- engagement rate: (likes + comments + shares) / views; completion rate: view_ends / views (the
  events carry no content duration, so not watch time over length); None without views;
- followers: follows - unfollows over every daily rollup up to the span's end (so the count
  starts with the first stored event, and unfollows of follows made before it can make it low);
  followers gained: follows in the span.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, timedelta

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from jobs.analytics.models import ContentRollupRow, CreatorRollupRow, RollupGrain
from jobs.analytics.payments_tables import daily_metrics
from jobs.analytics.platform_metrics import day_start
from jobs.analytics.rollup_reads import ViewRates

PERFORMANCE_COUNTS = ("views", "unique_viewers", "view_ends", "watch_seconds", "likes", "comments", "shares")


@dataclass(frozen=True)
class ContentPerformance(ViewRates):
    content_id: int
    creator_id: int | None
    views: int
    unique_viewers: int  # summed over the days: a viewer who came on two days counts twice
    view_ends: int
    watch_seconds: float
    likes: int
    comments: int
    shares: int

    @property
    def average_watch_seconds(self) -> float | None:
        return self.watch_seconds / self.views if self.views else None


def _span(since: date, until: date) -> tuple[datetime, datetime]:
    if until < since:
        raise ValueError(f"until ({until}) is before since ({since})")
    return day_start(since), day_start(until + timedelta(days=1))


def content_performance(
    session: Session, since: date, until: date, creator_id: int | None = None, limit: int = 100
) -> list[ContentPerformance]:
    """Each content's summed daily rollups in the span, most viewed first (then most viewers, then id)."""
    if limit < 1:
        raise ValueError(f"limit must be at least 1, got {limit}")
    start, end = _span(since, until)
    rollup = ContentRollupRow
    sums = [func.sum(getattr(rollup, name)).label(name) for name in PERFORMANCE_COUNTS]
    of_creator = [] if creator_id is None else [rollup.creator_id == creator_id]
    query = (
        select(rollup.content_id, func.max(rollup.creator_id).label("creator_id"), *sums)
        .where(rollup.grain == RollupGrain.DAY, rollup.bucket_start >= start, rollup.bucket_start < end, *of_creator)
        .group_by(rollup.content_id)
        .order_by(func.sum(rollup.views).desc(), func.sum(rollup.unique_viewers).desc(), rollup.content_id)
        .limit(limit)
    )
    return [
        ContentPerformance(
            content_id=row.content_id,
            creator_id=row.creator_id,
            views=int(row.views),
            unique_viewers=int(row.unique_viewers),
            view_ends=int(row.view_ends),
            watch_seconds=float(row.watch_seconds),
            likes=int(row.likes),
            comments=int(row.comments),
            shares=int(row.shares),
        )
        for row in session.execute(query)
    ]


@dataclass(frozen=True)
class Earnings:
    """One currency's sums of the creator's payments daily metrics in the span (minor units)."""

    currency: str
    gross_revenue: int
    creator_earnings: int
    refunds: int


@dataclass(frozen=True)
class CreatorSummary:
    creator_id: int
    since: date
    until: date
    followers: int
    followers_gained: int
    followers_lost: int
    earnings: list[Earnings]  # by currency code
    top_content: list[ContentPerformance]


def creator_summary(session: Session, creator_id: int, since: date, until: date, top: int = 5) -> CreatorSummary:
    start, end = _span(since, until)
    rollup = CreatorRollupRow
    daily = (rollup.grain == RollupGrain.DAY, rollup.creator_id == creator_id)
    net = session.scalar(
        select(func.coalesce(func.sum(rollup.follows - rollup.unfollows), 0)).where(*daily, rollup.bucket_start < end)
    )
    gained, lost = session.execute(
        select(func.coalesce(func.sum(rollup.follows), 0), func.coalesce(func.sum(rollup.unfollows), 0)).where(
            *daily, rollup.bucket_start >= start, rollup.bucket_start < end
        )
    ).one()
    metrics = daily_metrics.c
    earnings = [
        Earnings(currency, int(gross), int(earned), int(refunds))
        for currency, gross, earned, refunds in session.execute(
            select(
                metrics.currency,
                func.sum(metrics.gross_revenue),
                func.sum(metrics.creator_earnings),
                func.sum(metrics.refunds),
            )
            .where(metrics.creator_id == creator_id, metrics.day >= since, metrics.day <= until)
            .group_by(metrics.currency)
            .order_by(metrics.currency)
        )
    ]
    return CreatorSummary(
        creator_id=creator_id,
        since=since,
        until=until,
        followers=int(net or 0),
        followers_gained=int(gained),
        followers_lost=int(lost),
        earnings=earnings,
        top_content=content_performance(session, since, until, creator_id, top),
    )
