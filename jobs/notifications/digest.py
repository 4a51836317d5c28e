"""The weekly digest: each user's held low-priority emails gathered into one.

Emails of digest categories (comments, by default; any category a user sets to "digest") are
written as ``held`` deliveries. This job lists them per user, notifies ``weekly_digest`` with
them as items (the digest is an ordinary delivery, with its own key per user and ISO week, so a
re-run sends it once), and marks the held deliveries ``sent``, pointing at the digest.
"""

from __future__ import annotations

from collections import defaultdict
from typing import Any

from sqlalchemy import select, update

from jobs.notifications.deliver import deliver_to
from jobs.notifications.models import Delivery, Notification, NotificationMessage
from odyssey_workers.db.base import utcnow
from odyssey_workers.db.models import User
from odyssey_workers.db.session import session_scope
from odyssey_workers.providers.email_common import fill

MAX_ITEMS = 50  # items listed in one digest; the rest wait for next week's


def _held(user_id: int | None) -> dict[int, list[tuple[int, str, dict[str, Any]]]]:
    query = (
        select(Delivery.user_id, Delivery.id, NotificationMessage.parts, Notification.data, User.display_name)
        .join(NotificationMessage, NotificationMessage.id == Delivery.message_id)
        .join(Notification, Notification.id == Delivery.notification_id)
        .join(User, User.id == Delivery.user_id)
        .where(Delivery.status == "held", Delivery.channel == "email")
        .order_by(Delivery.user_id, Delivery.id)
    )
    if user_id is not None:
        query = query.where(Delivery.user_id == user_id)
    held: dict[int, list[tuple[int, str, dict[str, Any]]]] = defaultdict(list)
    with session_scope() as session:
        for uid, delivery_id, parts, data, name in session.execute(query):
            if len(held[uid]) < MAX_ITEMS:
                held[uid].append((delivery_id, fill(parts["subject"], {"name": name or ""}), data))
    return held


def weekly_digest(user_id: int | None = None) -> dict[str, int]:
    now = utcnow()
    year, week, _ = now.isocalendar()
    summary = {"users": 0, "items": 0, "suppressed": 0}
    for uid, items in _held(user_id).items():
        held_ids = [delivery_id for delivery_id, _, _ in items]
        data = {
            "items": [{"title": title, "url": str(d.get("url") or "")} for _, title, d in items],
            "held_ids": held_ids,
        }
        result = deliver_to("weekly_digest", [uid], data, key=f"digest:{uid}:{year}-W{week:02d}", source="digest")
        with session_scope() as session:
            digest_id = session.scalar(
                select(Delivery.id)
                .join(Notification, Notification.id == Delivery.notification_id)
                .where(Notification.dedupe_key == f"digest:{uid}:{year}-W{week:02d}", Delivery.user_id == uid)
            )
            if digest_id is None:  # the user turned the digest off: nothing will carry these
                values: dict[str, Any] = {"status": "suppressed", "error": "weekly digest is off", "updated_at": now}
                summary["suppressed"] += len(held_ids)
            else:
                values = {"status": "sent", "sent_at": now, "digest_delivery_id": digest_id, "updated_at": now}
                summary["items"] += len(held_ids)
            session.execute(
                update(Delivery).where(Delivery.id.in_(held_ids), Delivery.status == "held").values(**values)
            )
        summary["users"] += 1 if result["recipients"] else 0
    return summary
