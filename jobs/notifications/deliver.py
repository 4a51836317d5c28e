"""The core of notify and of each fan-out chunk: decide, render, write, enqueue.

For a batch of users it reads everything the decision needs in a handful of queries, renders
each (channel, locale) message once, writes one notification row per user and one delivery row
per (user, channel, target) with ``INSERT ... ON CONFLICT DO NOTHING`` (so a retried job writes
nothing twice), and only after the commit enqueues the send jobs on the event's priority band.
Rendering happens before the first write: a template error leaves no row behind.
"""

from __future__ import annotations

import logging
from collections import defaultdict
from collections.abc import Iterable, Mapping, Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from jobs.notifications.contracts import EventSpec, event_spec
from jobs.notifications.models import (
    Delivery,
    EmailSuppression,
    Notification,
    NotificationMessage,
    NotificationPreference,
    NotificationSettings,
    PushSubscription,
    WebhookEndpoint,
)
from jobs.notifications.preferences import Plan, UserFacts, plan_for
from jobs.notifications.render import Renderer
from jobs.notifications.scheduling import enqueue_sends
from jobs.notifications.settings import notifications_settings
from odyssey_workers.db.base import utcnow
from odyssey_workers.db.idempotent import insert_if_absent
from odyssey_workers.db.models import User
from odyssey_workers.db.session import session_scope
from odyssey_workers.errors import PermanentError

logger = logging.getLogger(__name__)
IN_CHUNK = 500  # ids per IN (...) list


def spec_or_permanent(event: str) -> EventSpec:
    try:
        return event_spec(event)
    except ValueError as exc:
        raise PermanentError(str(exc)) from None


def _chunks(values: Sequence[Any]) -> Iterable[Sequence[Any]]:
    for start in range(0, len(values), IN_CHUNK):
        yield values[start : start + IN_CHUNK]


def load_facts(
    session: Session, user_ids: Sequence[int], event: EventSpec
) -> tuple[dict[int, User], dict[int, UserFacts]]:
    """Users and everything about them the channel decision needs, in a few queries per 500 users."""
    users: dict[int, User] = {}
    settings: dict[int, NotificationSettings] = {}
    prefs: dict[int, dict[tuple[str, str], tuple[bool, bool | None]]] = defaultdict(dict)
    pushes: dict[int, list[int]] = defaultdict(list)
    hooks: dict[int, list[int]] = defaultdict(list)
    discords: dict[int, list[int]] = defaultdict(list)
    suppressed: set[str] = set()
    for ids in _chunks(user_ids):
        users.update({u.id: u for u in session.scalars(select(User).where(User.id.in_(ids)))})
        settings.update(
            {
                s.user_id: s
                for s in session.scalars(select(NotificationSettings).where(NotificationSettings.user_id.in_(ids)))
            }
        )
        for p in session.scalars(select(NotificationPreference).where(NotificationPreference.user_id.in_(ids))):
            prefs[p.user_id][(p.category, p.channel)] = (p.enabled, p.digest)
        push_rows = select(PushSubscription.user_id, PushSubscription.id).where(
            PushSubscription.user_id.in_(ids), PushSubscription.active.is_(True)
        )
        for user_id, sub_id in session.execute(push_rows.order_by(PushSubscription.id)):
            pushes[user_id].append(sub_id)
        endpoint_rows = select(WebhookEndpoint).where(
            WebhookEndpoint.user_id.in_(ids), WebhookEndpoint.active.is_(True)
        )
        for endpoint in session.scalars(endpoint_rows.order_by(WebhookEndpoint.id)):
            if endpoint.events and event.name not in endpoint.events:
                continue
            (discords if endpoint.kind == "discord" else hooks)[endpoint.user_id].append(endpoint.id)
    emails = sorted({u.email.lower() for u in users.values() if u.email})
    for batch in _chunks(emails):
        suppressed.update(session.scalars(select(EmailSuppression.email).where(EmailSuppression.email.in_(batch))))
    facts = {}
    for uid, user in users.items():
        row = settings.get(uid)
        facts[uid] = UserFacts(
            user_id=uid,
            email=user.email,
            phone=user.phone,
            time_zone=user.time_zone,
            unsubscribed_all=bool(row and row.unsubscribed_all),
            quiet_start=row.quiet_start if row else None,
            quiet_end=row.quiet_end if row else None,
            preferences=prefs.get(uid, {}),
            email_suppressed=bool(user.email and user.email.lower() in suppressed),
            push_targets=tuple(pushes.get(uid, ())),
            webhook_targets=tuple(hooks.get(uid, ())),
            discord_targets=tuple(discords.get(uid, ())),
        )
    return users, facts


def delivery_key(notification_id: int, channel: str, target: str) -> str:
    """The durable idempotency key: made before the first attempt, reused by every retry."""
    ref = target if target.startswith(("push:", "endpoint:")) else channel
    return f"n{notification_id}.{channel}.{ref}"


def _message_locale(renderer: Renderer, channel: str, user: User) -> str:
    return "*" if channel == "webhook" else renderer.locale(user.locale)


def deliver_to(
    event: str,
    user_ids: Sequence[int],
    data: Mapping[str, Any],
    key: str,
    source: str = "",
    now: datetime | None = None,
) -> dict[str, Any]:
    """Write and enqueue ``event`` for ``user_ids``; returns counts (and unknown user ids)."""
    spec = spec_or_permanent(event)
    now = now or utcnow()
    ids = sorted(set(user_ids))
    with session_scope() as session:
        users, facts = load_facts(session, ids, spec)
    unknown = [uid for uid in ids if uid not in users]
    if unknown and not users:
        raise PermanentError(f"{event}: no such user(s): {', '.join(map(str, unknown[:20]))}")
    if unknown:
        logger.warning("%s: skipping %d unknown user id(s), e.g. %s", event, len(unknown), unknown[:5])
    plans: dict[int, Plan] = {uid: plan_for(facts[uid], spec, now) for uid in users}

    renderer = Renderer(spec, data, key, now, notifications_settings().notifications_default_locale)
    needed = {
        (d.channel, _message_locale(renderer, d.channel, users[uid])) for uid, p in plans.items() for d in p.deliveries
    }
    rendered = {pair: renderer.parts(*pair) for pair in sorted(needed)}  # may raise TemplateError: nothing written yet

    with session_scope() as session:
        queued = _write(session, spec, key, source, data, users, plans, rendered, renderer, now)
    groups: dict[tuple[int, datetime | None], list[int]] = defaultdict(list)
    for delivery_id, scheduled_for in queued:
        groups[(spec.priority, scheduled_for)].append(delivery_id)
    jobs = enqueue_sends((priority, when, group) for (priority, when), group in groups.items())
    no_channel = sum(1 for p in plans.values() if not p.deliveries)
    return {
        "event": event,
        "key": key,
        "recipients": len(users),
        "deliveries": sum(len(p.deliveries) for p in plans.values()),
        "queued": len(queued),
        "held": sum(1 for p in plans.values() for d in p.deliveries if d.held),
        "no_channel": no_channel,
        "unknown_users": unknown,
        "renders": renderer.renders,
        "send_jobs": jobs,
    }


def _write(
    session: Session,
    spec: EventSpec,
    key: str,
    source: str,
    data: Mapping[str, Any],
    users: Mapping[int, User],
    plans: Mapping[int, Plan],
    rendered: Mapping[tuple[str, str], dict[str, str]],
    renderer: Renderer,
    now: datetime,
) -> list[tuple[int, datetime | None]]:
    """All rows of the batch in one transaction; returns the (delivery id, not before) still queued."""
    insert_if_absent(
        session,
        NotificationMessage,
        [
            {"dedupe_key": key, "event": spec.name, "channel": ch, "locale": loc, "parts": parts, "created_at": now}
            for (ch, loc), parts in rendered.items()
        ],
        ["dedupe_key", "channel", "locale"],
    )
    message_ids = {
        (m.channel, m.locale): m.id
        for m in session.scalars(select(NotificationMessage).where(NotificationMessage.dedupe_key == key))
    }
    rows = []
    for uid, plan in plans.items():
        user = users[uid]
        rows.append(
            {
                "dedupe_key": key,
                "user_id": uid,
                "event": spec.name,
                "category": spec.category,
                "priority": spec.priority,
                "data": dict(data),
                "locale": renderer.locale(user.locale),
                "outcome": "queued" if plan.deliveries else "no_channel",
                "reason": None if plan.deliveries else plan.reason,
                "source": source,
                "created_at": now,
            }
        )
    insert_if_absent(session, Notification, rows, ["dedupe_key", "user_id"])
    notification_ids: dict[int, int] = {}
    for ids in _chunks(list(plans)):
        query = select(Notification.user_id, Notification.id).where(
            Notification.dedupe_key == key, Notification.user_id.in_(ids)
        )
        notification_ids.update({uid: nid for uid, nid in session.execute(query)})
    deliveries = []
    for uid, plan in plans.items():
        for planned in plan.deliveries:
            nid = notification_ids[uid]
            deliveries.append(
                {
                    "idempotency_key": delivery_key(nid, planned.channel, planned.target),
                    "notification_id": nid,
                    "message_id": message_ids[
                        (planned.channel, _message_locale(renderer, planned.channel, users[uid]))
                    ],
                    "user_id": uid,
                    "channel": planned.channel,
                    "target": planned.target,
                    "priority": spec.priority,
                    "status": "held" if planned.held else "queued",
                    "attempts": 0,
                    "scheduled_for": planned.not_before,
                    "created_at": now,
                    "updated_at": now,
                }
            )
    insert_if_absent(session, Delivery, deliveries, ["idempotency_key"])
    queued: list[tuple[int, datetime | None]] = []
    for nids in _chunks(sorted(notification_ids.values())):
        queued_query = select(Delivery.id, Delivery.scheduled_for).where(
            Delivery.notification_id.in_(nids), Delivery.status == "queued"
        )
        queued.extend((int(did), when) for did, when in session.execute(queued_query.order_by(Delivery.id)))
    return queued
