"""Fired schedule periods: the durable key that makes a cron entry run once per period."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import String
from sqlalchemy.orm import Mapped, mapped_column

from odyssey_workers.db.base import Base, utcnow


class ScheduleRun(Base):
    """One period of one schedule entry, claimed by the first scheduler that fires it."""

    __tablename__ = "schedule_runs"

    period_key: Mapped[str] = mapped_column(String(200), primary_key=True)  # "payouts.weekly:2026-W48"
    entry: Mapped[str] = mapped_column(String(100), index=True)
    job_id: Mapped[str | None] = mapped_column(String(100))
    fired_at: Mapped[datetime] = mapped_column(default=utcnow)
