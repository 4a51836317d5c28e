"""A delivery is sent once: retried job, two jobs at once, re-enqueued after a lost worker."""

from __future__ import annotations

import threading
import time
from datetime import timedelta

from sqlalchemy import update

from jobs.notifications.deliver import deliver_to
from jobs.notifications.models import Delivery, WebhookEndpoint
from jobs.notifications.send import claim, send_deliveries
from odyssey_workers.db.base import utcnow
from odyssey_workers.db.session import session_scope
from odyssey_workers.providers.webhooks import generate_secret
from tests.notifications.conftest import attempts, deliveries, set_env

DATA = {"amount_minor": 500, "currency": "USD", "description": "Tip"}


def webhook_user(people, url: str) -> int:
    uid = people(email=None)
    with session_scope() as session:
        session.add(WebhookEndpoint(user_id=uid, url=url, secret=generate_secret(), events=[]))
    return uid


def test_send_job_run_twice_sends_once(db, people, stub, monkeypatch) -> None:
    sink = stub()
    set_env(monkeypatch, webhook_allow_hosts="127.0.0.1")
    uid = webhook_user(people, f"{sink.url}/hook")
    deliver_to("payment_success", [uid], DATA, key="once")
    ids = [d.id for d in deliveries()]
    first, second = send_deliveries(ids), send_deliveries(ids)
    assert first["claimed"] == 1 and second == {"claimed": 0, "skipped": 1}
    assert len(sink.requests) == 1
    assert [a.status for a in attempts(ids[0])] == ["sent"]


def test_two_send_jobs_at_once_send_once(db, people, stub, monkeypatch) -> None:
    def slow(request):
        time.sleep(0.3)  # both jobs are in flight while the first is talking to the endpoint
        return 200, {}, b"ok"

    sink = stub(slow)
    set_env(monkeypatch, webhook_allow_hosts="127.0.0.1")
    uid = webhook_user(people, f"{sink.url}/hook")
    deliver_to("payment_success", [uid], DATA, key="race")
    ids = [d.id for d in deliveries()]
    results: list[dict] = []
    threads = [threading.Thread(target=lambda: results.append(send_deliveries(ids))) for _ in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(30)
    assert sorted(r["claimed"] for r in results) == [0, 1]
    assert len(sink.requests) == 1
    assert deliveries()[0].status == "sent"


def test_delivery_claimed_by_a_lost_worker_is_sent_once_after_reenqueue(db, people, stub, monkeypatch) -> None:
    sink = stub()
    set_env(monkeypatch, webhook_allow_hosts="127.0.0.1")
    uid = webhook_user(people, f"{sink.url}/hook")
    deliver_to("payment_success", [uid], DATA, key="crash")
    ids = [d.id for d in deliveries()]
    # A worker claimed it and died before calling the provider: the row is left "sending".
    assert len(claim(ids, "job-that-died", utcnow())) == 1
    # Another job cannot take a fresh claim of a live-looking job ...
    assert send_deliveries(ids) == {"claimed": 0, "skipped": 1}
    assert sink.requests == []
    # ... but once the claim is older than any job may run, a re-enqueued job takes it.
    with session_scope() as session:
        session.execute(update(Delivery).values(claimed_at=utcnow() - timedelta(hours=1)))
    assert send_deliveries(ids)["claimed"] == 1
    assert send_deliveries(ids)["claimed"] == 0
    assert len(sink.requests) == 1
    [row] = deliveries()
    assert row.status == "sent" and row.attempts == 2  # the lost attempt counts as one


def test_rq_retry_of_the_same_job_reclaims_its_own_rows(db, people) -> None:
    uid = people()
    deliver_to("payment_success", [uid], DATA, key="retry")
    ids = [d.id for d in deliveries()]
    assert len(claim(ids, "job-7", utcnow())) == 1
    assert claim(ids, "job-8", utcnow()) == []  # another job: no
    assert len(claim(ids, "job-7", utcnow())) == 1  # the same job retried by RQ: yes
