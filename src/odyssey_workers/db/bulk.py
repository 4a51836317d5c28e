"""Keyed bulk work on many rows: updates in one executemany, row locks in key order, IN lists in chunks.

``UPDATE t SET a = :a, b = :b WHERE key = :key`` run once per row is as many round trips as
rows; handed the whole list, the driver sends it as one batch. Each row names the key column
and the columns it sets, by column name, all rows the same columns.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping, Sequence
from typing import Any, TypeVar

from sqlalchemy import ColumnElement, Table, bindparam, select, update
from sqlalchemy.orm import Session

T = TypeVar("T")

IN_CHUNK = 900
"""Most values bound in one IN (...) list; SQLite's old variable limit is 999."""

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


def chunks(items: Sequence[T], size: int = IN_CHUNK) -> Iterator[Sequence[T]]:
    """``items`` in slices of at most ``size``: one IN (...) list each."""
    for start in range(0, len(items), size):
        yield items[start : start + size]


def lock_keys(session: Session, table: Table, key: str, keys: Sequence[Any], *where: ColumnElement[bool]) -> set[Any]:
    """Lock the rows whose ``key`` is in ``keys`` and that still meet ``where`` (``SELECT ... FOR
    UPDATE``, in key order so two runs never lock in opposite orders), and return their keys: a
    concurrent run may already have moved some on."""
    column = table.c[key]
    locked: set[Any] = set()
    for part in chunks(sorted(keys)):
        locked.update(
            session.scalars(select(column).where(column.in_(part), *where).order_by(column).with_for_update())
        )
    return locked
