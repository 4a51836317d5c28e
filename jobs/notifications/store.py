"""Database helpers the notification jobs share: idempotent bulk inserts on both databases."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Session

INSERT_CHUNK = 500  # rows per INSERT statement (SQLite caps bound parameters per statement)


def insert_ignore(session: Session, model: Any, rows: Sequence[dict[str, Any]], conflict: Sequence[str]) -> None:
    """INSERT ... ON CONFLICT DO NOTHING: a retried job re-inserts the same keys harmlessly."""
    if not rows:
        return
    dialect = session.get_bind().dialect.name
    insert = postgresql.insert if dialect == "postgresql" else sqlite.insert
    table = model.__table__
    for start in range(0, len(rows), INSERT_CHUNK):
        statement = insert(table).on_conflict_do_nothing(index_elements=list(conflict))
        session.execute(statement, list(rows[start : start + INSERT_CHUNK]))
