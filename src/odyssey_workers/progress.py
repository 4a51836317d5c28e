"""Progress of a running job, kept in its RQ meta under ``progress``.

``odyssey-workers status``, ``enqueue --wait`` and rq-dashboard read it from there. Writes are
throttled, so a job may call this on every frame without flooding Redis.
"""

from __future__ import annotations

import time
from typing import Any

from rq import get_current_job

MIN_INTERVAL_SECONDS = 0.5
"""Fewest seconds between two progress writes of one job (the last, 100 %, always goes out)."""

_last_write: dict[str, float] = {}


def report_progress(
    percent: float,
    *,
    speed: float | None = None,
    eta_seconds: float | None = None,
    **details: Any,
) -> bool:
    """Record ``percent`` (0-100) and optional speed, time left and details. Returns True if written.

    Outside a job (a direct call in a test or the shell) it does nothing.
    """
    job = get_current_job()
    if job is None:
        return False
    now = time.monotonic()
    percent = max(0.0, min(100.0, float(percent)))
    if percent < 100.0 and now - _last_write.get(job.id, 0.0) < MIN_INTERVAL_SECONDS:
        return False
    _last_write[job.id] = now
    progress: dict[str, Any] = {"percent": round(percent, 1), "updated_at": time.time()}
    if speed is not None:
        progress["speed"] = round(speed, 3)
    if eta_seconds is not None:
        progress["eta_seconds"] = round(max(eta_seconds, 0.0), 1)
    progress.update(details)
    job.meta["progress"] = progress
    job.save_meta()  # type: ignore[no-untyped-call]
    return True


def read_progress(meta: dict[str, Any]) -> dict[str, Any] | None:
    """The progress part of a job's meta, if the job reported any."""
    progress = meta.get("progress")
    return progress if isinstance(progress, dict) else None
