"""The drain's half of the live counters: views and viewers of the events a batch newly stored.

Counting happens in the drain, after the batch's commit, and only for the view_start events that
this batch stored, not in ``track``: a producer's event may yet be refused (a bad field, out of
its window) or be a duplicate of one stored earlier, and neither may show up as a view. The drain
learns which events are new from the database itself: a stored row's ``received_at`` is the clock
of the drain run that stored it, so the rows of the batch's ids carrying this batch's clock are
exactly the new ones (two runs would have to read their clocks in the same microsecond, and
hold the same event, to be confused). When a batch met no duplicate at all, every row it meant
to store is new, and the drain passes those rows instead: no read-back. A batch delivered again
(a drain died before ``XACK``) finds its rows with the earlier clock and counts nothing; a drain
that dies between its commit and this count leaves those views out of the live figures (they are
stored all the same): "right now" may miss a batch after a crash, and never counts one twice.

Late events are not counted live: one that happened before the live retention would land in a
minute whose keys are gone or about to go. A batch's Redis writes are one script call (one round
trip, applied at once).
"""

from __future__ import annotations

import json
from collections import defaultdict
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from redis import Redis
from sqlalchemy import select

from jobs.analytics.contracts import EventType
from jobs.analytics.live_keys import Scope, expires_at, minute_of, top_key, viewers_key, views_key
from jobs.analytics.models import AnalyticsEventRow
from jobs.analytics.validation import StreamEntry
from odyssey_workers.db.session import session_scope

ID_CHUNK = 500
"""Event ids per ``IN (...)`` query: well under SQLite's parameter cap."""

_ADD_VIEWS = """
local k, a = 1, 1
while k <= #KEYS do
  local views, ends, member, n = ARGV[a], ARGV[a + 1], ARGV[a + 2], tonumber(ARGV[a + 3])
  local last = a + 3 + n
  redis.call('INCRBY', KEYS[k], views)
  for first = a + 4, last, 1000 do
    redis.call('PFADD', KEYS[k + 1], unpack(ARGV, first, math.min(first + 999, last)))
  end
  redis.call('EXPIREAT', KEYS[k], ends)
  redis.call('EXPIREAT', KEYS[k + 1], ends)
  if member ~= '' then
    redis.call('ZINCRBY', KEYS[k + 2], views, member)
    redis.call('EXPIREAT', KEYS[k + 2], ends)
  end
  k, a = k + 3, last + 1
end
return 0
"""
"""A batch's counts in one call, not five commands per key: a pipeline of tens of thousands of
commands cost the drain more than storing the events. Per (scope, subject, minute), keys: the
counter, the viewers' HyperLogLog, the minute's top set; args: the views, when the keys expire,
the content id to score in the top set ("" for a creator), the number of viewers, the viewers
(unpacked a thousand at a time: Lua's stack holds a few thousand values)."""


@dataclass(frozen=True)
class NewView:
    content_id: int | None
    creator_id: int | None
    viewer: str  # "u:<user id>" or "a:<anonymous id>": one person is one member of the HyperLogLog
    occurred_at: datetime


def _view_start_ids(entries: Iterable[StreamEntry]) -> list[str]:
    """Ids of the entries that claim to be a view_start; the database says which were stored."""
    ids = []
    for entry in entries:
        if entry.text is None or EventType.VIEW_START.value not in entry.text:  # cheap: most events are not views
            continue
        try:
            body = json.loads(entry.text)
        except ValueError:
            continue
        if isinstance(body, dict) and body.get("type") == EventType.VIEW_START.value and body.get("id") is not None:
            ids.append(str(body["id"]))
    return ids


def new_views(entries: Sequence[StreamEntry], stored_at: datetime) -> list[NewView]:
    """The view_start events among ``entries`` that the batch run at ``stored_at`` stored."""
    ids = sorted(set(_view_start_ids(entries)))
    views = []
    with session_scope() as session:
        for start in range(0, len(ids), ID_CHUNK):
            rows = session.execute(
                select(
                    AnalyticsEventRow.content_id,
                    AnalyticsEventRow.creator_id,
                    AnalyticsEventRow.user_id,
                    AnalyticsEventRow.anonymous_id,
                    AnalyticsEventRow.occurred_at,
                ).where(
                    AnalyticsEventRow.event_id.in_(ids[start : start + ID_CHUNK]),
                    AnalyticsEventRow.type == EventType.VIEW_START,
                    AnalyticsEventRow.received_at == stored_at,
                )
            )
            for content_id, creator_id, user_id, anonymous_id, occurred_at in rows:
                viewer = f"u:{user_id}" if user_id is not None else f"a:{anonymous_id}"
                views.append(NewView(content_id, creator_id, viewer, occurred_at))
    return views


def write_counts(connection: Redis, views: Iterable[NewView], now: datetime, retention_minutes: int) -> int:
    """Add ``views`` to the minute keys in one round trip; returns how many were counted
    (those older than the retention are not)."""
    oldest = now - timedelta(minutes=retention_minutes)
    # Grouped first, so each key is named and written once per batch, not once per view.
    viewers: defaultdict[tuple[Scope, int, datetime], list[str]] = defaultdict(list)
    counted = 0
    for view in views:
        if view.occurred_at < oldest:
            continue
        counted += 1
        minute = minute_of(view.occurred_at)
        if view.content_id is not None:
            viewers["content", view.content_id, minute].append(view.viewer)
        if view.creator_id is not None:
            viewers["creator", view.creator_id, minute].append(view.viewer)
    if not viewers:
        return counted
    keys: list[str] = []
    args: list[str | int] = []
    for (scope, subject_id, minute), seen in viewers.items():
        keys += [views_key(scope, subject_id, minute), viewers_key(scope, subject_id, minute), top_key(minute)]
        distinct = set(seen)
        member = str(subject_id) if scope == "content" else ""
        args += [len(seen), expires_at(minute, retention_minutes), member, len(distinct), *distinct]
    connection.register_script(_ADD_VIEWS)(keys=keys, args=args)
    return counted


def _views_of(rows: Iterable[Mapping[str, Any]]) -> list[NewView]:
    views = []
    for row in rows:
        if row["type"] is EventType.VIEW_START:
            user_id = row["user_id"]
            viewer = f"u:{user_id}" if user_id is not None else f"a:{row['anonymous_id']}"
            views.append(NewView(row["content_id"], row["creator_id"], viewer, row["occurred_at"]))
    return views


def count_new_views(
    connection: Redis,
    entries: Sequence[StreamEntry],
    stored_at: datetime,
    retention_minutes: int,
    stored_rows: Iterable[Mapping[str, Any]] | None = None,
) -> int:
    """The drain's call, after a batch's commit: count the batch's new views; returns how many.

    ``stored_rows``: the ``analytics_events`` rows of the batch when the drain knows it stored
    every one of them (it met no duplicate); the views are taken from those, with no read-back.
    """
    views = _views_of(stored_rows) if stored_rows is not None else new_views(entries, stored_at)
    return write_counts(connection, views, stored_at, retention_minutes)
