"""Reading the rollups: a day's top content, with the two rates derived from the stored counts.

The rates are computed here, not stored, so they always agree with the counts beside them:

- engagement rate: (likes + comments + shares) / views, the interactions per started view;
- completion rate: view_ends / views, the share of started views that reported an end. The
  events carry no content duration, so this is not watch time over length.

Both are None for content with no view in the day (a like without a view has no rate).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, date, datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from jobs.analytics.models import ContentRollupRow, RollupGrain


class ViewRates:
    """The two rates of any figures with views, likes, comments, shares and view ends."""

    views: int
    likes: int
    comments: int
    shares: int
    view_ends: int

    @property
    def engagement_rate(self) -> float | None:
        return (self.likes + self.comments + self.shares) / self.views if self.views else None

    @property
    def completion_rate(self) -> float | None:
        return self.view_ends / self.views if self.views else None


@dataclass(frozen=True)
class ContentDay(ViewRates):
    content_id: int
    views: int
    unique_viewers: int
    watch_seconds: float
    likes: int
    comments: int
    shares: int
    view_ends: int


def top_content(session: Session, day: date, limit: int = 10, creator_id: int | None = None) -> list[ContentDay]:
    """The day's most viewed content (UTC day, from the daily rollup), most viewers first on a tie;
    only ``creator_id``'s content when given."""
    rollup = ContentRollupRow
    start = datetime(day.year, day.month, day.day, tzinfo=UTC)
    of_creator = [] if creator_id is None else [rollup.creator_id == creator_id]
    rows = session.scalars(
        select(rollup)
        .where(rollup.grain == RollupGrain.DAY, rollup.bucket_start == start, *of_creator)
        .order_by(rollup.views.desc(), rollup.unique_viewers.desc(), rollup.content_id)
        .limit(limit)
    )
    return [
        ContentDay(
            content_id=row.content_id,
            views=row.views,
            unique_viewers=row.unique_viewers,
            watch_seconds=row.watch_seconds,
            likes=row.likes,
            comments=row.comments,
            shares=row.shares,
            view_ends=row.view_ends,
        )
        for row in rows
    ]


def percent(rate: float | None) -> str:
    """A rate as the commands print it: a whole percent, or - when there is none."""
    return "-" if rate is None else f"{rate:.0%}"


def top_content_lines(entries: list[ContentDay]) -> list[str]:
    """The table ``analytics top`` and the demo print."""
    lines = [f"{'content':>8} {'views':>7} {'viewers':>8} {'watch s':>9} {'likes':>6} {'engage':>7} {'complete':>9}"]
    for entry in entries:
        lines.append(
            f"{entry.content_id:>8} {entry.views:>7,} {entry.unique_viewers:>8,} {entry.watch_seconds:>9,.0f} "
            f"{entry.likes:>6,} {percent(entry.engagement_rate):>7} {percent(entry.completion_rate):>9}"
        )
    return lines
