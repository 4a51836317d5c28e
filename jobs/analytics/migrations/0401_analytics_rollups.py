"""analytics: hourly and daily rollups per content, creator and platform, and their watermarks

Revision ID: 0401
Revises: 0400
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0401"
down_revision: str | None = "0400"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

ROLLUP_TABLES = ("analytics_content_rollups", "analytics_creator_rollups", "analytics_platform_rollups")


def upgrade() -> None:
    op.create_table(
        "analytics_content_rollups",
        sa.Column("id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("grain", sa.String(length=8), nullable=False),
        sa.Column("bucket_start", sa.DateTime(timezone=True), nullable=False),
        sa.Column("content_id", sa.BigInteger(), nullable=False),
        sa.Column("creator_id", sa.BigInteger(), nullable=True),
        sa.Column("views", sa.Integer(), nullable=False),
        sa.Column("unique_viewers", sa.Integer(), nullable=False),
        sa.Column("view_ends", sa.Integer(), nullable=False),
        sa.Column("watch_seconds", sa.Float(), nullable=False),
        sa.Column("likes", sa.Integer(), nullable=False),
        sa.Column("comments", sa.Integer(), nullable=False),
        sa.Column("shares", sa.Integer(), nullable=False),
        sa.Column("follows", sa.Integer(), nullable=False),
        sa.Column("unfollows", sa.Integer(), nullable=False),
        sa.Column("subscribes", sa.Integer(), nullable=False),
        sa.Column("purchases", sa.Integer(), nullable=False),
        sa.Column("sessions", sa.Integer(), nullable=False),
        sa.Column("computed_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_analytics_content_rollups")),
        sa.UniqueConstraint(
            "grain",
            "bucket_start",
            "content_id",
            name=op.f("uq_analytics_content_rollups_grain_bucket_start_content_id"),
        ),
    )
    op.create_table(
        "analytics_creator_rollups",
        sa.Column("id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("grain", sa.String(length=8), nullable=False),
        sa.Column("bucket_start", sa.DateTime(timezone=True), nullable=False),
        sa.Column("creator_id", sa.BigInteger(), nullable=False),
        sa.Column("views", sa.Integer(), nullable=False),
        sa.Column("unique_viewers", sa.Integer(), nullable=False),
        sa.Column("view_ends", sa.Integer(), nullable=False),
        sa.Column("watch_seconds", sa.Float(), nullable=False),
        sa.Column("likes", sa.Integer(), nullable=False),
        sa.Column("comments", sa.Integer(), nullable=False),
        sa.Column("shares", sa.Integer(), nullable=False),
        sa.Column("follows", sa.Integer(), nullable=False),
        sa.Column("unfollows", sa.Integer(), nullable=False),
        sa.Column("subscribes", sa.Integer(), nullable=False),
        sa.Column("purchases", sa.Integer(), nullable=False),
        sa.Column("sessions", sa.Integer(), nullable=False),
        sa.Column("computed_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_analytics_creator_rollups")),
        sa.UniqueConstraint(
            "grain",
            "bucket_start",
            "creator_id",
            name=op.f("uq_analytics_creator_rollups_grain_bucket_start_creator_id"),
        ),
    )
    op.create_table(
        "analytics_platform_rollups",
        sa.Column("id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("grain", sa.String(length=8), nullable=False),
        sa.Column("bucket_start", sa.DateTime(timezone=True), nullable=False),
        sa.Column("views", sa.Integer(), nullable=False),
        sa.Column("unique_viewers", sa.Integer(), nullable=False),
        sa.Column("view_ends", sa.Integer(), nullable=False),
        sa.Column("watch_seconds", sa.Float(), nullable=False),
        sa.Column("likes", sa.Integer(), nullable=False),
        sa.Column("comments", sa.Integer(), nullable=False),
        sa.Column("shares", sa.Integer(), nullable=False),
        sa.Column("follows", sa.Integer(), nullable=False),
        sa.Column("unfollows", sa.Integer(), nullable=False),
        sa.Column("subscribes", sa.Integer(), nullable=False),
        sa.Column("purchases", sa.Integer(), nullable=False),
        sa.Column("sessions", sa.Integer(), nullable=False),
        sa.Column("computed_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_analytics_platform_rollups")),
        sa.UniqueConstraint("grain", "bucket_start", name=op.f("uq_analytics_platform_rollups_grain_bucket_start")),
    )
    op.create_table(
        "analytics_rollup_watermarks",
        sa.Column("grain", sa.String(length=8), nullable=False),
        sa.Column("last_event_id", sa.BigInteger(), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("grain", name=op.f("pk_analytics_rollup_watermarks")),
    )


def downgrade() -> None:
    op.drop_table("analytics_rollup_watermarks")
    for name in reversed(ROLLUP_TABLES):
        op.drop_table(name)
