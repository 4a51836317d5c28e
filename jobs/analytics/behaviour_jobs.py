"""The user-behaviour jobs: ``analytics.retention_cohorts`` and ``analytics.update_preferences``.

Each run is one transaction: the watermark moves only with the rows it covers, so a run killed
halfway leaves both as they were, and a second run at once waits on the watermark's lock.
"""

from __future__ import annotations

import logging
from typing import Any

from jobs.analytics.behaviour_models import CohortGrain
from jobs.analytics.cohorts import run_cohorts
from jobs.analytics.preferences import run_preferences
from jobs.analytics.settings import analytics_settings
from odyssey_workers.db.session import session_scope

logger = logging.getLogger(__name__)


def retention_cohorts() -> dict[str, Any]:
    """The job: the weekly, then the monthly retention matrix, each in its own transaction."""
    results = {}
    for grain in (CohortGrain.WEEK, CohortGrain.MONTH):
        with session_scope() as session:
            run = run_cohorts(session, grain, analytics_settings())
        logger.info(
            "%sly cohorts: events up to %d, %d cohorts, %d rows",
            grain.value,
            run.to_event_id,
            run.cohorts,
            run.rows_written,
        )
        results[grain.value] = run.as_dict()
    return results


def update_preferences() -> dict[str, Any]:
    """The job: fold the events ingested since the last run into the users' affinities."""
    with session_scope() as session:
        run = run_preferences(session, analytics_settings())
    logger.info(
        "preferences: events %d..%d, %d users, %d rows",
        run.from_event_id + 1,
        run.to_event_id,
        run.users,
        run.rows_written,
    )
    return run.as_dict()
