"""Retention cohorts, weekly and monthly: who came back, period by period.

Who counts: signed-in users only (``user_id``). An anonymous id is a device or a browser, not a
person: one that signs in later cannot be joined to its user, so counting anonymous ids would
fill every cohort with one-visit devices.

A user's cohort is the UTC period (ISO week from Monday, or calendar month) of their first
event of any type; a user is active in a period when they have any event in it. The cell at
``period_offset`` k of a cohort is the number of its users active k periods after the cohort's
own (k = 0 is the whole cohort, by definition). Retention at k is that number over the cohort's
size; rates are derived when read, never stored.

A run recomputes the whole matrix of its grain in one grouped query in the database (distinct
(user, period) pairs, each user's first period, then a count per cohort and period), and
replaces that grain's rows in the same transaction as its watermark moves. It reads every
event once (``user_id``, ``occurred_at``), so a run costs O(events stored); it writes one row
per (cohort, offset): a few thousand rows for years of weekly cohorts. A late event, even one
that moves a user into an earlier cohort, is therefore simply counted by the next run. Runs
with no new event since the watermark do nothing.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, date, datetime
from typing import Any

from sqlalchemy import ColumnElement, delete, func, insert, select
from sqlalchemy.orm import Session

from jobs.analytics.behaviour_models import CohortGrain, RetentionCohortRow
from jobs.analytics.behaviour_watermarks import lock_watermark, readable_upto
from jobs.analytics.models import AnalyticsEventRow
from jobs.analytics.settings import AnalyticsSettings
from odyssey_workers.db.base import utcnow


def period_expression(moment: Any, grain: CohortGrain, dialect: str) -> ColumnElement[Any]:
    """The SQL for the start of the UTC week or month holding ``moment``.

    PostgreSQL gives a timestamp (``date_trunc`` on the UTC wall time; its weeks start on
    Monday); SQLite, which stores times as UTC text, a ``YYYY-MM-DD`` text.
    """
    if dialect == "postgresql":
        return func.date_trunc(grain.value, func.timezone("UTC", moment))
    if grain is CohortGrain.WEEK:
        return func.date(moment, "-6 days", "weekday 1")  # back 6 days, then forward to a Monday
    return func.date(moment, "start of month")


def as_day(value: date | datetime | str) -> date:
    """A period start as the database returns it (text on SQLite, a timestamp on PostgreSQL)."""
    if isinstance(value, str):
        return date.fromisoformat(value[:10])
    return value.date() if isinstance(value, datetime) else value


def period_start(day: date, grain: CohortGrain) -> date:
    """The first day of the week (Monday) or month holding ``day``."""
    if grain is CohortGrain.WEEK:
        return date.fromordinal(day.toordinal() - day.weekday())
    return day.replace(day=1)


def periods_between(cohort: date, period: date, grain: CohortGrain) -> int:
    """How many weeks or months ``period`` starts after ``cohort`` (both period starts)."""
    if grain is CohortGrain.WEEK:
        return (period - cohort).days // 7
    return (period.year - cohort.year) * 12 + period.month - cohort.month


def midnight(day: date) -> datetime:
    return datetime(day.year, day.month, day.day, tzinfo=UTC)


@dataclass
class CohortRun:
    """What one run did: the ids it covered and the matrix it wrote."""

    grain: CohortGrain
    from_event_id: int  # exclusive: the watermark before the run
    to_event_id: int  # inclusive: the watermark after it
    cohorts: int = 0
    rows_written: int = 0

    def as_dict(self) -> dict[str, Any]:
        return {
            "grain": self.grain.value,
            "from_event_id": self.from_event_id,
            "to_event_id": self.to_event_id,
            "cohorts": self.cohorts,
            "rows_written": self.rows_written,
        }


def count_cohorts(session: Session, grain: CohortGrain, upto_id: int) -> dict[tuple[date, int], int]:
    """Active users per (cohort start, period offset), from the events with ids up to ``upto_id``."""
    events = AnalyticsEventRow
    dialect = session.get_bind().dialect.name
    activity = (
        select(events.user_id, period_expression(events.occurred_at, grain, dialect).label("period"))
        .where(events.user_id.is_not(None), events.id <= upto_id)
        .distinct()
        .subquery()
    )
    firsts = (
        select(activity.c.user_id, func.min(activity.c.period).label("cohort")).group_by(activity.c.user_id).subquery()
    )
    counted = (
        select(firsts.c.cohort, activity.c.period, func.count().label("users"))
        .join_from(activity, firsts, activity.c.user_id == firsts.c.user_id)
        .group_by(firsts.c.cohort, activity.c.period)
    )
    cells: dict[tuple[date, int], int] = {}
    for cohort, period, users in session.execute(counted):
        start = as_day(cohort)
        cells[(start, periods_between(start, as_day(period), grain))] = users
    return cells


def run_cohorts(
    session: Session, grain: CohortGrain, settings: AnalyticsSettings, now: datetime | None = None
) -> CohortRun:
    """One run of ``grain``'s retention matrix, in the caller's transaction (commit to keep it)."""
    now = now or utcnow()
    watermark = lock_watermark(session, f"retention_{grain.value}")
    upto = readable_upto(session, watermark.last_event_id, settings, now)
    run = CohortRun(grain=grain, from_event_id=watermark.last_event_id, to_event_id=upto)
    if upto == watermark.last_event_id:
        return run
    cells = count_cohorts(session, grain, upto)
    sizes = {cohort: users for (cohort, offset), users in cells.items() if offset == 0}
    rows = [
        {
            "grain": grain,
            "cohort_start": midnight(cohort),
            "period_offset": offset,
            "cohort_size": sizes[cohort],
            "active_users": users,
            "computed_at": now,
        }
        for (cohort, offset), users in sorted(cells.items())
    ]
    # The whole grain is replaced: a cell that no longer exists (its only user moved to an
    # earlier cohort by a late event) must go, which an upsert alone would leave behind.
    session.execute(delete(RetentionCohortRow).where(RetentionCohortRow.grain == grain))
    for first in range(0, len(rows), 500):
        session.execute(insert(RetentionCohortRow), rows[first : first + 500])
    run.cohorts, run.rows_written = len(sizes), len(rows)
    watermark.last_event_id, watermark.updated_at = upto, now
    return run


@dataclass(frozen=True)
class Cohort:
    """One row of the matrix: ``active[k]`` users of ``size`` were active k periods later."""

    start: date
    size: int
    active: tuple[int, ...]

    @property
    def rates(self) -> tuple[float, ...]:
        return tuple(users / self.size for users in self.active)


@dataclass(frozen=True)
class RetentionMatrix:
    grain: CohortGrain
    since: date
    until: date
    cohorts: tuple[Cohort, ...]


def retention_matrix(session: Session, grain: CohortGrain, since: date, until: date) -> RetentionMatrix:
    """The stored cohorts starting in [since, until), each with the periods that began before
    ``until``; a period with no active user is a 0, not a gap. Reads what the last run stored."""
    if until <= since:
        raise ValueError(f"until ({until}) must be after since ({since})")
    cohort = RetentionCohortRow
    rows = session.scalars(
        select(cohort)
        .where(cohort.grain == grain, cohort.cohort_start >= midnight(since), cohort.cohort_start < midnight(until))
        .order_by(cohort.cohort_start, cohort.period_offset)
    )
    by_start: dict[date, tuple[int, dict[int, int]]] = {}
    for row in rows:
        size, cells = by_start.setdefault(row.cohort_start.date(), (row.cohort_size, {}))
        cells[row.period_offset] = row.active_users
    last = period_start(date.fromordinal(until.toordinal() - 1), grain)  # the last period begun
    cohorts = []
    for start, (size, cells) in by_start.items():
        span = periods_between(start, last, grain)
        cohorts.append(Cohort(start=start, size=size, active=tuple(cells.get(k, 0) for k in range(span + 1))))
    return RetentionMatrix(grain=grain, since=since, until=until, cohorts=tuple(cohorts))


def matrix_lines(matrix: RetentionMatrix) -> list[str]:
    """The table ``analytics retention`` and the demo print: one cohort per line, rates by offset."""
    if not matrix.cohorts:
        return [f"no {matrix.grain.value}ly cohorts from {matrix.since} to {matrix.until}"]
    width = max(len(cohort.active) for cohort in matrix.cohorts)
    letter = "W" if matrix.grain is CohortGrain.WEEK else "M"
    lines = [(f"{'cohort':<10} {'users':>6} " + " ".join(f"{letter}{k:<4}" for k in range(width))).rstrip()]
    for cohort in matrix.cohorts:
        cells = " ".join(f"{rate:>5.0%}" for rate in cohort.rates)
        lines.append(f"{cohort.start:%Y-%m-%d} {cohort.size:>6,} {cells}")
    return lines
