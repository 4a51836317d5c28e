"""analytics: user behaviour (retention cohorts, user affinities) and their watermarks

Revision ID: 0403
Revises: 0402
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0403"
down_revision: str | None = "0402"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "analytics_retention_cohorts",
        sa.Column("id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("grain", sa.String(length=8), nullable=False),
        sa.Column("cohort_start", sa.DateTime(timezone=True), nullable=False),
        sa.Column("period_offset", sa.Integer(), nullable=False),
        sa.Column("cohort_size", sa.Integer(), nullable=False),
        sa.Column("active_users", sa.Integer(), nullable=False),
        sa.Column("computed_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_analytics_retention_cohorts")),
        sa.UniqueConstraint(
            "grain",
            "cohort_start",
            "period_offset",
            name=op.f("uq_analytics_retention_cohorts_grain_cohort_start_period_offset"),
        ),
    )
    op.create_table(
        "analytics_user_affinities",
        sa.Column("id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("user_id", sa.BigInteger(), nullable=False),
        sa.Column("kind", sa.String(length=16), nullable=False),
        sa.Column("key", sa.String(length=64), nullable=False),
        sa.Column("score", sa.Float(), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_analytics_user_affinities")),
        sa.UniqueConstraint("user_id", "kind", "key", name=op.f("uq_analytics_user_affinities_user_id_kind_key")),
    )
    op.create_table(
        "analytics_behaviour_watermarks",
        sa.Column("name", sa.String(length=32), nullable=False),
        sa.Column("last_event_id", sa.BigInteger(), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("name", name=op.f("pk_analytics_behaviour_watermarks")),
    )


def downgrade() -> None:
    op.drop_table("analytics_behaviour_watermarks")
    op.drop_table("analytics_user_affinities")
    op.drop_table("analytics_retention_cohorts")
