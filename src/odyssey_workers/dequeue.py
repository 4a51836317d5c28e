"""Reliable dequeue: a job taken from a queue is always in a list a sweep can recover it from.

RQ 3.0 takes a job with a plain ``BLPOP`` when a worker listens on several queues. If the
connection drops after Redis popped the job but before the reply reached the worker, the job
is in no queue and no registry, and nothing ever finds it again. Here every take is a *move*:

* Each worker has a holding list (``rq:odyssey:held:<worker name>``). A take is one script that
  ``LMOVE``\\ s the head of the first non-empty queue, in priority order, into that list.
* Whatever the holding list already holds when a take starts (a job moved by a take whose reply
  was lost, or by a wait, below) first goes back to the *front* of its queue, so the take still
  picks by priority and a worker never sits on a second job while it runs the first.
* When every queue is empty, the worker waits on all of them at once: one ``BLMOVE`` per queue,
  each on a connection of its own, sent together. The first reply wins; the other waits are
  ended with ``CLIENT UNBLOCK``. A job on any queue wakes an idle worker at once, and an idle
  worker costs Redis nothing between waits.
* A job leaves the holding list only when its work horse begins it, in the transaction that
  marks it ``started`` (``OdysseyWorker.prepare_job_execution``). A horse that dies, or loses
  Redis, before that leaves the job held, and the worker's next take hands it back; so at every
  moment a job is in a queue, a holding list, or begun and in the started registry, where RQ's
  abandoned-job sweep finds it.
* Holding lists of dead workers are handed back by ``odyssey_workers.held_recovery``.
"""

from __future__ import annotations

import selectors
from typing import Any

from redis import Redis
from redis.client import Pipeline
from rq.defaults import RQ_KEY_PREFIX

HOLDING_PREFIX = f"{RQ_KEY_PREFIX}:odyssey:held:"
"""A worker's holding list is this prefix plus the worker's name."""

HOLDERS_KEY = f"{RQ_KEY_PREFIX}:odyssey:holders"
"""The set of worker names that may have a holding list (what recovery looks through)."""

UNBEGUN_COUNT_FIELD = "odyssey_unbegun"
"""Job hash field: how often the job's work horse stopped before it began the job."""

HAND_BACK_LUA = """
-- Empties a worker's holding list back to the front of the queues, in the order the jobs were
-- taken, and returns their ids. A record the worker made of a job whose horse never began it
-- (its execution, in the started registry) goes too: left there, RQ's sweep would later take
-- it for an abandoned run of the same job running elsewhere. A held job whose status is not
-- 'queued' was settled by another path, and is only forgotten.
local function hand_back(prefix, worker, held_key)
    local handed = {}
    local executions_key = prefix .. ':worker:' .. worker .. ':executions'
    while true do
        local job_id = redis.call('RPOP', held_key)  -- from the tail: LPUSH keeps the order
        if not job_id then break end
        local job_key = prefix .. ':job:' .. job_id
        local origin = redis.call('HGET', job_key, 'origin')
        for _, member in ipairs(redis.call('SMEMBERS', executions_key)) do
            local owner, execution_id = string.match(member, '^(.-):(.*)$')
            if owner == job_id then
                redis.call('SREM', executions_key, member)
                redis.call('DEL', prefix .. ':execution:' .. member)
                redis.call('ZREM', prefix .. ':executions:' .. job_id, execution_id)
                if origin then redis.call('ZREM', prefix .. ':wip:' .. origin, member) end
            end
        end
        if origin and redis.call('HGET', job_key, 'status') == 'queued' then
            redis.call('LPUSH', prefix .. ':queue:' .. origin, job_id)
            table.insert(handed, job_id)
        end
    end
    return handed
end
"""

# KEYS[1]: the holders set; KEYS[2]: this worker's holding list; KEYS[3..]: queues in order.
# ARGV[1]: the worker's name; ARGV[2]: RQ's key prefix.
# Returns {queue key, job id}, or nil when every queue is empty.
_TAKE_SCRIPT = (
    HAND_BACK_LUA
    + """
redis.call('SADD', KEYS[1], ARGV[1])
hand_back(ARGV[2], ARGV[1], KEYS[2])
for i = 3, #KEYS do
    local job_id = redis.call('LMOVE', KEYS[i], KEYS[2], 'LEFT', 'RIGHT')
    if job_id then
        return {KEYS[i], job_id}
    end
end
return nil
"""
)

WAIT_MARGIN_SECONDS = 2.0
"""How much longer than a wait the worker listens for Redis's replies before giving the wait up."""


def holding_key(worker_name: str) -> str:
    return HOLDING_PREFIX + worker_name


def _text(value: Any) -> str:
    return value.decode() if isinstance(value, bytes) else str(value)


class HoldingList:
    """One worker's holding list: where a job waits between its queue and the started registry."""

    def __init__(self, connection: Redis, worker_name: str) -> None:
        self.connection = connection
        self.worker_name = worker_name
        self.key = holding_key(worker_name)
        self._take = connection.register_script(_TAKE_SCRIPT)

    def take(self, queue_keys: list[str]) -> tuple[str, str] | None:
        """Move the next job, in queue order, into this list: ``(queue key, job id)``, or None."""
        found = self._take(keys=[HOLDERS_KEY, self.key, *queue_keys], args=[self.worker_name, RQ_KEY_PREFIX])
        if not found:
            return None
        queue_key, job_id = (_text(part) for part in found)
        return queue_key, job_id

    def wait(self, queue_keys: list[str], seconds: float) -> None:
        """Block until a job arrives on any of ``queue_keys`` (it is moved into this list) or
        ``seconds`` pass. What arrived is picked up by the next ``take``."""
        pool = self.connection.connection_pool
        waiters = [pool.get_connection() for _ in queue_keys]
        try:
            for waiter in waiters:
                waiter.send_command("CLIENT", "ID")  # type: ignore[no-untyped-call]
            client_ids = [int(waiter.read_response()) for waiter in waiters]
            for waiter, queue_key in zip(waiters, queue_keys, strict=True):
                waiter.send_command("BLMOVE", queue_key, self.key, "LEFT", "RIGHT", seconds)  # type: ignore[no-untyped-call]
            answered = _first_answered(waiters, seconds + WAIT_MARGIN_SECONDS)
            for waiter, client_id in zip(waiters, client_ids, strict=True):
                if waiter not in answered:
                    # Ends that wait as if it timed out; a job it moved meanwhile stays held.
                    self.connection.client_unblock(client_id)
            for waiter in waiters:
                waiter.read_response()
        except BaseException:
            for waiter in waiters:
                # Its reply may still be on the way: never hand it back to the pool as it is.
                waiter.disconnect()  # type: ignore[no-untyped-call]
            raise
        finally:
            for waiter in waiters:
                pool.release(waiter)

    def holds(self, job_id: str) -> bool:
        return self.connection.lpos(self.key, job_id) is not None

    def release(self, job_id: str, pipeline: Pipeline) -> None:
        """Queue the removal of ``job_id`` on ``pipeline`` (the work horse does, as it begins)."""
        pipeline.lrem(self.key, 1, job_id)

    def drop(self, job_id: str) -> None:
        """Forget a held job that cannot run (its hash is gone)."""
        self.connection.lrem(self.key, 1, job_id)


def _first_answered(waiters: list[Any], timeout: float) -> set[Any]:
    """The waiters with a reply ready, as soon as there is at least one (or none at timeout)."""
    ready = {waiter for waiter in waiters if waiter.can_read(timeout=0)}  # already buffered
    if ready:
        return ready
    with selectors.DefaultSelector() as selector:
        for waiter in waiters:
            selector.register(waiter._sock, selectors.EVENT_READ, waiter)
        return {key.data for key, _events in selector.select(timeout)}
