"""``odyssey-workers analytics partitions``: the raw events' months, their rows, and what retention
would remove, read from the database alone (no job code runs)."""

from __future__ import annotations

from datetime import UTC, datetime

from sqlalchemy import Connection, func, select

from jobs.analytics.models import AnalyticsEventRow
from jobs.analytics.partitions import (
    estimated_rows,
    exact_rows,
    existing_partitions,
    is_postgres,
    month_start,
    retention_cut,
)
from jobs.analytics.settings import AnalyticsSettings

NEXT_RUN = "the next analytics.maintain_partitions"


def _rows(count: int | None, estimated: bool) -> str:
    if count is None:
        return "rows not estimated yet (never analyzed)"
    return f"{'~' if estimated else ''}{count:,} row{'' if count == 1 else 's'}"


def _postgres_lines(connection: Connection, cut: datetime, exact: bool) -> list[str]:
    partitions = existing_partitions(connection)
    counts = (
        {partition.name: exact_rows(connection, partition) for partition in partitions}
        if exact
        else estimated_rows(connection, partitions)
    )
    how = "counted" if exact else "PostgreSQL's estimates (pg_class.reltuples; --exact counts them)"
    lines = [f"analytics_events: partitioned by month (PostgreSQL), {len(partitions)} partition(s); rows: {how}"]
    for partition in partitions:
        fate = f"  dropped by {NEXT_RUN}" if partition.end <= cut else ""
        lines.append(f"  {partition.month:%Y-%m}  {partition.name}  {_rows(counts[partition.name], not exact)}{fate}")
    return lines


def _sqlite_lines(connection: Connection, cut: datetime) -> list[str]:
    events = AnalyticsEventRow
    month = func.strftime("%Y-%m", events.occurred_at)
    by_month = connection.execute(select(month, func.count()).group_by(month).order_by(month)).all()
    lines = [f"analytics_events: one table (SQLite has no partitions), {len(by_month)} month(s) with rows, counted"]
    for label, count in by_month:
        start = datetime.strptime(label, "%Y-%m").replace(tzinfo=UTC)
        fate = f"  deleted by {NEXT_RUN}" if month_start(start) < cut else ""
        lines.append(f"  {label}  {_rows(count, estimated=False)}{fate}")
    return lines


def storage_lines(connection: Connection, settings: AnalyticsSettings, now: datetime, exact: bool) -> list[str]:
    """What the command prints: the retention's cut, then one line per month."""
    months = settings.analytics_raw_retention_months
    cut = retention_cut(now, months)
    head = (
        f"retention: {months} month(s) before the current one (ANALYTICS_RAW_RETENTION_MONTHS);"
        f" events before {cut:%Y-%m-%d} expire"
    )
    body = _postgres_lines(connection, cut, exact) if is_postgres(connection) else _sqlite_lines(connection, cut)
    return [body[0], head, *body[1:]]
