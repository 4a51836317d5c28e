"""The greetings domain's table (sample domain), on its own branch from the base tables.

Revision ID: 0900
Revises: 0001
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0900"
down_revision: str | None = "0001"
branch_labels: str | Sequence[str] | None = ("greetings",)
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "greetings",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("text", sa.String(length=200), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_greetings")),
    )


def downgrade() -> None:
    op.drop_table("greetings")
