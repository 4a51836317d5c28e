"""Faults during the intake: a drain worker killed with SIGKILL mid-batch, Redis restarted
between XADD and the drain. Nothing is lost and nothing is counted twice."""

from __future__ import annotations

import os
from pathlib import Path

import pytest
from redis import Redis

import odyssey_workers
from jobs.analytics.stream import GROUP, intake_status
from odyssey_workers.events import EVENT_STREAM
from odyssey_workers.monitoring import EVENT_OUTCOMES_KEY
from odyssey_workers.queues import enqueue, fetch_job
from odyssey_workers.settings import get_settings
from tests.analytics.conftest import an_event, drain_now, stored_events
from tests.support.servers import RedisServer
from tests.support.workers import kill_group, start_worker, wait_until

STALLING_DRAIN = '''
"""Loaded by the worker through ODYSSEY_EXTRA_CONTRACTS: the drain's second batch stalls.

DRILL_PHASE "insert": its rows are written but not committed; "ack": committed, not acknowledged.
"""
import os
import time
from pathlib import Path

from jobs.analytics import intake, stream

MARK = Path(os.environ["DRILL_MARK"])
calls = 0


def stall_on_second_call():
    global calls
    calls += 1
    if calls == 2:
        MARK.write_text("stalled")
        time.sleep(60)


if os.environ["DRILL_PHASE"] == "insert":
    insert_rows = intake.insert_if_absent

    def insert_then_stall(session, target, rows, keys):
        inserted = insert_rows(session, target, rows, keys)
        if target is intake.AnalyticsEventRow:
            stall_on_second_call()
        return inserted

    intake.insert_if_absent = insert_then_stall
else:
    acknowledge = stream.acknowledge

    def stall_then_acknowledge(connection, stream_ids, counts):
        stall_on_second_call()
        acknowledge(connection, stream_ids, counts)

    stream.acknowledge = stall_then_acknowledge
'''

EVENTS = 250
BATCH = 100


def outcome_counts(redis_conn: Redis) -> dict[str, int]:
    return {key.decode(): int(value) for key, value in redis_conn.hgetall(EVENT_OUTCOMES_KEY).items()}


@pytest.mark.timeout(120)
@pytest.mark.parametrize("phase", ["insert", "ack"])
def test_a_drain_worker_killed_mid_batch_loses_no_event_and_stores_none_twice(
    phase: str, database_url: str, env: dict[str, str], redis_conn: Redis, tmp_path: Path
) -> None:
    (tmp_path / "stalling_drain.py").write_text(STALLING_DRAIN)
    mark = tmp_path / "stalled"
    env.update(ANALYTICS_DRAIN_BATCH=str(BATCH), ANALYTICS_DRAIN_CLAIM_IDLE_SECONDS="1")
    drill_env = {
        **env,
        "ODYSSEY_EXTRA_CONTRACTS": f"{env['ODYSSEY_EXTRA_CONTRACTS']},stalling_drain",
        "PYTHONPATH": os.pathsep.join([str(tmp_path), env["PYTHONPATH"]]),
        "DRILL_PHASE": phase,
        "DRILL_MARK": str(mark),
    }
    ids = odyssey_workers.track_many([an_event() for _ in range(EVENTS)])

    victim = start_worker(drill_env, queues=("low",), log=tmp_path / "victim.log")
    try:
        enqueue("analytics.drain_events")
        wait_until(mark.exists, timeout=60)
    finally:
        kill_group(victim)  # kill -9 the worker and its work horse, mid-batch
    committed = BATCH if phase == "insert" else 2 * BATCH
    assert len(stored_events()) == committed, (tmp_path / "victim.log").read_text()
    assert intake_status(redis_conn).pending == BATCH, "the stalled batch is still pending, not lost"

    # The next drain claims pending entries once they sat idle ANALYTICS_DRAIN_CLAIM_IDLE_SECONDS.
    wait_until(lambda: len(redis_conn.xpending_range(EVENT_STREAM, GROUP, "-", "+", BATCH, idle=1000)) == BATCH)
    rescuer = start_worker(env, queues=("low",), burst=True, log=tmp_path / "rescuer.log")
    job = enqueue("analytics.drain_events")
    assert rescuer.wait(timeout=60) == 0
    assert fetch_job(job.id).get_status().value == "finished", (tmp_path / "rescuer.log").read_text()

    stored = [row.event_id for row in stored_events()]
    assert sorted(stored) == sorted(ids), "every event stored, each once"
    status = intake_status(redis_conn)
    assert (status.pending, status.lag) == (0, 0)
    redelivered = 0 if phase == "insert" else BATCH  # committed before the kill: found already stored
    counted = outcome_counts(redis_conn)
    assert (counted.get("accepted", 0), counted.get("duplicate", 0)) == (EVENTS - redelivered, redelivered)


@pytest.mark.timeout(60)
def test_redis_restarted_between_track_and_the_drain_loses_nothing(
    database_url: str, env: dict[str, str], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    (tmp_path / "redis").mkdir()
    server = RedisServer(appendonly=True, workdir=tmp_path / "redis").start()
    monkeypatch.setenv("REDIS_URL", server.url)
    get_settings.cache_clear()
    try:
        ids = odyssey_workers.track_many([an_event() for _ in range(300)])
        server.stop()  # kill -9: only the append-only file keeps the stream
        server.start()
        assert drain_now().as_dict() == {"accepted": 300, "duplicate": 0, "rejected": 0}
        assert [row.event_id for row in stored_events()] == ids
    finally:
        server.stop()
