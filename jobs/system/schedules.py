"""The body of ``schedules.fire``: one firing of a ``schedules.yaml`` entry, once per period."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from odyssey_workers.scheduling.firing import fire_entry


def fire(
    entry: str, cron: str, job: str, args: dict[str, Any] | None = None, scheduled_for: datetime | None = None
) -> dict[str, Any]:
    """Claim the period of ``scheduled_for`` for ``entry`` and enqueue ``job`` with ``args``.

    Returns ``{"status": "fired" | "already fired", "period_key": ..., "job_id": ...}``.
    """
    return fire_entry(entry, cron, job, args, scheduled_for).as_dict()
