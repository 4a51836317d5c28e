"""Firing an entry: once per period on SQLite and PostgreSQL, never a claim without a job."""

from __future__ import annotations

from collections import Counter
from datetime import UTC, datetime, timedelta

import pytest
from redis import Redis
from redis.exceptions import ConnectionError as RedisConnectionError
from sqlalchemy import select

from odyssey_workers.db.models.schedules import ScheduleRun
from odyssey_workers.db.session import session_scope
from odyssey_workers.errors import PayloadError, UnknownJobError
from odyssey_workers.queues import enqueue, fetch_job, get_queue
from odyssey_workers.scheduling.firing import fire_entry
from tests.support.servers import free_port
from tests.support.workers import start_worker, stop_worker, wait_until

TICK = datetime(2026, 11, 23, 3, 0, tzinfo=UTC)  # a Monday


def runs() -> list[tuple[str, str, str | None]]:
    with session_scope() as session:
        rows = session.scalars(select(ScheduleRun).order_by(ScheduleRun.period_key)).all()
        return [(row.period_key, row.entry, row.job_id) for row in rows]


def test_the_first_firing_of_a_period_enqueues_the_job_and_later_ones_skip(
    database_url: str, redis_conn: Redis
) -> None:
    first = fire_entry("testing.nightly", "0 3 * * *", "testing.mark", {"token": "n"}, TICK, connection=redis_conn)
    assert first.status == "fired"
    assert first.period_key == "testing.nightly:2026-11-23"
    assert first.job_id == "scheduled-testing-nightly-2026-11-23"
    target = fetch_job(first.job_id, redis_conn)
    assert target.func_name == "tests.support.jobs.mark"
    assert target.kwargs == {"token": "n", "seconds": 0.0}
    assert target.meta["period_key"] == "testing.nightly:2026-11-23"

    # Later the same day (a restart, a second scheduler): the same period, nothing enqueued.
    again = fire_entry(
        "testing.nightly", "0 3 * * *", "testing.mark", {"token": "n"}, TICK + timedelta(hours=5), connection=redis_conn
    )
    assert again.as_dict() == {"status": "already fired", "period_key": first.period_key, "job_id": first.job_id}
    assert get_queue("default", redis_conn).get_job_ids() == [first.job_id]

    # The next day is a new period.
    tomorrow = fire_entry(
        "testing.nightly", "0 3 * * *", "testing.mark", {"token": "n"}, TICK + timedelta(days=1), connection=redis_conn
    )
    assert tomorrow.status == "fired"
    assert [row[0] for row in runs()] == ["testing.nightly:2026-11-23", "testing.nightly:2026-11-24"]


def test_a_redis_failure_after_the_claim_leaves_no_claim_and_the_retry_fires(
    database_url: str, redis_conn: Redis
) -> None:
    unreachable = Redis.from_url(f"redis://127.0.0.1:{free_port()}/0", socket_connect_timeout=1)
    with pytest.raises(RedisConnectionError):
        fire_entry("testing.nightly", "0 3 * * *", "testing.mark", {"token": "n"}, TICK, connection=unreachable)
    assert runs() == []  # the claim was rolled back with the failed enqueue

    retried = fire_entry("testing.nightly", "0 3 * * *", "testing.mark", {"token": "n"}, TICK, connection=redis_conn)
    assert retried.status == "fired"
    assert runs() == [("testing.nightly:2026-11-23", "testing.nightly", retried.job_id)]
    assert get_queue("default", redis_conn).get_job_ids() == [retried.job_id]


def test_a_job_enqueued_by_an_attempt_that_lost_its_commit_is_recorded_not_enqueued_again(
    database_url: str, redis_conn: Redis
) -> None:
    # What an attempt leaves when it enqueued the job and then its database commit failed.
    earlier = enqueue("testing.mark", _connection=redis_conn, _job_id="scheduled-testing-nightly-2026-11-23", token="n")
    assert runs() == []

    result = fire_entry("testing.nightly", "0 3 * * *", "testing.mark", {"token": "n"}, TICK, connection=redis_conn)
    assert result.status == "fired"
    assert result.job_id == earlier.id
    assert get_queue("default", redis_conn).get_job_ids() == [earlier.id]  # still one job
    assert runs() == [("testing.nightly:2026-11-23", "testing.nightly", earlier.id)]


def test_bad_args_or_an_unknown_job_claim_nothing(database_url: str, redis_conn: Redis) -> None:
    with pytest.raises(PayloadError, match="token: is required"):
        fire_entry("testing.nightly", "0 3 * * *", "testing.mark", {}, TICK, connection=redis_conn)
    with pytest.raises(UnknownJobError, match=r"unknown job 'testing\.nope'"):
        fire_entry("testing.nightly", "0 3 * * *", "testing.nope", {}, TICK, connection=redis_conn)
    assert runs() == []
    assert redis_conn.keys("rq:job:*") == []


def test_concurrent_firings_of_one_period_in_two_worker_processes_run_the_job_once(
    database_url: str, env: dict[str, str], redis_conn: Redis
) -> None:
    payload = {
        "entry": "testing.nightly",
        "cron": "0 3 * * *",
        "job": "testing.mark",
        "args": {"token": "nightly"},
        "scheduled_for": TICK,
    }
    fires = [enqueue("schedules.fire", **payload) for _ in range(6)]
    worker = start_worker(env, processes=2)
    try:
        wait_until(lambda: all(job.get_status(refresh=True) == "finished" for job in fires), timeout=60)
        wait_until(lambda: redis_conn.get("test:runs:nightly") is not None, timeout=30)
    finally:
        stop_worker(worker)
    statuses = Counter(job.return_value()["status"] for job in fires)  # type: ignore[index]
    assert statuses == {"fired": 1, "already fired": 5}
    assert redis_conn.get("test:runs:nightly") == b"1"
    assert runs() == [("testing.nightly:2026-11-23", "testing.nightly", "scheduled-testing-nightly-2026-11-23")]


def test_a_fired_entrys_job_runs_in_a_worker_with_the_catalog_retry_policy(
    database_url: str, env: dict[str, str], redis_conn: Redis
) -> None:
    fire = enqueue(
        "schedules.fire",
        entry="testing.flaky_weekly",
        cron="0 3 * * 1",
        job="testing.flaky",
        args={"token": "weekly", "failures": 1},
        scheduled_for=TICK,
    )
    worker = start_worker(env, processes=1)
    try:
        wait_until(lambda: fire.get_status(refresh=True) == "finished", timeout=60)
        target_id = fire.return_value()["job_id"]  # type: ignore[index]
        assert target_id == "scheduled-testing-flaky_weekly-2026-W48"
        target = fetch_job(target_id, redis_conn)
        wait_until(lambda: target.get_status(refresh=True) == "finished", timeout=60)
    finally:
        stop_worker(worker)
    # testing.flaky's catalog policy: 4 attempts, 1 s then 2 s then 4 s apart (no jitter).
    target.refresh()
    assert target.retry_intervals == [1, 2, 4]
    assert target.retries_left == 2  # one retry spent on the planned failure
    assert redis_conn.get("test:attempts:weekly") == b"2"
    assert target.return_value() == "succeeded on attempt 2"
