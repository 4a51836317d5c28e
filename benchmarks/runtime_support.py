"""Worker subprocesses and job bookkeeping shared by the runtime benchmark cases."""

from __future__ import annotations

import json
import math
import os
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

from redis import Redis
from rq import Queue
from rq.registry import FailedJobRegistry, FinishedJobRegistry
from rq.serializers import JSONSerializer

REPO = Path(__file__).resolve().parents[1]


@dataclass
class WorkerRun:
    construct: float  # seconds to build the worker (ours: includes preloading job modules)
    work: float  # seconds inside work(burst=True), until the queues were empty
    cpu: float  # CPU seconds of the worker and its work horses during work()
    pid: int  # the worker process, parent of every work horse


def worker_process(
    kind: str, queues: list[str], burst: bool, env: dict[str, str] | None = None
) -> subprocess.Popen[str]:
    command = [sys.executable, "-m", "benchmarks.runtime_worker", kind, *queues]
    if burst:
        command.append("--burst")
    return subprocess.Popen(
        command,
        cwd=REPO,
        env={**os.environ, **(env or {})},
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )


def burst_worker(kind: str, queues: list[str], env: dict[str, str] | None = None) -> WorkerRun:
    """Run one burst worker to the end and read what it measured."""
    process = worker_process(kind, queues, burst=True, env=env)
    out, err = process.communicate(timeout=600)
    if process.returncode != 0 or not out.strip():
        raise RuntimeError(f"{kind} worker failed ({process.returncode}): {err[-2000:]}")
    data = json.loads(out.strip().splitlines()[-1])
    return WorkerRun(construct=data["construct"], work=data["work"], cpu=data["cpu"], pid=data["pid"])


def json_queue(name: str, connection: Redis) -> Queue:
    return Queue(name, connection=connection, serializer=JSONSerializer)


def assert_all_finished(connection: Redis, queue: Queue, expected: int) -> None:
    """A benchmark only counts when every job really ran and none failed."""
    finished = FinishedJobRegistry(queue=queue).count
    failed = FailedJobRegistry(queue=queue).count
    if finished != expected or failed or queue.count:
        raise RuntimeError(
            f"queue {queue.name}: {finished} finished, {failed} failed, {queue.count} left; expected {expected}"
        )


def percentile(values: list[float], fraction: float) -> float:
    """The value below which ``fraction`` of ``values`` lie (nearest rank)."""
    ordered = sorted(values)
    rank = max(1, math.ceil(fraction * len(ordered)))
    return ordered[rank - 1]
