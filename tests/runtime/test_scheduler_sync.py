"""Syncing schedules.yaml into rq-scheduler (real Redis): idempotent, removes, replaces, keeps due ticks."""

from __future__ import annotations

import logging
import threading
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from redis import Redis
from rq.registry import FinishedJobRegistry

from odyssey_workers.queues import fetch_job, get_queue
from odyssey_workers.scheduling.entries import ScheduleEntry
from odyssey_workers.scheduling.periods import next_run, period_tick
from odyssey_workers.scheduling.rqscheduler import OdysseyScheduler
from odyssey_workers.scheduling.sync import scheduled_tickets, sync_schedules
from tests.support.proxy import ResettingProxy
from tests.support.servers import RedisServer
from tests.support.workers import wait_until

SCHEDULED = "rq:scheduler:scheduled_jobs"


def entry(name: str, cron: str = "0 3 * * *", enabled: bool = True, **args: Any) -> ScheduleEntry:
    return ScheduleEntry(
        name=name,
        cron=cron,
        job="testing.mark",
        description=f"marks {name}",
        args={"token": name, **args},
        enabled=enabled,
    )


def snapshot(connection: Redis) -> tuple[list[tuple[bytes, float]], dict[bytes, dict[bytes, bytes]]]:
    """The scheduled set with scores, and every ticket hash, exactly as stored."""
    tickets = connection.zrange(SCHEDULED, 0, -1, withscores=True)
    return tickets, {ticket: connection.hgetall(b"rq:job:" + ticket) for ticket, _ in tickets}


def test_syncing_twice_schedules_nothing_twice(redis_conn: Redis) -> None:
    entries = [entry("testing.a"), entry("testing.b", cron="*/10 * * * *"), entry("testing.off", enabled=False)]
    first = sync_schedules(entries, redis_conn)
    assert sorted(first.added) == ["testing.a", "testing.b"]
    stored = snapshot(redis_conn)

    second = sync_schedules(entries, redis_conn, now=datetime.now(UTC) + timedelta(hours=5))
    assert not second.changed
    assert sorted(second.unchanged) == ["testing.a", "testing.b"]
    assert snapshot(redis_conn) == stored  # same members, same next runs, same hashes
    assert redis_conn.zcard(SCHEDULED) == 2


def test_a_ticket_fires_the_entrys_job_through_schedules_fire(redis_conn: Redis) -> None:
    now = datetime.now(UTC)
    sync_schedules([entry("testing.a", cron="0 3 * * *")], redis_conn, now=now)
    ticket = fetch_job("schedule-testing-a", redis_conn)
    assert ticket.func_name == "jobs.system.schedules.fire"
    assert ticket.kwargs == {
        "entry": "testing.a",
        "cron": "0 3 * * *",
        "job": "testing.mark",
        "args": {"token": "testing.a"},
    }
    assert scheduled_tickets(redis_conn) == {"testing.a": next_run("0 3 * * *", now).replace(second=0)}


def test_a_removed_entry_is_unscheduled(redis_conn: Redis) -> None:
    sync_schedules([entry("testing.a"), entry("testing.b")], redis_conn)
    report = sync_schedules([entry("testing.a")], redis_conn)
    assert report.removed == ["testing.b"]
    assert report.unchanged == ["testing.a"]
    assert [t for t, _ in redis_conn.zrange(SCHEDULED, 0, -1, withscores=True)] == [b"schedule-testing-a"]
    assert not redis_conn.exists("rq:job:schedule-testing-b")


def test_a_disabled_entry_is_unscheduled_and_never_scheduled(redis_conn: Redis) -> None:
    sync_schedules([entry("testing.a")], redis_conn)
    report = sync_schedules([entry("testing.a", enabled=False)], redis_conn)
    assert report.removed == ["testing.a"]
    assert redis_conn.zcard(SCHEDULED) == 0
    assert not sync_schedules([entry("testing.a", enabled=False)], redis_conn).changed


def test_a_changed_cron_replaces_the_ticket_with_the_new_next_run(redis_conn: Redis) -> None:
    now = datetime.now(UTC)
    sync_schedules([entry("testing.a", cron="0 3 * * *")], redis_conn, now=now)
    report = sync_schedules([entry("testing.a", cron="30 4 * * 1")], redis_conn, now=now)
    assert report.replaced == ["testing.a"]
    assert redis_conn.zcard(SCHEDULED) == 1
    assert scheduled_tickets(redis_conn)["testing.a"] == next_run("30 4 * * 1", now)
    assert fetch_job("schedule-testing-a", redis_conn).meta["cron_string"] == "30 4 * * 1"


def test_changed_args_replace_the_ticket(redis_conn: Redis) -> None:
    sync_schedules([entry("testing.a")], redis_conn)
    report = sync_schedules([entry("testing.a", seconds=0.5)], redis_conn)
    assert report.replaced == ["testing.a"]
    assert fetch_job("schedule-testing-a", redis_conn).kwargs["args"] == {"token": "testing.a", "seconds": 0.5}


def test_a_tick_that_came_due_while_no_scheduler_ran_survives_a_resync(redis_conn: Redis) -> None:
    sync_schedules([entry("testing.a")], redis_conn)
    missed = period_tick("0 3 * * *", datetime.now(UTC))
    redis_conn.zadd(SCHEDULED, {"schedule-testing-a": int(missed.timestamp())})
    assert not sync_schedules([entry("testing.a")], redis_conn).changed
    assert scheduled_tickets(redis_conn)["testing.a"] == missed


def test_other_jobs_in_rq_scheduler_are_left_alone(redis_conn: Redis) -> None:
    redis_conn.zadd(SCHEDULED, {"someone-elses-job": 2_000_000_000})
    sync_schedules([entry("testing.a")], redis_conn)
    sync_schedules([], redis_conn)
    assert redis_conn.zrange(SCHEDULED, 0, -1) == [b"someone-elses-job"]


def test_a_due_ticket_enqueues_schedules_fire_for_its_tick_and_moves_to_the_next(redis_conn: Redis) -> None:
    sync_schedules([entry("testing.a")], redis_conn)
    tick = period_tick("0 3 * * *", datetime.now(UTC))
    redis_conn.zadd(SCHEDULED, {"schedule-testing-a": int(tick.timestamp())})

    OdysseyScheduler(redis_conn, interval=0.2).run(burst=True)

    high = get_queue("high", redis_conn)
    [fire_id] = high.get_job_ids()
    fire = fetch_job(fire_id, redis_conn)
    assert fire.func_name == "jobs.system.schedules.fire"
    assert fire.kwargs["entry"] == "testing.a"
    assert datetime.fromisoformat(fire.kwargs["scheduled_for"]) == tick
    assert fire.retries_left == 4  # schedules.fire's own retry policy: 5 attempts
    assert scheduled_tickets(redis_conn)["testing.a"] == next_run("0 3 * * *", tick + timedelta(seconds=1))
    assert len(FinishedJobRegistry("high", connection=redis_conn)) == 0  # nothing ran: no worker here

    # A second pass finds nothing due and enqueues nothing.
    OdysseyScheduler(redis_conn, interval=0.2).run(burst=True)
    assert high.count == 1


def test_a_redis_lost_during_the_start_up_sync_is_waited_for_and_the_sync_done_again(
    redis_conn: Redis, redis_server: RedisServer, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    """The ping answers, then every connection is reset while the first sync runs: the
    scheduler does not exit; it waits, registers, syncs again and makes its pass."""
    from odyssey_workers import scheduler as scheduler_module

    proxy = ResettingProxy(redis_server.port).start()
    schedules = tmp_path / "schedules.yaml"
    schedules.write_text(
        "schedules:\n  - name: testing.cut\n    cron: '0 3 * * *'\n    job: testing.mark\n"
        "    description: marks cut\n    args: {token: cut}\n"
    )
    real_sync = scheduler_module.sync_schedules
    cuts: list[threading.Thread] = []

    def sync_during_a_cut(*args: Any, **kwargs: Any) -> Any:
        if not cuts:  # the first sync only: connections are reset from now for a second
            cuts.append(threading.Thread(target=proxy.cut, args=(1.0,)))
            cuts[0].start()
            wait_until(lambda: proxy.connections_reset > 0, timeout=5)  # the ping's connection is gone
        return real_sync(*args, **kwargs)

    connection = Redis.from_url(proxy.url)
    try:
        with caplog.at_level(logging.INFO), pytest.MonkeyPatch.context() as patch:
            patch.setattr(scheduler_module, "sync_schedules", sync_during_a_cut)
            announced: list[str] = []
            scheduler_module.run_scheduler(
                schedules, interval=1, once=True, connection=connection, announce=announced.append
            )
    finally:
        for cut in cuts:
            cut.join()
        connection.close()
        proxy.stop()
    assert "cut short" in announced[0]
    assert "Redis is back" in caplog.text
    assert set(scheduled_tickets(redis_conn)) == {"testing.cut"}  # synced again after the cut
