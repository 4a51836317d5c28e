"""The base tables every domain shares: users, creators, content assets and renditions, follows."""

from __future__ import annotations

import enum
from datetime import datetime
from typing import Any

from sqlalchemy import JSON, BigInteger, ForeignKey, Index, String, Text, UniqueConstraint, text
from sqlalchemy.orm import Mapped, mapped_column, relationship

from odyssey_workers.db.base import Base, enum_type, utcnow


class User(Base):
    """A person on the platform: fan, creator or both."""

    __tablename__ = "users"

    id: Mapped[int] = mapped_column(primary_key=True)
    email: Mapped[str | None] = mapped_column(String(320), unique=True)
    phone: Mapped[str | None] = mapped_column(String(20))  # E.164
    display_name: Mapped[str] = mapped_column(String(200), default="")
    locale: Mapped[str] = mapped_column(String(35), default="en")
    time_zone: Mapped[str] = mapped_column(String(64), default="UTC")
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


class Creator(Base):
    """A user who publishes; payouts, branding and holds hang off this row."""

    __tablename__ = "creators"

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), unique=True)
    handle: Mapped[str] = mapped_column(String(64), unique=True)
    settings: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)  # branding, watermark, ...
    on_hold: Mapped[bool] = mapped_column(default=False)  # moderation or fraud flag
    created_at: Mapped[datetime] = mapped_column(default=utcnow)

    user: Mapped[User] = relationship()


class AssetKind(enum.StrEnum):
    IMAGE = "image"
    VIDEO = "video"
    AUDIO = "audio"
    UNKNOWN = "unknown"


class AssetStatus(enum.StrEnum):
    UPLOADED = "uploaded"
    PROCESSING = "processing"
    READY = "ready"
    FAILED = "failed"


class ContentAsset(Base):
    """An upload: its original in storage and what processing made of it."""

    __tablename__ = "content_assets"

    id: Mapped[int] = mapped_column(primary_key=True)
    creator_id: Mapped[int] = mapped_column(ForeignKey("creators.id", ondelete="CASCADE"), index=True)
    kind: Mapped[AssetKind] = mapped_column(
        enum_type(AssetKind),
        default=AssetKind.UNKNOWN,
    )
    status: Mapped[AssetStatus] = mapped_column(
        enum_type(AssetStatus),
        default=AssetStatus.UPLOADED,
        index=True,
    )
    source_key: Mapped[str] = mapped_column(String(1024))
    original_filename: Mapped[str | None] = mapped_column(String(512))
    mime_type: Mapped[str | None] = mapped_column(String(100))
    size_bytes: Mapped[int | None] = mapped_column(BigInteger)
    failure_reason: Mapped[str | None] = mapped_column(Text)
    details: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)  # probe data, placeholder, colour
    # What fans see of the post. The platform writes these; feeds, search and trending read them.
    title: Mapped[str] = mapped_column(String(300), default="", server_default="")
    description: Mapped[str] = mapped_column(Text, default="", server_default="")
    tags: Mapped[list[str]] = mapped_column(JSON, default=list, server_default=text("'[]'"))
    category: Mapped[str | None] = mapped_column(String(64))
    published_at: Mapped[datetime | None] = mapped_column(index=True)  # first publish (finalize sets it)
    removed_at: Mapped[datetime | None]  # deleted by its creator or taken down: shown nowhere any more
    removal_reason: Mapped[str | None] = mapped_column(String(32))  # "deleted" or "takedown"
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow, onupdate=utcnow)

    creator: Mapped[Creator] = relationship()
    renditions: Mapped[list[Rendition]] = relationship(
        back_populates="asset", cascade="all, delete-orphan", order_by="Rendition.id"
    )


class Rendition(Base):
    """One output made from an asset (a variant, a transcode, a playlist, a thumbnail)."""

    __tablename__ = "renditions"
    __table_args__ = (UniqueConstraint("asset_id", "name"),)  # the idempotency key of a rendition

    id: Mapped[int] = mapped_column(primary_key=True)
    asset_id: Mapped[int] = mapped_column(ForeignKey("content_assets.id", ondelete="CASCADE"), index=True)
    name: Mapped[str] = mapped_column(String(200))  # e.g. "image.640.webp", "hls.720p"
    kind: Mapped[str] = mapped_column(String(50))
    format: Mapped[str] = mapped_column(String(20))
    storage_key: Mapped[str] = mapped_column(String(1024))
    size_bytes: Mapped[int | None] = mapped_column(BigInteger)
    width: Mapped[int | None]
    height: Mapped[int | None]
    duration_seconds: Mapped[float | None]
    url: Mapped[str | None] = mapped_column(String(2048))
    details: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)

    asset: Mapped[ContentAsset] = relationship(back_populates="renditions")


class Follow(Base):
    """A fan following a creator."""

    __tablename__ = "follows"
    __table_args__ = (
        UniqueConstraint("follower_id", "creator_id"),
        Index("ix_follows_creator_id_follower_id", "creator_id", "follower_id"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    follower_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"))
    creator_id: Mapped[int] = mapped_column(ForeignKey("creators.id", ondelete="CASCADE"))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
