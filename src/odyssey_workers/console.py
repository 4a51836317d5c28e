"""The console script: the command, with a configuration error found while loading it said in
one line (a domain named in ``ODYSSEY_EXTRA_DOMAINS`` that cannot be imported is found as the
commands load, before click can report it)."""

from __future__ import annotations

import sys

from odyssey_workers.errors import ConfigurationError


def run() -> None:
    try:
        from odyssey_workers.cli import main
    except ConfigurationError as exc:
        print(f"Error: {exc}", file=sys.stderr)
        sys.exit(1)
    main()
