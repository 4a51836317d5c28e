"""The scheduler's own jobs: the firing of a cron entry, and the weekly system maintenance."""

from __future__ import annotations

from typing import Any

from pydantic import AwareDatetime, Field

from odyssey_workers.catalog import Payload, declare
from odyssey_workers.retry import RetryPolicy


class FirePayload(Payload):
    """One firing of a ``schedules.yaml`` entry: everything needed, so no worker reads the file."""

    entry: str = Field(min_length=1, max_length=80, pattern=r"^[a-z][a-z0-9_]*(\.[a-z][a-z0-9_]*)+$")
    cron: str = Field(min_length=1, max_length=200)
    job: str = Field(min_length=1, max_length=200)
    args: dict[str, Any] = Field(default_factory=dict)
    scheduled_for: AwareDatetime | None = None  # the cron tick; None means "the period of now"


class MaintenancePayload(Payload):
    retention_days: int | None = Field(default=None, ge=1, le=3650)  # default: SCHEDULE_RUNS_RETENTION_DAYS


declare(
    "schedules.fire",
    function="jobs.system.schedules.fire",
    payload=FirePayload,
    priority=9,
    timeout=60,
    # Claiming a period is cheap and must not be lost to a passing database or Redis fault.
    retry=RetryPolicy(attempts=5, base_seconds=2, factor=4, cap_seconds=300),
    description="Claims one period of a schedules.yaml entry (once per period) and enqueues its catalog job.",
)
declare(
    "system.maintenance",
    function="jobs.system.maintenance.run_maintenance",
    payload=MaintenancePayload,
    priority=3,
    timeout=600,
    description="Cleans RQ's job registries and rate-limit slots on every queue and prunes old schedule runs.",
)
