"""Social tables. ``social_blocks``: which creators a fan has blocked (feeds, recommendations
and trending leave them out for that fan).

Posts themselves are the base table ``content_assets`` (title, description, tags, category,
``published_at``, ``removed_at``); the social domain adds what it derives from them.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import ForeignKey, Index, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from odyssey_workers.db.base import Base, utcnow


class SocialBlock(Base):
    """A fan who blocked a creator: nothing of the creator reaches the fan's feed or lists."""

    __tablename__ = "social_blocks"
    __table_args__ = (
        UniqueConstraint("user_id", "creator_id"),
        Index("ix_social_blocks_creator_id", "creator_id"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"))
    creator_id: Mapped[int] = mapped_column(ForeignKey("creators.id", ondelete="CASCADE"))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
