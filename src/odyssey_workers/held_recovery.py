"""Hand the held jobs of dead workers back to the front of their queues.

A worker holds a job from the moment it takes it until its work horse begins it (see
``odyssey_workers.dequeue``). If the worker dies in that moment, the job would wait in its
holding list forever. Every worker's maintenance pass runs ``recover_held_jobs``: one script
that, for each worker that has a holding list and is dead, hands its held jobs back to the
*front* of their queues, in the order they were taken, with any record the worker made of them,
and forgets the worker.

A worker counts as dead when its RQ record is gone, says it died, or its last heartbeat is older
than ``defaults.HELD_JOB_STALE_SECONDS``; a live worker heartbeats every few seconds, so its
holding list is never touched. The script runs atomically, so two workers recovering at once
move each job once; and a work horse whose job was handed back while its worker was out of
touch notices it and does not begin the job (``OdysseyWorker.prepare_job_execution``), so each
job still begins once.
"""

from __future__ import annotations

from datetime import timedelta

from redis import Redis
from rq import Worker
from rq.defaults import RQ_KEY_PREFIX
from rq.utils import now, utcformat

from odyssey_workers import defaults
from odyssey_workers.dequeue import HAND_BACK_LUA, HOLDERS_KEY, HOLDING_PREFIX

# KEYS[1]: the holders set. ARGV: [1] heartbeat cutoff (RQ's timestamp format, which sorts as
# text), [2] worker key prefix, [3] RQ's key prefix, [4] holding prefix, [5] one worker's name
# to hand back unconditionally ('' = every dead worker). Returns the handed-back job ids.
_RECOVER_SCRIPT = (
    HAND_BACK_LUA
    + """
local names
if ARGV[5] ~= '' then
    names = {ARGV[5]}
else
    names = redis.call('SMEMBERS', KEYS[1])
end
local recovered = {}
for _, name in ipairs(names) do
    local dead = ARGV[5] ~= ''
    if not dead then
        local worker = ARGV[2] .. name
        local heartbeat = redis.call('HGET', worker, 'last_heartbeat')
        dead = (not heartbeat) or heartbeat < ARGV[1] or redis.call('HEXISTS', worker, 'death') == 1
    end
    if dead then
        for _, job_id in ipairs(hand_back(ARGV[3], name, ARGV[4] .. name)) do
            table.insert(recovered, job_id)
        end
        redis.call('SREM', KEYS[1], name)
    end
end
return recovered
"""
)


def recover_held_jobs(connection: Redis, only_worker: str = "") -> list[str]:
    """Put every dead worker's held jobs back at the front of their queues; their ids.

    With ``only_worker``, that worker's held jobs go back whatever its state: a worker calls
    this for itself as it stops.
    """
    cutoff = utcformat(now() - timedelta(seconds=defaults.HELD_JOB_STALE_SECONDS))
    script = connection.register_script(_RECOVER_SCRIPT)
    args = [cutoff, Worker.redis_worker_namespace_prefix, RQ_KEY_PREFIX, HOLDING_PREFIX, only_worker]
    recovered = script(keys=[HOLDERS_KEY], args=args)
    return [job_id.decode() if isinstance(job_id, bytes) else str(job_id) for job_id in recovered or []]
