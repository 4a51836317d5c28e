"""``odyssey-workers db upgrade`` and ``db current``: the database schema."""

from __future__ import annotations

import click

from odyssey_workers.cli import main
from odyssey_workers.connection import safe_url
from odyssey_workers.db.session import missing_sqlite_file
from odyssey_workers.settings import get_settings


@main.group()
def db() -> None:
    """Database schema: apply migrations, show where the database stands."""


@db.command()
def upgrade() -> None:
    """Apply every pending migration (safe to run again)."""
    from odyssey_workers.db.migrate import upgrade as apply_migrations

    url = get_settings().resolved_database_url
    revisions = apply_migrations(url)
    click.echo(f"{safe_url(url)} is at {', '.join(sorted(revisions))}")


@db.command()
def current() -> None:
    """Show the database's migrations against the ones this code needs (exit 1 if behind)."""
    from odyssey_workers.db.migrate import current_revisions, head_revisions

    url = get_settings().resolved_database_url
    missing = missing_sqlite_file(url)
    if missing is not None:
        # A read-only command: opening the file would create it (and its folders) as empty.
        raise click.ClickException(f"no database at {missing}: run 'odyssey-workers db upgrade' to create it")
    have, need = current_revisions(url), head_revisions()
    click.echo(f"database: {safe_url(url)}")
    click.echo(f"current:  {', '.join(sorted(have)) or 'none (empty database)'}")
    click.echo(f"needed:   {', '.join(sorted(need))}")
    if have != need:
        raise click.ClickException("the database is not up to date: run 'odyssey-workers db upgrade'")
    click.echo("up to date")
