"""The trackers' tables: how far each tracker has forwarded, and the users who opted out.

Imported by ``jobs.analytics.models``, so the metadata (and Alembic's compare) sees them.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import BigInteger, String
from sqlalchemy.orm import Mapped, mapped_column

from odyssey_workers.db.base import Base, utcnow


class TrackerCursorRow(Base):
    """How far one tracker has read ``analytics_events``: every id up to ``last_event_id`` was
    accepted by it, dropped on purpose (named bad by it, or skipped for privacy) — never lost."""

    __tablename__ = "analytics_tracker_cursors"

    tracker: Mapped[str] = mapped_column(String(16), primary_key=True)
    last_event_id: Mapped[int] = mapped_column(BigInteger, default=0)
    # The file tracker only: the JSON-lines file's length when the cursor last moved. Anything
    # past it was written by a run that died before committing, and is cut off before appending.
    file_length: Mapped[int | None] = mapped_column(BigInteger)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow)


class AnalyticsOptOutRow(Base):
    """A signed-in user who opted out of analytics: none of their events is forwarded to any tracker.

    The events stay in ``analytics_events`` (the platform's own counts still include them);
    only the outside trackers never see them. Opting back in deletes the row.
    """

    __tablename__ = "analytics_opt_outs"

    user_id: Mapped[int] = mapped_column(BigInteger, primary_key=True)
    opted_out_at: Mapped[datetime] = mapped_column(default=utcnow)
