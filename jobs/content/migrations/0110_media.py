"""live stream tables (content, media side)

Revision ID: 0110
Revises: 0001
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0110"
down_revision: str | None = "0001"
branch_labels: str | Sequence[str] | None = ("media",)
depends_on: str | Sequence[str] | None = None

STATUS = sa.Enum("waiting", "live", "ended", "failed", name="livestreamstatus", native_enum=False, length=16)


def upgrade() -> None:
    op.create_table(
        "live_streams",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("creator_id", sa.Integer(), nullable=False),
        sa.Column("status", STATUS, nullable=False),
        sa.Column("incoming_prefix", sa.String(length=1024), nullable=False),
        sa.Column("output_prefix", sa.String(length=1024), nullable=False),
        sa.Column("segment_count", sa.Integer(), nullable=False),
        sa.Column("duration_seconds", sa.Double(), nullable=False),
        sa.Column("vod_asset_id", sa.Integer(), nullable=True),
        sa.Column("failure_reason", sa.Text(), nullable=True),
        sa.Column("started_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("ended_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["creator_id"], ["creators.id"], name=op.f("fk_live_streams_creator_id_creators"), ondelete="CASCADE"
        ),
        sa.ForeignKeyConstraint(
            ["vod_asset_id"],
            ["content_assets.id"],
            name=op.f("fk_live_streams_vod_asset_id_content_assets"),
            ondelete="SET NULL",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_live_streams")),
    )
    op.create_index(op.f("ix_live_streams_creator_id"), "live_streams", ["creator_id"], unique=False)
    op.create_index(op.f("ix_live_streams_status"), "live_streams", ["status"], unique=False)
    op.create_table(
        "live_segments",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("stream_id", sa.Integer(), nullable=False),
        sa.Column("sequence", sa.Integer(), nullable=False),
        sa.Column("source_key", sa.String(length=1024), nullable=False),
        sa.Column("storage_key", sa.String(length=1024), nullable=False),
        sa.Column("start_seconds", sa.Double(), nullable=False),
        sa.Column("duration_seconds", sa.Double(), nullable=False),
        sa.Column("size_bytes", sa.BigInteger(), nullable=False),
        sa.Column("received_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("published_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["stream_id"], ["live_streams.id"], name=op.f("fk_live_segments_stream_id_live_streams"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_live_segments")),
        sa.UniqueConstraint("stream_id", "sequence", name=op.f("uq_live_segments_stream_id_sequence")),
    )
    op.create_index(op.f("ix_live_segments_stream_id"), "live_segments", ["stream_id"], unique=False)
    op.create_table(
        "live_clips",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("stream_id", sa.Integer(), nullable=False),
        sa.Column("start_ms", sa.BigInteger(), nullable=False),
        sa.Column("end_ms", sa.BigInteger(), nullable=False),
        sa.Column("storage_key", sa.String(length=1024), nullable=False),
        sa.Column("size_bytes", sa.BigInteger(), nullable=False),
        sa.Column("duration_seconds", sa.Double(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["stream_id"], ["live_streams.id"], name=op.f("fk_live_clips_stream_id_live_streams"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_live_clips")),
        sa.UniqueConstraint("stream_id", "start_ms", "end_ms", name=op.f("uq_live_clips_stream_id_start_ms_end_ms")),
    )
    op.create_index(op.f("ix_live_clips_stream_id"), "live_clips", ["stream_id"], unique=False)


def downgrade() -> None:
    op.drop_table("live_clips")
    op.drop_table("live_segments")
    op.drop_index(op.f("ix_live_streams_status"), table_name="live_streams")
    op.drop_index(op.f("ix_live_streams_creator_id"), table_name="live_streams")
    op.drop_table("live_streams")
