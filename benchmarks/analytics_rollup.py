"""The analytics benchmark's rollup half, on PostgreSQL: the daily rebuild over a large raw table
against DuckDB, and the hourly run of one new hour over a large table against a small one.

Ours runs in a fresh process (``ROLLUP_CHILD``), which also reports its peak memory; DuckDB runs
in this one, on the rows exported from the same table and loaded before its clock starts.
"""

from __future__ import annotations

import json
import math
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from benchmarks.analytics_sql import COUNTED, DUCKDB_TABLES, duckdb_rebuild, export_csv, generate, load_duckdb

ROOT = Path(__file__).resolve().parents[1]
SPAN = timedelta(days=30)

ROLLUP_CHILD = """
import json, os, sys, time
sys.path.insert(0, sys.argv[1])
from benchmarks.common import peak_rss_mb as peak_mb
from jobs.analytics.models import RollupGrain
from jobs.analytics.rollups import rebuild_rollup, run_rollup
from jobs.analytics.settings import analytics_settings
from odyssey_workers.db.session import session_scope
step = rebuild_rollup if sys.argv[2] == "rebuild" else run_rollup
started = time.perf_counter()
with session_scope() as session:
    run = step(session, RollupGrain(sys.argv[3]), analytics_settings())
seconds = time.perf_counter() - started
rss = peak_mb()
print(json.dumps({"seconds": seconds, "rss_mb": rss, "events_read": run.events_read, "buckets": len(run.buckets)}))
"""


@dataclass
class ChildRun:
    seconds: float
    rss_mb: float
    events_read: int
    buckets: int


def run_child(url: str, step: str, grain: str) -> ChildRun:
    """One rollup run (``rebuild`` or ``incremental``) of ``grain`` in a fresh process on ``url``."""
    import os

    env = {**os.environ, "DATABASE_URL": url}
    done = subprocess.run(
        [sys.executable, "-c", ROLLUP_CHILD, str(ROOT), step, grain],
        env=env,
        check=True,
        capture_output=True,
        text=True,
    )
    return ChildRun(**json.loads(done.stdout.strip().splitlines()[-1]))


def base_hour() -> datetime:
    """Where the generated month ends and the new hour starts: two hours ago, on the hour."""
    return datetime.now(UTC).replace(minute=0, second=0, microsecond=0) - timedelta(hours=2)


def psycopg_url(url: str) -> str:
    return url.replace("postgresql+psycopg://", "postgresql://")


def make_month(url: str, count: int) -> None:
    """``count`` raw events over the 30 days before ``base_hour()``, generated in SQL."""
    import psycopg

    with psycopg.connect(psycopg_url(url), autocommit=True) as connection:
        generate(connection, count, base_hour() - SPAN, SPAN - timedelta(minutes=2), prefix="m")


def add_hour(url: str, count: int) -> None:
    """``count`` raw events in the hour after the month: what one hourly run finds new."""
    import psycopg

    with psycopg.connect(psycopg_url(url), autocommit=True) as connection:
        generate(connection, count, base_hour(), timedelta(minutes=58), prefix="h")


def caught_up(url: str) -> None:
    """The hourly watermark at the newest event, as after the month's hourly runs."""
    import psycopg

    with psycopg.connect(psycopg_url(url), autocommit=True) as connection:
        connection.execute(
            "INSERT INTO analytics_rollup_watermarks (grain, last_event_id, updated_at) "
            "SELECT 'hour', max(id), now() FROM analytics_events "
            "ON CONFLICT (grain) DO UPDATE SET last_event_id = excluded.last_event_id"
        )


def watermark_back(url: str, to_id: int) -> None:
    import psycopg

    with psycopg.connect(psycopg_url(url), autocommit=True) as connection:
        connection.execute("UPDATE analytics_rollup_watermarks SET last_event_id = %s WHERE grain = 'hour'", [to_id])


def newest_id(url: str) -> int:
    import psycopg

    with psycopg.connect(psycopg_url(url)) as connection:
        row = connection.execute("SELECT max(id) FROM analytics_events").fetchone()
        return int(row[0]) if row and row[0] is not None else 0


@dataclass
class DuckRun:
    seconds: float
    export_seconds: float
    duck: Any


def duckdb_run(url: str) -> DuckRun:
    """The same rows in DuckDB (export and load untimed), then its daily rebuild, timed."""
    import duckdb
    import psycopg

    with tempfile.TemporaryDirectory(prefix="bench-duckdb-") as tmp:
        csv = Path(tmp) / "events.csv"
        started = time.perf_counter()
        with psycopg.connect(psycopg_url(url)) as connection:
            export_csv(connection, csv)
        duck = duckdb.connect()
        load_duckdb(duck, csv)
        export_seconds = time.perf_counter() - started
    started = time.perf_counter()
    duckdb_rebuild(duck)
    return DuckRun(time.perf_counter() - started, export_seconds, duck)


NUMBERS = [*COUNTED, "unique_viewers", "watch_seconds"]


def ours_daily(url: str, table: str, key: str | None, buckets: int) -> dict[tuple[Any, ...], tuple[Any, ...]]:
    """Some of our daily rows: the first ``buckets`` days, every key, as (day, key) -> numbers."""
    import psycopg

    key_column = key or "0"
    sql = (
        f"SELECT (bucket_start AT TIME ZONE 'UTC'), {key_column}, {', '.join(NUMBERS)} "
        f"FROM analytics_{table}_rollups WHERE grain = 'day' "
        f"AND bucket_start IN (SELECT DISTINCT bucket_start FROM analytics_{table}_rollups "
        f"WHERE grain = 'day' ORDER BY bucket_start LIMIT {buckets})"
    )
    with psycopg.connect(psycopg_url(url)) as connection:
        return {(row[0], row[1]): tuple(row[2:]) for row in connection.execute(sql)}  # type: ignore[arg-type]


def mismatches(url: str, duck: Any, buckets: int = 3) -> list[str]:
    """Where our daily rows and DuckDB's differ over the first ``buckets`` days (empty: none)."""
    found = []
    for table, key in DUCKDB_TABLES.items():
        ours = ours_daily(url, table, key, buckets)
        days = sorted({day for day, _key in ours})
        key_column = key or "0"
        theirs = {
            (row[0], row[1]): tuple(row[2:])
            for row in duck.execute(
                f"SELECT bucket, {key_column}, {', '.join(NUMBERS)} FROM daily_{table} WHERE bucket = ANY(?)",
                [days],
            ).fetchall()
        }
        if ours.keys() != theirs.keys():
            found.append(f"{table}: {len(ours.keys() ^ theirs.keys())} keys in one and not the other")
        for at in sorted(ours.keys() & theirs.keys()):
            *counts, watch = ours[at]
            *duck_counts, duck_watch = theirs[at]
            if counts != duck_counts or not math.isclose(watch, duck_watch, rel_tol=1e-9):
                found.append(f"{table} {at}: ours {ours[at]}, DuckDB {theirs[at]}")
        if not ours:
            found.append(f"{table}: no rows to compare")
    return found
