"""``odyssey-workers social ...``: the social domain's commands.

Each part of the domain adds its commands to the ``social`` group from its own module, imported
at the end of this one.
"""

from __future__ import annotations

from odyssey_workers.cli import main


@main.group()
def social() -> None:
    """Social: feeds, trending, recommendations and search."""
