"""Hand the held jobs of dead workers back to the front of their queues.

A worker holds a job only for the moment between taking it and recording it as started (see
``odyssey_workers.dequeue``). If it dies in that moment, the job would wait in its holding list
forever. Every worker's maintenance pass runs ``recover_held_jobs``: one script that, for each
worker that has a holding list and is dead, pushes its held jobs back at the *front* of their
origin queues, in the order they were taken, and forgets the worker.

A worker counts as dead when its RQ record is gone, says it died, or its last heartbeat is older
than ``defaults.HELD_JOB_STALE_SECONDS``; a live worker heartbeats every few seconds, so its
holding list is never touched. The script runs atomically, so two workers recovering at once
move each job once; and a worker that comes back after its job was handed back notices it and
does not run it (``OdysseyWorker.prepare_execution``), so each job still runs once.
"""

from __future__ import annotations

from datetime import timedelta

from redis import Redis
from rq import Queue, Worker
from rq.job import Job
from rq.utils import now, utcformat

from odyssey_workers import defaults
from odyssey_workers.dequeue import HOLDERS_KEY, HOLDING_PREFIX

# KEYS[1]: the holders set. ARGV: [1] heartbeat cutoff (RQ's timestamp format, which sorts as
# text), [2] worker key prefix, [3] job key prefix, [4] queue key prefix, [5] holding prefix,
# [6] one worker's name to hand back unconditionally ('' = every dead worker).
# Returns the recovered job ids.
_RECOVER_SCRIPT = """
local names
if ARGV[6] ~= '' then
    names = {ARGV[6]}
else
    names = redis.call('SMEMBERS', KEYS[1])
end
local recovered = {}
for _, name in ipairs(names) do
    local dead = ARGV[6] ~= ''
    if not dead then
        local worker = ARGV[2] .. name
        local heartbeat = redis.call('HGET', worker, 'last_heartbeat')
        dead = (not heartbeat) or heartbeat < ARGV[1] or redis.call('HEXISTS', worker, 'death') == 1
    end
    if dead then
        local held = ARGV[5] .. name
        while true do
            -- From the tail: each LPUSH puts the job before the ones taken after it.
            local job_id = redis.call('RPOP', held)
            if not job_id then break end
            local origin = redis.call('HGET', ARGV[3] .. job_id, 'origin')
            if origin then
                redis.call('LPUSH', ARGV[4] .. origin, job_id)
                table.insert(recovered, job_id)
            end
        end
        redis.call('SREM', KEYS[1], name)
    end
end
return recovered
"""


def recover_held_jobs(connection: Redis, only_worker: str = "") -> list[str]:
    """Put every dead worker's held jobs back at the front of their queues; their ids.

    With ``only_worker``, that worker's held jobs go back whatever its state: a worker calls
    this for itself as it stops.
    """
    cutoff = utcformat(now() - timedelta(seconds=defaults.HELD_JOB_STALE_SECONDS))
    script = connection.register_script(_RECOVER_SCRIPT)
    args = [
        cutoff,
        Worker.redis_worker_namespace_prefix,
        Job.redis_job_namespace_prefix,
        Queue.redis_queue_namespace_prefix,
        HOLDING_PREFIX,
        only_worker,
    ]
    recovered = script(keys=[HOLDERS_KEY], args=args)
    return [job_id.decode() if isinstance(job_id, bytes) else str(job_id) for job_id in recovered or []]
