"""analytics: the platform's daily user metrics and the metrics jobs' watermarks

Revision ID: 0404
Revises: 0403
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0404"
down_revision: str | None = "0403"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "analytics_platform_daily",
        sa.Column("day", sa.Date(), nullable=False),
        *(sa.Column(name, sa.Integer(), nullable=False) for name in ("dau", "wau", "mau", "new_users", "sessions")),
        sa.Column("session_seconds", sa.Float(), nullable=False),
        sa.Column("computed_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("day", name=op.f("pk_analytics_platform_daily")),
    )
    op.create_table(
        "analytics_metric_watermarks",
        sa.Column("name", sa.String(length=32), nullable=False),
        sa.Column("last_event_id", sa.BigInteger(), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("name", name=op.f("pk_analytics_metric_watermarks")),
    )


def downgrade() -> None:
    op.drop_table("analytics_metric_watermarks")
    op.drop_table("analytics_platform_daily")
