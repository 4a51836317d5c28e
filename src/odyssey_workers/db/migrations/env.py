"""Alembic environment: the URL comes from the caller (``odyssey-workers db upgrade``), never a file."""

from __future__ import annotations

from typing import Any

from alembic import context

import odyssey_workers.db.models  # noqa: F401 - registers every table on Base.metadata
from odyssey_workers.db.base import Base, UTCDateTime
from odyssey_workers.db.session import make_engine

config = context.config
target_metadata = Base.metadata


def render_item(type_: str, obj: Any, autogen_context: Any) -> str | bool:
    """Write UTCDateTime into migrations as the plain column type it stores."""
    if type_ == "type" and isinstance(obj, UTCDateTime):
        return "sa.DateTime(timezone=True)"
    return False


CONFIGURE = {"target_metadata": target_metadata, "render_as_batch": True, "render_item": render_item}


def run_migrations_online() -> None:
    connectable = config.attributes.get("connection")
    if connectable is not None:
        context.configure(connection=connectable, **CONFIGURE)
        with context.begin_transaction():
            context.run_migrations()
        return
    engine = make_engine(config.get_main_option("sqlalchemy.url") or "")
    with engine.connect() as connection:
        context.configure(connection=connection, **CONFIGURE)
        with context.begin_transaction():
            context.run_migrations()
    engine.dispose()


if context.is_offline_mode():
    context.configure(url=config.get_main_option("sqlalchemy.url"), target_metadata=target_metadata)
    with context.begin_transaction():
        context.run_migrations()
else:
    run_migrations_online()
