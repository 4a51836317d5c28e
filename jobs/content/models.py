"""Live streams: the stream, the segments repackaged for viewers, and the clips cut from it."""

from __future__ import annotations

import enum
from datetime import datetime

from sqlalchemy import BigInteger, ForeignKey, Integer, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from odyssey_workers.db.base import Base, enum_type, utcnow


class LiveStreamStatus(enum.StrEnum):
    WAITING = "waiting"  # created, no segment yet
    LIVE = "live"  # segments arriving, the live playlist is growing
    ENDED = "ended"  # the live playlist is closed; the VOD is being made
    FAILED = "failed"


class LiveStream(Base):
    """One broadcast: where its segments arrive, how far ingest got, and its VOD asset."""

    __tablename__ = "live_streams"

    id: Mapped[int] = mapped_column(primary_key=True)
    creator_id: Mapped[int] = mapped_column(ForeignKey("creators.id", ondelete="CASCADE"), index=True)
    status: Mapped[LiveStreamStatus] = mapped_column(
        enum_type(LiveStreamStatus),
        default=LiveStreamStatus.WAITING,
        index=True,
    )
    incoming_prefix: Mapped[str] = mapped_column(String(1024))  # where the ingest server drops segments
    output_prefix: Mapped[str] = mapped_column(String(1024))  # live playlist, segments, recording, clips
    segment_count: Mapped[int] = mapped_column(Integer, default=0)
    duration_seconds: Mapped[float] = mapped_column(default=0.0)
    vod_asset_id: Mapped[int | None] = mapped_column(ForeignKey("content_assets.id", ondelete="SET NULL"))
    failure_reason: Mapped[str | None] = mapped_column(Text)
    started_at: Mapped[datetime | None]
    ended_at: Mapped[datetime | None]
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


class LiveSegment(Base):
    """One incoming segment, repackaged; (stream, sequence) makes a re-run ingest add it once."""

    __tablename__ = "live_segments"
    __table_args__ = (UniqueConstraint("stream_id", "sequence"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    stream_id: Mapped[int] = mapped_column(ForeignKey("live_streams.id", ondelete="CASCADE"), index=True)
    sequence: Mapped[int] = mapped_column(Integer)
    source_key: Mapped[str] = mapped_column(String(1024))
    storage_key: Mapped[str] = mapped_column(String(1024))
    start_seconds: Mapped[float]  # offset of this segment in the recording
    duration_seconds: Mapped[float]
    size_bytes: Mapped[int] = mapped_column(BigInteger)
    received_at: Mapped[datetime]  # when ingest first saw the incoming file
    published_at: Mapped[datetime]  # when the live playlist first listed it


class LiveClip(Base):
    """An MP4 cut from a stream's recording; (stream, start, end) makes a repeat request cut once."""

    __tablename__ = "live_clips"
    __table_args__ = (UniqueConstraint("stream_id", "start_ms", "end_ms"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    stream_id: Mapped[int] = mapped_column(ForeignKey("live_streams.id", ondelete="CASCADE"), index=True)
    start_ms: Mapped[int] = mapped_column(BigInteger)
    end_ms: Mapped[int] = mapped_column(BigInteger)
    storage_key: Mapped[str] = mapped_column(String(1024))
    size_bytes: Mapped[int] = mapped_column(BigInteger)
    duration_seconds: Mapped[float]
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
