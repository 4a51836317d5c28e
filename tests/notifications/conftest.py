"""Fixtures for the notification tests: people in the database, an in-process RQ drain, stubs."""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from rq import SimpleWorker
from rq.scheduler import RQScheduler
from rq.serializers import JSONSerializer
from sqlalchemy import select

from jobs.notifications.models import Delivery, DeliveryAttempt
from odyssey_workers import defaults
from odyssey_workers.connection import get_redis
from odyssey_workers.db.models import Creator, Follow, User
from odyssey_workers.db.session import session_scope
from odyssey_workers.jobclass import CatalogJob
from odyssey_workers.queues import get_queue
from odyssey_workers.settings import get_settings
from tests.notifications.loopback import HttpStub, make_cert


def set_env(monkeypatch: pytest.MonkeyPatch, **values: str) -> None:
    """Set settings variables for this test and drop the cached settings."""
    for name, value in values.items():
        monkeypatch.setenv(name.upper(), value)
    get_settings.cache_clear()
    from jobs.notifications import links

    links._secret.cache_clear()


@pytest.fixture
def db(database_url: str, redis_conn: Any, monkeypatch: pytest.MonkeyPatch) -> str:
    """A migrated database (SQLite, then PostgreSQL), a flushed Redis, fast retries."""
    set_env(monkeypatch, notifications_retry_schedule="0,0", webhook_retry_schedule="0,0", notifications_rate_limits="")
    return database_url


@pytest.fixture
def people() -> Callable[..., int]:
    """``people(email=..., phone=..., locale=..., time_zone=...)`` → a new user id."""
    counter = iter(range(1, 10_000))

    def make(**fields: Any) -> int:
        n = next(counter)
        values = {"email": f"fan{n}@example.com", "display_name": f"Fan {n}", "locale": "en", "time_zone": "UTC"}
        values.update(fields)
        with session_scope() as session:
            user = User(**values)
            session.add(user)
            session.flush()
            return int(user.id)

    return make


def make_creator(user_id: int, followers: list[int], handle: str = "ana") -> int:
    with session_scope() as session:
        creator = Creator(user_id=user_id, handle=handle, settings={})
        session.add(creator)
        session.flush()
        session.add_all(Follow(follower_id=f, creator_id=creator.id) for f in followers)
        return int(creator.id)


def deliveries(**where: Any) -> list[Delivery]:
    with session_scope() as session:
        query = select(Delivery).order_by(Delivery.id)
        for name, value in where.items():
            query = query.where(getattr(Delivery, name) == value)
        return list(session.scalars(query))


def attempts(delivery_id: int) -> list[DeliveryAttempt]:
    with session_scope() as session:
        query = select(DeliveryAttempt).where(DeliveryAttempt.delivery_id == delivery_id).order_by(DeliveryAttempt.id)
        return list(session.scalars(query))


def drain(timeout: float = 30.0) -> None:
    """Run every queued and due scheduled job in this process (real Redis, real RQ, no fork),
    until nothing is queued, scheduled or waiting for a concurrency slot."""
    connection = get_redis()
    names = list(defaults.QUEUE_NAMES)
    queues = [get_queue(n, connection) for n in names]
    scheduler = RQScheduler(names, connection=connection, serializer=JSONSerializer)
    scheduler.prepare_registries(names)
    deadline = time.monotonic() + timeout
    while True:
        scheduler.enqueue_scheduled_jobs()
        worker = SimpleWorker(queues, connection=connection, serializer=JSONSerializer, job_class=CatalogJob)
        worker.log.setLevel(logging.WARNING)
        worker.work(burst=True, with_scheduler=False)
        # Jobs scheduled further out than a few seconds (quiet hours) are not waited for.
        horizon = int(time.time()) + 5
        scheduled = sum(len(q.scheduled_job_registry.get_jobs_to_schedule(horizon)) for q in queues)
        waiting = sum(len(q) for q in queues) + len(connection.keys("rq:rate_limit*"))
        if not scheduled and not sum(len(q) for q in queues):
            return
        if time.monotonic() > deadline:
            raise TimeoutError(f"jobs still pending after {timeout}s: {scheduled} scheduled, {waiting} queued")
        time.sleep(0.1)


@pytest.fixture
def stub() -> Iterator[Callable[..., HttpStub]]:
    """``stub(responder, tls=None)`` → a started HttpStub, stopped after the test."""
    started: list[HttpStub] = []

    def make(responder: Any = None, tls: Any = None) -> HttpStub:
        server = HttpStub(responder or (lambda r: (200, {}, b"{}")), tls=tls).start()
        started.append(server)
        return server

    yield make
    for server in started:
        server.stop()


@pytest.fixture
def cert(tmp_path: Path) -> tuple[Path, Path]:
    return make_cert(tmp_path)
