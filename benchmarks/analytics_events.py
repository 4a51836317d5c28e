"""Events for the analytics benchmark, as producers send them, with a platform's proportions.

The same mix and cardinalities are written by ``analytics_sql.GENERATE`` for the 10-million-row
tables (generated in SQL, not from Python), so the intake and the rollups see alike data.
"""

from __future__ import annotations

import random
import uuid
from datetime import datetime, timedelta
from typing import Any

TYPE_MIX: dict[str, int] = {
    "view_start": 20,
    "view_progress": 35,
    "view_end": 10,
    "like": 10,
    "comment": 3,
    "share": 2,
    "follow": 2,
    "unfollow": 1,
    "subscribe": 1,
    "purchase": 1,
    "search": 5,
    "session_start": 10,
}
"""Percent of events of each type: views and their progress reports dominate, purchases are rare."""

CONTENT = 20_000
CREATORS = 2_000  # content c belongs to creator c % CREATORS + 1
USERS = 200_000
ANONYMOUS_SHARE = 0.2  # of events, by visitors who are not signed in
CONTENT_TYPES = {"view_start", "view_progress", "view_end", "like", "comment", "share"}
CREATOR_TYPES = {"follow", "unfollow", "subscribe"}


def live_events(count: int, now: datetime, seed: int = 7) -> list[dict[str, Any]]:
    """``count`` events that happened in the minute before ``now``, as a live intake sees them."""
    rng = random.Random(seed)
    types = rng.choices(list(TYPE_MIX), weights=list(TYPE_MIX.values()), k=count)
    events = []
    for kind in types:
        content = rng.randint(1, CONTENT)
        event: dict[str, Any] = {
            "id": uuid.uuid4().hex,  # unique across calls: one seed may be used for two backlogs
            "type": kind,
            "occurred_at": (now - timedelta(milliseconds=rng.randint(0, 60_000))).isoformat(),
            "session_id": f"s{rng.randint(1, USERS * 3)}",
            "country": rng.choice(("US", "DE", "BR", "IN", "GB", "FR")),
            "device": rng.choice(("ios", "android", "web")),
        }
        if rng.random() < ANONYMOUS_SHARE:
            event["anonymous_id"] = f"anon{rng.randint(1, USERS)}"
        else:
            event["user_id"] = rng.randint(1, USERS)
        if kind in CONTENT_TYPES:
            event["content_id"], event["creator_id"] = content, content % CREATORS + 1
        if kind in CREATOR_TYPES:
            event["creator_id"] = rng.randint(1, CREATORS)
        if kind == "view_progress":
            event["properties"] = {"seconds_watched": rng.randint(0, 1800)}
        elif kind == "search":
            event["properties"] = {"query": f"q{rng.randint(1, 5000)}"}
        elif kind == "purchase":
            event["properties"] = {"amount": rng.choice((199, 499, 999)), "currency": "USD"}
        events.append(event)
    return events
