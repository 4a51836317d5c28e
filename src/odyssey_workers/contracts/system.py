"""The runtime's own jobs: a round trip for health checks and a media-stack check for workers."""

from __future__ import annotations

from pydantic import Field

from odyssey_workers.catalog import Payload, declare
from odyssey_workers.retry import NO_RETRY


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
