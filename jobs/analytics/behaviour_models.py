"""The user-behaviour tables: retention cohorts, each user's affinities, and their watermarks.

Imported by ``jobs.analytics.models`` so that ``Base.metadata`` (and Alembic) sees them.
"""

from __future__ import annotations

import enum
from datetime import datetime

from sqlalchemy import BigInteger, Float, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from odyssey_workers.db.base import Base, BigId, enum_type, utcnow


class CohortGrain(enum.StrEnum):
    WEEK = "week"  # ISO week, Monday 00:00 UTC
    MONTH = "month"  # calendar month, the 1st 00:00 UTC


class RetentionCohortRow(Base):
    """One cell of a retention matrix: of the users first seen in the period starting at
    ``cohort_start``, ``active_users`` did something in the period ``period_offset`` later."""

    __tablename__ = "analytics_retention_cohorts"
    __table_args__ = (UniqueConstraint("grain", "cohort_start", "period_offset"),)

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    grain: Mapped[CohortGrain] = mapped_column(enum_type(CohortGrain, length=8))
    cohort_start: Mapped[datetime] = mapped_column()
    period_offset: Mapped[int] = mapped_column()  # 0: the cohort's own period
    cohort_size: Mapped[int] = mapped_column()
    active_users: Mapped[int] = mapped_column()
    computed_at: Mapped[datetime] = mapped_column(default=utcnow)


class AffinityKind(enum.StrEnum):
    CREATOR = "creator"  # key: the creator's id, as text
    CATEGORY = "category"  # key: the events' properties.category


class UserAffinityRow(Base):
    """How much one user cares for one creator or category: decayed, weighted interactions.

    ``score`` is as of ``updated_at``; every row of one user carries the same ``updated_at``
    (a run that touches a user rewrites all of that user's rows), so ordering one user's rows
    by ``score`` is their ranking. See ``jobs.analytics.preferences`` for the formula.
    """

    __tablename__ = "analytics_user_affinities"
    __table_args__ = (UniqueConstraint("user_id", "kind", "key"),)

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    user_id: Mapped[int] = mapped_column(BigInteger)
    kind: Mapped[AffinityKind] = mapped_column(enum_type(AffinityKind, length=16))
    key: Mapped[str] = mapped_column(String(64))
    score: Mapped[float] = mapped_column(Float)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow)


class BehaviourWatermarkRow(Base):
    """How far one behaviour computation (``retention_week``, ``retention_month``,
    ``preferences``) has read ``analytics_events``; also its lock, as the rollups' watermark is."""

    __tablename__ = "analytics_behaviour_watermarks"

    name: Mapped[str] = mapped_column(String(32), primary_key=True)
    last_event_id: Mapped[int] = mapped_column(BigInteger, default=0)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow)
