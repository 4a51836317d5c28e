"""The reliable dequeue: jobs are moved into a holding list in queue order, never just popped.

* ``high`` before ``default`` before ``low``, for a busy worker and for an idle one.
* A job whose take was done in Redis but never answered (a lost reply) is in the worker's
  holding list; the worker's next take hands it back and takes it again, and it runs once.
* A dead worker's held jobs go back to the front of their queues, in order; a live worker's
  holding list is left alone; a worker whose job was handed back does not run it as well.
"""

from __future__ import annotations

from pathlib import Path

from redis import Redis
from rq.job import JobStatus

import odyssey_workers
from odyssey_workers.dequeue import HOLDERS_KEY, holding_key
from odyssey_workers.held_recovery import recover_held_jobs
from odyssey_workers.queues import fetch_job
from odyssey_workers.worker import OdysseyWorker
from tests.support.workers import start_worker, stop_worker, wait_until


def order(connection: Redis) -> list[str]:
    return [token.decode() for token in connection.lrange("test:order", 0, -1)]


def blocked_moves(connection: Redis) -> int:
    return sum(1 for client in connection.client_list() if client.get("cmd") == "blmove")


def test_jobs_are_taken_from_high_then_default_then_low(redis_conn: Redis) -> None:
    for i in range(3):
        odyssey_workers.enqueue("testing.mark_low", token=f"low{i}")
        odyssey_workers.enqueue("testing.mark", token=f"default{i}")
        odyssey_workers.enqueue("testing.mark_high", token=f"high{i}")
    worker = OdysseyWorker(["high", "default", "low"], connection=redis_conn)

    worker.work(burst=True, with_scheduler=False)

    expected = [f"{queue}{i}" for queue in ("high", "default", "low") for i in range(3)]
    assert order(redis_conn) == expected
    assert redis_conn.llen(holding_key(worker.name)) == 0


def test_an_idle_worker_takes_a_job_from_any_of_its_queues(
    redis_conn: Redis, env: dict[str, str], tmp_path: Path
) -> None:
    # An idle worker waits on every queue at once: one blocked BLMOVE per queue, so a job on
    # any of them wakes it (no polling, no queue left for a later look).
    worker = start_worker(env, log=tmp_path / "worker.log")
    try:
        wait_until(lambda: redis_conn.scard("rq:workers") == 1, timeout=30)
        wait_until(lambda: blocked_moves(redis_conn) == 3, timeout=10)
        for queue, name in (("low", "testing.mark_low"), ("default", "testing.mark"), ("high", "testing.mark_high")):
            odyssey_workers.enqueue(name, token=f"idle-{queue}")
            wait_until(lambda queue=queue: redis_conn.get(f"test:runs:idle-{queue}") == b"1", timeout=20)  # type: ignore[misc]
    finally:
        stop_worker(worker)
    assert order(redis_conn) == ["idle-low", "idle-default", "idle-high"]


def test_a_job_moved_by_a_take_whose_reply_was_lost_runs_once_on_the_next_take(redis_conn: Redis) -> None:
    job = odyssey_workers.enqueue("testing.mark", token="lost-reply")
    worker = OdysseyWorker(["high", "default", "low"], connection=redis_conn)
    # What the take script did in Redis before the connection dropped under its reply:
    redis_conn.lmove("rq:queue:default", holding_key(worker.name), "LEFT", "RIGHT")
    assert redis_conn.llen("rq:queue:default") == 0

    worker.work(burst=True, with_scheduler=False)

    assert redis_conn.get("test:runs:lost-reply") == b"1"
    assert fetch_job(job.id).get_status() == JobStatus.FINISHED
    assert redis_conn.llen(holding_key(worker.name)) == 0


def test_held_jobs_of_a_dead_worker_go_back_to_the_front_of_their_queue_in_order(redis_conn: Redis) -> None:
    first = odyssey_workers.enqueue("testing.mark", token="held-1")
    second = odyssey_workers.enqueue("testing.mark", token="held-2")
    waiting = odyssey_workers.enqueue("testing.mark", token="waiting")
    # A worker killed right after two takes (no record left: it expired or was never renewed).
    for _ in range(2):
        redis_conn.lmove("rq:queue:default", holding_key("gone"), "LEFT", "RIGHT")
    redis_conn.sadd(HOLDERS_KEY, "gone")

    recovered = recover_held_jobs(redis_conn)

    assert sorted(recovered) == sorted([first.id, second.id])
    queued = [job_id.decode() for job_id in redis_conn.lrange("rq:queue:default", 0, -1)]
    assert queued == [first.id, second.id, waiting.id]
    assert redis_conn.llen(holding_key("gone")) == 0
    assert not redis_conn.sismember(HOLDERS_KEY, "gone")
    assert recover_held_jobs(redis_conn) == [], "each job is handed back once"


def test_a_dead_workers_held_job_runs_exactly_once(redis_conn: Redis) -> None:
    job = odyssey_workers.enqueue("testing.mark", token="handed-back")
    dead = OdysseyWorker(["default"], connection=redis_conn, name="dead-worker")
    dead.register_birth()  # type: ignore[no-untyped-call]
    redis_conn.lmove("rq:queue:default", holding_key(dead.name), "LEFT", "RIGHT")
    redis_conn.sadd(HOLDERS_KEY, dead.name)
    dead.register_death()  # type: ignore[no-untyped-call]

    survivor = OdysseyWorker(["high", "default", "low"], connection=redis_conn)
    survivor.run_maintenance_tasks()  # the pass every worker makes every few seconds
    survivor.work(burst=True, with_scheduler=False)

    assert redis_conn.get("test:runs:handed-back") == b"1"
    assert fetch_job(job.id).get_status() == JobStatus.FINISHED


def test_a_live_workers_holding_list_is_never_touched(redis_conn: Redis) -> None:
    job = odyssey_workers.enqueue("testing.mark", token="live")
    live = OdysseyWorker(["default"], connection=redis_conn)
    live.register_birth()  # type: ignore[no-untyped-call]
    live.heartbeat()
    redis_conn.lmove("rq:queue:default", holding_key(live.name), "LEFT", "RIGHT")
    redis_conn.sadd(HOLDERS_KEY, live.name)

    assert recover_held_jobs(redis_conn) == []
    assert [item.decode() for item in redis_conn.lrange(holding_key(live.name), 0, -1)] == [job.id]
    assert redis_conn.llen("rq:queue:default") == 0


def test_a_worker_whose_taken_job_was_handed_back_does_not_run_it_too(redis_conn: Redis) -> None:
    job = odyssey_workers.enqueue("testing.mark", token="once")
    slow = OdysseyWorker(["high", "default", "low"], connection=redis_conn)
    taken = slow._take_job(timeout=None)
    assert taken is not None and taken[0].id == job.id
    # While this worker was out of touch, recovery judged it dead and handed the job back.
    assert recover_held_jobs(redis_conn, only_worker=slow.name) == [job.id]

    slow.execute_job(*taken)  # this worker comes back and goes on with what it had taken
    assert redis_conn.get("test:runs:once") is None, "the job is not run by the worker that lost it"
    assert redis_conn.lrange("rq:queue:default", 0, -1) == [job.id.encode()]

    OdysseyWorker(["default"], connection=redis_conn).work(burst=True, with_scheduler=False)
    assert redis_conn.get("test:runs:once") == b"1"
    assert fetch_job(job.id).get_status() == JobStatus.FINISHED
