"""social tables: blocks

Revision ID: 0500
Revises: 0001
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0500"
down_revision: str | None = "0001"
branch_labels: str | Sequence[str] | None = ("social",)
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "social_blocks",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("user_id", sa.Integer(), nullable=False),
        sa.Column("creator_id", sa.Integer(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["creator_id"], ["creators.id"], name=op.f("fk_social_blocks_creator_id_creators"), ondelete="CASCADE"
        ),
        sa.ForeignKeyConstraint(
            ["user_id"], ["users.id"], name=op.f("fk_social_blocks_user_id_users"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_social_blocks")),
        sa.UniqueConstraint("user_id", "creator_id", name=op.f("uq_social_blocks_user_id_creator_id")),
    )
    op.create_index("ix_social_blocks_creator_id", "social_blocks", ["creator_id"], unique=False)


def downgrade() -> None:
    op.drop_index("ix_social_blocks_creator_id", table_name="social_blocks")
    op.drop_table("social_blocks")
