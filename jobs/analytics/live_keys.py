"""The Redis keys of the live counters: one set of keys per minute, each expiring on its own.

A minute is the event's ``occurred_at`` cut to the minute (UTC), not the drain's clock: "views in
that minute" means views that happened then, whenever the drain got to them. Every key of a minute
expires ``ANALYTICS_LIVE_RETENTION_MINUTES`` after the minute ends, so Redis holds at most that
many minutes of counters whatever the traffic.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Literal

Scope = Literal["content", "creator"]
"""What a live figure is about: one piece of content, or everything of one creator."""

PREFIX = "analytics:live"
MINUTE = timedelta(minutes=1)


def minute_of(moment: datetime) -> datetime:
    """The UTC minute ``moment`` (aware) falls in."""
    return moment.astimezone(UTC).replace(second=0, microsecond=0)


def _label(minute: datetime) -> str:
    return minute.strftime("%Y%m%d%H%M")


def views_key(scope: Scope, subject_id: int, minute: datetime) -> str:
    """A counter: view_start events of the subject in the minute."""
    return f"{PREFIX}:views:{scope}:{subject_id}:{_label(minute)}"


def viewers_key(scope: Scope, subject_id: int, minute: datetime) -> str:
    """A HyperLogLog of the subject's viewers (user or anonymous id) in the minute."""
    return f"{PREFIX}:viewers:{scope}:{subject_id}:{_label(minute)}"


def top_key(minute: datetime) -> str:
    """A sorted set: each content id with views in the minute, scored by its views (for top-N)."""
    return f"{PREFIX}:top:content:{_label(minute)}"


def window(now: datetime, minutes: int) -> list[datetime]:
    """The last ``minutes`` minutes, the current (partial) one included, oldest first."""
    if minutes < 1:
        raise ValueError(f"a live window is at least one minute, not {minutes}")
    current = minute_of(now)
    return [current - MINUTE * back for back in range(minutes - 1, -1, -1)]


def expires_at(minute: datetime, retention_minutes: int) -> int:
    """When a minute's keys go (epoch seconds): ``retention_minutes`` after the minute ends."""
    return int((minute + MINUTE * (retention_minutes + 1)).timestamp())
