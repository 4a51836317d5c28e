"""What an Alembic compare of the analytics models with a migrated database must leave out, and why.

On PostgreSQL ``analytics_events`` is partitioned (``partitions.py``), which the models cannot
say in full; two narrow filters make the compare exact about everything else:

- a model constraint declared for one dialect only (``ddl_if(dialect=...)``: the two unique keys
  of ``AnalyticsEventRow``) is compared on that dialect alone;
- the tables PostgreSQL lists in ``pg_inherits`` as partitions of ``analytics_events`` are not
  model tables (they are the parent's storage). The parent itself is compared as any table.

Pass ``compare_options(connection)`` as the ``opts`` of ``MigrationContext.configure``.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import Connection

from jobs.analytics.partitions import existing_partitions, is_postgres


def compare_options(connection: Connection) -> dict[str, Any]:
    """``include_name`` and ``include_object`` filters for a compare over ``connection``."""
    dialect = connection.dialect.name
    partitions = {partition.name for partition in existing_partitions(connection)} if is_postgres(connection) else set()

    def include_name(name: str | None, type_: str, _parents: dict[str, str | None]) -> bool:
        return not (type_ == "table" and name in partitions)

    def include_object(item: Any, _name: str | None, _type: str, reflected: bool, _other: Any) -> bool:
        condition = getattr(item, "_ddl_if", None)
        return reflected or condition is None or condition.dialect in (None, dialect)

    return {"include_name": include_name, "include_object": include_object}
