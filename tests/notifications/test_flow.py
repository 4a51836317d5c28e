"""notify → deliveries → send jobs, on the outbox defaults, through real Redis and RQ."""

from __future__ import annotations

import email
from email import policy
from pathlib import Path

import pytest
from sqlalchemy import func, select

from jobs.notifications.models import Notification, PushSubscription
from odyssey_workers.db.session import session_scope
from odyssey_workers.errors import PayloadError
from odyssey_workers.queues import enqueue, get_queue
from tests.notifications.conftest import attempts, deliveries, drain

UPLOAD = {"creator_name": "Ana", "title": "Tour <diary> & more", "url": "https://odyssey.test/p/1"}


def outbox(var: Path, kind: str) -> list[Path]:
    folder = var / "outbox" / kind
    return sorted(folder.glob("*.eml" if kind == "email" else "*.json")) if folder.exists() else []


def add_push(user_id: int, kind: str = "fcm", token: str = "tok-1") -> int:
    with session_scope() as session:
        sub = PushSubscription(user_id=user_id, kind=kind, token=token)
        session.add(sub)
        session.flush()
        return int(sub.id)


def test_notify_sends_each_allowed_channel_once_on_the_events_queue(db, people, var_dir: Path) -> None:
    fan = people(display_name="Zoë <3")
    add_push(fan)
    job = enqueue("notifications.notify", event="content_upload", recipients=[fan], data=UPLOAD)
    assert job.origin == "high"
    drain()

    rows = deliveries()
    assert sorted((d.channel, d.status) for d in rows) == [("email", "sent"), ("push", "sent")]
    assert all(d.attempts == 1 and d.provider == "outbox" for d in rows)
    assert len({d.idempotency_key for d in rows}) == 2
    sends = get_queue("default").finished_job_registry.get_job_ids()
    assert len(sends) == 1  # one batched send job, on the default band (content_upload is 5)

    [eml] = outbox(var_dir, "email")
    message = email.message_from_bytes(eml.read_bytes(), policy=policy.default)
    assert message["Subject"] == "New from Ana: Tour <diary> & more"
    assert message["List-Unsubscribe"].startswith("<http")
    assert message["List-Unsubscribe-Post"] == "List-Unsubscribe=One-Click"
    text = message.get_body(("plain",)).get_content()
    html = message.get_body(("html",)).get_content()
    assert "Hi Zoë <3," in text and "Tour <diary> & more" in text
    assert "Zoë &lt;3" in html and "Tour &lt;diary&gt; &amp; more" in html  # autoescaped, names too
    assert len(outbox(var_dir, "push")) == 1
    assert [a.status for a in attempts(rows[0].id)] == ["sent"]


def test_unknown_event_is_refused_at_enqueue_and_nothing_is_written(db, people, redis_conn) -> None:
    fan = people()
    with pytest.raises(PayloadError, match="unknown event 'live_alrt'"):
        enqueue("notifications.notify", event="live_alrt", recipients=[fan], data={})
    assert sum(len(get_queue(q)) for q in ("high", "default", "low")) == 0
    with session_scope() as session:
        assert session.scalar(select(func.count()).select_from(Notification)) == 0


def test_missing_template_variable_fails_permanently_and_writes_nothing(db, people) -> None:
    fan = people()
    job = enqueue("notifications.notify", event="content_upload", recipients=[fan], data={"creator_name": "Ana"})
    drain()
    job.refresh()
    assert job.is_failed
    assert (
        "missing variable" in job.latest_result().exc_string
        and "'title' is undefined" in job.latest_result().exc_string
    )
    assert job.retries_left == 0
    assert deliveries() == []
    with session_scope() as session:
        assert session.scalar(select(func.count()).select_from(Notification)) == 0


def test_retried_notify_writes_the_same_rows_once(db, people) -> None:
    from jobs.notifications.deliver import deliver_to

    fans = [people(), people()]
    first = deliver_to("content_upload", fans, UPLOAD, key="k1")
    again = deliver_to("content_upload", fans, UPLOAD, key="k1")
    assert first["deliveries"] == again["deliveries"] == 2
    assert len(deliveries()) == 2
    with session_scope() as session:
        assert session.scalar(select(func.count()).select_from(Notification)) == 2
    drain()
    assert [d.status for d in deliveries()] == ["sent", "sent"]


def test_user_with_no_channel_allowed_gets_a_recorded_reason_and_no_delivery(db, people) -> None:
    fan = people(email=None)
    enqueue("notifications.notify", event="content_upload", recipients=[fan], data=UPLOAD)
    drain()
    with session_scope() as session:
        note = session.scalars(select(Notification)).one()
    assert note.outcome == "no_channel"
    assert "email: no address" in note.reason and "push: no active device" in note.reason
    assert deliveries() == []


def test_invalid_email_address_fails_once_with_a_clear_error(db, people, var_dir: Path) -> None:
    fan = people(email="not-an-address")
    enqueue(
        "notifications.notify",
        event="payment_success",
        recipients=[fan],
        data={"amount_minor": 999, "currency": "EUR", "description": "Gold"},
    )
    drain()
    [row] = deliveries()
    assert row.status == "failed" and row.attempts == 1
    assert "invalid email address 'not-an-address'" in row.error
    assert outbox(var_dir, "email") == []
