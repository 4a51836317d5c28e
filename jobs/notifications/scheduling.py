"""Enqueueing send jobs now or at a later time (quiet hours, retry backoff).

``odyssey_workers.queues.enqueue`` has no "at" option yet, so deferred sends are scheduled with
RQ's ``Queue.enqueue_at`` on the same catalog queue, with the same validated payload, timeout,
retry plan and concurrency limit that ``enqueue`` would use.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from datetime import datetime, timedelta

from rq.rate_limit import RateLimit

from jobs.notifications.contracts import send_job_for
from odyssey_workers.catalog import get_catalog
from odyssey_workers.db.base import utcnow
from odyssey_workers.payloads import payload_to_json
from odyssey_workers.queues import JobRequest, enqueue_many, get_queue

SEND_BATCH = 500  # deliveries per send job
EARLY_TOLERANCE = timedelta(seconds=2)


def batches(ids: Sequence[int], size: int = SEND_BATCH) -> Iterable[list[int]]:
    for start in range(0, len(ids), size):
        yield list(ids[start : start + size])


def enqueue_at(name: str, when: datetime, payload: dict[str, object]) -> str:
    spec = get_catalog().get(name)
    queue = get_queue(spec.routed_queue)
    job = queue.enqueue_at(
        when,
        spec.function,
        kwargs=payload_to_json(spec, payload),
        job_timeout=spec.timeout,
        result_ttl=spec.result_ttl,
        failure_ttl=spec.failure_ttl,
        description=spec.name,
        meta={"job_name": spec.name},
        retry=spec.retry.to_rq(),
        rate_limit=RateLimit(spec.concurrency_key, spec.concurrency) if spec.concurrency else None,
    )
    return str(job.id)


def enqueue_sends(groups: Iterable[tuple[int, datetime | None, Sequence[int]]]) -> int:
    """Enqueue send jobs for (priority, not_before, delivery ids) groups; returns jobs made.

    Immediate ones go in pipelines (one round trip per thousand jobs); later ones are scheduled.
    """
    now = utcnow()
    immediate: list[JobRequest] = []
    scheduled = 0
    for priority, not_before, ids in groups:
        name = send_job_for(priority)
        for chunk in batches(list(ids)):
            if not_before is not None and not_before > now:
                enqueue_at(name, not_before, {"delivery_ids": chunk})
                scheduled += 1
            else:
                immediate.append(JobRequest(name, {"delivery_ids": chunk}))
    if immediate:
        enqueue_many(immediate)
    return len(immediate) + scheduled
