"""The runtime against bare RQ, all on one fresh redis-server in one run (``run.py runtime``).

1. No-op jobs end to end (enqueue N one by one, then a burst worker works them): our
   ``enqueue`` + ``OdysseyWorker`` against bare ``Queue.enqueue`` + ``rq.Worker``.
2. A light job whose module imports Pillow and the media ffmpeg tools: stock ``rq worker`` (the
   horse imports the module for every job) against ours (imported once in the parent, before
   forking).
3. ``enqueue_many`` against one-by-one ``enqueue`` of the same jobs.
4. The p99 wait of a ``high`` job enqueued behind 10,000 ``low`` jobs, two workers busy.

Workers run as separate processes (``benchmarks/runtime_worker.py``), so neither side inherits
the other's imports. ``BENCH_REDIS_URL`` points the run at an existing Redis instead (it is
flushed: never point it at a Redis holding data).
"""

from __future__ import annotations

import importlib
import os
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from redis import Redis

from benchmarks.common import Row
from benchmarks.runtime_cases import bulk_enqueue, media_preload, noop_throughput, priority_wait

EXTRA_CONTRACTS = "benchmarks.runtime_contracts"


@contextmanager
def bench_environment() -> Iterator[Redis]:
    """A Redis for the whole run and the service's environment pointing at it, restored after."""
    from tests.support.servers import RedisServer

    server = None
    url = os.environ.get("BENCH_REDIS_URL")
    if not url:
        server = RedisServer().start()
        url = server.url
    saved = dict(os.environ)
    contracts = [m for m in os.environ.get("ODYSSEY_EXTRA_CONTRACTS", "").split(",") if m]
    if EXTRA_CONTRACTS not in contracts:
        contracts.append(EXTRA_CONTRACTS)
    # Worker subprocesses import the benchmark's job modules from the repository root.
    python_path = [str(Path(__file__).resolve().parents[1]), *filter(None, [os.environ.get("PYTHONPATH")])]
    os.environ.update(
        {
            "REDIS_URL": url,
            "VAR_DIR": tempfile.mkdtemp(prefix="odyssey-bench-"),
            "ODYSSEY_EXTRA_CONTRACTS": ",".join(contracts),
            "PYTHONPATH": os.pathsep.join(python_path),
        }
    )
    from odyssey_workers.catalog import get_catalog
    from odyssey_workers.settings import get_settings

    get_settings.cache_clear()
    if "bench.noop" not in get_catalog():  # contracts were imported before the variable was set
        importlib.import_module(EXTRA_CONTRACTS)
    connection = Redis.from_url(url)
    try:
        yield connection
    finally:
        connection.flushdb()
        connection.close()
        os.environ.clear()
        os.environ.update(saved)
        get_settings.cache_clear()
        if server:
            server.stop()


def run(quick: bool) -> list[Row]:
    with bench_environment() as connection:
        return [
            *noop_throughput(connection, quick),
            *media_preload(connection, quick),
            *bulk_enqueue(connection, quick),
            *priority_wait(connection, quick),
        ]
