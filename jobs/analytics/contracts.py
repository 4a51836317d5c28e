"""The analytics domain's contracts: the shape of an event, and the drain and rollup jobs' declarations.

An event reaches the stream as JSON from any producer (``odyssey_workers.track`` or a plain
``XADD``), so ``AnalyticsEvent`` is checked when the drain reads it, not when it is written.
Light, as every contracts module: pydantic and the catalog only.
"""

from __future__ import annotations

import enum
import json
from typing import Any, Self

from pydantic import AwareDatetime, BaseModel, ConfigDict, Field, JsonValue, field_validator, model_validator
from pydantic_core import PydanticCustomError

from odyssey_workers.catalog import Id, Payload, declare

PROPERTIES_MAX_BYTES = 8 * 1024
"""The largest ``properties`` object, as compact JSON in UTF-8, in bytes."""

_COMPACT_JSON = json.JSONEncoder(separators=(",", ":"), ensure_ascii=False, allow_nan=False)
"""Made once: ``json.dumps`` with options builds a new encoder on every call, per event."""

TEXT_ID = r"^[A-Za-z0-9_.:-]+$"
"""Event, anonymous and session ids: printable, no spaces (uuid4 hex is the usual form)."""

PRINTABLE = r"^[^\x00-\x1f\x7f]+$"
"""Free text fields hold no control characters (PostgreSQL refuses a NUL in any text)."""


class EventType(enum.StrEnum):
    VIEW_START = "view_start"
    VIEW_PROGRESS = "view_progress"  # properties.seconds_watched: seconds watched so far
    VIEW_END = "view_end"
    LIKE = "like"
    COMMENT = "comment"
    SHARE = "share"
    FOLLOW = "follow"
    UNFOLLOW = "unfollow"
    SUBSCRIBE = "subscribe"
    PURCHASE = "purchase"
    SEARCH = "search"
    SESSION_START = "session_start"


CONTENT_EVENTS = frozenset(
    {
        EventType.VIEW_START,
        EventType.VIEW_PROGRESS,
        EventType.VIEW_END,
        EventType.LIKE,
        EventType.COMMENT,
        EventType.SHARE,
    }
)
"""Types that are about one piece of content, so ``content_id`` is required."""

CREATOR_EVENTS = frozenset({EventType.FOLLOW, EventType.UNFOLLOW, EventType.SUBSCRIBE})
"""Types that are about one creator, so ``creator_id`` is required."""


def _missing(field: str, why: str) -> PydanticCustomError:
    return PydanticCustomError("missing_field", "{field} is required {why}", {"field": field, "why": why})


class AnalyticsEvent(BaseModel):
    """One thing a user did. A field not named here is refused: extras go in ``properties``."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    id: str = Field(min_length=1, max_length=64, pattern=TEXT_ID)
    type: EventType
    user_id: Id | None = None
    anonymous_id: str | None = Field(default=None, min_length=1, max_length=64, pattern=TEXT_ID)
    content_id: Id | None = None
    creator_id: Id | None = None
    occurred_at: AwareDatetime
    session_id: str | None = Field(default=None, min_length=1, max_length=64, pattern=TEXT_ID)
    country: str | None = Field(default=None, pattern=r"^[A-Z]{2}$")  # ISO 3166-1 alpha-2
    device: str | None = Field(default=None, min_length=1, max_length=32, pattern=PRINTABLE)
    properties: dict[str, JsonValue] = Field(default_factory=dict)

    @field_validator("properties")
    @classmethod
    def _small(cls, value: dict[str, Any]) -> dict[str, Any]:
        if not value:  # most events carry none: "{}" is 2 bytes and finite, no need to encode it
            return value
        try:
            text = _COMPACT_JSON.encode(value)
        except ValueError:  # the JSON parser takes NaN and Infinity; no database's JSON column does
            raise PydanticCustomError(
                "non_finite_number", "properties holds NaN or Infinity, not a JSON number"
            ) from None
        size = len(text.encode())
        if size > PROPERTIES_MAX_BYTES:
            raise PydanticCustomError(
                "properties_too_large",
                "properties is {size} bytes of JSON, over the {limit}-byte limit",
                {"size": size, "limit": PROPERTIES_MAX_BYTES},
            )
        return value

    @model_validator(mode="after")
    def _who_and_what(self) -> Self:
        if self.user_id is None and self.anonymous_id is None:
            raise _missing("user_id", "(or anonymous_id)")
        if self.type in CONTENT_EVENTS and self.content_id is None:
            raise _missing("content_id", f"for {self.type.value}")
        if self.type in CREATOR_EVENTS and self.creator_id is None:
            raise _missing("creator_id", f"for {self.type.value}")
        if self.type is EventType.VIEW_PROGRESS:
            seconds = self.properties.get("seconds_watched")
            if seconds is None:
                raise _missing("properties.seconds_watched", "for view_progress")
            if isinstance(seconds, bool) or not isinstance(seconds, int | float) or seconds < 0:
                raise PydanticCustomError("seconds_watched", "properties.seconds_watched must be a number >= 0")
        return self


class DrainEventsPayload(Payload):
    pass


declare(
    "analytics.drain_events",
    function="jobs.analytics.intake.drain_events",
    payload=DrainEventsPayload,
    queue="low",
    timeout=600,
    description="Moves events from the event stream into analytics_events in batches; bad ones are set aside.",
)


class RollupPayload(Payload):
    pass


declare(
    "analytics.rollup_hourly",
    function="jobs.analytics.rollup_jobs.rollup_hourly",
    payload=RollupPayload,
    queue="low",
    timeout=900,
    description="Recomputes the hourly content, creator and platform rollups the newly ingested events fall in.",
)

declare(
    "analytics.aggregate_daily",
    function="jobs.analytics.rollup_jobs.aggregate_daily",
    payload=RollupPayload,
    queue="low",
    timeout=1800,
    description="Recomputes the daily content, creator and platform rollups the newly ingested events fall in.",
)
