"""Payload models and catalog declarations, one module per domain.

Importing this package declares every job. It imports pydantic models only, never job code, so
producers can validate and enqueue without Pillow, ffmpeg or provider clients. Extra contract
modules (a plug-in, or the test suite's own jobs) are named in ``ODYSSEY_EXTRA_CONTRACTS``.
"""

import importlib
import os

# Each import declares that domain's jobs on the catalog.
from odyssey_workers.contracts import (  # noqa: F401
    content,
    media,
    notifications,
    payments,
    schedules,
    system,
)

for _module in filter(None, (m.strip() for m in os.environ.get("ODYSSEY_EXTRA_CONTRACTS", "").split(","))):
    importlib.import_module(_module)
