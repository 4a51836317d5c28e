"""analytics: hourly and daily rollups per content, creator and platform, and their watermarks

Revision ID: 0401
Revises: 0400
"""

from collections.abc import Sequence
from typing import Any

import sqlalchemy as sa
from alembic import op

revision: str = "0401"
down_revision: str | None = "0400"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

ROLLUP_TABLES = ("analytics_content_rollups", "analytics_creator_rollups", "analytics_platform_rollups")


def _bucket_columns() -> list[sa.Column[Any]]:
    """Every rollup table's key columns: its id, grain and bucket."""
    return [
        sa.Column("id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("grain", sa.String(length=8), nullable=False),
        sa.Column("bucket_start", sa.DateTime(timezone=True), nullable=False),
    ]


def _count_columns() -> list[sa.Column[Any]]:
    """Every rollup table's counts (the models' ``_RollupCounts``), made afresh for each table."""
    integers = ["views", "unique_viewers", "view_ends"]
    after_watch = ["likes", "comments", "shares", "follows", "unfollows", "subscribes", "purchases", "sessions"]
    return [
        *(sa.Column(name, sa.Integer(), nullable=False) for name in integers),
        sa.Column("watch_seconds", sa.Float(), nullable=False),
        *(sa.Column(name, sa.Integer(), nullable=False) for name in after_watch),
        sa.Column("computed_at", sa.DateTime(timezone=True), nullable=False),
    ]


def upgrade() -> None:
    op.create_table(
        "analytics_content_rollups",
        *_bucket_columns(),
        sa.Column("content_id", sa.BigInteger(), nullable=False),
        sa.Column("creator_id", sa.BigInteger(), nullable=True),
        *_count_columns(),
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
        *_bucket_columns(),
        sa.Column("creator_id", sa.BigInteger(), nullable=False),
        *_count_columns(),
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
        *_bucket_columns(),
        *_count_columns(),
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
