"""``analytics_events`` on PostgreSQL: one partition per calendar month (UTC) of ``occurred_at``.

The parent table is ``PARTITION BY RANGE (occurred_at)`` (migration 0405); each month is a table
named ``analytics_events_YYYY_MM`` holding ``[first of the month, first of the next)`` in UTC.
There is no DEFAULT partition: a row for a month without one is refused by PostgreSQL, so the
drain makes its batch's months first (``ensure_months``) and ``analytics.maintain_partitions``
keeps ``MONTHS_AHEAD`` months made in advance. Creating and dropping partitions take the one
advisory lock ``PARTITIONS_LOCK``, each in its own short transaction, so two callers at once
make or drop a month once and the DDL's lock on the parent is held for milliseconds.

SQLite has no partitions: the table stays one table and none of this runs there.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, datetime

from sqlalchemy import Connection, Engine, text

PARENT = "analytics_events"

MONTHS_AHEAD = 2
"""Months after the current one kept made in advance, so a month's first event finds its table."""

PARTITIONS_LOCK = 0x0A_4E_A1_05
"""The advisory lock key (a bigint) every partition create and drop takes first."""

LOCK_TIMEOUT = "10s"
"""How long a create or drop waits for the parent's lock (a long open transaction) before failing
the run instead of queueing every drain behind it."""

_NAME = re.compile(rf"^{PARENT}_(\d{{4}})_(\d{{2}})$")


def month_start(moment: datetime) -> datetime:
    """The first instant of the UTC calendar month holding ``moment`` (aware)."""
    utc = moment.astimezone(UTC)
    return datetime(utc.year, utc.month, 1, tzinfo=UTC)


def add_months(month: datetime, count: int) -> datetime:
    """The first of the month ``count`` months after (or before, if negative) ``month``'s month."""
    index = month.year * 12 + month.month - 1 + count
    return datetime(index // 12, index % 12 + 1, 1, tzinfo=UTC)


def retention_cut(now: datetime, retention_months: int) -> datetime:
    """The first instant kept: events that happened before it have expired."""
    return add_months(month_start(now), -retention_months)


def months_between(first: datetime, last: datetime) -> list[datetime]:
    """Every month from ``first``'s to ``last``'s, both included."""
    months, month = [], month_start(first)
    while month <= month_start(last):
        months.append(month)
        month = add_months(month, 1)
    return months


def partition_name(month: datetime) -> str:
    return f"{PARENT}_{month:%Y_%m}"


@dataclass(frozen=True)
class Partition:
    """One month's table: its name and the first instant of its month."""

    name: str
    month: datetime

    @property
    def end(self) -> datetime:
        return add_months(self.month, 1)


def is_postgres(connection: Connection | Engine) -> bool:
    return connection.dialect.name == "postgresql"


def existing_partitions(connection: Connection) -> list[Partition]:
    """The month partitions attached to ``analytics_events``, oldest first (read from pg_inherits)."""
    names = connection.execute(
        text(
            "SELECT child.relname FROM pg_inherits"
            " JOIN pg_class child ON child.oid = pg_inherits.inhrelid"
            " WHERE pg_inherits.inhparent = to_regclass(:parent)"
        ),
        {"parent": PARENT},
    ).scalars()
    found = []
    for name in names:
        matched = _NAME.match(name)
        if matched:  # a table attached by hand under another name is not ours to manage
            found.append(Partition(name, datetime(int(matched[1]), int(matched[2]), 1, tzinfo=UTC)))
    return sorted(found, key=lambda partition: partition.month)


def _lock(connection: Connection) -> None:
    connection.execute(text(f"SET LOCAL lock_timeout = '{LOCK_TIMEOUT}'"))
    connection.execute(text("SELECT pg_advisory_xact_lock(:key)"), {"key": PARTITIONS_LOCK})


def create_partition_ddl(month: datetime) -> str:
    """The statement that makes ``month``'s partition (bounds written in UTC, whatever the session's zone)."""
    start, end = month_start(month), add_months(month_start(month), 1)
    return (
        f"CREATE TABLE IF NOT EXISTS {partition_name(start)} PARTITION OF {PARENT}"
        f" FOR VALUES FROM ('{start:%Y-%m-%d} 00:00:00+00') TO ('{end:%Y-%m-%d} 00:00:00+00')"
    )


def ensure_months(engine: Engine, months: Iterable[datetime]) -> list[str]:
    """Make the partitions of ``months`` that are missing; returns the names this call made.

    One catalog read when all exist (the drain calls this for every batch); otherwise one
    transaction under ``PARTITIONS_LOCK`` that reads again (another caller may have just made
    them) and creates the rest.
    """
    wanted = {partition_name(month_start(month)): month_start(month) for month in months}
    with engine.connect() as connection:
        present = {partition.name for partition in existing_partitions(connection)}
    if wanted.keys() <= present:
        return []
    made = []
    with engine.begin() as connection:
        _lock(connection)
        present = {partition.name for partition in existing_partitions(connection)}
        for name, month in sorted(wanted.items()):
            if name not in present:
                connection.execute(text(create_partition_ddl(month)))
                made.append(name)
    return made


def drop_partition(engine: Engine, partition: Partition) -> bool:
    """Detach and drop one month's table, whole; False if another caller dropped it first."""
    with engine.begin() as connection:
        _lock(connection)
        if partition.name not in {found.name for found in existing_partitions(connection)}:
            return False
        # DETACH first: the month leaves the parent before its table goes, so no reader of the
        # parent can see it half gone; both are catalog changes, no row is read or deleted.
        connection.execute(text(f"ALTER TABLE {PARENT} DETACH PARTITION {partition.name}"))
        connection.execute(text(f"DROP TABLE {partition.name}"))
    return True


def estimated_rows(connection: Connection, partitions: Iterable[Partition]) -> dict[str, int | None]:
    """Each partition's row count as PostgreSQL estimates it (``pg_class.reltuples``, refreshed by
    VACUUM and ANALYZE; None when the table was never analyzed), without reading the table."""
    names = [partition.name for partition in partitions]
    if not names:
        return {}
    rows = connection.execute(
        text("SELECT relname, reltuples FROM pg_class WHERE relname = ANY(:names) AND relkind = 'r'"),
        {"names": names},
    ).all()
    estimates: dict[str, int | None] = {name: None for name in names}
    for name, tuples in rows:
        estimates[name] = None if tuples < 0 else int(tuples)
    return estimates


def exact_rows(connection: Connection, partition: Partition) -> int:
    """A partition's row count, read in full."""
    # The name is one existing_partitions read from the catalog and matched against _NAME.
    count = text(f"SELECT count(*) FROM {partition.name}")  # noqa: S608
    return int(connection.execute(count).scalar_one())
