"""User-behaviour test helpers: runs of the cohorts and preferences in one transaction each."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from sqlalchemy import select

from jobs.analytics.behaviour_models import CohortGrain, RetentionCohortRow, UserAffinityRow
from jobs.analytics.cohorts import CohortRun, run_cohorts
from jobs.analytics.preferences import PreferencesRun, run_preferences
from jobs.analytics.settings import AnalyticsSettings
from odyssey_workers.db.session import session_scope
from tests.analytics.rollup_support import no_lag


def at(text: str) -> datetime:
    """A UTC time written as ``2026-11-02 10:00``."""
    return datetime.fromisoformat(text).replace(tzinfo=UTC)


def cohorts(grain: CohortGrain, settings: AnalyticsSettings | None = None) -> CohortRun:
    with session_scope() as session:
        return run_cohorts(session, grain, settings or no_lag())


def preferences(now: datetime | None = None, settings: AnalyticsSettings | None = None) -> PreferencesRun:
    with session_scope() as session:
        return run_preferences(session, settings or no_lag(), now)


def cohort_cells(grain: CohortGrain) -> dict[tuple[str, int], tuple[int, int]]:
    """Each stored cell as (cohort day, offset) -> (cohort size, active users)."""
    with session_scope() as session:
        rows = session.scalars(select(RetentionCohortRow).where(RetentionCohortRow.grain == grain))
        return {
            (f"{row.cohort_start:%Y-%m-%d}", row.period_offset): (row.cohort_size, row.active_users) for row in rows
        }


def affinity_rows() -> dict[tuple[int, str, str], tuple[float, datetime]]:
    with session_scope() as session:
        rows = session.scalars(select(UserAffinityRow))
        return {(row.user_id, row.kind.value, row.key): (row.score, row.updated_at) for row in rows}


def scores() -> dict[tuple[int, str, str], Any]:
    return {key: round(score, 9) for key, (score, _updated) in affinity_rows().items()}
