"""The reports by name, each with its grain, and rendering one on demand into storage.

``render_reports("performance", "2026-W48")`` is what ``odyssey-workers analytics report`` and
the report jobs call: it parses the period for the report's grain, builds the report from what
the analytics tables hold and stores its HTML and CSV, one pair per creator for a per-creator report.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from sqlalchemy.orm import Session

from jobs.analytics.reports.engagement import engagement_report
from jobs.analytics.reports.model import Report
from jobs.analytics.reports.performance import performance_report
from jobs.analytics.reports.periods import Grain, Period, ReportError, parse_period
from jobs.analytics.reports.platform_monthly import platform_monthly_report
from jobs.analytics.reports.platform_weekly import platform_weekly_report
from jobs.analytics.reports.reads import creator_totals
from jobs.analytics.reports.retention import retention_report
from jobs.analytics.reports.store import StoredReport, store_report
from jobs.analytics.settings import AnalyticsSettings
from odyssey_workers.storage import Storage


@dataclass(frozen=True)
class ReportRequest:
    """What a builder is given: the period, the creator of a per-creator report, the settings."""

    period: Period
    creator_id: int | None
    settings: AnalyticsSettings


@dataclass(frozen=True)
class ReportKind:
    name: str
    grain: Grain
    per_creator: bool
    description: str
    build: Callable[[Session, ReportRequest], Report]


def _creator(request: ReportRequest) -> int:
    if request.creator_id is None:  # render_reports picks the creators; a direct call must name one
        raise ReportError("this report is per creator: name the creator")
    return request.creator_id


REPORT_KINDS: dict[str, ReportKind] = {
    kind.name: kind
    for kind in (
        ReportKind(
            "engagement",
            Grain.DAY,
            False,
            "the platform by hour: views, viewers, sessions, interactions, trends, top content",
            lambda s, r: engagement_report(s, r.period, r.settings),
        ),
        ReportKind(
            "performance",
            Grain.WEEK,
            True,
            "a creator's week, one per active creator: per content views, viewers, watch time, rates; by day",
            lambda s, r: performance_report(s, r.period, _creator(r), r.settings),
        ),
        ReportKind(
            "platform_weekly",
            Grain.WEEK,
            False,
            "the platform by day, with trends and its top creators and content",
            lambda s, r: platform_weekly_report(s, r.period, r.settings),
        ),
        ReportKind(
            "retention",
            Grain.MONTH,
            False,
            "the monthly and weekly retention cohorts as heat maps, the visit-view-follow-subscribe funnel",
            lambda s, r: retention_report(s, r.period, r.settings),
        ),
        ReportKind(
            "platform_monthly",
            Grain.MONTH,
            False,
            "the platform's DAU, WAU, MAU, stickiness, new users and sessions by day, with trends and revenue",
            lambda s, r: platform_monthly_report(s, r.period, r.settings),
        ),
    )
}


def report_kind(name: str) -> ReportKind:
    """The report called ``name``, or a ReportError listing the ones there are."""
    try:
        return REPORT_KINDS[name]
    except KeyError:
        raise ReportError(f"unknown report {name!r} (reports: {', '.join(sorted(REPORT_KINDS))})") from None


def active_creators(session: Session, period: Period) -> list[int]:
    """Creators with a daily rollup row in the period: those with any event naming them."""
    return sorted(creator_totals(session, period))


def render_reports(
    session: Session,
    storage: Storage,
    settings: AnalyticsSettings,
    name: str,
    period: str | Period,
    creator_id: int | None = None,
) -> list[StoredReport]:
    """Build and store report ``name`` for ``period``; per creator, every active one unless one is named."""
    kind = report_kind(name)
    chosen = parse_period(kind.grain, period) if isinstance(period, str) else period
    if chosen.grain is not kind.grain:
        raise ReportError(f"report {name} covers a {kind.grain.value}, not a {chosen.grain.value}")
    if not kind.per_creator:
        if creator_id is not None:
            raise ReportError(f"report {name} is the whole platform's: it takes no creator")
        return [store_report(storage, kind.build(session, ReportRequest(chosen, None, settings)))]
    creators = [creator_id] if creator_id is not None else active_creators(session, chosen)
    return [
        store_report(storage, kind.build(session, ReportRequest(chosen, creator, settings)), f"creator-{creator}")
        for creator in creators
    ]
