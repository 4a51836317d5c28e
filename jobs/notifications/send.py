"""The send jobs: claim each delivery, send it, record the attempt, schedule the retry.

Exactly-once hinges on the claim, one atomic UPDATE made before any provider is called:

* ``queued`` rows (and due ones only: quiet hours and backoff are honoured) become ``sending``,
  stamped with this attempt's token and this job's id;
* a ``sending`` row is taken again only by *the same job* (an RQ retry after this job's worker
  died: the earlier attempt is over) or when its claim is older than any job may run;
* anything else — sent, failed, or claimed by another live job — is skipped.

So a send job that is retried, enqueued twice and run at once, or re-enqueued after a crash
sends each delivery once. The one unavoidable window — a worker lost after the provider
accepted but before the row was written — re-sends with the same Message-ID, ``webhook-id`` or
``apns-id``, which receivers use to drop the duplicate.

An outcome that is a bug (``dispatch.is_bug``: a ``TypeError`` in a provider or a render step)
is logged once with its traceback and fails its deliveries at once: retrying would only hide it
behind a provider that looks down.
"""

from __future__ import annotations

import logging
import uuid
from collections import defaultdict
from datetime import datetime, timedelta
from typing import Any

from rq import get_current_job
from sqlalchemy import and_, insert, or_, select, update

from jobs.notifications.channels import retry_schedule
from jobs.notifications.dispatch import Claimed, Effects, Suppressed, dispatch, is_bug
from jobs.notifications.models import (
    Delivery,
    DeliveryAttempt,
    Notification,
    NotificationMessage,
    PushSubscription,
    WebhookEndpoint,
)
from jobs.notifications.scheduling import EARLY_TOLERANCE, enqueue_sends
from odyssey_workers.catalog import get_catalog
from odyssey_workers.db.base import utcnow
from odyssey_workers.db.models import User
from odyssey_workers.db.session import session_scope
from odyssey_workers.errors import PermanentError
from odyssey_workers.providers.endpoint_urls import InvalidEndpointUrl
from odyssey_workers.providers.outcomes import Outcome, ProviderUnavailable, RecipientGone, Sent

logger = logging.getLogger(__name__)


def stale_after() -> timedelta:
    """A claim older than the longest a send job may run belongs to a dead worker."""
    return timedelta(seconds=get_catalog().get("notifications.send_default").timeout + 60)


def claim(delivery_ids: list[int], job_id: str, now: datetime) -> list[Claimed]:
    token = uuid.uuid4().hex
    due = or_(Delivery.scheduled_for.is_(None), Delivery.scheduled_for <= now + EARLY_TOLERANCE)
    takeable = or_(
        and_(Delivery.status == "queued", due),
        and_(
            Delivery.status == "sending", or_(Delivery.claim_job == job_id, Delivery.claimed_at < now - stale_after())
        ),
    )
    with session_scope() as session:
        session.execute(
            update(Delivery)
            .where(Delivery.id.in_(delivery_ids), takeable)
            .values(
                status="sending",
                claim_token=token,
                claim_job=job_id,
                claimed_at=now,
                attempts=Delivery.attempts + 1,
                updated_at=now,
            )
            .execution_options(synchronize_session=False)
        )
        rows = session.execute(
            select(Delivery, NotificationMessage.parts, Notification.event, Notification.category, User.display_name)
            .join(NotificationMessage, NotificationMessage.id == Delivery.message_id)
            .join(Notification, Notification.id == Delivery.notification_id)
            .join(User, User.id == Delivery.user_id)
            .where(Delivery.claim_token == token)
            .order_by(Delivery.id)
        ).all()
    return [
        Claimed(
            id=d.id,
            key=d.idempotency_key,
            user_id=d.user_id,
            channel=d.channel,
            target=d.target,
            priority=d.priority,
            attempts=d.attempts,
            message_id=d.message_id,
            parts=parts,
            event=event,
            category=category,
            display_name=name or "",
        )
        for d, parts, event, category, name in rows
    ]


def _retry_after(outcome: Exception) -> float:
    return float(getattr(outcome, "retry_after", None) or 0.0)


def record(claimed: list[Claimed], outcomes: dict[int, Outcome], fx: Effects, now: datetime) -> dict[str, Any]:
    """Write every outcome and attempt; returns counts and the retries to schedule."""
    updates: list[dict[str, Any]] = []
    attempts: list[dict[str, Any]] = []
    retries: dict[tuple[int, datetime], list[int]] = defaultdict(list)
    failing_endpoints: dict[int, str] = {}
    counts: dict[str, int] = defaultdict(int)
    _log_bugs(claimed, outcomes)
    for d in claimed:
        outcome = outcomes.get(d.id) or ProviderUnavailable("no outcome was reported for this delivery")
        row: dict[str, Any] = {
            "id": d.id,
            "provider": fx.provider.get(d.id),
            "updated_at": now,
            "scheduled_for": None,
            "sent_at": None,
            "provider_message_id": None,
            "error": None,
        }
        http_status = getattr(outcome, "http_status", None)
        if isinstance(outcome, Sent):
            row.update(status="sent", sent_at=now, provider_message_id=outcome.message_id)
            if d.id in fx.endpoint_of:
                fx.endpoint_ok.add(fx.endpoint_of[d.id])
        elif isinstance(outcome, Suppressed):
            row.update(status="suppressed", error=str(outcome))
        elif is_bug(outcome):
            row.update(status="failed", error=f"bug, not retried: {type(outcome).__name__}: {outcome}")
        elif isinstance(outcome, PermanentError):
            row.update(status="failed", error=f"{type(outcome).__name__}: {outcome}")
            if isinstance(outcome, RecipientGone) and d.id in fx.endpoint_of:
                fx.endpoint_gone[fx.endpoint_of[d.id]] = str(outcome)
            if isinstance(outcome, InvalidEndpointUrl) and d.id in fx.endpoint_of:
                failing_endpoints[fx.endpoint_of[d.id]] = row["error"]  # shown by `webhooks list`
        else:  # passing faults: try again on the channel's schedule
            schedule = retry_schedule(d.channel)
            error = f"{type(outcome).__name__}: {outcome}"
            if d.attempts <= len(schedule):
                when = now + timedelta(seconds=max(schedule[d.attempts - 1], _retry_after(outcome)))
                row.update(
                    status="queued", scheduled_for=when, error=f"{error} (retry {d.attempts} at {when.isoformat()})"
                )
                retries[(d.priority, when)].append(d.id)
            else:
                row.update(status="failed", error=f"gave up after {d.attempts} attempts: {error}")
                if d.id in fx.endpoint_of:
                    failing_endpoints[fx.endpoint_of[d.id]] = error
        counts[row["status"]] += 1
        updates.append(row)
        attempts.append(
            {
                "delivery_id": d.id,
                "attempt": d.attempts,
                "status": "failed" if row["status"] == "queued" else row["status"],
                "provider": row["provider"],
                "provider_message_id": row["provider_message_id"],
                "http_status": http_status,
                "error": row["error"],
                "at": now,
            }
        )
    with session_scope() as session:
        session.execute(update(Delivery), updates)
        session.execute(insert(DeliveryAttempt), attempts)
        _apply_effects(session, fx, failing_endpoints, now)
    return {"counts": dict(counts), "retries": retries}


def _log_bugs(claimed: list[Claimed], outcomes: dict[int, Outcome]) -> None:
    """One ERROR with its traceback per distinct bug (a channel-wide one is shared by many)."""
    by_error: dict[int, tuple[Exception, list[int]]] = {}
    for d in claimed:
        outcome = outcomes.get(d.id)
        if isinstance(outcome, Exception) and is_bug(outcome):
            by_error.setdefault(id(outcome), (outcome, []))[1].append(d.id)
    for error, ids in by_error.values():
        logger.error(
            "%d delivery(ies) failed on a bug, not retried (ids %s): %s: %s",
            len(ids),
            ", ".join(map(str, ids[:20])),
            type(error).__name__,
            error,
            exc_info=(type(error), error, error.__traceback__),
        )


def _apply_effects(session: Any, fx: Effects, failing: dict[int, str], now: datetime) -> None:
    for sub_id, reason in fx.dead_subscriptions.items():
        session.execute(
            update(PushSubscription)
            .where(PushSubscription.id == sub_id)
            .values(active=False, deactivated_reason=reason)
        )
    for endpoint_id in fx.endpoint_ok - set(failing):
        session.execute(
            update(WebhookEndpoint)
            .where(WebhookEndpoint.id == endpoint_id, WebhookEndpoint.failing.is_(True))
            .values(failing=False, failing_since=None)
        )
    for endpoint_id, error in failing.items():
        session.execute(
            update(WebhookEndpoint)
            .where(WebhookEndpoint.id == endpoint_id)
            .values(failing=True, failing_since=now, last_error=error[:2000])
        )
    for endpoint_id, reason in fx.endpoint_gone.items():
        session.execute(
            update(WebhookEndpoint).where(WebhookEndpoint.id == endpoint_id).values(active=False, last_error=reason)
        )


def send_deliveries(delivery_ids: list[int]) -> dict[str, Any]:
    job = get_current_job()
    job_id = job.id if job is not None else f"local:{uuid.uuid4().hex}"
    now = utcnow()
    claimed = claim(sorted(set(delivery_ids)), job_id, now)
    if not claimed:
        return {"claimed": 0, "skipped": len(set(delivery_ids))}
    outcomes, fx = dispatch(claimed)
    result = record(claimed, outcomes, fx, utcnow())
    retries = result.pop("retries")
    enqueue_sends((priority, when, ids) for (priority, when), ids in retries.items())
    return {"claimed": len(claimed), "skipped": len(set(delivery_ids)) - len(claimed), **result}


send_high = send_default = send_low = send_deliveries


def recover_stuck(older_than_seconds: int = 900) -> dict[str, int]:
    """Re-enqueue deliveries a lost job or a lost enqueue left behind (claims make this safe)."""
    now = utcnow()
    quiet_for = now - timedelta(seconds=older_than_seconds)
    stuck = or_(
        and_(
            Delivery.status == "queued",
            Delivery.updated_at < quiet_for,
            or_(Delivery.scheduled_for.is_(None), Delivery.scheduled_for < quiet_for),
        ),
        and_(Delivery.status == "sending", Delivery.claimed_at < now - stale_after()),
    )
    groups: dict[int, list[int]] = defaultdict(list)
    with session_scope() as session:
        for delivery_id, priority in session.execute(select(Delivery.id, Delivery.priority).where(stuck)):
            groups[priority].append(delivery_id)
    enqueue_sends((priority, None, ids) for priority, ids in groups.items())
    return {"requeued": sum(len(ids) for ids in groups.values())}
