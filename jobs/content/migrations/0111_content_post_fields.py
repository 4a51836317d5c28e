"""content assets: the post fields fans see (title, description, tags, category) and its lifecycle

Revision ID: 0111
Revises: 0110
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0111"
down_revision: str | None = "0110"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    # Batch mode, as every migration here: SQLite alters a table by copying it.
    with op.batch_alter_table("content_assets") as batch:
        batch.add_column(sa.Column("title", sa.String(length=300), server_default="", nullable=False))
        batch.add_column(sa.Column("description", sa.Text(), server_default="", nullable=False))
        batch.add_column(sa.Column("tags", sa.JSON(), server_default=sa.text("'[]'"), nullable=False))
        batch.add_column(sa.Column("category", sa.String(length=64), nullable=True))
        batch.add_column(sa.Column("published_at", sa.DateTime(timezone=True), nullable=True))
        batch.add_column(sa.Column("removed_at", sa.DateTime(timezone=True), nullable=True))
        batch.add_column(sa.Column("removal_reason", sa.String(length=32), nullable=True))
        batch.create_index(batch.f("ix_content_assets_published_at"), ["published_at"], unique=False)
    # An asset ready before this revision was published; when it last changed is the closest time known.
    op.execute(sa.text("UPDATE content_assets SET published_at = updated_at WHERE status = 'ready'"))


def downgrade() -> None:
    with op.batch_alter_table("content_assets") as batch:
        batch.drop_index(batch.f("ix_content_assets_published_at"))
        for column in ("removal_reason", "removed_at", "published_at", "category", "tags", "description", "title"):
            batch.drop_column(column)
