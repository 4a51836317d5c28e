"""Preferences, unsubscribes, quiet hours, the weekly digest and broadcasts."""

from __future__ import annotations

import email
from datetime import UTC, datetime, timedelta
from email import policy
from pathlib import Path
from zoneinfo import ZoneInfo

from sqlalchemy import select

from jobs.notifications.contracts import EVENTS
from jobs.notifications.deliver import deliver_to
from jobs.notifications.models import Notification, NotificationPreference, NotificationSettings, PushSubscription
from jobs.notifications.preferences import UserFacts, quiet_until
from odyssey_workers.db.session import session_scope
from odyssey_workers.queues import enqueue, get_queue
from tests.notifications.conftest import deliveries, drain, make_creator, set_env

UPLOAD = {"creator_name": "Ana", "title": "Tour diary", "url": "https://odyssey.test/p/1"}
LIVE = {"creator_name": "Ana", "stream_title": "Soundcheck", "url": "https://odyssey.test/live/1"}
COMMENT = {"author_name": "Bo", "excerpt": "great!", "url": "https://odyssey.test/p/1#c"}


def settings_row(uid: int, **values) -> None:
    with session_scope() as session:
        session.add(NotificationSettings(user_id=uid, **values))


def pref(uid: int, category: str, channel: str, enabled: bool = True, digest: bool | None = None) -> None:
    with session_scope() as session:
        session.add(
            NotificationPreference(user_id=uid, category=category, channel=channel, enabled=enabled, digest=digest)
        )


def test_category_channel_opt_out_wins_over_the_events_default(db, people) -> None:
    uid = people()
    pref(uid, "content_upload", "email", enabled=False)
    pref(uid, "*", "sms", enabled=True)  # sms is not a content_upload channel: no effect
    result = deliver_to("content_upload", [uid], UPLOAD, key="p1")
    assert result["no_channel"] == 1 and deliveries() == []


def test_unsubscribe_from_everything_still_sends_receipts(db, people) -> None:
    uid = people()
    settings_row(uid, unsubscribed_all=True)
    deliver_to("content_upload", [uid], UPLOAD, key="u1")
    deliver_to("payment_success", [uid], {"amount_minor": 100, "currency": "EUR", "description": "x"}, key="u2")
    with session_scope() as session:
        outcomes = dict(session.execute(select(Notification.event, Notification.outcome)).all())
    assert outcomes == {"content_upload": "no_channel", "payment_success": "queued"}
    assert [d.channel for d in deliveries()] == ["email"]


def test_quiet_hours_window_end_is_computed_in_the_users_time_zone() -> None:
    facts = UserFacts(1, None, None, "America/New_York", quiet_start="22:00", quiet_end="07:00")
    at = datetime(2026, 1, 15, 4, 30, tzinfo=UTC)  # 23:30 in New York
    assert quiet_until(facts, at) == datetime(2026, 1, 15, 12, 0, tzinfo=UTC)  # 07:00 EST
    assert quiet_until(facts, datetime(2026, 1, 15, 15, 0, tzinfo=UTC)) is None  # 10:00: not quiet


def test_quiet_hours_defer_low_priority_sends_but_not_live_alerts(db, people, redis_conn) -> None:
    zone = "Asia/Tokyo"
    local = datetime.now(UTC).astimezone(ZoneInfo(zone))
    start, end = (local - timedelta(hours=1)).strftime("%H:%M"), (local + timedelta(hours=2)).strftime("%H:%M")
    uid = people(time_zone=zone, phone="+14155550123")
    settings_row(uid, quiet_start=start, quiet_end=end)
    with session_scope() as session:
        session.add(PushSubscription(user_id=uid, kind="fcm", token="t"))
    deliver_to("content_upload", [uid], UPLOAD, key="q1")
    deliver_to("live_alert", [uid], LIVE, key="q2")
    rows = {(d.channel, d.priority): d for d in deliveries()}
    upload_email = rows[("email", 5)]
    assert upload_email.scheduled_for is not None
    assert abs((upload_email.scheduled_for - datetime.now(UTC)) - timedelta(hours=2)).total_seconds() < 120
    assert rows[("push", 10)].scheduled_for is None  # live alerts ignore quiet hours
    scheduled = get_queue("default").scheduled_job_registry.get_job_ids()
    assert len(scheduled) == 1  # the deferred upload sends wait in RQ's scheduled registry
    drain()
    assert {d.channel: d.status for d in deliveries() if d.priority == 10} == {"push": "sent"}
    assert {d.status for d in deliveries() if d.priority == 5} == {"queued"}


def test_weekly_digest_gathers_held_comments_into_one_email_and_marks_them_sent(db, people, var_dir: Path) -> None:
    uid = people(display_name="Cy")
    assert EVENTS["comment"].digest_email
    deliver_to("comment", [uid], COMMENT, key="c1")
    deliver_to("comment", [uid], {**COMMENT, "author_name": "Di"}, key="c2")
    held = deliveries(channel="email")
    assert [d.status for d in held] == ["held", "held"]
    enqueue("notifications.weekly_digest")
    drain()
    emails = sorted((var_dir / "outbox" / "email").glob("*.eml"))
    assert len(emails) == 1
    message = email.message_from_bytes(emails[0].read_bytes(), policy=policy.default)
    assert message["Subject"] == "Your week on Odyssey: 2 updates"
    text = message.get_body(("plain",)).get_content()
    assert "Bo commented" in text and "Di commented" in text
    digest = [d for d in deliveries(channel="email") if d.status == "sent" and d.digest_delivery_id is None]
    assert len(digest) == 1
    assert {d.digest_delivery_id for d in deliveries(channel="email") if d.id != digest[0].id} == {digest[0].id}
    enqueue("notifications.weekly_digest")  # a second run the same week sends nothing more
    drain()
    assert len(sorted((var_dir / "outbox" / "email").glob("*.eml"))) == 1


def test_broadcast_to_followers_is_chunked_and_rendered_once_per_locale_per_chunk(
    db, people, monkeypatch, var_dir
) -> None:
    set_env(monkeypatch, notifications_chunk_size="3")
    owner = people(email="ana@example.com")
    fans = [people(locale="es" if n % 2 else "en") for n in range(7)]
    creator = make_creator(owner, fans)
    enqueue("notifications.notify", event="content_upload", followers_of=creator, data=UPLOAD)
    drain()
    fanouts = get_queue("default").finished_job_registry.get_job_ids()
    rows = deliveries()
    assert len(rows) == 7 and {d.status for d in rows} == {"sent"}
    assert len(fanouts) == 3 + 3  # three fan-out chunks, each with one batched email send job
    subjects = set()
    for path in (var_dir / "outbox" / "email").glob("*.eml"):
        subjects.add(email.message_from_bytes(path.read_bytes(), policy=policy.default)["Subject"])
    assert subjects == {"New from Ana: Tour diary", "Nuevo de Ana: Tour diary"}
