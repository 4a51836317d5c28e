"""Every model, so ``Base.metadata`` is complete for Alembic. One module per area."""

from odyssey_workers.db.models.core import (
    AssetKind,
    AssetStatus,
    ContentAsset,
    Creator,
    Follow,
    Rendition,
    User,
)
from odyssey_workers.db.models.media import LiveClip, LiveSegment, LiveStream  # noqa: F401 - live stream tables
from odyssey_workers.db.models.notifications import (
    Delivery,
    DeliveryAttempt,
    EmailSuppression,
    Notification,
    NotificationMessage,
    NotificationPreference,
    NotificationSettings,
    ProviderEvent,
    PushSubscription,
    WebhookEndpoint,
)
from odyssey_workers.db.models.payments import (  # noqa: F401 - registers the payments tables
    Charge,
    LedgerAccount,
    LedgerEntry,
    LedgerTransaction,
    Payout,
    Subscription,
)
from odyssey_workers.db.models.schedules import ScheduleRun

__all__ = [
    "AssetKind",
    "AssetStatus",
    "ContentAsset",
    "Creator",
    "Delivery",
    "DeliveryAttempt",
    "EmailSuppression",
    "Follow",
    "Notification",
    "NotificationMessage",
    "NotificationPreference",
    "NotificationSettings",
    "ProviderEvent",
    "PushSubscription",
    "Rendition",
    "ScheduleRun",
    "User",
    "WebhookEndpoint",
]
