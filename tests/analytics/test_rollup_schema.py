"""The analytics tables: models and migrations agree, on SQLite and on PostgreSQL.

On PostgreSQL ``analytics_events`` is partitioned: the compare leaves out exactly its partitions
and the unique key declared for the other dialect (``jobs.analytics.schema_compare``).
"""

from __future__ import annotations

from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext

from jobs.analytics.schema_compare import compare_options
from odyssey_workers.db.base import Base
from odyssey_workers.db.session import get_engine


def test_the_migrated_analytics_tables_match_the_models(database_url: str) -> None:
    with get_engine(database_url).connect() as connection:
        opts = {"compare_type": True, **compare_options(connection)}
        context = MigrationContext.configure(connection, opts=opts)
        differences = compare_metadata(context, Base.metadata)
    assert [difference for difference in differences if "analytics" in repr(difference)] == []
    tables = {table for table in Base.metadata.tables if table.startswith("analytics_")}
    assert {"analytics_events", "analytics_content_rollups", "analytics_rollup_watermarks"} <= tables
