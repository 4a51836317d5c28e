"""Keyed bulk updates: many rows, each with its own values, in one executemany.

``UPDATE t SET a = :a, b = :b WHERE key = :key`` run once per row is as many round trips as
rows; handed the whole list, the driver sends it as one batch. Each row names the key column
and the columns it sets, by column name, all rows the same columns.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from sqlalchemy import Table, bindparam, update
from sqlalchemy.orm import Session

BIND_PREFIX = "b_"
"""Bound parameters are renamed: SQLAlchemy reserves a column's own name in SET for itself."""


def update_by_key(session: Session, table: Table, key: str, rows: Sequence[Mapping[str, Any]]) -> None:
    """For each row, set its other columns on the ``table`` row whose ``key`` column equals its ``key``.

    ``rows`` are ``{key: value, column: value, ...}``; every row must name the same columns.
    No rows is no statement.
    """
    if not rows:
        return
    columns = [name for name in rows[0] if name != key]
    if key not in rows[0] or not columns:
        raise ValueError(f"update_by_key: each row needs {key!r} and at least one column to set")
    expected = set(rows[0])
    for row in rows:
        if set(row) != expected:
            raise ValueError(f"update_by_key: rows name different columns ({sorted(row)} vs {sorted(expected)})")
    statement = (
        update(table)
        .where(table.c[key] == bindparam(BIND_PREFIX + key))
        .values({name: bindparam(BIND_PREFIX + name) for name in columns})
    )
    session.execute(statement, [{BIND_PREFIX + name: value for name, value in row.items()} for row in rows])
