"""The rollup jobs: ``analytics.rollup_hourly`` and ``analytics.aggregate_daily``.

Each is one incremental run (``rollups.run_rollup``) in one transaction: the watermark moves
only when the rows it covers are committed with it, so a run killed halfway leaves both as
they were and the next run does the same work again.
"""

from __future__ import annotations

import logging
from typing import Any

from jobs.analytics.models import RollupGrain
from jobs.analytics.rollups import RollupRun, describe, run_rollup
from jobs.analytics.settings import analytics_settings
from odyssey_workers.db.session import session_scope

logger = logging.getLogger(__name__)


def roll_up(grain: RollupGrain) -> RollupRun:
    """One run of ``grain``'s rollup, committed."""
    with session_scope() as session:
        run = run_rollup(session, grain, analytics_settings())
    for line in describe([run]):
        logger.info(line)
    return run


def rollup_hourly() -> dict[str, Any]:
    """The job: recompute the hours the events ingested since the last run fall in."""
    return roll_up(RollupGrain.HOUR).as_dict()


def aggregate_daily() -> dict[str, Any]:
    """The job: recompute the days the events ingested since the last run fall in."""
    return roll_up(RollupGrain.DAY).as_dict()
