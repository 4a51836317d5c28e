"""``python -m odyssey_workers.cli`` runs the command."""

from odyssey_workers.cli import main

main()
