"""Notification tables: what was announced to whom, each delivery and each attempt, and the
per-user settings that decide the channels (preferences, quiet hours, devices, endpoints)."""

from __future__ import annotations

import enum
from datetime import datetime
from typing import Any

from sqlalchemy import JSON, Boolean, ForeignKey, Index, Integer, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from odyssey_workers.db.base import Base, enum_type, utcnow


class DeliveryStatus(enum.StrEnum):
    QUEUED = "queued"  # written, a send job will take it (maybe later: quiet hours, retry backoff)
    HELD = "held"  # waiting for the weekly digest
    SENDING = "sending"  # claimed by one send attempt; the provider may be talking right now
    SENT = "sent"  # the provider accepted it
    DELIVERED = "delivered"  # the provider reported it reached the recipient
    FAILED = "failed"  # permanently failed, or retries exhausted
    BOUNCED = "bounced"  # the provider reported a bounce
    SUPPRESSED = "suppressed"  # not sent on purpose (suppressed address, opted out after queueing)


FINAL_STATUSES = frozenset(
    {
        DeliveryStatus.SENT,
        DeliveryStatus.DELIVERED,
        DeliveryStatus.FAILED,
        DeliveryStatus.BOUNCED,
        DeliveryStatus.SUPPRESSED,
    }
)


class NotificationMessage(Base):
    """One rendered message: an event's template for one channel and locale, rendered once and
    shared by every delivery of that broadcast in that locale."""

    __tablename__ = "notification_messages"
    __table_args__ = (UniqueConstraint("dedupe_key", "channel", "locale"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    dedupe_key: Mapped[str] = mapped_column(String(120))
    event: Mapped[str] = mapped_column(String(64))
    channel: Mapped[str] = mapped_column(String(16))
    locale: Mapped[str] = mapped_column(String(35))
    parts: Mapped[dict[str, Any]] = mapped_column(JSON)  # subject/text/html, title/body/url, ...
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


class Notification(Base):
    """One event announced to one user (their inbox entry)."""

    __tablename__ = "notifications"
    __table_args__ = (
        UniqueConstraint("dedupe_key", "user_id"),  # a retried notify writes the same rows
        Index("ix_notifications_user_id_created_at", "user_id", "created_at"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    dedupe_key: Mapped[str] = mapped_column(String(120))
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"))
    event: Mapped[str] = mapped_column(String(64))
    category: Mapped[str] = mapped_column(String(64))
    priority: Mapped[int] = mapped_column(Integer)
    data: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    locale: Mapped[str] = mapped_column(String(35))
    outcome: Mapped[str] = mapped_column(String(32), default="queued")  # queued | no_channel
    reason: Mapped[str | None] = mapped_column(Text)  # why no channel was allowed
    source: Mapped[str] = mapped_column(String(120), default="")
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    read_at: Mapped[datetime | None]


class Delivery(Base):
    """One (notification, channel, target) send. ``idempotency_key`` is made before the first
    attempt and is the provider-facing id too (Message-ID, webhook-id, apns-id)."""

    __tablename__ = "notification_deliveries"
    __table_args__ = (
        UniqueConstraint("idempotency_key"),
        Index("ix_notification_deliveries_status_channel", "status", "channel"),
        Index("ix_notification_deliveries_user_id_status", "user_id", "status"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    idempotency_key: Mapped[str] = mapped_column(String(160))
    notification_id: Mapped[int] = mapped_column(ForeignKey("notifications.id", ondelete="CASCADE"), index=True)
    message_id: Mapped[int] = mapped_column(ForeignKey("notification_messages.id", ondelete="CASCADE"))
    user_id: Mapped[int] = mapped_column(Integer)
    channel: Mapped[str] = mapped_column(String(16))
    target: Mapped[str] = mapped_column(String(2048))  # address, phone, "push:<id>", "endpoint:<id>"
    provider: Mapped[str | None] = mapped_column(String(32))
    priority: Mapped[int] = mapped_column(Integer)
    status: Mapped[DeliveryStatus] = mapped_column(enum_type(DeliveryStatus), default=DeliveryStatus.QUEUED)
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    scheduled_for: Mapped[datetime | None]  # quiet hours or retry backoff: not before this
    claim_token: Mapped[str | None] = mapped_column(String(64))
    claim_job: Mapped[str | None] = mapped_column(String(100))
    claimed_at: Mapped[datetime | None]
    provider_message_id: Mapped[str | None] = mapped_column(String(255), index=True)
    error: Mapped[str | None] = mapped_column(Text)
    digest_delivery_id: Mapped[int | None] = mapped_column(Integer)  # the digest that carried it
    sent_at: Mapped[datetime | None]
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow, onupdate=utcnow)


class DeliveryAttempt(Base):
    """Every attempt and every provider report on a delivery, in order."""

    __tablename__ = "notification_delivery_attempts"

    id: Mapped[int] = mapped_column(primary_key=True)
    delivery_id: Mapped[int] = mapped_column(ForeignKey("notification_deliveries.id", ondelete="CASCADE"), index=True)
    attempt: Mapped[int] = mapped_column(Integer)  # 0 for provider reports
    status: Mapped[str] = mapped_column(String(16))
    provider: Mapped[str | None] = mapped_column(String(32))
    provider_message_id: Mapped[str | None] = mapped_column(String(255))
    http_status: Mapped[int | None] = mapped_column(Integer)
    error: Mapped[str | None] = mapped_column(Text)
    at: Mapped[datetime] = mapped_column(default=utcnow)


class NotificationPreference(Base):
    """A user's switch for one category and channel; ``*`` stands for every category or channel.
    The most specific row wins; no row means the event's default."""

    __tablename__ = "notification_preferences"
    __table_args__ = (UniqueConstraint("user_id", "category", "channel"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)
    category: Mapped[str] = mapped_column(String(64))
    channel: Mapped[str] = mapped_column(String(16))
    enabled: Mapped[bool] = mapped_column(Boolean, default=True)
    digest: Mapped[bool | None] = mapped_column(Boolean)  # email only: hold for the weekly digest


class NotificationSettings(Base):
    """Per-user switches that cut across categories."""

    __tablename__ = "notification_settings"

    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), primary_key=True)
    unsubscribed_all: Mapped[bool] = mapped_column(Boolean, default=False)  # transactional mail still goes
    quiet_start: Mapped[str | None] = mapped_column(String(5))  # "22:00", in the user's time zone
    quiet_end: Mapped[str | None] = mapped_column(String(5))  # "07:00"
    updated_at: Mapped[datetime] = mapped_column(default=utcnow, onupdate=utcnow)


class EmailSuppression(Base):
    """An address no email goes to any more (hard bounce, complaint, unsubscribe)."""

    __tablename__ = "email_suppressions"

    email: Mapped[str] = mapped_column(String(320), primary_key=True)  # lower-cased
    reason: Mapped[str] = mapped_column(String(32))
    source: Mapped[str | None] = mapped_column(String(64))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


class PushSubscription(Base):
    """A device: a browser Web Push subscription, an FCM token or an APNs device token."""

    __tablename__ = "push_subscriptions"
    __table_args__ = (UniqueConstraint("kind", "token"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)
    kind: Mapped[str] = mapped_column(String(16))  # webpush | fcm | apns
    token: Mapped[str] = mapped_column(String(1024))  # Web Push endpoint URL, FCM or APNs token
    p256dh: Mapped[str | None] = mapped_column(String(200))  # Web Push keys
    auth: Mapped[str | None] = mapped_column(String(100))
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    deactivated_reason: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


class WebhookEndpoint(Base):
    """An endpoint a creator registered: a Standard Webhooks receiver or a Discord webhook."""

    __tablename__ = "webhook_endpoints"

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)
    kind: Mapped[str] = mapped_column(String(16), default="webhook")  # webhook | discord
    url: Mapped[str] = mapped_column(String(2048))
    secret: Mapped[str | None] = mapped_column(String(200))  # whsec_...
    previous_secret: Mapped[str | None] = mapped_column(String(200))  # still signed with, during rotation
    previous_secret_expires_at: Mapped[datetime | None]
    events: Mapped[list[str]] = mapped_column(JSON, default=list)  # empty: every event
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    failing: Mapped[bool] = mapped_column(Boolean, default=False)
    failing_since: Mapped[datetime | None]
    last_error: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


class ProviderEvent(Base):
    """A provider callback already applied, so a re-posted webhook changes nothing twice."""

    __tablename__ = "notification_provider_events"
    __table_args__ = (UniqueConstraint("provider", "event_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    provider: Mapped[str] = mapped_column(String(32))
    event_id: Mapped[str] = mapped_column(String(255))
    kind: Mapped[str] = mapped_column(String(32))
    provider_message_id: Mapped[str | None] = mapped_column(String(255))
    delivery_id: Mapped[int | None] = mapped_column(Integer)
    received_at: Mapped[datetime] = mapped_column(default=utcnow)
