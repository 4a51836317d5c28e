"""What every tracker shares: the event as it leaves, the answers a tracker can give, and the
``Tracker`` each provider module fills in (its limits, its mapping, one request).

The answers are plain values, one per way a provider's reply is acted on, so the sending loop
(the analytics domain's ``trackers.sending``) is written once and every provider only says which answer its reply means.
"""

from __future__ import annotations

import json
from abc import ABC, abstractmethod
from collections.abc import Hashable, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from odyssey_workers.errors import OdysseyError


@dataclass(frozen=True)
class OutgoingEvent:
    """One accepted event, cleaned of contact data, as every tracker maps it."""

    row_id: int  # analytics_events.id: the cursor's unit
    insert_id: str  # the producer's event id: the providers' deduplication key
    name: str  # the event type
    user_id: int | None
    anonymous_id: str | None
    occurred_at: datetime
    properties: dict[str, Any]  # the event's properties and its context (content, creator, session...)


@dataclass(frozen=True)
class Accepted:
    """The whole request was taken."""


@dataclass(frozen=True)
class TooLarge:
    """413: the request was over the provider's size; nothing was taken."""

    detail: str


@dataclass(frozen=True)
class BadEvents:
    """400 naming events: those (by index in the request, with why) are refused for good.
    ``others_taken``: the provider stored the rest already (else they must be sent again)."""

    reasons: dict[int, str]
    others_taken: bool = False


@dataclass(frozen=True)
class Busy:
    """429, 5xx, a timeout or a lost connection: nothing was taken; try again after ``wait``
    seconds (None: the usual backoff)."""

    detail: str
    wait: float | None = None


@dataclass(frozen=True)
class Refused:
    """The provider refused the request as a whole for good (bad key, bad request naming no event)."""

    detail: str


Answer = Accepted | TooLarge | BadEvents | Busy | Refused


class TrackerDown(OdysseyError):
    """A tracker kept answering busy (or not at all) through every attempt; its cursor holds."""


class TrackerRefused(OdysseyError):
    """A tracker refused requests in a way no retry fixes (its keys, most often); its cursor holds."""


def compact_json(value: Any) -> str:
    return json.dumps(value, separators=(",", ":"), ensure_ascii=False, allow_nan=False)


@dataclass(frozen=True)
class Limits:
    """A provider's request limits: events per request, and bytes of the whole request body."""

    max_events: int
    max_bytes: int


@dataclass
class Prepared:
    """An event mapped to its provider's format, with what the request limits count of it."""

    event: OutgoingEvent
    item: Any  # the provider's event (a JSON value)
    size: int  # bytes it adds to a request body
    group: Hashable = None  # events of one request must share this (GA4: one client per request)
    identities: tuple[str, ...] = ()  # whom the provider's per-user/device rate counts it against


class Tracker(ABC):
    """One provider: its name, its limits, its mapping and one request."""

    name: str
    limits: Limits
    envelope_bytes: int = 0  # a request body's bytes besides its events
    max_per_identity: int | None = None  # events of one identity in one request (Amplitude: 30)

    @abstractmethod
    def prepare(self, event: OutgoingEvent) -> Prepared | str:
        """The event in the provider's format, or why it cannot be sent at all (then it is dropped)."""

    @abstractmethod
    def post(self, items: Sequence[Any]) -> Answer:
        """Send one request holding ``items`` (within the limits); what the provider's answer means."""

    def pace(self, items: Sequence[Prepared]) -> None:  # noqa: B027 - most providers need no pacing
        """Wait, if the provider's rate limits require it, before ``items`` are sent."""

    def position(self) -> int | None:
        """Where the tracker's own output stands, stored with the cursor (the file tracker's length)."""
        return None

    def close(self) -> None:  # noqa: B027 - only HTTP trackers hold a client
        """Release what the tracker holds (its HTTP client)."""
