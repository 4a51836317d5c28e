"""Tracker test helpers: stored events, settings pointing at loopback servers, what was forwarded."""

from __future__ import annotations

import itertools
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

from pydantic import SecretStr
from sqlalchemy import select

from jobs.analytics.models import AnalyticsEventRow
from jobs.analytics.settings import AnalyticsSettings, analytics_settings
from jobs.analytics.trackers.forward import TrackerRun, forward
from jobs.analytics.trackers.models import TrackerCursorRow
from odyssey_workers.db.base import utcnow
from odyssey_workers.db.session import session_scope
from tests.support.recording_http import Answerer, RecordingServer

_serial = itertools.count(1)

TOKEN, SECRET, AMPLITUDE_KEY, MEASUREMENT_ID, GA4_SECRET = "mp-token", "mp-secret", "amp-key", "G-TEST1", "ga4-secret"


def store_events(count: int, *, at: datetime | None = None, **fields: Any) -> list[str]:
    """``count`` likes stored as the drain stores them (received now); returns their event ids."""
    at = at or utcnow() - timedelta(minutes=5)
    ids = []
    with session_scope() as session:
        for _ in range(count):
            number = next(_serial)
            row: dict[str, Any] = {
                "event_id": f"evt-{number}",
                "type": "like",
                "user_id": 7,
                "content_id": 100 + number,
                "creator_id": 3,
                "occurred_at": at,
                "session_id": "s-1",
                "country": "DE",
                "device": "ios",
                "properties": {},
                "received_at": utcnow(),
            }
            row.update(fields)
            session.add(AnalyticsEventRow(**row))
            ids.append(row["event_id"])
    return ids


def settings_for(trackers: list[str], tmp_path: Path, **changes: Any) -> AnalyticsSettings:
    """The analytics settings forwarding to ``trackers``, with fast retries and no safety lag."""
    values: dict[str, Any] = {
        "analytics_trackers": trackers,
        "analytics_tracker_file": tmp_path / "trackers.jsonl",
        "analytics_rollup_safety_lag_seconds": 0,
        "analytics_tracker_attempts": 4,
        "analytics_tracker_backoff_seconds": 0.01,
        "amplitude_throttle_pause_seconds": 0.01,
        "analytics_tracker_timeout_seconds": 5.0,
        "mixpanel_token": SecretStr(TOKEN),
        "mixpanel_api_secret": SecretStr(SECRET),
        "amplitude_api_key": SecretStr(AMPLITUDE_KEY),
        "ga4_measurement_id": MEASUREMENT_ID,
        "ga4_api_secret": SecretStr(GA4_SECRET),
    }
    values.update(changes)
    return analytics_settings().model_copy(update=values)


def forward_once(settings: AnalyticsSettings, tracker: str) -> TrackerRun:
    [run] = forward(settings, [tracker])
    return run


def cursor_of(tracker: str) -> int | None:
    with session_scope() as session:
        row = session.get(TrackerCursorRow, tracker)
        return None if row is None else row.last_event_id


def last_event_row_id() -> int:
    with session_scope() as session:
        return max(session.scalars(select(AnalyticsEventRow.id)))


@contextmanager
def loopback(answer: Answerer) -> Iterator[RecordingServer]:
    with RecordingServer(answer) as server:
        yield server
