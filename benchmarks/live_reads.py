"""How long the platform waits for a live figure: ``live_figures`` and ``top_content`` against a
real redis-server on loopback (started here, in a temporary folder, no persistence).

Not a ``bench_*`` module (there is no baseline to compare with): it prints the median and the
99th percentile of many calls, for the README. Run: ``.venv/bin/python benchmarks/live_reads.py``.
"""

from __future__ import annotations

import socket
import statistics
import subprocess
import sys
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from redis import Redis  # noqa: E402
from redis.exceptions import ConnectionError as RedisConnectionError  # noqa: E402

from jobs.analytics.live import live_figures, top_content  # noqa: E402
from jobs.analytics.live_counting import NewView, write_counts  # noqa: E402

MINUTES = 15
VIEWERS_PER_MINUTE = 1000  # of the content measured
OTHER_CONTENT = 5000  # content with a view in every minute, for the top list's union
CALLS = 5000


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def fill(connection: Redis, now: datetime) -> None:
    for back in range(MINUTES):
        at = now - timedelta(minutes=back)
        views = [NewView(42, 3, f"u:{back * 100 + viewer}", at) for viewer in range(VIEWERS_PER_MINUTE)]
        views += [NewView(1000 + other, 5, f"u:{other}", at) for other in range(OTHER_CONTENT)]
        write_counts(connection, views, now, retention_minutes=60)


def percentiles(call: object, calls: int) -> tuple[float, float]:
    assert callable(call)
    spent = []
    for _ in range(calls):
        started = time.perf_counter()
        call()
        spent.append((time.perf_counter() - started) * 1e6)
    spent.sort()
    return statistics.median(spent), spent[int(len(spent) * 0.99)]


def main() -> None:
    port = free_port()
    with tempfile.TemporaryDirectory() as folder:
        server = subprocess.Popen(
            ["redis-server", "--port", str(port), "--bind", "127.0.0.1", "--save", "", "--dir", folder],
            stdout=subprocess.DEVNULL,
        )
        try:
            connection = Redis(port=port)
            for _ in range(100):
                try:
                    connection.ping()
                    break
                except RedisConnectionError:
                    time.sleep(0.05)
            now = datetime.now(UTC)
            fill(connection, now)
            one = live_figures(connection, "content", 42, minutes=MINUTES, now=now)
            print(f"content 42 over {MINUTES} minutes: {one}")
            median, p99 = percentiles(lambda: live_figures(connection, "content", 42, MINUTES, now), CALLS)
            print(f"live_figures, one content, {MINUTES} minutes: median {median:.0f} us, p99 {p99:.0f} us")
            median, p99 = percentiles(lambda: top_content(connection, MINUTES, 10, now), CALLS // 10)
            print(
                f"top_content, top 10 of {OTHER_CONTENT + 1:,} content, {MINUTES} minutes: "
                f"median {median:.0f} us, p99 {p99:.0f} us"
            )
        finally:
            server.terminate()
            server.wait()


if __name__ == "__main__":
    main()
