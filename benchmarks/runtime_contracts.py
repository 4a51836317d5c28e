"""Catalog entries used only by the runtime benchmark (loaded through ODYSSEY_EXTRA_CONTRACTS)."""

from __future__ import annotations

from pydantic import Field

from odyssey_workers.catalog import Payload, declare
from odyssey_workers.retry import NO_RETRY


class NoPayload(Payload):
    pass


class SleepPayload(Payload):
    seconds: float = Field(ge=0, le=60)


declare(
    "bench.noop",
    function="benchmarks.runtime_jobs.catalog_noop",
    payload=NoPayload,
    priority=5,
    timeout=60,
    retry=NO_RETRY,
    description="Benchmark: does nothing (runtime overhead per job).",
)
declare(
    "bench.media_light",
    function="benchmarks.runtime_media_job.media_light",
    payload=NoPayload,
    priority=5,
    timeout=60,
    retry=NO_RETRY,
    description="Benchmark: light job in a module that imports Pillow and the media ffmpeg tools.",
)
declare(
    "bench.sleep_low",
    function="benchmarks.runtime_jobs.sleep_low",
    payload=SleepPayload,
    priority=2,
    timeout=60,
    retry=NO_RETRY,
    description="Benchmark: backlog job of a known length on the low queue.",
)
declare(
    "bench.stamp_high",
    function="benchmarks.runtime_jobs.stamp_high",
    payload=NoPayload,
    priority=9,
    timeout=60,
    retry=NO_RETRY,
    description="Benchmark: records when it started, on the high queue.",
)
