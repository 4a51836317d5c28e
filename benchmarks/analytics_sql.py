"""The analytics benchmark's SQL: raw events generated inside PostgreSQL, their export for DuckDB,
and DuckDB's form of the daily rollup (the same columns and semantics as ``jobs.analytics.rollups``).

Generation is one ``INSERT ... SELECT`` over ``generate_series``: the event mix of
``analytics_events.TYPE_MIX``, content popularity skewed (a few content get most views), 20% of
events by anonymous visitors, a handful of sessions per user, ``occurred_at`` spread evenly over
the span in id order (as a live intake stores them) with a minute of jitter.
"""

from __future__ import annotations

import itertools
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

from benchmarks.analytics_events import (
    ANONYMOUS_SHARE,
    CONTENT,
    CONTENT_TYPES,
    CREATOR_TYPES,
    CREATORS,
    TYPE_MIX,
    USERS,
)


def _type_case() -> str:
    bounds = itertools.accumulate(TYPE_MIX.values())
    arms = [f"WHEN a < {bound / 100:.2f} THEN '{kind}'" for kind, bound in zip(TYPE_MIX, bounds, strict=True)]
    return "CASE " + " ".join(arms[:-1]) + f" ELSE '{list(TYPE_MIX)[-1]}' END"


def _names(kinds: set[str]) -> str:
    return ", ".join(f"'{kind}'" for kind in sorted(kinds))


GENERATE = f"""
INSERT INTO analytics_events (event_id, type, user_id, anonymous_id, content_id, creator_id, occurred_at,
                              session_id, country, device, properties, received_at)
SELECT %(prefix)s || g, kind,
       CASE WHEN anon THEN NULL ELSE person END,
       CASE WHEN anon THEN 'anon' || person END,
       CASE WHEN kind IN ({_names(CONTENT_TYPES)}) THEN content END,
       CASE WHEN kind IN ({_names(CONTENT_TYPES)}) THEN content %% {CREATORS} + 1
            WHEN kind IN ({_names(CREATOR_TYPES)}) THEN 1 + floor(e * {CREATORS})::int END,
       at, 's' || person || '-' || floor(e * 5)::int,
       (ARRAY['US', 'DE', 'BR', 'IN', 'GB', 'FR'])[1 + floor(d * 6)::int],
       (ARRAY['ios', 'android', 'web'])[1 + floor(e * 3)::int],
       CASE kind WHEN 'view_progress' THEN json_build_object('seconds_watched', floor(d * 1800)::int)
                 WHEN 'search' THEN json_build_object('query', 'q' || floor(e * 5000)::int)
                 WHEN 'purchase' THEN json_build_object('amount', 499, 'currency', 'USD')
                 ELSE '{{}}'::json END,
       at + interval '2 seconds'
FROM (
    SELECT g, {_type_case()} AS kind, 1 + floor(b ^ 3 * {CONTENT})::int AS content,
           1 + floor(c * {USERS})::int AS person, d < {ANONYMOUS_SHARE} AS anon, d, e,
           %(start)s + (g - 1) * (%(span)s / %(count)s) + random() * interval '1 minute' AS at
    FROM (SELECT g, random() AS a, random() AS b, random() AS c, random() AS d, random() AS e
          FROM generate_series(1, %(count)s) AS g) AS draws
) AS events
"""
"""Parameters: prefix (of the event ids, unique per call), count, start (aware), span (interval).
The jitter may carry the last events a minute past start + span."""


def generate(connection: Any, count: int, start: datetime, span: timedelta, prefix: str) -> None:
    """``count`` raw events from ``start`` over ``span``, in one statement, then ANALYZE. The
    months they fall in get their partitions first, as the drain makes them."""
    from jobs.analytics.partitions import create_partition_ddl, months_between

    for month in months_between(start, start + span + timedelta(minutes=1)):
        connection.execute(create_partition_ddl(month))
    connection.execute(GENERATE, {"prefix": prefix, "count": count, "start": start, "span": span})
    connection.execute("ANALYZE analytics_events")


EXPORT = """COPY (SELECT type, user_id, anonymous_id, content_id, creator_id, occurred_at AT TIME ZONE 'UTC',
                         session_id, properties FROM analytics_events ORDER BY id) TO STDOUT WITH (FORMAT csv)"""

DUCKDB_COLUMNS = {
    "type": "VARCHAR",
    "user_id": "BIGINT",
    "anonymous_id": "VARCHAR",
    "content_id": "BIGINT",
    "creator_id": "BIGINT",
    "occurred_at": "TIMESTAMP",
    "session_id": "VARCHAR",
    "properties": "VARCHAR",
}


def export_csv(connection: Any, path: Path) -> None:
    """The raw events as CSV (the rollup's columns, times in UTC), streamed to ``path``."""
    with path.open("wb") as out, connection.cursor().copy(EXPORT) as copy:
        for chunk in copy:
            out.write(chunk)


def load_duckdb(duck: Any, path: Path) -> None:
    columns = ", ".join(f"'{name}': '{kind}'" for name, kind in DUCKDB_COLUMNS.items())
    duck.execute(f"CREATE TABLE events AS SELECT * FROM read_csv('{path}', header = false, columns = {{{columns}}})")


COUNTED = {
    "views": "view_start",
    "view_ends": "view_end",
    "likes": "like",
    "comments": "comment",
    "shares": "share",
    "follows": "follow",
    "unfollows": "unfollow",
    "subscribes": "subscribe",
    "purchases": "purchase",
    "sessions": "session_start",
}
"""The rollup's counted columns (``rollups.COUNTED_TYPES``, as text)."""


def duckdb_daily(key: str | None) -> str:
    """DuckDB's daily rollup for one table (key ``content_id``, ``creator_id`` or None: platform):
    per key and day the counts, the distinct viewers of view_start events, and the watch time (per
    viewer, session and content the highest seconds_watched, summed), as ``rollups._aggregate``."""
    keys = [] if key is None else [key]
    keyed = "" if key is None else f"AND {key} IS NOT NULL"
    group = ", ".join(["bucket", *keys])
    creator = "max(creator_id) AS creator_id," if key == "content_id" else ""
    counts = ", ".join(f"count(*) FILTER (WHERE type = '{kind}') AS {name}" for name, kind in COUNTED.items())
    join = " AND ".join(f"c.{name} = w.{name}" for name in ["bucket", *keys])
    return f"""
WITH ev AS (
    SELECT *, date_trunc('day', occurred_at) AS bucket,
           coalesce('u:' || CAST(user_id AS VARCHAR), 'a:' || anonymous_id) AS viewer
    FROM events WHERE true {keyed}
), counted AS (
    SELECT {group}, {creator} {counts},
           count(DISTINCT CASE WHEN type = 'view_start' THEN viewer END) AS unique_viewers
    FROM ev GROUP BY {group}
), per_view AS (
    SELECT {group}, max(CAST(json_extract_string(properties, '$.seconds_watched') AS DOUBLE)) AS seconds
    FROM ev WHERE type = 'view_progress' GROUP BY {group}, viewer, session_id, content_id
), watched AS (
    SELECT {group}, sum(seconds) AS watch_seconds FROM per_view GROUP BY {group}
)
SELECT c.*, coalesce(w.watch_seconds, 0.0) AS watch_seconds
FROM counted c LEFT JOIN watched w ON {join}
"""


DUCKDB_TABLES = {"content": "content_id", "creator": "creator_id", "platform": None}


def duckdb_rebuild(duck: Any) -> None:
    """The three daily tables, materialized (as ours writes its rows)."""
    for table, key in DUCKDB_TABLES.items():
        duck.execute(f"CREATE OR REPLACE TABLE daily_{table} AS {duckdb_daily(key)}")
