"""The analytics domain's contracts: the shape of an event, and the drain and rollup jobs' declarations.

An event reaches the stream as JSON from any producer (``odyssey_workers.track`` or a plain
``XADD``), so ``AnalyticsEvent`` is checked when the drain reads it, not when it is written.
Light, as every contracts module: pydantic and the catalog only.
"""

from __future__ import annotations

import enum
import json
import re
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


# --- raw event storage and retention ---------------------------------------------------------------
class MaintainPartitionsPayload(Payload):
    pass


declare(
    "analytics.maintain_partitions",
    function="jobs.analytics.retention_jobs.maintain_partitions",
    payload=MaintainPartitionsPayload,
    queue="low",
    timeout=1800,
    description="Makes the raw events' months ahead and drops months past ANALYTICS_RAW_RETENTION_MONTHS"
    " (PostgreSQL: whole partitions; SQLite: rows in chunks).",
)


# --- analytics: platform metrics -------------------------------------------------------------
MONTH = r"^\d{4}-(0[1-9]|1[0-2])$"


class PlatformMetricsPayload(Payload):
    month: str | None = Field(default=None, description="YYYY-MM, default the previous month (UTC)")

    @field_validator("month")
    @classmethod
    def _is_month(cls, value: str | None) -> str | None:
        if value is not None and not re.match(MONTH, value):
            raise ValueError(f"month must be YYYY-MM (as 2026-11), got {value!r}")
        return value


declare(
    "analytics.platform_daily",
    function="jobs.analytics.metric_jobs.platform_daily",
    payload=RollupPayload,
    queue="low",
    timeout=1800,
    description="Recomputes the platform's daily DAU/WAU/MAU, new users and sessions the newly ingested events change.",
)

declare(
    "analytics.platform_metrics",
    function="jobs.analytics.metric_jobs.platform_metrics",
    payload=PlatformMetricsPayload,
    queue="low",
    timeout=1800,
    description="Brings the platform's daily metrics up to date, then summarizes a month (default: the previous one).",
)


# --- analytics: user behaviour ---------------------------------------------------------------


class BehaviourPayload(Payload):
    pass


declare(
    "analytics.retention_cohorts",
    function="jobs.analytics.behaviour_jobs.retention_cohorts",
    payload=BehaviourPayload,
    queue="low",
    timeout=1800,
    description="Recomputes the weekly and monthly retention cohorts of signed-in users from every stored event.",
)

declare(
    "analytics.update_preferences",
    function="jobs.analytics.behaviour_jobs.update_preferences",
    payload=BehaviourPayload,
    queue="low",
    timeout=900,
    description="Adds the newly ingested interactions to each user's decayed creator and category affinities.",
)


# --- analytics: trackers ---------------------------------------------------------------------------
class ForwardEventsPayload(Payload):
    pass


declare(
    "analytics.forward_events",
    function="jobs.analytics.trackers.forward.forward_events",
    payload=ForwardEventsPayload,
    queue="low",
    timeout=300,
    concurrency=1,  # one run at a time across all workers: each tracker's cursor is read once
    description="Forwards newly accepted events to each enabled tracker (Mixpanel, Amplitude, GA4, a JSON-lines file).",
)


# --- analytics: reports -----------------------------------------------------------------------
# Light on purpose: the period is checked by pattern here (the date itself when the job parses
# it), so producers import no report code.
class DailyReportPayload(Payload):
    period: str | None = Field(default=None, pattern=r"^\d{4}-\d{2}-\d{2}$")  # UTC day; default yesterday


class WeeklyReportPayload(Payload):
    period: str | None = Field(default=None, pattern=r"^\d{4}-W\d{2}$")  # ISO week; default last week


declare(
    "analytics.engagement_report",
    function="jobs.analytics.report_jobs.engagement_report",
    payload=DailyReportPayload,
    queue="low",
    timeout=900,
    description="Renders the daily engagement report (HTML with charts + CSV) into storage; default: yesterday.",
)

declare(
    "analytics.performance_report",
    function="jobs.analytics.report_jobs.performance_report",
    payload=WeeklyReportPayload,
    queue="low",
    timeout=1800,
    description=(
        "Renders the weekly platform report and one content performance report per active creator, "
        "and notifies each creator once (notifications.notify); default: last ISO week."
    ),
)


class MonthlyReportPayload(Payload):
    period: str | None = Field(default=None, pattern=r"^\d{4}-\d{2}$")  # calendar month; default last month


declare(
    "analytics.retention_report",
    function="jobs.analytics.report_jobs.retention_report",
    payload=MonthlyReportPayload,
    queue="low",
    timeout=1800,
    description=(
        "Renders the monthly retention report (cohort heat maps, funnel bars) from the stored cohorts; "
        "default: last month."
    ),
)

declare(
    "analytics.platform_report",
    function="jobs.analytics.report_jobs.platform_report",
    payload=MonthlyReportPayload,
    queue="low",
    timeout=1800,
    description=(
        "Renders the monthly platform metrics report (DAU/WAU/MAU, stickiness, trends, revenue) from the "
        "stored platform days; default: last month."
    ),
)
