"""The report jobs: ``analytics.engagement_report`` (daily), ``analytics.performance_report``
(weekly), ``analytics.retention_report`` and ``analytics.platform_report`` (monthly).

The monthly ones render what other jobs computed: the retention cohorts ``analytics.retention_cohorts``
stored, the platform days ``analytics.platform_daily`` / ``analytics.platform_metrics`` stored; they
are scheduled half an hour after those.

Each renders from the stored analytics into storage (``reports.kinds.render_reports``). The weekly job
also tells each creator their report is ready by enqueuing ``notifications.notify`` with the
dedupe key ``analytics.performance_report:<week>:creator-<id>``: notify writes one notification
per (key, user), so a second run of the same week (a retry, a manual re-run) notifies no one
twice, while the report files themselves are rendered again from the current rollups.
"""

from __future__ import annotations

import logging
from typing import Any

from sqlalchemy import select

from jobs.analytics.reports.kinds import active_creators, render_reports
from jobs.analytics.reports.performance import creator_week
from jobs.analytics.reports.periods import Grain, Period, last_complete, parse_period
from jobs.analytics.reports.store import StoredReport
from jobs.analytics.settings import AnalyticsSettings, analytics_settings
from odyssey_workers.db.base import utcnow
from odyssey_workers.db.models import Creator
from odyssey_workers.db.session import session_scope
from odyssey_workers.queues import enqueue
from odyssey_workers.storage import get_storage

logger = logging.getLogger(__name__)

CREATOR_REPORT_EVENT = "creator_weekly_report"


def _period(grain: Grain, text: str | None) -> Period:
    return parse_period(grain, text) if text is not None else last_complete(grain, utcnow())


def report_link(stored: StoredReport, settings: AnalyticsSettings) -> str:
    """The link a creator gets: under ``ANALYTICS_REPORT_BASE_URL`` when set, else the storage's URL."""
    if settings.analytics_report_base_url:
        return f"{settings.analytics_report_base_url.rstrip('/')}/{stored.html_key}"
    return stored.url


def notification_key(period: Period, creator_id: int) -> str:
    return f"analytics.performance_report:{period.label}:creator-{creator_id}"


def engagement_report(period: str | None = None) -> dict[str, Any]:
    """The job: render the daily engagement report of ``period`` (default: yesterday, UTC)."""
    chosen = _period(Grain.DAY, period)
    with session_scope() as session:
        [stored] = render_reports(session, get_storage(), analytics_settings(), "engagement", chosen)
    logger.info("engagement report for %s stored at %s", chosen.label, stored.html_key)
    return stored.as_dict()


def _monthly(name: str, period: str | None) -> dict[str, Any]:
    chosen = _period(Grain.MONTH, period)
    with session_scope() as session:
        [stored] = render_reports(session, get_storage(), analytics_settings(), name, chosen)
    logger.info("%s report for %s stored at %s", name, chosen.label, stored.html_key)
    return stored.as_dict()


def retention_report(period: str | None = None) -> dict[str, Any]:
    """The job: render the monthly retention report of ``period`` (default: last month)."""
    return _monthly("retention", period)


def platform_report(period: str | None = None) -> dict[str, Any]:
    """The job: render the monthly platform metrics report of ``period`` (default: last month)."""
    return _monthly("platform_monthly", period)


def performance_report(period: str | None = None) -> dict[str, Any]:
    """The job: the platform's weekly report, one per creator active in the week, and a
    notification to each of those creators (default week: the last complete ISO week)."""
    chosen = _period(Grain.WEEK, period)
    settings = analytics_settings()
    storage = get_storage()
    with session_scope() as session:
        [platform] = render_reports(session, storage, settings, "platform_weekly", chosen)
        creator_ids = active_creators(session, chosen)
        per_creator = [
            render_reports(session, storage, settings, "performance", chosen, creator_id)[0]
            for creator_id in creator_ids
        ]
        users = dict(session.execute(select(Creator.id, Creator.user_id).where(Creator.id.in_(creator_ids))).all())
        weeks = {creator_id: creator_week(session, chosen, creator_id)[0] for creator_id in users}
    notified, unknown = [], []
    for stored, creator_id in zip(per_creator, creator_ids, strict=True):
        user_id = users.get(creator_id)
        if user_id is None:  # events may name a creator the platform no longer has
            unknown.append(creator_id)
            continue
        week = weeks[creator_id]
        data = {
            "period": chosen.label,
            "url": report_link(stored, settings),
            "report_key": stored.html_key,
            "views": week.views,
            "unique_viewers": week.unique_viewers,
            "follows": week.follows,
        }
        enqueue(
            "notifications.notify",
            event=CREATOR_REPORT_EVENT,
            recipients=[user_id],
            data=data,
            key=notification_key(chosen, creator_id),
        )
        notified.append(creator_id)
    if unknown:
        logger.warning("performance report %s: no creator row for %s; not notified", chosen.label, unknown)
    return {
        "period": chosen.label,
        "platform": platform.as_dict(),
        "creator_reports": len(per_creator),
        "notified_creators": notified,
        "unknown_creators": unknown,
    }
