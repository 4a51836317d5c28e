"""Sorting drained stream entries into rows to store and rows to set aside, with the reason.

Pure functions of the entries and the drain's clock: no Redis, no database, so every kind of
bad event can be checked alone.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

from pydantic import ValidationError
from pydantic_core import ErrorDetails

from jobs.analytics.contracts import AnalyticsEvent
from jobs.analytics.models import RejectReason

FUTURE_TOLERANCE = timedelta(minutes=5)
"""How far ahead of the drain's clock an event may be: producers' clocks drift a little."""

RAW_MAX_CHARS = 16_384
"""A set-aside entry keeps this much of its text: enough to see what was wrong, bounded."""

DETAIL_MAX_CHARS = 500

_REASON_ORDER = (
    RejectReason.MALFORMED,
    RejectReason.UNKNOWN_TYPE,
    RejectReason.MISSING_FIELD,
    RejectReason.PROPERTIES_TOO_LARGE,
    RejectReason.INVALID_FIELD,
)
"""When an event is wrong in several ways, the reason recorded is the first of these."""


@dataclass(frozen=True)
class StreamEntry:
    """One entry read from the event stream: its stream id, its ``event`` field's text (None when
    the entry has no such field, or it is not UTF-8) and what to keep of it if it is set aside."""

    stream_id: str
    text: str | None
    raw: str = ""  # default: the text itself


@dataclass
class SortedEntries:
    accepted: list[dict[str, Any]] = field(default_factory=list)  # analytics_events rows
    rejected: list[dict[str, Any]] = field(default_factory=list)  # analytics_rejected_events rows


def _error_reason(error: ErrorDetails) -> RejectReason:
    kind, where = error["type"], error["loc"]
    if kind in ("json_invalid", "json_type", "model_type", "model_attributes_type") and not where:
        return RejectReason.MALFORMED
    if kind == "enum" and where == ("type",):
        return RejectReason.UNKNOWN_TYPE
    if kind in ("missing", "missing_field"):
        return RejectReason.MISSING_FIELD
    if kind == "properties_too_large":
        return RejectReason.PROPERTIES_TOO_LARGE
    return RejectReason.INVALID_FIELD


def _describe(errors: list[ErrorDetails]) -> str:
    parts = []
    for error in errors:
        where = ".".join(str(part) for part in error["loc"])
        parts.append(f"{where}: {error['msg']}" if where else error["msg"])
    return "; ".join(parts)


def _sent_id(text: str | None) -> str | None:
    """The id the producer gave a bad event, when there is one to read (for finding it again)."""
    try:
        body = json.loads(text) if text is not None else None
    except ValueError:
        return None
    event_id = body.get("id") if isinstance(body, dict) else None
    return str(event_id)[:200] if event_id is not None else None


def _storable(text: str) -> str:
    # PostgreSQL refuses a NUL character in any text value, and one refused row would fail the
    # whole batch again on every run: the bad event would block the stream behind it.
    return text.replace("\x00", "\\u0000")


def set_aside(entry: StreamEntry, reason: RejectReason, detail: str, now: datetime) -> dict[str, Any]:
    """The ``analytics_rejected_events`` row of an entry set aside for ``reason``."""
    return _rejected(entry, reason, detail, now)


def _rejected(entry: StreamEntry, reason: RejectReason, detail: str, now: datetime) -> dict[str, Any]:
    sent_id = _sent_id(entry.text)
    return {
        "stream_id": entry.stream_id,
        "event_id": None if sent_id is None else _storable(sent_id),
        "reason": reason,
        "detail": _storable(detail)[:DETAIL_MAX_CHARS],
        "raw": _storable(entry.raw or entry.text or "")[:RAW_MAX_CHARS],
        "received_at": now,
    }


def _accepted(event: AnalyticsEvent, now: datetime) -> dict[str, Any]:
    return {
        "event_id": event.id,
        "type": event.type,
        "user_id": event.user_id,
        "anonymous_id": event.anonymous_id,
        "content_id": event.content_id,
        "creator_id": event.creator_id,
        "occurred_at": event.occurred_at.astimezone(UTC),
        "session_id": event.session_id,
        "country": event.country,
        "device": event.device,
        "properties": event.properties,
        "received_at": now,
    }


def _whole_seconds(span: timedelta) -> timedelta:
    return timedelta(seconds=round(span.total_seconds()))


def _out_of_window(event: AnalyticsEvent, now: datetime, late_window: timedelta) -> tuple[RejectReason, str] | None:
    if event.occurred_at > now + FUTURE_TOLERANCE:
        ahead = _whole_seconds(event.occurred_at - now)
        return (
            RejectReason.IN_FUTURE,
            f"occurred_at is {ahead} ahead of the drain's clock (tolerance {FUTURE_TOLERANCE})",
        )
    if event.occurred_at < now - late_window:
        behind = _whole_seconds(now - event.occurred_at)
        return RejectReason.TOO_OLD, f"occurred_at is {behind} old, past the late window of {late_window}"
    return None


def sort_entries(entries: list[StreamEntry], now: datetime, late_window: timedelta) -> SortedEntries:
    """Each entry as a row to store or a row to set aside; ``now`` is the drain's clock (aware)."""
    result = SortedEntries()
    for entry in entries:
        if entry.text is None:
            detail = "the entry has no UTF-8 'event' field holding the event's JSON"
            result.rejected.append(_rejected(entry, RejectReason.MALFORMED, detail, now))
            continue
        try:
            event = AnalyticsEvent.model_validate_json(entry.text)
        except ValidationError as exc:
            errors = exc.errors(include_url=False, include_input=False)
            reason = min((_error_reason(error) for error in errors), key=_REASON_ORDER.index)
            result.rejected.append(_rejected(entry, reason, _describe(errors), now))
            continue
        outside = _out_of_window(event, now, late_window)
        if outside is not None:
            result.rejected.append(_rejected(entry, *outside, now))
            continue
        result.accepted.append(_accepted(event, now))
    return result
