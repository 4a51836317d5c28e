"""``engagement``: one UTC day of the whole platform, by hour.

Totals come from the day's platform rollup row (its unique viewers are the day's distinct
viewers); the charts from the 24 hourly rows; the top content from the daily content rollup.
Trends: each count's daily series up to the day (``ANALYTICS_TREND_BASELINE_DAYS`` before it, a
day without a row being a day without events) through ``trends.trend``, and the platform's daily
metrics (DAU, WAU, MAU, stickiness, new users) through ``trends.platform_trends`` where the
platform metrics job has computed the day.
"""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy.orm import Session

from jobs.analytics.models import RollupGrain
from jobs.analytics.reports.model import Figures, LineChart, Report, Table, Unit
from jobs.analytics.reports.parts import PLATFORM_TOTALS, column_titles, figures, row, series
from jobs.analytics.reports.periods import Period
from jobs.analytics.reports.reads import content_totals, platform_buckets
from jobs.analytics.reports.trend_rows import from_trend, rollup_trend_rows, trend_row, trends_table
from jobs.analytics.settings import AnalyticsSettings
from jobs.analytics.trends import platform_trends

CONTENT_COLUMNS = ("views", "unique_viewers", "watch_seconds", "likes", "comments", "shares", "engagement_rate")
TRENDED = ("views", "unique_viewers", "sessions", "watch_seconds", "likes", "comments", "shares", "follows")
PLATFORM_TRENDED = {
    "dau": ("Daily active users", Unit.COUNT),
    "wau": ("Weekly active users", Unit.COUNT),
    "mau": ("Monthly active users", Unit.COUNT),
    "stickiness": ("Stickiness (DAU / MAU)", Unit.RATE),
    "new_users": ("New users", Unit.COUNT),
}


def day_trends(session: Session, period: Period, settings: AnalyticsSettings) -> Table:
    """The day's trend rows: the rollup counts, then the platform metrics computed for the day."""
    since = period.start - timedelta(days=settings.analytics_trend_baseline_days)
    days = platform_buckets(session, RollupGrain.DAY, since, period.end)
    rows = rollup_trend_rows(days, TRENDED, settings, weekly=False)
    found = platform_trends(
        session, period.start.date(), settings.analytics_trend_baseline_days, settings.analytics_anomaly_z_threshold
    )
    for name, (label, unit) in PLATFORM_TRENDED.items():
        if name in found:
            t = found[name]
            rows.append(trend_row(name, label, unit, from_trend(t)))
    return trends_table("Trends: against the same day a week before, and the trailing baseline", rows, weekly=False)


def engagement_report(session: Session, period: Period, settings: AnalyticsSettings) -> Report:
    top = settings.analytics_report_top_rows
    hours = platform_buckets(session, RollupGrain.HOUR, period.start, period.end)
    [day] = platform_buckets(session, RollupGrain.DAY, period.start, period.end)
    hour_keys = [f"{hour:02d}" for hour in range(len(hours))]
    hour_labels = tuple(f"{hour:02d}:00" for hour in range(len(hours)))
    contents = content_totals(session, period, top=top)
    notes = (
        ()
        if day.views or day.sessions or any(h.views or h.sessions for h in hours)
        else ("No views or sessions were rolled up for this day.",)
    )
    return Report(
        kind="engagement",
        title="Daily engagement",
        period=period,
        notes=notes,
        sections=(
            Figures("Totals", figures("totals", day, PLATFORM_TOTALS)),
            day_trends(session, period, settings),
            LineChart(
                "Views, viewers and sessions by hour (UTC)",
                hour_labels,
                tuple(series("hourly", hours, hour_keys, name) for name in ("views", "unique_viewers", "sessions")),
            ),
            LineChart(
                "Likes, comments and shares by hour (UTC)",
                hour_labels,
                tuple(series("hourly", hours, hour_keys, name) for name in ("likes", "comments", "shares")),
            ),
            Table(
                f"Top {top} content by views",
                column_titles("Content", CONTENT_COLUMNS),
                tuple(
                    row(f"content.{content_id}", f"content {content_id}", counts, CONTENT_COLUMNS)
                    for content_id, counts in contents.items()
                ),
            ),
        ),
    )
