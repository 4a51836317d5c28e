"""The rollup tables: models and migrations agree, on SQLite and on PostgreSQL."""

from __future__ import annotations

from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext

from odyssey_workers.db.base import Base
from odyssey_workers.db.session import get_engine


def test_the_migrated_analytics_tables_match_the_models(database_url: str) -> None:
    with get_engine(database_url).connect() as connection:
        context = MigrationContext.configure(connection, opts={"compare_type": True})
        differences = compare_metadata(context, Base.metadata)
    assert [difference for difference in differences if "analytics" in repr(difference)] == []
    tables = {table for table in Base.metadata.tables if table.startswith("analytics_")}
    assert {"analytics_content_rollups", "analytics_rollup_watermarks"} <= tables
