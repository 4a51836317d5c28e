"""system.maintenance: cleans what it finds in RQ's registries, rate limits and schedule_runs."""

from __future__ import annotations

import time
from datetime import UTC, datetime, timedelta

from redis import Redis
from sqlalchemy import select

from jobs.system.maintenance import run_maintenance
from odyssey_workers.db.models.schedules import ScheduleRun
from odyssey_workers.db.session import session_scope
from odyssey_workers.queues import enqueue
from tests.support.workers import start_worker, stop_worker, wait_until


def add_schedule_runs(*ages_in_days: int) -> None:
    now = datetime.now(UTC)
    with session_scope() as session:
        for age in ages_in_days:
            fired = now - timedelta(days=age)
            session.add(
                ScheduleRun(period_key=f"testing.daily:{fired:%Y-%m-%d}", entry="testing.daily", fired_at=fired)
            )


def remaining_periods() -> list[str]:
    with session_scope() as session:
        return sorted(session.scalars(select(ScheduleRun.period_key)))


def litter_registries(connection: Redis, queue: str) -> str:
    """Expired, dangling and live entries in one queue's registries; returns the live job's id."""
    live = enqueue("testing.mark", _connection=connection, token="live")
    past, future = time.time() - 60, time.time() + 3600
    connection.zadd(f"rq:finished:{queue}", {"expired-finished": past, "dangling-finished": future, live.id: future})
    connection.zadd(f"rq:failed:{queue}", {"expired-failed": past})
    connection.zadd(f"rq:scheduled:{queue}", {"dangling-scheduled": future})
    return live.id


def test_maintenance_cleans_registries_rate_limits_and_old_schedule_runs(database_url: str, redis_conn: Redis) -> None:
    live = litter_registries(redis_conn, "high")
    # A rate-limit slot held by a job that no longer exists (its worker died with it).
    redis_conn.sadd("rq:rl-keys", "testing.leaky")
    redis_conn.hset("rq:rl:testing.leaky", "concurrency", 2)
    redis_conn.zadd("rq:rl:testing.leaky:allowed", {"vanished-job": time.time()})
    add_schedule_runs(500, 401, 30, 1)

    report = run_maintenance(retention_days=400)

    high = report["queues"]["high"]
    assert (high["finished"], high["finished_dangling"], high["failed"], high["scheduled_dangling"]) == (1, 1, 1, 1)
    assert redis_conn.zrange("rq:finished:high", 0, -1) == [live.encode()]
    assert redis_conn.zcard("rq:failed:high") == 0
    assert redis_conn.zcard("rq:scheduled:high") == 0
    assert report["rate_limits"] == {"registries": 1, "registries_removed": 1, "slots_before": 1, "slots_after": 0}
    assert not redis_conn.sismember("rq:rl-keys", "testing.leaky")
    assert report["schedule_runs_pruned"] == 2
    assert len(remaining_periods()) == 2

    # A second run finds nothing more to do.
    again = run_maintenance(retention_days=400)
    assert sum(sum(counts.values()) for counts in again["queues"].values()) == 0
    assert again["schedule_runs_pruned"] == 0


def test_maintenance_runs_as_a_catalog_job_in_a_worker(
    database_url: str, env: dict[str, str], redis_conn: Redis
) -> None:
    # The litter sits on "default"; the worker below only listens on "low" (where maintenance
    # runs), so its own start-up cleaning never touches it: only the job can clean it.
    live = litter_registries(redis_conn, "default")
    add_schedule_runs(90, 2)
    job = enqueue("system.maintenance", retention_days=30)
    assert job.origin == "low"
    worker = start_worker(env, queues=("low",))
    try:
        wait_until(lambda: job.get_status(refresh=True) in ("finished", "failed"), timeout=60)
    finally:
        stop_worker(worker)
    assert job.get_status() == "finished", job.latest_result().exc_string  # type: ignore[union-attr]
    report = job.return_value()
    assert report["queues"]["default"]["finished"] == 1  # type: ignore[index]
    assert report["schedule_runs_pruned"] == 1  # type: ignore[index]
    assert redis_conn.zrange("rq:finished:default", 0, -1) == [live.encode()]
    assert redis_conn.zcard("rq:scheduled:default") == 0
    assert len(remaining_periods()) == 1
