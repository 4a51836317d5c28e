"""Analytics at scale, in one run, on a real redis-server, SQLite and PostgreSQL:

1. intake: ``track_many`` of N events through ``analytics.drain_events`` into ``analytics_events``,
   end to end, against the naive form (one RQ job per event, one INSERT each, timed on a smaller
   N). Goal: at least 20x the naive rate, and at least 20,000 events/s on SQLite.
2. rollup rebuild: the daily rollups rebuilt from 10 million raw events in PostgreSQL (generated
   there in SQL) by the project's rollup code, against DuckDB running the same aggregation over
   the same rows (exported to Parquet and loaded before its clock starts). Goal: ours within 5x
   DuckDB's time. A few buckets are compared value for value first.
3. incremental hour: the hourly rollup of one new hour appended to a 10-million-event table,
   against the same hour appended to a 100,000-event table. Goal: at most 2x.
4. peak memory: the drain at N and 10N events, each in a fresh process. Goal: flat.

``--quick`` uses 200,000 rows for the large tables and smaller backlogs. The load average is in
each row's note: the machine may be shared.
"""

from __future__ import annotations

import os
import sys
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from benchmarks.analytics_intake import drain_peak_rss_mb, intake_database, naive_seconds, ours_seconds
from benchmarks.analytics_rollup import (
    ChildRun,
    add_hour,
    caught_up,
    duckdb_run,
    make_month,
    mismatches,
    newest_id,
    run_child,
    watermark_back,
)
from benchmarks.common import Row, timed

FLAT_MEMORY_RATIO = 1.5
"""Peak memory counts as flat when 10x the events takes at most this much more."""


def load() -> str:
    one, five, _fifteen = os.getloadavg()
    return f"load average {one:.1f} (5 min {five:.1f}) on {os.cpu_count()} cores"


def intake_rows(backend: str, redis_url: str, postgres: Any, quick: bool) -> list[Row]:
    ours_n, naive_n = (20_000, 500) if quick else (200_000, 2_000)
    with intake_database(backend, redis_url, postgres):
        naive = naive_seconds(naive_n, offset=1)
        ours = ours_seconds(ours_n)
        note = f"{ours_n:,} events tracked and drained vs {naive_n:,} naive jobs; {load()}"
        rows = []
        naive_rate, ours_rate = naive_n / naive, ours_n / ours
        goal = ">= 20x and >= 20,000/s" if backend == "sqlite" else ">= 20x"
        met = ours_rate >= 20 * naive_rate and (backend != "sqlite" or ours_rate >= 20_000)
        rows.append(
            Row(
                f"analytics intake ({backend})",
                "events per second, end to end",
                "one RQ job + INSERT per event",
                naive_rate,
                ours_rate,
                "events/s",
                ours_rate / naive_rate,
                goal,
                met,
                note,
            )
        )
        if backend == "sqlite":
            small_n = 10_000 if quick else 50_000
            small, large = drain_peak_rss_mb(small_n), drain_peak_rss_mb(10 * small_n)
            rows.append(
                Row(
                    "analytics drain memory",
                    f"peak RSS, {small.events:,} vs {large.events:,} events",
                    f"ours at {small.events:,}",
                    small.peak_rss_mb,
                    large.peak_rss_mb,
                    "MB",
                    small.peak_rss_mb / large.peak_rss_mb,
                    f"flat (<= {FLAT_MEMORY_RATIO}x)",
                    large.peak_rss_mb <= FLAT_MEMORY_RATIO * small.peak_rss_mb,
                    f"a fresh process drains each backlog; {load()}",
                )
            )
    return rows


HOUR_EVENTS = 14_000
"""One new hour of events: 10 million over 30 days is about this many an hour."""


def rebuild_rows(big: str, small: str, big_n: int, small_n: int) -> list[Row]:
    """The daily rebuild on the large table against DuckDB, then its memory on both tables."""
    duck = duckdb_run(big)
    ours = run_child(big, "rebuild", "day")
    wrong = mismatches(big, duck.duck)
    del duck.duck  # its copy of the rows is not needed past the comparison
    checked = "; ".join(wrong[:3]) if wrong else "3 days of every table equal to DuckDB's, value for value"
    rows = [
        Row(
            "analytics daily rebuild (postgresql)",
            f"seconds for {big_n:,} raw events, 30 days",
            "DuckDB, same aggregation",
            duck.seconds,
            ours.seconds,
            "s",
            duck.seconds / ours.seconds,
            "ours <= 5x DuckDB (ratio >= 0.20x)",
            not wrong and ours.seconds <= 5 * duck.seconds,
            f"{ours.buckets} days, 3 tables; {checked}; DuckDB on {os.cpu_count()} threads, rows exported and "
            f"loaded untimed ({duck.export_seconds:.0f} s); {load()}",
        )
    ]
    small_run = run_child(small, "rebuild", "day")
    rows.append(
        Row(
            "analytics rollup memory",
            f"peak RSS of a rebuild, {small_n:,} vs {big_n:,} events",
            f"ours at {small_n:,}",
            small_run.rss_mb,
            ours.rss_mb,
            "MB",
            small_run.rss_mb / ours.rss_mb,
            f"flat (<= {FLAT_MEMORY_RATIO}x)",
            ours.rss_mb <= FLAT_MEMORY_RATIO * small_run.rss_mb,
            f"a fresh process per rebuild; {load()}",
        )
    )
    return rows


def fastest_hour(url: str, before: int, rounds: int) -> ChildRun:
    """The hourly run over the new hour, ``rounds`` times from the same watermark; the fastest."""
    runs = []
    for _ in range(rounds):
        watermark_back(url, before)
        runs.append(run_child(url, "incremental", "hour"))
    if any(run.events_read != HOUR_EVENTS or run.buckets != 1 for run in runs):
        raise RuntimeError(f"the hourly run did not read the one new hour: {runs}")
    return min(runs, key=lambda run: run.seconds)


def incremental_row(big: str, small: str, big_n: int, small_n: int) -> Row:
    before = {}
    for url in (big, small):
        caught_up(url)
        before[url] = newest_id(url)
        add_hour(url, HOUR_EVENTS)
    ours_big, ours_small = fastest_hour(big, before[big], 3), fastest_hour(small, before[small], 3)
    return Row(
        "analytics hourly rollup (postgresql)",
        f"one new hour ({HOUR_EVENTS:,} events) over {big_n:,} vs {small_n:,}",
        f"same hour over {small_n:,}",
        ours_small.seconds,
        ours_big.seconds,
        "s",
        ours_small.seconds / ours_big.seconds,
        "<= 2x (ratio >= 0.50x)",
        ours_big.seconds <= 2 * ours_small.seconds,
        f"fastest of 3 runs each, a fresh process per run; {load()}",
    )


def rollup_rows(postgres: Any, quick: bool) -> list[Row]:
    big_n, small_n = (200_000, 20_000) if quick else (10_000_000, 100_000)
    from odyssey_workers.db.migrate import upgrade

    big, small = postgres.create_database("bench_rollup_big"), postgres.create_database("bench_rollup_small")
    upgrade(big), upgrade(small)
    _, generated = timed(lambda: make_month(big, big_n))
    make_month(small, small_n)
    print(f"  generated {big_n:,} raw events in PostgreSQL in {generated:.0f} s", file=sys.stderr, flush=True)
    rows = rebuild_rows(big, small, big_n, small_n)
    rows.append(incremental_row(big, small, big_n, small_n))
    return rows


def run(quick: bool) -> list[Row]:
    from tests.support.servers import PostgresServer, RedisServer

    redis = RedisServer().start()
    postgres = PostgresServer().start()
    try:
        rows: list[Row] = []
        for backend in ("sqlite", "postgresql"):
            rows += intake_rows(backend, redis.url, postgres, quick)
        rows += rollup_rows(postgres, quick)
        return rows
    finally:
        postgres.stop()
        redis.stop()
