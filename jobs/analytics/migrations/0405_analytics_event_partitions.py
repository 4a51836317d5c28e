"""analytics: on PostgreSQL, analytics_events partitioned by month of occurred_at (SQLite: unchanged)

The plain table becomes ``PARTITION BY RANGE (occurred_at)`` with one table per UTC month
(``analytics_events_YYYY_MM``), in this migration's transaction: the old table and its keys are
renamed aside, the partitioned table is made with the same columns and names, the partitions
for every month its rows fall in and for the months the drain can write to next (from the month
``ANALYTICS_LATE_WINDOW_HOURS`` reaches back into to two months ahead), the rows are copied,
and the old table dropped. Ids keep coming from the same sequence, moved to the new ``id``
column, so its value (the rollups' watermark) carries on. Downgrade makes the plain table again.

Revision ID: 0405
Revises: 0404
"""

from collections.abc import Sequence
from datetime import UTC, datetime, timedelta

from alembic import op
from sqlalchemy import text

revision: str = "0405"
down_revision: str | None = "0404"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

COLUMNS = (
    "id, event_id, type, user_id, anonymous_id, content_id, creator_id, occurred_at,"
    " session_id, country, device, properties, received_at"
)
COLUMN_TYPES = """
    id BIGINT NOT NULL DEFAULT nextval('analytics_events_id_seq'),
    event_id VARCHAR(64) NOT NULL,
    type VARCHAR(32) NOT NULL,
    user_id BIGINT,
    anonymous_id VARCHAR(64),
    content_id BIGINT,
    creator_id BIGINT,
    occurred_at TIMESTAMP WITH TIME ZONE NOT NULL,
    session_id VARCHAR(64),
    country VARCHAR(2),
    device VARCHAR(32),
    properties JSON NOT NULL,
    received_at TIMESTAMP WITH TIME ZONE NOT NULL
"""
MONTHS_AHEAD = 2  # as jobs/analytics/partitions.py; written out so this revision never changes


def _month(moment: datetime) -> datetime:
    return datetime(moment.year, moment.month, 1, tzinfo=UTC)


def _next(month: datetime) -> datetime:
    return datetime(month.year + month.month // 12, month.month % 12 + 1, 1, tzinfo=UTC)


def _late_window() -> timedelta:
    from jobs.analytics.settings import analytics_settings

    return timedelta(hours=analytics_settings().analytics_late_window_hours)


def _months_to_make() -> list[datetime]:
    """The months the old rows fall in, and every month from the late window's first to two ahead."""
    occupied = op.get_bind().execute(
        text(
            "SELECT DISTINCT date_trunc('month', occurred_at AT TIME ZONE 'UTC') AT TIME ZONE 'UTC'"
            " FROM analytics_events_plain"
        )
    )
    months = {_month(moment.astimezone(UTC)) for (moment,) in occupied}
    now = datetime.now(UTC)
    month, last = _month(now - _late_window()), _month(now)
    for _ in range(MONTHS_AHEAD):
        last = _next(last)
    while month <= last:
        months.add(month)
        month = _next(month)
    return sorted(months)


def upgrade() -> None:
    if op.get_bind().dialect.name != "postgresql":
        return  # SQLite: one table, as revision 0400 made it
    op.execute("ALTER TABLE analytics_events RENAME TO analytics_events_plain")
    op.execute("ALTER TABLE analytics_events_plain RENAME CONSTRAINT pk_analytics_events TO pk_analytics_events_plain")
    op.execute(
        "ALTER TABLE analytics_events_plain RENAME CONSTRAINT uq_analytics_events_event_id"
        " TO uq_analytics_events_plain_event_id"
    )
    op.execute("ALTER INDEX ix_analytics_events_occurred_at RENAME TO ix_analytics_events_plain_occurred_at")
    op.execute(
        f"CREATE TABLE analytics_events ({COLUMN_TYPES},"
        " CONSTRAINT pk_analytics_events PRIMARY KEY (id, occurred_at),"
        " CONSTRAINT uq_analytics_events_event_id_occurred_at UNIQUE (event_id, occurred_at)"
        ") PARTITION BY RANGE (occurred_at)"
    )
    op.execute("CREATE INDEX ix_analytics_events_occurred_at ON analytics_events (occurred_at)")
    # The sequence now belongs to the new column, so dropping the old table keeps it and its value.
    op.execute("ALTER TABLE analytics_events_plain ALTER COLUMN id DROP DEFAULT")
    op.execute("ALTER SEQUENCE analytics_events_id_seq OWNED BY analytics_events.id")
    for month in _months_to_make():
        op.execute(
            f"CREATE TABLE analytics_events_{month:%Y_%m} PARTITION OF analytics_events"
            f" FOR VALUES FROM ('{month:%Y-%m-%d} 00:00:00+00') TO ('{_next(month):%Y-%m-%d} 00:00:00+00')"
        )
    copy = f"INSERT INTO analytics_events ({COLUMNS}) SELECT {COLUMNS} FROM analytics_events_plain"  # noqa: S608 - constants
    op.execute(copy)
    op.execute("DROP TABLE analytics_events_plain")


def downgrade() -> None:
    if op.get_bind().dialect.name != "postgresql":
        return
    op.execute("ALTER TABLE analytics_events RENAME TO analytics_events_partitioned")
    op.execute(
        "ALTER TABLE analytics_events_partitioned RENAME CONSTRAINT pk_analytics_events"
        " TO pk_analytics_events_partitioned"
    )
    op.execute(
        "ALTER TABLE analytics_events_partitioned RENAME CONSTRAINT uq_analytics_events_event_id_occurred_at"
        " TO uq_analytics_events_partitioned_event_id_occurred_at"
    )
    op.execute("ALTER INDEX ix_analytics_events_occurred_at RENAME TO ix_analytics_events_partitioned_occurred_at")
    op.execute(
        f"CREATE TABLE analytics_events ({COLUMN_TYPES},"
        " CONSTRAINT pk_analytics_events PRIMARY KEY (id),"
        " CONSTRAINT uq_analytics_events_event_id UNIQUE (event_id))"
    )
    op.execute("CREATE INDEX ix_analytics_events_occurred_at ON analytics_events (occurred_at)")
    op.execute("ALTER TABLE analytics_events_partitioned ALTER COLUMN id DROP DEFAULT")
    op.execute("ALTER SEQUENCE analytics_events_id_seq OWNED BY analytics_events.id")
    # The plain table's key is event_id alone: should an event be stored twice (the edge
    # event_dedupe.py names), the copy with the lower id is kept.
    op.execute(
        f"INSERT INTO analytics_events ({COLUMNS}) SELECT {COLUMNS} FROM analytics_events_partitioned"  # noqa: S608
        " ORDER BY id ON CONFLICT (event_id) DO NOTHING"
    )
    op.execute("DROP TABLE analytics_events_partitioned")  # and every partition with it
