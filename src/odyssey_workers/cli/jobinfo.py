"""Small readers shared by the commands that show jobs: name, progress, failure reason."""

from __future__ import annotations

import json
from typing import Any

from rq.exceptions import DeserializationError
from rq.job import Job

from odyssey_workers.catalog import get_catalog
from odyssey_workers.progress import read_progress


def job_name(job: Job) -> str:
    """The catalog name of the job, else its function path (as a producer wrote it)."""
    try:
        function = job.func_name or ""
    except DeserializationError:  # an undecodable job still gets a row
        return "(unreadable)"
    spec = get_catalog().by_function(function)
    return spec.name if spec else function


def progress_text(job: Job) -> str:
    """``45%`` plus speed and time left when the job reported them; empty when it did not."""
    progress = read_progress(job.meta or {})
    if not progress or "percent" not in progress:
        return ""
    text = f"{progress['percent']}%"
    if progress.get("speed") is not None:
        text += f" {progress['speed']}x"
    if progress.get("eta_seconds") is not None:
        text += f" ({progress['eta_seconds']:.0f}s left)"
    return text


def to_json(value: Any) -> str:
    """A result as JSON, falling back to str() for values JSON cannot hold."""
    return json.dumps(value, default=str, sort_keys=True)
