"""Syncing schedules.yaml into rq-scheduler (real Redis): idempotent, removes, replaces, keeps due ticks."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

from redis import Redis
from rq.registry import FinishedJobRegistry

from odyssey_workers.queues import fetch_job, get_queue
from odyssey_workers.scheduling.entries import ScheduleEntry
from odyssey_workers.scheduling.periods import next_run, period_tick
from odyssey_workers.scheduling.rqscheduler import OdysseyScheduler
from odyssey_workers.scheduling.sync import scheduled_tickets, sync_schedules

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
