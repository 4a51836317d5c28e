"""``python -m odyssey_workers.cli`` runs the command."""

from odyssey_workers.console import run

run()
