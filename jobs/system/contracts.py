"""The system domain's jobs: health round trips, a media-stack check, the firing of a cron entry
and the weekly system maintenance."""

from __future__ import annotations

from typing import Any

from pydantic import AwareDatetime, Field

from odyssey_workers.catalog import Payload, declare
from odyssey_workers.retry import NO_RETRY, RetryPolicy


class PingPayload(Payload):
    message: str = Field(default="ping", max_length=200)


class SleepPayload(Payload):
    seconds: float = Field(ge=0, le=3600)
    steps: int = Field(default=1, ge=1, le=1000)


class MediaCheckPayload(Payload):
    pass


declare(
    "system.ping",
    function="jobs.system.health.ping",
    payload=PingPayload,
    priority=9,
    timeout=30,
    retry=NO_RETRY,
    description="Round trip through Redis and a worker; answers with the worker's host and time.",
)
declare(
    "system.sleep",
    function="jobs.system.health.sleep",
    payload=SleepPayload,
    priority=5,
    timeout=3700,
    retry=NO_RETRY,
    description="Waits the given seconds, reporting progress in steps (load tests and drills).",
)
declare(
    "system.media_check",
    function="jobs.system.media.media_check",
    payload=MediaCheckPayload,
    priority=3,
    timeout=60,
    retry=NO_RETRY,
    description="Reports the worker's Pillow codecs and ffmpeg version (what media jobs will find).",
)


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
