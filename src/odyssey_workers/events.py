"""The event stream: producers append what users do as JSON to one Redis stream.

One job per event would cost a job hash, a queue push and a worker round trip for each view or
like. Instead ``track`` appends the event to a Redis stream (``XADD``) and a domain's drain job
reads the stream in batches with a consumer group. The runtime only appends: what an event must
hold, and where it ends up, is the draining domain's business, so nothing here validates an
event beyond making it JSON.

Each event carries an ``id`` made here when the caller gave none, before the first ``XADD``: a
producer that retries an ``XADD`` whose answer it lost sends the same id again, and the drain's
unique constraint on it counts the event once.

The stream is bounded with ``MAXLEN ~ EVENT_STREAM_MAXLEN`` (approximate trimming: Redis drops
whole nodes of old entries, far cheaper than an exact cut), so it cannot grow without limit
while no drain runs; entries trimmed before a drain read them are gone, so the bound must exceed
the longest backlog expected.

Light on purpose: redis-py and the settings, no SQLAlchemy and no job code.
"""

from __future__ import annotations

import json
import uuid
from collections.abc import Iterable, Mapping
from datetime import date, datetime
from typing import Any

from redis import Redis

from odyssey_workers import defaults
from odyssey_workers.connection import get_redis
from odyssey_workers.settings import get_settings

EVENT_STREAM = "odyssey:events"
"""The Redis stream every event is appended to."""

EVENT_FIELD = "event"
"""The one field of each stream entry: the event as a JSON object."""


def _json_value(value: object) -> str:
    if isinstance(value, datetime):
        if value.tzinfo is None:
            raise ValueError("naive datetime in an event: give a timezone-aware (UTC) one")
        return value.isoformat()
    if isinstance(value, date):
        return value.isoformat()
    raise TypeError(f"an event holds JSON values only, not {type(value).__name__}")


_ENCODER = json.JSONEncoder(default=_json_value, separators=(",", ":"))
"""Made once: ``json.dumps`` with options builds a new encoder per call, and producers send many."""


def encode_event(event: Mapping[str, Any]) -> tuple[str, str]:
    """The event's id (made now if it has none) and its JSON text, as ``XADD`` will carry it."""
    if not isinstance(event, Mapping):
        raise TypeError(f"an event is a mapping of field names to JSON values, not {type(event).__name__}")
    body = dict(event)
    # Ids are text on the stream: a caller's 42 is stored, and returned, as "42".
    body["id"] = uuid.uuid4().hex if body.get("id") is None else str(body["id"])
    return body["id"], _ENCODER.encode(body)


def _maxlen() -> int:
    return get_settings().event_stream_maxlen


def track(event: Mapping[str, Any], *, connection: Redis | None = None) -> str:
    """Append one event to the event stream; returns its id."""
    event_id, text = encode_event(event)
    (connection or get_redis()).xadd(EVENT_STREAM, {EVENT_FIELD: text}, maxlen=_maxlen(), approximate=True)
    return event_id


def track_many(
    events: Iterable[Mapping[str, Any]],
    *,
    connection: Redis | None = None,
    chunk_size: int = defaults.BULK_PIPELINE_SIZE,
) -> list[str]:
    """Append many events, ``chunk_size`` per pipelined round trip; returns their ids in order.

    Every event is encoded before the first write, so one that is not JSON leaves the stream
    untouched. No MULTI/EXEC: each entry stands alone, and a retried chunk is harmless (ids).
    """
    encoded = [encode_event(event) for event in events]
    connection = connection or get_redis()
    maxlen = _maxlen()
    for start in range(0, len(encoded), chunk_size):
        with connection.pipeline(transaction=False) as pipe:
            for _event_id, text in encoded[start : start + chunk_size]:
                # What ``xadd(..., maxlen=maxlen, approximate=True)`` sends, without its per-call
                # argument checks: a bulk producer sends hundreds of thousands.
                pipe.execute_command("XADD", EVENT_STREAM, "MAXLEN", "~", maxlen, "*", EVENT_FIELD, text)  # type: ignore[no-untyped-call]
            pipe.execute()
    return [event_id for event_id, _text in encoded]
