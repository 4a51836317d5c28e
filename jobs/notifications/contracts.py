"""Notifications: the events other domains may announce, and the jobs that deliver them.

Producers enqueue ``notifications.notify`` by name::

    enqueue("notifications.notify", event="payment_success", recipients=[42],
            data={"amount_minor": 999, "currency": "EUR", "description": "Monthly tier"})

The event names its template set, its category (what users opt in or out of) and its priority,
which picks the queue its sends go on. Everything here is plain data: no job code, no provider.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from pydantic import Field, field_validator, model_validator

from odyssey_workers.catalog import Id, Payload, declare, queue_for_priority
from odyssey_workers.retry import NO_RETRY, RetryPolicy

CHANNELS: tuple[str, ...] = ("email", "push", "sms", "webhook", "discord")
"""Every delivery channel; a preference row names one of these or ``*``."""


@dataclass(frozen=True)
class EventSpec:
    """What an event is: its templates, category, priority and the channels it uses by default."""

    name: str
    category: str
    priority: int
    channels: tuple[str, ...]  # channels this event has templates for
    default_channels: tuple[str, ...]  # channels on unless the user says otherwise
    required: tuple[str, ...] = ()  # data fields every template of the event needs
    urgent: bool = False  # ignores quiet hours (live alerts)
    transactional: bool = False  # still sent after "unsubscribe from everything" (receipts, payouts)
    digest_email: bool = False  # by default its email waits for the weekly digest

    @property
    def queue(self) -> str:
        return queue_for_priority(self.priority)


def _event(name: str, category: str, priority: int, channels: str, default: str, **kw: Any) -> EventSpec:
    return EventSpec(name, category, priority, tuple(channels.split()), tuple(default.split()), **kw)


EVENTS: dict[str, EventSpec] = {
    spec.name: spec
    for spec in (
        _event(
            "live_alert",
            "live_alert",
            10,
            "email push sms webhook discord",
            "push webhook discord",
            required=("creator_name", "stream_title", "url"),
            urgent=True,
        ),
        _event(
            "payment_success",
            "payments",
            8,
            "email push webhook",
            "email webhook",
            required=("amount_minor", "currency", "description"),
            transactional=True,
        ),
        _event(
            "payment_failed",
            "payments",
            8,
            "email push sms webhook",
            "email push webhook",
            required=("amount_minor", "currency", "description", "reason"),
            transactional=True,
        ),
        _event(
            "payout_sent",
            "payouts",
            7,
            "email push webhook",
            "email webhook",
            required=("amount_minor", "currency"),
            transactional=True,
        ),
        _event(
            "moderation_decision",
            "moderation",
            6,
            "email push webhook",
            "email push webhook",
            required=("subject", "decision", "reason"),
            transactional=True,
        ),
        _event(
            "content_upload",
            "content_upload",
            5,
            "email push webhook discord",
            "email push webhook discord",
            required=("creator_name", "title", "url"),
        ),
        _event(
            "new_subscriber",
            "new_subscriber",
            4,
            "email push webhook discord",
            "email push webhook",
            required=("subscriber_name",),
        ),
        _event(
            "comment",
            "comment",
            3,
            "email push webhook",
            "email push",
            required=("author_name", "excerpt", "url"),
            digest_email=True,
        ),
        _event("weekly_digest", "weekly_digest", 2, "email", "email", required=("items",)),
        # Sent by analytics.performance_report: a creator's weekly report is ready (url: the page).
        _event(
            "creator_weekly_report",
            "creator_reports",
            2,
            "email push",
            "email",
            required=("period", "url", "views", "unique_viewers", "follows"),
        ),
    )
}
CATEGORIES: tuple[str, ...] = tuple(sorted({spec.category for spec in EVENTS.values()}))
BANDS: tuple[str, ...] = ("high", "default", "low")


def event_spec(name: str) -> EventSpec:
    """The event called ``name``, or a ValueError listing the known ones."""
    try:
        return EVENTS[name]
    except KeyError:
        raise ValueError(f"unknown event {name!r} (events: {', '.join(sorted(EVENTS))})") from None


def send_job_for(priority: int) -> str:
    """The send job of a priority band (the catalog fixes one queue per job name)."""
    return f"notifications.send_{queue_for_priority(priority)}"


def fanout_job_for(priority: int) -> str:
    return f"notifications.fanout_{queue_for_priority(priority)}"


# --- payloads ---------------------------------------------------------------------------------
UserIds = list[Id]


class NotifyPayload(Payload):
    event: str = Field(max_length=64)
    recipients: UserIds = Field(default_factory=list, max_length=10_000)
    followers_of: Id | None = None  # a creator id: every follower
    data: dict[str, Any] = Field(default_factory=dict)
    key: str | None = Field(default=None, max_length=120)  # dedupe key; default: the job id

    @field_validator("event")
    @classmethod
    def _known_event(cls, value: str) -> str:
        event_spec(value)
        return value

    @model_validator(mode="after")
    def _some_recipients(self) -> NotifyPayload:
        if not self.recipients and self.followers_of is None:
            raise ValueError("give recipients (user ids) or followers_of (a creator id)")
        return self


class FanoutPayload(Payload):
    event: str = Field(max_length=64)
    key: str = Field(max_length=120)
    recipients: UserIds = Field(min_length=1, max_length=10_000)
    data: dict[str, Any] = Field(default_factory=dict)
    source: str = Field(default="", max_length=120)  # e.g. "followers_of:7", kept on the rows

    @field_validator("event")
    @classmethod
    def _known_event(cls, value: str) -> str:
        event_spec(value)
        return value


class SendPayload(Payload):
    delivery_ids: list[Id] = Field(min_length=1, max_length=10_000)


class ProviderEventPayload(Payload):
    provider: str = Field(pattern="^(mailgun|sendgrid)$")
    body: Any  # the callback body as the provider posted it (JSON object or list)
    headers: dict[str, str] = Field(default_factory=dict)  # signature headers (SendGrid)


class DigestPayload(Payload):
    user_id: Id | None = None  # one user; default: every user with held items


class RecoverPayload(Payload):
    older_than_seconds: int = Field(default=900, ge=60)


# --- jobs -------------------------------------------------------------------------------------
declare(
    "notifications.notify",
    function="jobs.notifications.notify.notify",
    payload=NotifyPayload,
    priority=9,
    timeout=600,
    retry=RetryPolicy(attempts=3, base_seconds=5),
    description="Resolve recipients and preferences, render once per locale, write deliveries, enqueue sends.",
)
for _band, _priority, _concurrency in (("high", 9, 8), ("default", 5, 4), ("low", 2, 2)):
    declare(
        f"notifications.fanout_{_band}",
        function=f"jobs.notifications.broadcast.fanout_{_band}",
        payload=FanoutPayload,
        priority=_priority,
        timeout=900,
        retry=RetryPolicy(attempts=3, base_seconds=5),
        description=f"One chunk of a broadcast ({_band} band): rows for each recipient, then batched sends.",
    )
    declare(
        f"notifications.send_{_band}",
        function=f"jobs.notifications.send.send_{_band}",
        payload=SendPayload,
        priority=_priority,
        timeout=900,
        # Provider faults are retried per delivery on their own schedule (send.py); these
        # retries are for a lost worker or a database fault, and re-claim the same rows.
        retry=RetryPolicy(attempts=3, base_seconds=5),
        concurrency=_concurrency,
        concurrency_key=f"notifications.send.{_band}",
        description=f"Claim deliveries and send them through their providers ({_band} band).",
    )
declare(
    "notifications.process_provider_event",
    function="jobs.notifications.tracking.process_provider_event",
    payload=ProviderEventPayload,
    priority=5,
    timeout=120,
    retry=RetryPolicy(attempts=3, base_seconds=5),
    description="Apply a Mailgun/SendGrid event webhook: delivered, bounced, complained (suppresses the address).",
)
declare(
    "notifications.weekly_digest",
    function="jobs.notifications.digest.weekly_digest",
    payload=DigestPayload,
    priority=2,
    timeout=3600,
    retry=RetryPolicy(attempts=3, base_seconds=30),
    description="Gather each user's held low-priority notifications into one digest email and send it.",
)
declare(
    "notifications.recover_stuck",
    function="jobs.notifications.send.recover_stuck",
    payload=RecoverPayload,
    priority=3,
    timeout=600,
    retry=NO_RETRY,
    description="Re-enqueue deliveries left queued or claimed by a lost worker (safe: sends claim first).",
)
