"""Trends of a daily metric: the change against the same day a week before, and an anomaly flag
from the z-score of the latest value against its trailing baseline.

``trend(values)`` takes the series oldest first, one value per day, the latest last. The
baseline is the ``baseline_days`` values before the latest (not including it); the z-score is
(latest - baseline mean) / baseline sample standard deviation. A baseline with no spread has
no z-score: there the latest is an anomaly exactly when it differs from the flat value. A
baseline shorter than ``MIN_BASELINE`` values gives no z-score and no flag.
"""

from __future__ import annotations

import statistics
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import date, timedelta

from sqlalchemy import select
from sqlalchemy.orm import Session

from jobs.analytics.models import ContentRollupRow, RollupGrain
from jobs.analytics.platform_metrics import day_start
from jobs.analytics.platform_reads import PlatformDay, platform_series

WEEK = 7
MIN_BASELINE = 7
"""Fewer baseline values than this say too little about spread to flag anything."""


@dataclass(frozen=True)
class Trend:
    latest: float
    week_before: float | None  # the value 7 days before the latest, when the series reaches back so far
    week_over_week: float | None  # (latest - week_before) / week_before; None without a non-zero week_before
    baseline_mean: float | None
    baseline_stdev: float | None
    z_score: float | None
    anomaly: bool
    note: str  # why there is no z-score, or ""


def trend(values: Sequence[float], baseline_days: int = 28, threshold: float = 3.0) -> Trend:
    """The trend of the series' last value (see the module's definitions)."""
    if not values:
        raise ValueError("a trend needs at least one value")
    if baseline_days < 2:
        raise ValueError(f"baseline_days must be at least 2, got {baseline_days}")
    if threshold <= 0:
        raise ValueError(f"threshold must be positive, got {threshold}")
    latest = float(values[-1])
    week_before = float(values[-1 - WEEK]) if len(values) > WEEK else None
    change = (latest - week_before) / week_before if week_before else None
    baseline = [float(value) for value in values[-1 - baseline_days : -1]]
    if len(baseline) < MIN_BASELINE:
        note = f"baseline of {len(baseline)} value(s), fewer than {MIN_BASELINE}"
        return Trend(latest, week_before, change, None, None, None, False, note)
    mean, stdev = statistics.fmean(baseline), statistics.stdev(baseline)
    if stdev == 0:
        return Trend(latest, week_before, change, mean, 0.0, None, latest != mean, "flat baseline")
    z = (latest - mean) / stdev
    return Trend(latest, week_before, change, mean, stdev, z, abs(z) >= threshold, "")


PLATFORM_METRICS: dict[str, Callable[[PlatformDay], float | None]] = {
    "dau": lambda day: day.dau,
    "wau": lambda day: day.wau,
    "mau": lambda day: day.mau,
    "stickiness": lambda day: day.stickiness,
    "new_users": lambda day: day.new_users,
    "sessions": lambda day: day.sessions,
    "average_session_seconds": lambda day: day.average_session_seconds,
}


def platform_trends(session: Session, day: date, baseline_days: int = 28, threshold: float = 3.0) -> dict[str, Trend]:
    """The trend of each platform metric on ``day``, from the stored days before it.

    A day with no stored row or no value (stickiness with MAU 0) is left out of that metric's
    series; a metric with no value on ``day`` itself has no trend.
    """
    days = platform_series(session, day - timedelta(days=baseline_days), day)
    trends = {}
    for name, value_of in PLATFORM_METRICS.items():
        series = [value for entry in days if (value := value_of(entry)) is not None]
        if days and days[-1].day == day and value_of(days[-1]) is not None:
            trends[name] = trend(series, baseline_days, threshold)
    return trends


CONTENT_METRICS = ("views", "unique_viewers", "watch_seconds", "likes", "comments", "shares")


def content_trends(
    session: Session, content_id: int, day: date, baseline_days: int = 28, threshold: float = 3.0
) -> dict[str, Trend]:
    """The trend of each of a content's daily rollup counts on ``day``; a day without a row is a
    day without events for it, so it counts as 0."""
    rollup = ContentRollupRow
    first = day - timedelta(days=baseline_days)
    rows = {
        row.bucket_start.date(): row
        for row in session.scalars(
            select(rollup).where(
                rollup.grain == RollupGrain.DAY,
                rollup.content_id == content_id,
                rollup.bucket_start >= day_start(first),
                rollup.bucket_start <= day_start(day),
            )
        )
    }
    dates = [first + timedelta(days=n) for n in range(baseline_days + 1)]
    return {
        name: trend([float(getattr(rows[d], name)) if d in rows else 0.0 for d in dates], baseline_days, threshold)
        for name in CONTENT_METRICS
    }


def trend_label(entry: Trend) -> str:
    """A short text for a report cell: the week's change and, when flagged, the anomaly."""
    change = "-" if entry.week_over_week is None else f"{entry.week_over_week:+.0%} wow"
    if entry.anomaly:
        return f"{change}, anomaly" + ("" if entry.z_score is None else f" (z {entry.z_score:+.1f})")
    return change
