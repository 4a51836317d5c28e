"""Analytics test helpers: events as a producer writes them, and the two intake tables read back."""

from __future__ import annotations

import itertools
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import select

from jobs.analytics.intake import DrainCounts, drain
from jobs.analytics.models import AnalyticsEventRow, RejectedEventRow
from jobs.analytics.settings import analytics_settings
from odyssey_workers.connection import get_redis
from odyssey_workers.db.session import session_scope

_serial = itertools.count(1)


def an_event(**fields: Any) -> dict[str, Any]:
    """A valid like, happening now; ``fields`` change or add fields (None removes one)."""
    event: dict[str, Any] = {
        "type": "like",
        "user_id": 7,
        "content_id": 40 + next(_serial),
        "creator_id": 3,
        "occurred_at": datetime.now(UTC).isoformat(),
        "session_id": "s-1",
        "country": "DE",
        "device": "ios",
        "properties": {},
    }
    event.update(fields)
    return {name: value for name, value in event.items() if value is not None}


def drain_now() -> DrainCounts:
    """One drain run in this process, as the job would do it."""
    return drain(get_redis(), analytics_settings())


def stored_events() -> list[AnalyticsEventRow]:
    with session_scope() as session:
        return list(session.scalars(select(AnalyticsEventRow).order_by(AnalyticsEventRow.id)))


def rejected_events() -> list[RejectedEventRow]:
    with session_scope() as session:
        return list(session.scalars(select(RejectedEventRow).order_by(RejectedEventRow.id)))
