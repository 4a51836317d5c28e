"""track and track_many: events land on the runtime's event stream, each with an id, bounded."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import uuid
from datetime import UTC, datetime

import pytest
from redis import Redis

import odyssey_workers
from odyssey_workers.events import EVENT_FIELD, EVENT_STREAM
from odyssey_workers.settings import get_settings
from tests.analytics.conftest import an_event


def stream_bodies(redis_conn: Redis) -> list[dict[str, object]]:
    return [json.loads(fields[EVENT_FIELD.encode()]) for _id, fields in redis_conn.xrange(EVENT_STREAM)]


def test_track_appends_one_json_entry_with_an_id_made_by_the_producer(redis_conn: Redis) -> None:
    when = datetime(2026, 12, 4, 9, 30, tzinfo=UTC)
    event_id = odyssey_workers.track({"type": "search", "anonymous_id": "anon-1", "occurred_at": when})
    [body] = stream_bodies(redis_conn)
    assert uuid.UUID(hex=event_id).version == 4 and len(event_id) == 32  # uuid4 hex
    assert body == {
        "type": "search",
        "anonymous_id": "anon-1",
        "occurred_at": "2026-12-04T09:30:00+00:00",
        "id": event_id,
    }


def test_an_id_given_by_the_caller_is_kept_so_a_retried_track_sends_the_same_event(redis_conn: Redis) -> None:
    event = an_event(id="evt-42")
    assert odyssey_workers.track(event) == "evt-42"
    assert odyssey_workers.track(event) == "evt-42"
    assert odyssey_workers.track(an_event(id=42)) == "42"  # ids are text on the stream
    assert [body["id"] for body in stream_bodies(redis_conn)] == ["evt-42", "evt-42", "42"]


def test_track_many_appends_every_event_in_order_and_returns_their_ids(redis_conn: Redis) -> None:
    events = [an_event(content_id=i) for i in range(1, 2501)]
    ids = odyssey_workers.track_many(events, chunk_size=1000)
    bodies = stream_bodies(redis_conn)
    assert len(ids) == len(set(ids)) == 2500
    assert [body["id"] for body in bodies] == ids
    assert [body["content_id"] for body in bodies] == list(range(1, 2501))


def test_the_stream_is_bounded_by_event_stream_maxlen(redis_conn: Redis, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("EVENT_STREAM_MAXLEN", "1000")
    get_settings.cache_clear()
    odyssey_workers.track_many([an_event() for _ in range(5000)])
    for _ in range(300):
        odyssey_workers.track(an_event())
    length = redis_conn.xlen(EVENT_STREAM)
    # MAXLEN ~ trims whole nodes of entries (100 each by default), so a little over the bound stays.
    assert 1000 <= length <= 1100, length


def test_an_event_that_is_not_json_is_refused_before_anything_is_written(redis_conn: Redis) -> None:
    with pytest.raises(TypeError, match="JSON values only, not set"):
        odyssey_workers.track_many([an_event(), an_event(properties={"tags": {"a", "b"}})])
    with pytest.raises(ValueError, match="naive datetime"):
        odyssey_workers.track(an_event(occurred_at=datetime(2026, 12, 4, 9, 30)))
    with pytest.raises(TypeError, match="an event is a mapping"):
        odyssey_workers.track(["like"])  # type: ignore[arg-type]
    assert redis_conn.xlen(EVENT_STREAM) == 0


def test_a_producer_that_tracks_loads_no_job_code_and_no_sqlalchemy(redis_conn: Redis, env: dict[str, str]) -> None:
    code = (
        "import sys, odyssey_workers; odyssey_workers.track_many([{'type': 'like', 'user_id': 1}]); "
        "allowed = lambda m: m.count('.') == 1 or m.endswith(('.contracts', '.settings')); "
        "bad = sorted(m for m in sys.modules if (m.startswith('jobs.') and not allowed(m)) "
        "or m.startswith(('sqlalchemy', 'PIL', 'alembic'))); print(','.join(bad))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env={**os.environ, **env})
    assert out.returncode == 0, out.stderr
    assert out.stdout.strip() == ""
    assert redis_conn.xlen(EVENT_STREAM) == 1
