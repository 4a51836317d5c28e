"""analytics: tracker cursors and analytics opt-outs

Revision ID: 0402
Revises: 0401
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0402"
down_revision: str | None = "0401"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "analytics_tracker_cursors",
        sa.Column("tracker", sa.String(length=16), nullable=False),
        sa.Column("last_event_id", sa.BigInteger(), nullable=False),
        sa.Column("file_length", sa.BigInteger(), nullable=True),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("tracker", name=op.f("pk_analytics_tracker_cursors")),
    )
    op.create_table(
        "analytics_opt_outs",
        sa.Column("user_id", sa.BigInteger(), nullable=False),
        sa.Column("opted_out_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("user_id", name=op.f("pk_analytics_opt_outs")),
    )


def downgrade() -> None:
    op.drop_table("analytics_opt_outs")
    op.drop_table("analytics_tracker_cursors")
