"""Live figures for "right now", read by the platform: views and unique viewers of a content or
creator over the last minutes, and the top content by views.

Reads the minute keys the drain writes (``live_counting``), in one round trip per question:
the views are the sum of the minutes' counters, the unique viewers one ``PFCOUNT`` over the
minutes' HyperLogLogs (Redis merges them, so a viewer seen in two minutes counts once; about
0.8 % standard error). A window is the last N minutes, the current partial minute included, by
when the views happened (``occurred_at``), and at most ``ANALYTICS_LIVE_RETENTION_MINUTES``
long: older minutes have expired. No database, no job code.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from redis import Redis

from jobs.analytics.live_keys import PREFIX, Scope, top_key, viewers_key, views_key, window
from odyssey_workers.db.base import utcnow


@dataclass(frozen=True)
class LiveFigures:
    views: int
    unique_viewers: int


def live_figures(
    connection: Redis, scope: Scope, subject_id: int, minutes: int = 15, now: datetime | None = None
) -> LiveFigures:
    """Views and unique viewers of one content (``scope="content"``) or creator over the last
    ``minutes`` minutes."""
    minutes_read = window(now or utcnow(), minutes)
    with connection.pipeline(transaction=False) as pipe:
        pipe.mget([views_key(scope, subject_id, minute) for minute in minutes_read])
        pipe.pfcount(*(viewers_key(scope, subject_id, minute) for minute in minutes_read))
        counters, unique = pipe.execute()
    return LiveFigures(views=sum(int(value) for value in counters if value is not None), unique_viewers=int(unique))


def top_content(
    connection: Redis, minutes: int = 15, top: int = 10, now: datetime | None = None
) -> list[tuple[int, LiveFigures]]:
    """The ``top`` content ids with the most views over the last ``minutes`` minutes, most viewed
    first (ties by id), each with its figures."""
    if top < 1:
        raise ValueError(f"a top list has at least one entry, not {top}")
    minutes_read = window(now or utcnow(), minutes)
    # The union lands in a key of its own, read and deleted in the same MULTI: it never outlives
    # this call, and only the top entries cross the network, however much content had views.
    merged = f"{PREFIX}:top:merged:{uuid.uuid4().hex}"
    with connection.pipeline(transaction=True) as pipe:
        pipe.zunionstore(merged, [top_key(minute) for minute in minutes_read], aggregate="SUM")
        pipe.zrevrange(merged, 0, top - 1, withscores=True)
        pipe.delete(merged)
        ranked: list[tuple[Any, float]] = pipe.execute()[1]
    content_ids = [int(member) for member, _views in ranked]
    with connection.pipeline(transaction=False) as pipe:
        for content_id in content_ids:
            pipe.pfcount(*(viewers_key("content", content_id, minute) for minute in minutes_read))
        uniques = pipe.execute()
    figures = [
        (content_id, LiveFigures(views=int(views), unique_viewers=int(unique)))
        for content_id, (_member, views), unique in zip(content_ids, ranked, uniques, strict=True)
    ]
    return sorted(figures, key=lambda item: (-item[1].views, item[0]))
