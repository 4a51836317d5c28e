"""Catalog entry used only by the kill -9 recovery benchmark (loaded through ODYSSEY_EXTRA_CONTRACTS)."""

from __future__ import annotations

from benchmarks.runtime_contracts import SleepPayload
from odyssey_workers.catalog import declare
from odyssey_workers.retry import RetryPolicy

declare(
    "bench.sleep_retried",
    function="benchmarks.recovery_jobs.sleep_retried",
    payload=SleepPayload,
    priority=5,
    timeout=60,
    retry=RetryPolicy(attempts=2, base_seconds=0, factor=1),
    description="Benchmark: a job of a known length with one retry, for kill -9 recovery.",
)
