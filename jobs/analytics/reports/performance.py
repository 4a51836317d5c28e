"""``performance``: one creator's ISO week, per content and per day.

Per content: views, distinct viewers in the week, watch time, completion and engagement rates,
interactions. The creator's figures and daily lines come from the creator rollup (its
``follows`` are the followers gained); the week's distinct viewers from the raw events. Trends:
each count's weekly total against the week before and the trailing weeks (``trend_rows``).
"""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy.orm import Session

from jobs.analytics.reports.model import Figures, LineChart, Number, Report, Table, Unit
from jobs.analytics.reports.parts import column_titles, figures, row, series
from jobs.analytics.reports.periods import Period
from jobs.analytics.reports.platform_weekly import WEEK_TRENDS_TITLE
from jobs.analytics.reports.reads import Counts, content_totals, creator_buckets, creator_days, distinct_viewers
from jobs.analytics.reports.trend_rows import rollup_trend_rows, trends_table, weekly_baseline_weeks
from jobs.analytics.settings import AnalyticsSettings

TOTALS = (
    "views",
    "unique_viewers",
    "watch_seconds",
    "likes",
    "comments",
    "shares",
    "follows",
    "unfollows",
    "subscribes",
    "engagement_rate",
    "completion_rate",
)
CONTENT_COLUMNS = (
    "views",
    "unique_viewers",
    "watch_seconds",
    "completion_rate",
    "engagement_rate",
    "likes",
    "comments",
    "shares",
)


TRENDED = ("views", "watch_seconds", "likes", "comments", "shares", "follows")


def creator_trends(session: Session, period: Period, creator_id: int, settings: AnalyticsSettings) -> Table:
    since = period.start - timedelta(weeks=weekly_baseline_weeks(settings))
    days = creator_buckets(session, creator_id, since, period.end)
    return trends_table(WEEK_TRENDS_TITLE, rollup_trend_rows(days, TRENDED, settings, weekly=True), weekly=True)


def creator_week(session: Session, period: Period, creator_id: int) -> tuple[Counts, list[Counts]]:
    """The creator's summed counts for the period (with its distinct viewers) and each day's."""
    days = creator_days(session, creator_id, period)
    week = Counts()
    for day in days:
        week.add(day)
    week.unique_viewers = distinct_viewers(session, period, creator_id)
    return week, days


def performance_report(session: Session, period: Period, creator_id: int, settings: AnalyticsSettings) -> Report:
    week, days = creator_week(session, period, creator_id)
    contents = content_totals(session, period, creator_id=creator_id)
    day_keys = [day.isoformat() for day in period.days]
    day_labels = tuple(f"{day:%a %d %b}" for day in period.days)
    net = Number("totals.net_followers", "Net followers", week.follows - week.unfollows, Unit.COUNT)
    return Report(
        kind="performance",
        title="Weekly content performance",
        period=period,
        subject=f"creator {creator_id}",
        sections=(
            Figures("This week", (*figures("totals", week, TOTALS), net)),
            creator_trends(session, period, creator_id, settings),
            LineChart(
                "Views and viewers by day",
                day_labels,
                tuple(series("daily", days, day_keys, name) for name in ("views", "unique_viewers")),
            ),
            LineChart(
                "Interactions and followers by day",
                day_labels,
                tuple(series("daily", days, day_keys, name) for name in ("likes", "comments", "shares", "follows")),
            ),
            Table(
                "Content",
                column_titles("Content", CONTENT_COLUMNS),
                tuple(
                    row(f"content.{content_id}", f"content {content_id}", counts, CONTENT_COLUMNS)
                    for content_id, counts in contents.items()
                ),
                empty="no content of this creator was viewed or interacted with this week",
            ),
        ),
    )
