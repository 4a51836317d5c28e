"""Job bodies for the runtime benchmark: as light as a job can be, so the runtime is what is timed.

This module imports nothing heavy: bare RQ's work horse imports it for every job.
"""

from __future__ import annotations

import os
import time


def noop() -> None:
    """Nothing at all: the bare-RQ and catalog no-op benchmarks both run this function."""


def catalog_noop() -> None:
    """The same nothing, under its own path (one function may be only one catalog job)."""


def sleep_low(seconds: float) -> int:
    """A backlog job of a known length; returns the horse pid."""
    time.sleep(seconds)
    return os.getpid()


def stamp_high() -> dict[str, float | int]:
    """When (wall clock) and where the job body started: the priority benchmark's sample."""
    return {"started": time.time(), "pid": os.getpid()}
