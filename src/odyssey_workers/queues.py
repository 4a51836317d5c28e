"""The named queues and ``enqueue()``: the one door producers use.

``enqueue(name, **payload)`` looks the job up in the catalog, validates the payload with its
model and only then writes to Redis, with the job's queue, timeout, retry plan and concurrency
limit. Nothing reaches Redis for an unknown name or a bad payload.

``_on_success`` / ``_on_failure`` attach RQ callbacks by their catalog name (the dotted path
given to ``declare_callback``); an undeclared name is refused here, before anything is written,
as the worker would refuse it before importing it.
"""

from __future__ import annotations

import functools
import gc
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

from pydantic import TypeAdapter, ValidationError
from redis import Redis
from redis.client import Pipeline
from rq import Callback, Queue
from rq.job import Job
from rq.rate_limit import RateLimit
from rq.results import Result
from rq.serializers import JSONSerializer

from odyssey_workers import defaults
from odyssey_workers.catalog import Catalog, JobSpec, Payload, get_catalog
from odyssey_workers.connection import get_redis
from odyssey_workers.jobclass import CatalogJob, refuse_undeclared_callback
from odyssey_workers.payloads import payload_to_json
from odyssey_workers.routing import queue_names

DependsOn = Job | str | list[Job | str] | None

_queues: dict[tuple[int, str], Queue] = {}


def get_queue(name: str, connection: Redis | None = None) -> Queue:
    """A named queue speaking JSON with the catalog job class. Unknown names are refused."""
    known = queue_names()
    if name not in known:
        raise ValueError(f"unknown queue {name!r} (queues: {', '.join(known)})")
    connection = connection or get_redis()
    cache_key = (id(connection), name)
    queue = _queues.get(cache_key)
    if queue is None or queue.connection is not connection:
        queue = Queue(name, connection=connection, serializer=JSONSerializer, job_class=CatalogJob)
        _queues[cache_key] = queue
    return queue


def all_queues(connection: Redis | None = None) -> list[Queue]:
    connection = connection or get_redis()
    return [get_queue(name, connection) for name in queue_names()]


@dataclass
class JobRequest:
    """One job to enqueue: its catalog name, payload and per-job options."""

    name: str
    payload: Mapping[str, Any] = field(default_factory=dict)
    job_id: str | None = None
    depends_on: DependsOn = None
    at_front: bool = False
    timeout: int | None = None
    meta: Mapping[str, Any] | None = None
    on_success: str | None = None  # a callback the catalog declares (its dotted path)
    on_failure: str | None = None


def _callback(kind: str, path: str | None) -> Callback | None:
    """RQ's Callback for declared ``path``; UnknownJobError naming an undeclared one."""
    if path is None:
        return None
    refuse_undeclared_callback(kind, path)
    return Callback(path)


def _build_job(queue: Queue, spec: JobSpec, request: JobRequest) -> Job:
    return _create_job(queue, spec, request, payload_to_json(spec, request.payload))


def _create_job(queue: Queue, spec: JobSpec, request: JobRequest, kwargs: dict[str, Any]) -> Job:
    """The RQ job for an already validated payload (``kwargs`` in its JSON form)."""
    meta = {"job_name": spec.name, **(request.meta or {})}
    rate_limit = RateLimit(spec.concurrency_key, spec.concurrency) if spec.concurrency else None
    on_success = _callback("success", request.on_success)
    on_failure = _callback("failure", request.on_failure)
    return queue.create_job(
        spec.function,
        kwargs=kwargs,
        timeout=request.timeout or spec.timeout,
        result_ttl=spec.result_ttl,
        failure_ttl=spec.failure_ttl,
        description=spec.name,
        depends_on=request.depends_on,  # type: ignore[arg-type]  # list is invariant in RQ's hint
        job_id=request.job_id,
        meta=meta,
        retry=spec.retry.to_rq(),
        rate_limit=rate_limit,
        on_success=on_success,
        on_failure=on_failure,
    )


def enqueue_request(request: JobRequest, connection: Redis | None = None) -> Job:
    """Validate and enqueue one JobRequest; returns the RQ job."""
    spec = get_catalog().get(request.name)
    queue = get_queue(spec.routed_queue, connection)
    job = _build_job(queue, spec, request)
    return queue.enqueue_job(job, at_front=request.at_front)


def enqueue(
    name: str,
    /,
    *,
    _connection: Redis | None = None,
    _job_id: str | None = None,
    _depends_on: DependsOn = None,
    _at_front: bool = False,
    _timeout: int | None = None,
    _meta: Mapping[str, Any] | None = None,
    _on_success: str | None = None,
    _on_failure: str | None = None,
    **payload: Any,
) -> Job:
    """Enqueue catalog job ``name`` with ``payload``. Options start with ``_`` (no field can);
    ``_on_success``/``_on_failure`` name callbacks the catalog declares."""
    request = JobRequest(
        name,
        payload,
        job_id=_job_id,
        depends_on=_depends_on,
        at_front=_at_front,
        timeout=_timeout,
        meta=_meta,
        on_success=_on_success,
        on_failure=_on_failure,
    )
    return enqueue_request(request, _connection)


def _write_job(pipe: Pipeline, queue: Queue, job: Job, at_front: bool, fresh_id: bool) -> None:
    """Queue one ready job's writes on ``pipe``: the same job as ``Queue.enqueue_job`` writes
    (hash with status ``queued``, id pushed on the queue), in two commands instead of three.

    RQ writes the status with its own ``HSET`` and then the whole hash (status included again);
    with every job of a chunk in one round trip, packing commands is most of the cost. For the
    same reason a job with a newly generated id skips the fields RQ writes as empty strings
    (started_at, worker_name, callbacks...): RQ reads a missing field and an empty one alike, and
    no older hash can hold a stale value under a new id. A caller-given id gets every field, so
    re-enqueuing it clears what its last run left.
    """
    queue._prepare_for_queue(job)  # origin, enqueued_at, timeout, status: as RQ sets them
    mapping = job.to_dict()
    mapping["status"] = job.get_status(refresh=False).value
    if fresh_id:
        mapping = {field: value for field, value in mapping.items() if value != ""}
    pipe.hset(job.key, mapping=mapping)
    if at_front:
        pipe.lpush(queue.key, job.id)
    else:
        pipe.rpush(queue.key, job.id)


Pending = list[tuple[Queue, Job, bool, bool]]
"""Jobs built and not yet written: (queue, job, at_front, whether the id was generated here)."""


def _write_pipelined(connection: Redis, pending: Pending) -> None:
    """Write jobs without dependencies in one round trip, then empty ``pending``.

    The same writes as ``Queue.enqueue_job`` minus its per-job ``SADD`` of the queue to RQ's
    queue set (once per queue here) and its repeated status ``HSET``. No MULTI/EXEC: the jobs
    are independent, and a transaction would double the replies to read (``QUEUED`` for each
    command, then the results). Each job's hash is written before its id is pushed, so a worker
    never pops an id whose job is not there yet.
    """
    if not pending:
        return
    with connection.pipeline(transaction=False) as pipe:
        for queue in {entry[0].key: entry[0] for entry in pending}.values():
            pipe.sadd(queue.redis_queues_keys, queue.key)
        for queue, job, at_front, fresh_id in pending:
            if job.has_rate_limit:
                # RQ's public enqueue_job refuses a pipeline for these; this queues the same
                # writes and the slot promotion script on ours.
                queue._enqueue_rate_limited_job(job, pipeline=pipe, at_front=at_front)
            else:
                _write_job(pipe, queue, job, at_front, fresh_id)
        pipe.execute()
    pending.clear()


def _validate_all(catalog: Catalog, requests: list[JobRequest]) -> list[tuple[JobSpec, dict[str, Any]]]:
    """Every request's spec and JSON payload, or the first PayloadError/UnknownJobError.

    Payloads of one job name are validated together, with one ``TypeAdapter(list[Model])``
    call: pydantic's per-call overhead is paid once per name, not once per job. If the batch
    has a bad payload, each is validated alone to name the first bad one, as ``enqueue`` would.
    """
    specs = [catalog.get(request.name) for request in requests]
    groups: dict[str, list[int]] = {}
    for index, spec in enumerate(specs):
        groups.setdefault(spec.name, []).append(index)
    payloads: list[dict[str, Any]] = [{}] * len(requests)
    for indexes in groups.values():
        spec = specs[indexes[0]]
        try:
            adapter = _list_adapter(spec.payload)
            models = adapter.validate_python([dict(requests[i].payload) for i in indexes])
        except ValidationError:
            for i in indexes:  # raises the PayloadError of the first bad payload
                payload_to_json(spec, requests[i].payload)
            raise
        for i, dumped in zip(indexes, adapter.dump_python(models, mode="json"), strict=True):
            payloads[i] = dumped
    return list(zip(specs, payloads, strict=True))


@functools.cache
def _list_adapter(model: type[Payload]) -> TypeAdapter[list[Payload]]:
    return TypeAdapter(list[model])  # type: ignore[valid-type]


def enqueue_many(
    requests: Iterable[JobRequest | tuple[str, Mapping[str, Any]]],
    connection: Redis | None = None,
    chunk_size: int = defaults.BULK_PIPELINE_SIZE,
) -> list[Job]:
    """Enqueue many jobs in pipelines of ``chunk_size``: one round trip per chunk, not per job.

    Every payload is validated before the first write, so a bad one leaves Redis untouched.
    A job with ``depends_on`` is written on its own (RQ's dependency check needs its own
    transaction), after the jobs before it.
    """
    connection = connection or get_redis()
    normalized = [r if isinstance(r, JobRequest) else JobRequest(r[0], r[1]) for r in requests]
    validated = _validate_all(get_catalog(), normalized)
    # Building thousands of small objects would trigger the cyclic GC again and again for
    # nothing: none of them is garbage until the caller drops the list.
    gc_was_enabled = gc.isenabled()
    gc.disable()
    try:
        built: Pending = []
        for request, (spec, kwargs) in zip(normalized, validated, strict=True):
            queue = get_queue(spec.routed_queue, connection)
            job = _create_job(queue, spec, request, kwargs)
            built.append((queue, job, request.at_front, request.job_id is None))

        jobs: list[Job] = []
        pending: Pending = []
        for queue, job, at_front, fresh_id in built:
            if job._dependency_ids:
                # RQ checks dependencies with WATCH/MULTI of its own, which cannot run inside our
                # pipeline; and a dependency may be earlier in this batch, so write that part first.
                _write_pipelined(connection, pending)
                queue.enqueue_job(job, at_front=at_front)
            else:
                pending.append((queue, job, at_front, fresh_id))
                if len(pending) >= chunk_size:
                    _write_pipelined(connection, pending)
            jobs.append(job)
        _write_pipelined(connection, pending)
    finally:
        if gc_was_enabled:
            gc.enable()
    return jobs


def fetch_job(job_id: str, connection: Redis | None = None) -> CatalogJob:
    """A job by id, read with the catalog job class."""
    job = CatalogJob.fetch(job_id, connection=connection or get_redis())
    assert isinstance(job, CatalogJob)
    return job


def failure_text(job: Job) -> str | None:
    """The stored traceback text of the job's latest failed run, if it failed."""
    result = job.latest_result()
    if result is None or result.type != result.Type.FAILED:
        return None
    return result.exc_string


_QUALIFIED_EXCEPTION = re.compile(r"^(?:[A-Za-z_][\w]*\.)+(?P<name>[A-Za-z_]\w*(?:Error|Exception|Exit)\b.*)$")


def short_exception(exc_string: str) -> str:
    """The last line of a traceback, without the exception's module path."""
    lines = [line.strip() for line in exc_string.strip().splitlines() if line.strip()]
    if not lines:
        return ""
    match = _QUALIFIED_EXCEPTION.match(lines[-1])
    return match.group("name") if match else lines[-1]


def failure_reason(job: Job) -> str:
    """Why the job failed, in one line (from its latest result): ``ErrorType: message``."""
    result = job.latest_result()
    if result is None:
        return "no result recorded"
    if result.type == Result.Type.MAX_RETRIES_EXCEEDED:
        return "gave up: maximum retries exceeded"
    if result.type == Result.Type.STOPPED:
        return "stopped"
    return short_exception(result.exc_string or "") or "failed (no reason recorded)"
