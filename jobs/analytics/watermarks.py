"""The one way an incremental analytics run takes its watermark: how far it has read
``analytics_events``, held as its lock until the run commits.

Each computation keeps its watermark in a table of its own (rollups by grain, behaviour and
platform metrics by name), all rows with ``last_event_id`` and ``updated_at``.
"""

from __future__ import annotations

from typing import Any, TypeVar

from sqlalchemy import select
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Session

from odyssey_workers.db.base import Base, utcnow

Row = TypeVar("Row", bound=Base)


def lock_watermark_row(session: Session, model: type[Row], key: str, value: Any) -> Row:
    """The row of ``model`` whose ``key`` column is ``value`` (made at 0 if missing), locked until
    the caller commits, so two runs at once serialize.

    PostgreSQL: ``SELECT ... FOR UPDATE``; the second run waits, then reads the first one's
    watermark and finds nothing new. SQLite: the session began with ``BEGIN IMMEDIATE``, so the
    whole run already holds the database's one write lock.
    """
    insert = postgresql.insert if session.get_bind().dialect.name == "postgresql" else sqlite.insert
    session.execute(
        insert(model)
        .values({key: value, "last_event_id": 0, "updated_at": utcnow()})
        .on_conflict_do_nothing(index_elements=[key])
    )
    locked = select(model).where(getattr(model, key) == value).with_for_update()
    # populate_existing: the row as committed by whoever held the lock before us.
    return session.scalars(locked.execution_options(populate_existing=True)).one()
