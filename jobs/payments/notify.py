"""Payment events for the notifications area, enqueued by name and only if that job exists.

Payments never imports notification code: it enqueues ``notifications.notify`` through the
catalog, as ``event`` + ``recipients=[user id]`` + ``data`` (``amount_minor``, ``currency``,
``description``, and ``reason`` for failures) + ``key`` (the charge or payout key, so a
retried run does not notify twice). When the job is not declared (notifications not deployed)
events are skipped, logged at debug, and never fail a payment.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from jobs.payments.settings import payments_settings
from odyssey_workers.catalog import get_catalog
from odyssey_workers.errors import OdysseyError
from odyssey_workers.queues import JobRequest, enqueue_many

logger = logging.getLogger(__name__)

NOTIFY_JOB = "notifications.notify"
PAYMENT_SUCCESS = "payment_success"
PAYMENT_FAILED = "payment_failed"
PAYOUT_SENT = "payout_sent"


@dataclass(frozen=True)
class PaymentEvent:
    event: str
    user_id: int
    key: str
    data: dict[str, Any]


def notifications_available() -> bool:
    return NOTIFY_JOB in get_catalog()


def build_payload(event: PaymentEvent) -> dict[str, Any]:
    return {"event": event.event, "recipients": [event.user_id], "data": event.data, "key": event.key[:120]}


def emit(events: Sequence[PaymentEvent]) -> int:
    """Enqueue one ``notifications.notify`` per event; returns how many were enqueued (0 if absent)."""
    if not events or not payments_settings().payment_notifications:
        return 0
    if not notifications_available():
        logger.debug("%s is not in the catalog; %d payment events not sent", NOTIFY_JOB, len(events))
        return 0
    try:
        enqueue_many([JobRequest(NOTIFY_JOB, build_payload(event)) for event in events])
    except OdysseyError as exc:
        # A notification must never undo or block a payment; the charge is already recorded.
        logger.warning("could not enqueue %d payment notifications: %s", len(events), exc)
        return 0
    return len(events)
