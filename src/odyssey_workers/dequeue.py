"""Reliable dequeue: a job taken from a queue is always in a list a sweep can recover it from.

RQ 3.0 takes a job with a plain ``BLPOP`` when a worker listens on several queues. If the
connection drops after Redis popped the job but before the reply reached the worker, the job
is in no queue and no registry, and nothing ever finds it again. Here every take is a *move*:

* Each worker has a holding list (``rq:odyssey:held:<worker name>``). A take is one script that
  ``LMOVE``\\ s the head of the first non-empty queue, in priority order, into that list.
* When every queue is empty, the worker waits with ``BLMOVE`` on its first (highest-priority)
  queue for at most ``defaults.DEQUEUE_WAIT_SECONDS``, then takes again. A job on ``high``
  wakes an idle worker at once; one on a lower queue is taken within that wait. An idle worker
  costs Redis about two commands per wait, with no polling in between.
* A job leaves the holding list in the same transaction that puts it in RQ's started registry
  (see ``OdysseyWorker.prepare_execution``), so at every moment it is in a queue, a holding
  list, or a registry.
* A take first looks at the worker's own holding list: a job found there was moved by a take
  whose reply was lost, so the worker runs it now.
* Holding lists of dead workers are handed back by ``odyssey_workers.held_recovery``.
"""

from __future__ import annotations

from redis import Redis
from redis.client import Pipeline

from odyssey_workers import defaults

HOLDING_PREFIX = "rq:odyssey:held:"
"""A worker's holding list is this prefix plus the worker's name."""

HOLDERS_KEY = "rq:odyssey:holders"
"""The set of worker names that may have a holding list (what recovery looks through)."""

# KEYS[1]: the holders set; KEYS[2]: this worker's holding list; KEYS[3..]: queues in order.
# ARGV[1]: the worker's name. Returns {queue key or '', job id}, or nil when all are empty.
_TAKE_SCRIPT = """
redis.call('SADD', KEYS[1], ARGV[1])
local held = redis.call('LINDEX', KEYS[2], 0)
if held then
    return {'', held}
end
for i = 3, #KEYS do
    local job_id = redis.call('LMOVE', KEYS[i], KEYS[2], 'LEFT', 'RIGHT')
    if job_id then
        return {KEYS[i], job_id}
    end
end
return nil
"""


def holding_key(worker_name: str) -> str:
    return HOLDING_PREFIX + worker_name


class HoldingList:
    """One worker's holding list: where a job waits between its queue and the started registry."""

    def __init__(self, connection: Redis, worker_name: str) -> None:
        self.connection = connection
        self.worker_name = worker_name
        self.key = holding_key(worker_name)
        self._take = connection.register_script(_TAKE_SCRIPT)

    def take(self, queue_keys: list[str]) -> tuple[str | None, str] | None:
        """Move the next job into this list; ``(queue key, job id)``, or None if all are empty.

        The queue key is None for a job that was already held (its origin names its queue).
        """
        found = self._take(keys=[HOLDERS_KEY, self.key, *queue_keys], args=[self.worker_name])
        if not found:
            return None
        queue_key, job_id = (part.decode() if isinstance(part, bytes) else str(part) for part in found)
        return (queue_key or None), job_id

    def wait(self, queue_key: str, seconds: float = defaults.DEQUEUE_WAIT_SECONDS) -> bool:
        """Block up to ``seconds`` for a job on ``queue_key``, moving it into this list."""
        # redis-py types the timeout as int; Redis 6+ takes fractions of a second.
        return self.connection.blmove(queue_key, self.key, seconds, "LEFT", "RIGHT") is not None  # type: ignore[arg-type]

    def release(self, job_id: str, pipeline: Pipeline) -> None:
        """Queue the removal of ``job_id`` on ``pipeline``; its reply is 1 if it was still held."""
        pipeline.lrem(self.key, 1, job_id)

    def drop(self, job_id: str) -> None:
        """Forget a held job that cannot run (its hash is gone)."""
        self.connection.lrem(self.key, 1, job_id)

    def job_ids(self) -> list[str]:
        return [
            item.decode() if isinstance(item, bytes) else str(item) for item in self.connection.lrange(self.key, 0, -1)
        ]
