"""The platform metrics jobs: ``analytics.platform_daily`` and ``analytics.platform_metrics``.

``platform_daily`` is one incremental refresh of ``analytics_platform_daily`` in one
transaction (the watermark moves only with the rows it covers). ``platform_metrics``, the
monthly schedule's job, first does the same refresh, so the month it summarizes is current,
then returns the month's summary (the summary is read from the daily rows, not stored again).
"""

from __future__ import annotations

import logging
from dataclasses import asdict
from datetime import timedelta
from typing import Any

from jobs.analytics.platform_metrics import PlatformRun, describe, refresh_platform_days
from jobs.analytics.platform_reads import month_summary
from jobs.analytics.settings import analytics_settings
from odyssey_workers.db.base import utcnow
from odyssey_workers.db.session import session_scope

logger = logging.getLogger(__name__)


def refresh() -> PlatformRun:
    """One refresh, committed."""
    with session_scope() as session:
        run = refresh_platform_days(session, analytics_settings())
    logger.info(describe(run))
    return run


def platform_daily() -> dict[str, Any]:
    """The job: recompute the platform days the events ingested since the last run can change."""
    return refresh().as_dict()


def previous_month() -> str:
    first_of_this = utcnow().date().replace(day=1)
    return f"{first_of_this - timedelta(days=1):%Y-%m}"


def platform_metrics(month: str | None = None) -> dict[str, Any]:
    """The job: refresh the daily rows, then the summary of ``month`` (default: the previous month)."""
    run = refresh()
    with session_scope() as session:
        summary = month_summary(session, month or previous_month())
    return {"refresh": run.as_dict(), "month": asdict(summary)}
