"""Insert-if-absent: the database half of every idempotency key.

A retried or duplicated job inserts the same keys again; the unique constraint on them makes
the second insert a no-op (``INSERT ... ON CONFLICT DO NOTHING``, which SQLite and PostgreSQL
both speak, built with the dialect's own ``insert``). The row that is already there wins.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from typing import Any

from sqlalchemy import Table
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import DeclarativeBase, Session

INSERT_CHUNK = 500
"""Rows per statement: bounds one statement's parameters (SQLite caps them) and its memory."""


def insert_if_absent(
    session: Session,
    target: Table | type[DeclarativeBase],
    rows: Iterable[Mapping[str, Any]],
    keys: Sequence[str],
) -> int:
    """Insert each row whose ``keys`` (columns of a unique constraint) are not taken yet.

    ``target`` is a table or a mapped class. Returns how many rows this call inserted: 0 when
    every key was already there, so ``if insert_if_absent(...)`` reads "did it insert".
    """
    rows = [dict(row) for row in rows]
    if not rows:
        return 0
    table: Table = target if isinstance(target, Table) else target.__table__  # type: ignore[assignment]
    dialect = session.get_bind().dialect.name
    if dialect == "postgresql":
        insert: postgresql.Insert | sqlite.Insert = postgresql.insert(table)
    elif dialect == "sqlite":
        insert = sqlite.insert(table)
    else:
        raise NotImplementedError(f"insert_if_absent: no ON CONFLICT insert for the {dialect!r} dialect")
    # RETURNING counts the rows inserted: a skipped row returns nothing, and unlike rowcount it
    # is exact for a many-row execute on every driver (psycopg's batched VALUES reports none).
    statement = insert.on_conflict_do_nothing(index_elements=list(keys)).returning(*(table.c[k] for k in keys))
    inserted = 0
    for start in range(0, len(rows), INSERT_CHUNK):
        inserted += len(session.execute(statement, rows[start : start + INSERT_CHUNK]).all())
    return inserted
