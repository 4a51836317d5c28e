"""What every benchmark module shares: the result row, timing and peak-memory helpers.

Each ``benchmarks/bench_*.py`` module has ``run(quick: bool) -> list[Row]``: it measures the
baseline the issue names and our implementation in the same run, on the same machine and data,
and returns one row per comparison. ``benchmarks/run.py`` prints them as one table.
"""

from __future__ import annotations

import resource
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import TypeVar

T = TypeVar("T")


@dataclass
class Row:
    """One comparison. ``ratio`` is ours relative to the baseline, oriented so higher is better."""

    benchmark: str
    metric: str
    baseline: str
    baseline_value: float
    ours_value: float
    unit: str
    ratio: float
    goal: str
    met: bool
    note: str = ""


def timed(fn: Callable[[], T]) -> tuple[T, float]:
    started = time.perf_counter()
    result = fn()
    return result, time.perf_counter() - started


@contextmanager
def cpu_seconds_of_children() -> Iterator[list[float]]:
    """CPU seconds (user + system) used by child processes inside the block."""
    out: list[float] = []
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    yield out
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    out.append((after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime))


def peak_rss_mb() -> float:
    """This process's peak resident memory since it started its program, in MiB.

    Read from ``/proc/self/status`` (VmHWM): ``getrusage``'s ``ru_maxrss`` carries the parent's
    peak across fork and exec on Linux, so a fresh child would report the benchmark's own peak.
    """
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) / 1024
    raise RuntimeError("no VmHWM in /proc/self/status: peak memory is measured on Linux only")
