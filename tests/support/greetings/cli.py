"""``odyssey-workers greetings``: list the greetings written so far, newest first."""

from __future__ import annotations

import click
from sqlalchemy import select

from odyssey_workers.cli import main
from odyssey_workers.db.session import session_scope
from tests.support.greetings.models import Greeting


@main.command()
@click.option("--limit", type=click.IntRange(1, 1000), default=20, show_default=True)
def greetings(limit: int) -> None:
    """Greetings written by greetings.greet (sample domain), newest first."""
    with session_scope() as session:
        rows = session.scalars(select(Greeting).order_by(Greeting.id.desc()).limit(limit)).all()
        for row in rows:
            click.echo(f"{row.id}\t{row.text}")
