"""``platform_weekly``: the whole platform's ISO week, by day, with its top creators and content.

Trends: each count's weekly total against the week before, and its z-score against the trailing
weeks' totals (``trend_rows.weekly_trend``, through ``trends.trend``).
"""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy.orm import Session

from jobs.analytics.models import RollupGrain
from jobs.analytics.reports.model import Figures, LineChart, Number, Report, Table, Unit
from jobs.analytics.reports.parts import PLATFORM_TOTALS, column_titles, figures, row, series
from jobs.analytics.reports.periods import Period
from jobs.analytics.reports.reads import Counts, content_totals, creator_totals, distinct_viewers, platform_buckets
from jobs.analytics.reports.trend_rows import rollup_trend_rows, trends_table, weekly_baseline_weeks
from jobs.analytics.settings import AnalyticsSettings

CREATOR_COLUMNS = ("views", "watch_seconds", "likes", "comments", "shares", "follows", "engagement_rate")
CONTENT_COLUMNS = ("views", "unique_viewers", "watch_seconds", "completion_rate", "engagement_rate")
TRENDED = ("views", "sessions", "watch_seconds", "likes", "comments", "shares", "follows")
WEEK_TRENDS_TITLE = "Trends: against the week before, and the trailing weeks"


def week_trends(session: Session, period: Period, settings: AnalyticsSettings) -> Table:
    since = period.start - timedelta(weeks=weekly_baseline_weeks(settings))
    days = platform_buckets(session, RollupGrain.DAY, since, period.end)
    return trends_table(WEEK_TRENDS_TITLE, rollup_trend_rows(days, TRENDED, settings, weekly=True), weekly=True)


def platform_week(session: Session, period: Period) -> tuple[Counts, list[Counts]]:
    """The platform's summed counts for the period (with its distinct viewers) and each day's."""
    days = platform_buckets(session, RollupGrain.DAY, period.start, period.end)
    week = Counts()
    for day in days:
        week.add(day)
    week.unique_viewers = distinct_viewers(session, period)
    return week, days


def platform_weekly_report(session: Session, period: Period, settings: AnalyticsSettings) -> Report:
    top = settings.analytics_report_top_rows
    week, days = platform_week(session, period)
    creators = creator_totals(session, period)
    ranked = sorted(creators.items(), key=lambda item: (-item[1].views, item[0]))[:top]
    contents = content_totals(session, period, top=top)
    day_keys = [day.isoformat() for day in period.days]
    day_labels = tuple(f"{day:%a %d %b}" for day in period.days)
    active = Number("totals.active_creators", "Creators with activity", len(creators), Unit.COUNT)
    return Report(
        kind="platform_weekly",
        title="Weekly platform performance",
        period=period,
        sections=(
            Figures("This week", (*figures("totals", week, PLATFORM_TOTALS), active)),
            week_trends(session, period, settings),
            LineChart(
                "Views, viewers and sessions by day",
                day_labels,
                tuple(series("daily", days, day_keys, name) for name in ("views", "unique_viewers", "sessions")),
            ),
            LineChart(
                "Interactions by day",
                day_labels,
                tuple(series("daily", days, day_keys, name) for name in ("likes", "comments", "shares", "follows")),
            ),
            Table(
                f"Top {top} creators by views",
                column_titles("Creator", CREATOR_COLUMNS),
                tuple(
                    row(f"creator.{creator_id}", f"creator {creator_id}", counts, CREATOR_COLUMNS)
                    for creator_id, counts in ranked
                ),
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
