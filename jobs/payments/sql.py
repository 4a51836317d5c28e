"""Small SQL helpers shared by the payments modules: chunking, insert-if-absent, dialect checks."""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Sequence
from typing import Any, TypeVar

from sqlalchemy import Table
from sqlalchemy.orm import Session

T = TypeVar("T")

IN_CHUNK = 900
"""Most values bound in one IN (...) list; SQLite's old variable limit is 999."""


def chunks(items: Sequence[T], size: int = IN_CHUNK) -> Iterator[Sequence[T]]:
    for start in range(0, len(items), size):
        yield items[start : start + size]


def dialect(session: Session) -> str:
    return session.get_bind().dialect.name


def insert_ignoring_conflicts(
    session: Session, table: Table, rows: Iterable[dict[str, Any]], unique: list[str]
) -> None:
    """INSERT ... ON CONFLICT DO NOTHING (both SQLite and PostgreSQL speak it), in one executemany."""
    rows = list(rows)
    if not rows:
        return
    if dialect(session) == "postgresql":
        from sqlalchemy.dialects.postgresql import insert as pg_insert

        session.execute(pg_insert(table).on_conflict_do_nothing(index_elements=unique), rows)
    else:
        from sqlalchemy.dialects.sqlite import insert as sqlite_insert

        session.execute(sqlite_insert(table).on_conflict_do_nothing(index_elements=unique), rows)
