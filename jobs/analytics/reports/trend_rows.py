"""Trend rows for the reports: a metric's value, the one a week before, the week-over-week change,
its z-score against the trailing baseline and the anomaly flag, from ``jobs.analytics.trends``
(all but a weekly report's change, below).

A daily report reads each metric's daily series up to its day and takes ``trends.trend`` of it as
is (the change is against the same weekday a week before). A weekly report takes ``trend`` of the
weekly totals (the baseline is the trailing weeks), and its change is against the week before:
``trend``'s own ``week_over_week`` looks seven values back, seven weeks in a weekly series.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from jobs.analytics.reports.model import Number, Row, Table, Unit
from jobs.analytics.reports.parts import LABELS, unit_of
from jobs.analytics.reports.reads import Counts
from jobs.analytics.settings import AnalyticsSettings
from jobs.analytics.trends import MIN_BASELINE, Trend, trend

DAILY_COLUMNS = ("Metric", "This day", "Same day a week before", "Change", "z-score", "Anomaly")
WEEKLY_COLUMNS = ("Metric", "This week", "The week before", "Change", "z-score", "Anomaly")


@dataclass(frozen=True)
class TrendFigures:
    latest: float
    before: float | None
    change: float | None
    z_score: float | None
    anomaly: bool


def from_trend(found: Trend) -> TrendFigures:
    """A daily ``trends.Trend`` as it is: its change is against the same day a week before."""
    return TrendFigures(found.latest, found.week_before, found.week_over_week, found.z_score, found.anomaly)


def daily_trend(values: Sequence[float], settings: AnalyticsSettings) -> TrendFigures:
    """The trend of a daily series' last value, as ``trends.trend`` gives it."""
    return from_trend(trend(values, settings.analytics_trend_baseline_days, settings.analytics_anomaly_z_threshold))


def weekly_baseline_weeks(settings: AnalyticsSettings) -> int:
    """Trailing weeks a weekly z-score compares with: the baseline's days as weeks, at least the
    ``MIN_BASELINE`` values ``trend`` needs to give one."""
    return max(MIN_BASELINE, settings.analytics_trend_baseline_days // 7)


def weekly_trend(totals: Sequence[float], settings: AnalyticsSettings) -> TrendFigures:
    """The trend of a series of weekly totals' last one: z-score from ``trend``, change vs the week before."""
    found = trend(totals, weekly_baseline_weeks(settings), settings.analytics_anomaly_z_threshold)
    before = float(totals[-2]) if len(totals) > 1 else None
    change = (found.latest - before) / before if before else None
    return TrendFigures(found.latest, before, change, found.z_score, found.anomaly)


def _as_shown(value: float | None, unit: Unit) -> int | float | None:
    """Counts stay whole numbers on the page and in the CSV."""
    if value is None or unit is not Unit.COUNT:
        return value
    return round(value)


def trend_row(name: str, label: str, unit: Unit, figures: TrendFigures) -> Row:
    prefix = f"trends.{name}"
    return Row(
        label,
        (
            Number(f"{prefix}.latest", label, _as_shown(figures.latest, unit), unit),
            Number(f"{prefix}.before", f"{label}, a week before", _as_shown(figures.before, unit), unit),
            Number(f"{prefix}.change", f"{label}, change", figures.change, Unit.CHANGE),
            Number(f"{prefix}.z_score", f"{label}, z-score", figures.z_score, Unit.SCORE),
            Number(f"{prefix}.anomaly", f"{label}, anomaly", int(figures.anomaly), Unit.FLAG),
        ),
    )


def trends_table(title: str, rows: Sequence[Row], *, weekly: bool) -> Table:
    columns = WEEKLY_COLUMNS if weekly else DAILY_COLUMNS
    return Table(title, columns, tuple(rows), empty="no trend: nothing to compare with")


def rollup_trend_rows(
    days: Sequence[Counts], names: Sequence[str], settings: AnalyticsSettings, *, weekly: bool
) -> list[Row]:
    """A trend row per rollup count in ``names``, from daily counts ending with the period's last
    day; ``weekly`` sums them by seven first (``days`` then starts on a Monday)."""
    rows = []
    for name in names:
        values = [float(getattr(day, name)) for day in days]
        if weekly:
            values = [sum(values[first : first + 7]) for first in range(0, len(values), 7)]
        figures = weekly_trend(values, settings) if weekly else daily_trend(values, settings)
        rows.append(trend_row(name, LABELS[name], unit_of(name), figures))
    return rows
