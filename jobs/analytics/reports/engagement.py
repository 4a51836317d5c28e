"""``engagement``: one UTC day of the whole platform, by hour.

Totals come from the day's platform rollup row (its unique viewers are the day's distinct
viewers); the charts from the 24 hourly rows; the top content from the daily content rollup.
"""

from __future__ import annotations

from sqlalchemy.orm import Session

from jobs.analytics.models import RollupGrain
from jobs.analytics.reports.model import Figures, LineChart, Report, Table
from jobs.analytics.reports.parts import column_titles, figures, row, series
from jobs.analytics.reports.periods import Period
from jobs.analytics.reports.reads import content_totals, platform_buckets

TOTALS = (
    "views",
    "unique_viewers",
    "sessions",
    "watch_seconds",
    "likes",
    "comments",
    "shares",
    "follows",
    "subscribes",
    "purchases",
    "engagement_rate",
    "completion_rate",
)
CONTENT_COLUMNS = ("views", "unique_viewers", "watch_seconds", "likes", "comments", "shares", "engagement_rate")


def engagement_report(session: Session, period: Period, top: int) -> Report:
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
            Figures("Totals", figures("totals", day, TOTALS)),
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
