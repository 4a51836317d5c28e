"""One benchmark worker process: ``python -m benchmarks.runtime_worker KIND QUEUE... [--burst]``.

KIND is ``bare`` (rq.Worker, RQ's default serializer and job class), ``stock`` (rq.Worker with
our JSON job class and nothing preloaded: what a stock ``rq worker`` does with the project's
environment) or ``ours`` (OdysseyWorker). It prints one JSON line: how long building the worker
and working the queues took, and its pid (the parent of every work horse).
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import sys
import time
from typing import Any

from redis import Redis
from rq import Queue, Worker
from rq.serializers import JSONSerializer

LOG_LEVEL = "WARNING"
"""Both sides log the same (little), so the terminal is not what is measured."""


def build(kind: str, queues: list[str], connection: Redis) -> Worker:
    if kind == "bare":
        return Worker([Queue(q, connection=connection) for q in queues], connection=connection)
    if kind == "stock":
        from odyssey_workers.jobclass import CatalogJob

        json_queues = [Queue(q, connection=connection, serializer=JSONSerializer, job_class=CatalogJob) for q in queues]
        return Worker(json_queues, connection=connection, serializer=JSONSerializer, job_class=CatalogJob)
    from odyssey_workers.worker import OdysseyWorker

    return OdysseyWorker(queues, connection=connection)


def cpu_seconds() -> float:
    """CPU time of this worker and its finished work horses (less noisy than wall time on a
    shared machine, though it misses Redis's own share)."""
    own, horses = resource.getrusage(resource.RUSAGE_SELF), resource.getrusage(resource.RUSAGE_CHILDREN)
    return own.ru_utime + own.ru_stime + horses.ru_utime + horses.ru_stime


def watch_for_empty_queues(worker: Worker) -> list[float]:
    """Record when a burst worker's dequeue first comes back empty (on this instance only)."""
    drained: list[float] = []
    dequeue = worker.dequeue_job_and_maintain_ttl

    def timed_dequeue(*args: Any, **kwargs: Any) -> Any:
        result = dequeue(*args, **kwargs)
        if result is None and not drained:
            drained.append(time.perf_counter())
        return result

    worker.dequeue_job_and_maintain_ttl = timed_dequeue  # type: ignore[method-assign]
    return drained


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("kind", choices=["bare", "stock", "ours"])
    parser.add_argument("queues", nargs="+")
    parser.add_argument("--burst", action="store_true")
    args = parser.parse_args()
    if args.kind == "ours":
        # As ``odyssey-workers worker`` connects (REDIS_URL, timeouts, no CLIENT SETINFO).
        from odyssey_workers.connection import get_redis

        connection = get_redis()
    else:
        connection = Redis.from_url(os.environ["REDIS_URL"])
    started = time.perf_counter()
    worker = build(args.kind, args.queues, connection)
    built = time.perf_counter()
    drained = watch_for_empty_queues(worker)
    cpu_before = cpu_seconds()
    worker.work(burst=args.burst, logging_level=LOG_LEVEL)
    cpu = cpu_seconds() - cpu_before
    done = time.perf_counter()
    # Work ends when the queues were found empty: RQ's teardown after that (joining its pub/sub
    # thread can take up to a second, at random) is shutdown, not throughput.
    work = (drained[0] if drained else done) - built
    print(json.dumps({"construct": built - started, "work": work, "cpu": cpu, "pid": os.getpid()}), flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
