"""The analytics consumer group on the runtime's event stream: read, claim, acknowledge.

Redis keeps every entry a consumer has read but not acknowledged in the group's pending list,
under that consumer's name. A drain acknowledges a batch only after its rows are committed, so
a drain that dies mid-batch leaves its entries pending; the next drain claims those that sat
idle longer than ``ANALYTICS_DRAIN_CLAIM_IDLE_SECONDS`` (``XAUTOCLAIM``) and stores them, and
the unique event id makes a batch that was committed but not acknowledged count once.
"""

from __future__ import annotations

import json
import os
import socket
import uuid
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from redis import Redis
from redis.exceptions import ResponseError

from jobs.analytics.validation import StreamEntry
from odyssey_workers.events import EVENT_FIELD, EVENT_STREAM
from odyssey_workers.monitoring import add_event_outcomes

GROUP = "analytics"
"""The consumer group the drain reads the event stream with."""

START_OF_PENDING = "0-0"

_EVENT_FIELD = EVENT_FIELD.encode()


def ensure_group(connection: Redis) -> None:
    """Create the group (and the stream) if missing, reading from the stream's first entry, so
    events added before the first drain are drained too."""
    try:
        connection.xgroup_create(EVENT_STREAM, GROUP, id="0", mkstream=True)
    except ResponseError as exc:
        if "BUSYGROUP" not in str(exc):
            raise


def consumer_name() -> str:
    """A name no other drain run has: a run's pending entries are its own until claimed."""
    return f"{socket.gethostname()}-{os.getpid()}-{uuid.uuid4().hex[:8]}"


def _entry(stream_id: bytes | str, fields: Mapping[bytes, bytes] | None) -> StreamEntry:
    key = stream_id.decode() if isinstance(stream_id, bytes) else stream_id
    value = (fields or {}).get(_EVENT_FIELD)
    if value is None:  # keep what the entry held instead, so the dead letter shows the mistake
        held = {name.decode(errors="replace"): data.decode(errors="replace") for name, data in (fields or {}).items()}
        return StreamEntry(key, None, raw=json.dumps(held))
    try:
        return StreamEntry(key, value.decode())
    except UnicodeDecodeError:
        return StreamEntry(key, None, raw=value.decode(errors="replace"))


def read_new(connection: Redis, consumer: str, count: int) -> list[StreamEntry]:
    """Up to ``count`` entries no consumer of the group has read yet (without blocking)."""
    answer: Any = connection.xreadgroup(GROUP, consumer, {EVENT_STREAM: ">"}, count=count)
    if not answer:
        return []
    [[_stream, entries]] = answer
    return [_entry(stream_id, fields) for stream_id, fields in entries]


def claim_stale(
    connection: Redis, consumer: str, count: int, min_idle_seconds: int, cursor: str
) -> tuple[str | None, list[StreamEntry]]:
    """Take over up to ``count`` pending entries idle at least ``min_idle_seconds`` (their drain
    died), scanning the pending list from ``cursor``; returns the next cursor (None once the
    scan is through) and the entries. An entry trimmed from the stream meanwhile is gone: Redis
    drops it from the pending list (7.0) or hands it back without fields (6.2), skipped here."""
    answer: Any = connection.xautoclaim(
        EVENT_STREAM, GROUP, consumer, min_idle_time=min_idle_seconds * 1000, start_id=cursor, count=count
    )
    next_cursor = answer[0].decode() if isinstance(answer[0], bytes) else str(answer[0])
    entries = [_entry(stream_id, fields) for stream_id, fields in answer[1] if fields is not None]
    trimmed = [stream_id for stream_id, fields in answer[1] if fields is None]
    if trimmed:
        connection.xack(EVENT_STREAM, GROUP, *trimmed)
    return (None if next_cursor == START_OF_PENDING else next_cursor), entries


def acknowledge(connection: Redis, stream_ids: list[str], counts: Mapping[str, int]) -> None:
    """Acknowledge a stored batch and add its counts to the metrics, in one transaction: the
    counts move exactly when the entries leave the pending list."""
    if not stream_ids:
        return
    with connection.pipeline(transaction=True) as pipe:
        pipe.xack(EVENT_STREAM, GROUP, *stream_ids)
        add_event_outcomes(pipe, counts)
        pipe.execute()


def forget_idle_consumers(connection: Redis, idle_seconds: int, also: str | None = None) -> int:
    """Remove consumers with nothing pending that sat idle ``idle_seconds`` (past drain runs,
    and ``also``, this run, once done), so the group's consumer list does not grow run by run."""
    removed = 0
    for consumer in connection.xinfo_consumers(EVENT_STREAM, GROUP):
        name = consumer["name"].decode() if isinstance(consumer["name"], bytes) else consumer["name"]
        if consumer["pending"] == 0 and (name == also or consumer["idle"] >= idle_seconds * 1000):
            removed += int(connection.xgroup_delconsumer(EVENT_STREAM, GROUP, name))
    return removed


@dataclass(frozen=True)
class IntakeStatus:
    """The stream as the group sees it, for ``odyssey-workers analytics intake``."""

    length: int  # entries in the stream, drained or not (MAXLEN bounds it)
    pending: int  # read by a drain and not acknowledged yet
    lag: int | None  # added and not read by any drain yet (None: Redis cannot tell)
    consumers: int


def intake_status(connection: Redis) -> IntakeStatus:
    if not connection.exists(EVENT_STREAM):
        return IntakeStatus(length=0, pending=0, lag=0, consumers=0)
    length = int(connection.xlen(EVENT_STREAM))
    for group in connection.xinfo_groups(EVENT_STREAM):
        if group["name"] in (GROUP, GROUP.encode()):
            lag = group.get("lag")
            return IntakeStatus(
                length=length,
                pending=int(group["pending"]),
                lag=None if lag is None else int(lag),
                consumers=int(group["consumers"]),
            )
    return IntakeStatus(length=length, pending=0, lag=length, consumers=0)  # no drain has run yet
