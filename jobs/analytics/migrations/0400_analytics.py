"""analytics: the accepted raw events and the dead-letter table of the event intake

Revision ID: 0400
Revises: 0001
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0400"
down_revision: str | None = "0001"
branch_labels: str | Sequence[str] | None = ("analytics",)
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "analytics_events",
        sa.Column("id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("event_id", sa.String(length=64), nullable=False),
        sa.Column("type", sa.String(length=32), nullable=False),
        sa.Column("user_id", sa.BigInteger(), nullable=True),
        sa.Column("anonymous_id", sa.String(length=64), nullable=True),
        sa.Column("content_id", sa.BigInteger(), nullable=True),
        sa.Column("creator_id", sa.BigInteger(), nullable=True),
        sa.Column("occurred_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("session_id", sa.String(length=64), nullable=True),
        sa.Column("country", sa.String(length=2), nullable=True),
        sa.Column("device", sa.String(length=32), nullable=True),
        sa.Column("properties", sa.JSON(), nullable=False),
        sa.Column("received_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_analytics_events")),
        sa.UniqueConstraint("event_id", name=op.f("uq_analytics_events_event_id")),
    )
    with op.batch_alter_table("analytics_events", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_analytics_events_occurred_at"), ["occurred_at"], unique=False)

    op.create_table(
        "analytics_rejected_events",
        sa.Column("id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("stream_id", sa.String(length=40), nullable=False),
        sa.Column("event_id", sa.String(length=200), nullable=True),
        sa.Column("reason", sa.String(length=32), nullable=False),
        sa.Column("detail", sa.String(length=500), nullable=False),
        sa.Column("raw", sa.Text(), nullable=False),
        sa.Column("received_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_analytics_rejected_events")),
        sa.UniqueConstraint("stream_id", name=op.f("uq_analytics_rejected_events_stream_id")),
    )
    with op.batch_alter_table("analytics_rejected_events", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_analytics_rejected_events_reason"), ["reason"], unique=False)
        batch_op.create_index(batch_op.f("ix_analytics_rejected_events_received_at"), ["received_at"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("analytics_rejected_events", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_analytics_rejected_events_received_at"))
        batch_op.drop_index(batch_op.f("ix_analytics_rejected_events_reason"))
    op.drop_table("analytics_rejected_events")
    with op.batch_alter_table("analytics_events", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_analytics_events_occurred_at"))
    op.drop_table("analytics_events")
