"""``retention``: a calendar month's view of the retention cohorts and the conversion funnel.

Read, never recomputed: the monthly and weekly cohort matrices are what the job
``analytics.retention_cohorts`` last stored (``cohorts.retention_matrix``), the funnel is
``funnels.funnel`` over the month with ``ANALYTICS_FUNNEL_WINDOW_DAYS``. The monthly heat map
holds the cohorts of the twelve months up to this one, the weekly one those of the weeks that
began in the last twelve weeks up to the month's end; a cell is the share of its cohort active
that many periods after it started.
"""

from __future__ import annotations

from datetime import date, timedelta

from sqlalchemy.orm import Session

from jobs.analytics.behaviour_models import CohortGrain
from jobs.analytics.cohorts import RetentionMatrix, retention_matrix
from jobs.analytics.funnels import DEFAULT_FUNNEL, funnel
from jobs.analytics.reports.model import Funnel, HeatMap, Number, Report, Row, Table, Unit
from jobs.analytics.reports.periods import Period
from jobs.analytics.settings import AnalyticsSettings

MONTHS_SHOWN = 12
WEEKS_SHOWN = 12
STEP_LABELS = {"session_start": "Visited", "view_start": "Viewed", "follow": "Followed", "subscribe": "Subscribed"}


def _months_back(first: date, months: int) -> date:
    index = first.year * 12 + first.month - 1 - months
    return date(index // 12, index % 12 + 1, 1)


def _heat_map(title: str, matrix: RetentionMatrix, key: str, letter: str) -> tuple[HeatMap, Table]:
    width = max((len(cohort.active) for cohort in matrix.cohorts), default=0)
    labels = tuple(f"{cohort.start:%Y-%m-%d}" for cohort in matrix.cohorts)
    cells = tuple(
        tuple(
            Number(f"{key}.{label}.{letter}{k}", f"{label} {letter}{k}", cohort.rates[k], Unit.RATE)
            if k < len(cohort.rates)
            else None  # that period has not begun yet
            for k in range(width)
        )
        for label, cohort in zip(labels, matrix.cohorts, strict=True)
    )
    sizes = Table(
        f"{title}: cohort sizes",
        ("Cohort", "Users", f"Active in {letter}1"),
        tuple(
            Row(
                label,
                (
                    Number(f"{key}.{label}.size", f"{label} users", cohort.size, Unit.COUNT),
                    Number(
                        f"{key}.{label}.{letter}1_users",
                        f"{label} active in {letter}1",
                        cohort.active[1] if len(cohort.active) > 1 else None,
                        Unit.COUNT,
                    ),
                ),
            )
            for label, cohort in zip(labels, matrix.cohorts, strict=True)
        ),
        empty="no cohort in this span (the job analytics.retention_cohorts stores them)",
    )
    return HeatMap(title, labels, tuple(f"{letter}{k}" for k in range(width)), cells), sizes


def retention_report(session: Session, period: Period, settings: AnalyticsSettings) -> Report:
    first, end = period.start.date(), period.end.date()
    monthly = retention_matrix(session, CohortGrain.MONTH, _months_back(first, MONTHS_SHOWN - 1), end)
    weekly_since = end - timedelta(days=7 * WEEKS_SHOWN)
    weekly = retention_matrix(session, CohortGrain.WEEK, weekly_since - timedelta(days=weekly_since.weekday()), end)
    month_map, month_sizes = _heat_map("Monthly cohorts", monthly, "monthly", "M")
    week_map, week_sizes = _heat_map("Weekly cohorts", weekly, "weekly", "W")
    window = timedelta(days=settings.analytics_funnel_window_days)
    found = funnel(session, list(DEFAULT_FUNNEL), period.start, period.end, window)
    steps = tuple(
        Number(
            f"funnel.{step.event_type.value}",
            STEP_LABELS.get(step.event_type.value, step.event_type.value),
            step.actors,
            Unit.COUNT,
        )
        for step in found.steps
    )
    conversions = Table(
        "Funnel conversion",
        ("Step", "From the step before", "From the first step"),
        tuple(
            Row(
                number.label,
                (
                    Number(
                        f"{number.metric}.from_previous",
                        f"{number.label} from the step before",
                        step.from_previous,
                        Unit.RATE,
                    ),
                    Number(
                        f"{number.metric}.from_first", f"{number.label} from the first step", step.from_first, Unit.RATE
                    ),
                ),
            )
            for number, step in zip(steps, found.steps, strict=True)
        ),
    )
    return Report(
        kind="retention",
        title="Monthly retention",
        period=period,
        notes=(
            f"Funnel: visitors and users who started a session in the month, then each step within "
            f"{settings.analytics_funnel_window_days} days of their first.",
        ),
        sections=(
            month_map,
            month_sizes,
            week_map,
            week_sizes,
            Funnel("Funnel: visit, view, follow, subscribe", steps),
            conversions,
        ),
    )
