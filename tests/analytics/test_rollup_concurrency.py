"""Two rollups at once (two threads, two worker processes) give one result, and on PostgreSQL
a run leaves alone the ids a drain may still be committing below (the safety lag)."""

from __future__ import annotations

import threading
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from redis import Redis

from jobs.analytics.models import RollupGrain
from jobs.analytics.rollups import RollupRun, run_rollup
from odyssey_workers.db.session import session_scope
from odyssey_workers.queues import enqueue, fetch_job
from tests.analytics.rollup_support import no_lag, platform_rows, raw, roll, store
from tests.support.workers import start_worker


def test_a_second_rollup_started_during_the_first_waits_and_then_finds_nothing_new(database_url: str) -> None:
    assert roll(RollupGrain.HOUR).events_read == 0  # the watermark row exists: only its lock can serialize
    at = datetime.now(UTC) - timedelta(hours=2)
    store(*(raw("view_start", at, content_id=10, user_id=user) for user in range(1, 41)))
    second: list[RollupRun] = []
    finished = threading.Event()

    def run_second() -> None:
        second.append(roll(RollupGrain.HOUR))
        finished.set()

    with session_scope() as session:  # the first run, holding its lock until this block commits
        first = run_rollup(session, RollupGrain.HOUR, no_lag())
        thread = threading.Thread(target=run_second)
        thread.start()
        assert not finished.wait(1.0), "the second rollup ran while the first held the watermark"
    thread.join(timeout=30)

    assert first.events_read == 40
    assert second[0].events_read == 0 and second[0].from_event_id == first.to_event_id
    [numbers] = platform_rows(RollupGrain.HOUR).values()
    assert (numbers["views"], numbers["unique_viewers"]) == (40, 40)


@pytest.mark.parametrize("database_url", ["postgresql"], indirect=True)
def test_on_postgresql_events_received_inside_the_safety_lag_wait_for_a_later_run(database_url: str) -> None:
    at = datetime.now(UTC) - timedelta(hours=2)
    store(raw("like", at, content_id=10))
    settings = no_lag().model_copy(update={"analytics_rollup_safety_lag_seconds": 120})

    early = roll(RollupGrain.HOUR, settings)
    later = roll(RollupGrain.HOUR, settings, now=datetime.now(UTC) + timedelta(seconds=121))

    assert (early.events_read, early.buckets) == (0, [])
    assert later.events_read == 1


@pytest.mark.timeout(120)
@pytest.mark.parametrize("database_url", ["postgresql"], indirect=True)
def test_two_workers_running_the_hourly_rollup_at_once_count_each_event_once(
    database_url: str, env: dict[str, str], redis_conn: Redis, tmp_path: Path
) -> None:
    env["ANALYTICS_ROLLUP_SAFETY_LAG_SECONDS"] = "0"
    at = datetime.now(UTC) - timedelta(hours=2)
    store(*(raw("view_start", at, content_id=10, user_id=user) for user in range(1, 301)))
    jobs = [enqueue("analytics.rollup_hourly"), enqueue("analytics.rollup_hourly")]

    workers = [start_worker(env, queues=("low",), burst=True, log=tmp_path / f"w{n}.log") for n in (1, 2)]
    assert [worker.wait(timeout=90) for worker in workers] == [0, 0]

    results = [fetch_job(job.id).return_value() for job in jobs]
    assert sorted(result["events_read"] for result in results) == [0, 300], results
    [numbers] = platform_rows(RollupGrain.HOUR).values()
    assert (numbers["views"], numbers["unique_viewers"]) == (300, 300)
