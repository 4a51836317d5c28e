"""Schema migrations through Alembic, driven from code (no alembic.ini to keep in step).

The base tables are revision ``0001``, in the runtime's ``migrations/versions``; each domain
keeps its migrations in its own folder (``jobs/<domain>/migrations/``, one Alembic version
location each) on its own branch from there (``branch_labels = ("payments",)`` and so on), so
domains never fight over one linear chain. ``upgrade`` therefore goes to *heads*, and "up to
date" means every head is applied.
"""

from __future__ import annotations

from pathlib import Path

from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory

from odyssey_workers.db.session import get_engine, normalize_database_url
from odyssey_workers.domains import migration_dirs
from odyssey_workers.errors import ConfigurationError
from odyssey_workers.settings import get_settings

MIGRATIONS_DIR = Path(__file__).parent / "migrations"


def alembic_config(url: str | None = None) -> Config:
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS_DIR))
    # One version location per domain; a newline separator, so no folder name can split one.
    locations = [MIGRATIONS_DIR / "versions", *migration_dirs()]
    config.set_main_option("path_separator", "newline")
    config.set_main_option("version_locations", "\n".join(str(path).replace("%", "%%") for path in locations))
    url = normalize_database_url(url or get_settings().resolved_database_url)
    config.set_main_option("sqlalchemy.url", url.replace("%", "%%"))
    return config


def head_revisions() -> frozenset[str]:
    """Every head of the migration tree (one per domain branch)."""
    return frozenset(ScriptDirectory.from_config(alembic_config()).get_heads())


def current_revisions(url: str | None = None) -> frozenset[str]:
    with get_engine(url).connect() as connection:
        return frozenset(MigrationContext.configure(connection).get_current_heads())


def upgrade(url: str | None = None) -> frozenset[str]:
    """Apply every pending migration; returns the revisions the database is at afterwards."""
    command.upgrade(alembic_config(url), "heads")
    return current_revisions(url)


def ensure_up_to_date(url: str | None = None) -> None:
    """Refuse to run jobs against a database behind (or ahead of) this code's migrations."""
    current, heads = current_revisions(url), head_revisions()
    if current != heads:
        have = ", ".join(sorted(current)) or "none"
        raise ConfigurationError(
            f"database is at migration {have}, this code needs {', '.join(sorted(heads))}: "
            "run 'odyssey-workers db upgrade'"
        )
