"""enqueue(): the catalog decides queue, timeout, retry and limits; bad calls never reach Redis."""

from __future__ import annotations

import json
import zlib

import pytest
from redis import Redis
from rq import Queue
from rq.serializers import JSONSerializer

import odyssey_workers
from odyssey_workers.errors import PayloadError, UnknownJobError
from odyssey_workers.queues import JobRequest, fetch_job, get_queue


def redis_keys(redis_conn: Redis) -> set[bytes]:
    return set(redis_conn.keys("*"))


def test_enqueue_puts_the_job_on_its_catalog_queue_with_json_payload(redis_conn: Redis) -> None:
    job = odyssey_workers.enqueue("testing.mark", token="a")
    assert job.origin == "default"
    assert get_queue("default").job_ids == [job.id]
    raw = redis_conn.hget(f"rq:job:{job.id}", "data")
    assert raw is not None
    # RQ zlib-compresses the data; inside is JSON, never pickle.
    assert json.loads(zlib.decompress(raw)) == ["tests.support.jobs.mark", None, [], {"token": "a", "seconds": 0.0}]
    stored = fetch_job(job.id)
    assert stored.kwargs == {"token": "a", "seconds": 0.0}
    assert stored.meta["job_name"] == "testing.mark"
    assert stored.retries_left == 2
    assert stored.timeout == 120


def test_high_priority_job_lands_on_high_and_low_on_low(redis_conn: Redis) -> None:
    assert odyssey_workers.enqueue("testing.mark_high", token="h").origin == "high"
    assert odyssey_workers.enqueue("testing.mark_low", token="l").origin == "low"


def test_unknown_job_name_is_refused_with_closest_names_and_nothing_reaches_redis(redis_conn: Redis) -> None:
    before = redis_keys(redis_conn)
    with pytest.raises(UnknownJobError, match=r"unknown job 'testing.mrak'; did you mean testing.mark"):
        odyssey_workers.enqueue("testing.mrak", token="a")
    assert redis_keys(redis_conn) == before


@pytest.mark.parametrize(
    ("payload", "message"),
    [
        ({}, "token: is required"),
        ({"token": "a", "colour": "red"}, "colour: is not a field of this job"),
        ({"token": "a", "seconds": "soon"}, "seconds: Input should be a valid number"),
        ({"token": "a", "seconds": -1}, "seconds: Input should be greater than or equal to 0"),
    ],
)
def test_bad_payload_names_the_field_and_reason_and_nothing_reaches_redis(
    redis_conn: Redis, payload: dict[str, object], message: str
) -> None:
    before = redis_keys(redis_conn)
    with pytest.raises(PayloadError) as caught:
        odyssey_workers.enqueue("testing.mark", **payload)
    assert message in str(caught.value)
    assert str(caught.value).startswith("testing.mark: bad payload")
    assert redis_keys(redis_conn) == before


def test_bulk_enqueue_writes_every_job_in_pipelines(redis_conn: Redis) -> None:
    requests = [JobRequest("testing.mark", {"token": f"t{i}"}) for i in range(2500)]
    jobs = odyssey_workers.enqueue_many(requests, chunk_size=1000)
    assert len(jobs) == 2500
    assert get_queue("default").count == 2500
    assert fetch_job(jobs[-1].id).kwargs["token"] == "t2499"


def test_bulk_enqueue_with_one_bad_payload_writes_nothing(redis_conn: Redis) -> None:
    before = redis_keys(redis_conn)
    requests = [("testing.mark", {"token": "fine"}), ("testing.mark", {"token": "bad", "seconds": "x"})]
    with pytest.raises(PayloadError, match="seconds"):
        odyssey_workers.enqueue_many(requests)
    assert redis_keys(redis_conn) == before


def test_bulk_enqueue_of_rate_limited_jobs_respects_the_limit(redis_conn: Redis) -> None:
    jobs = odyssey_workers.enqueue_many([("testing.limited", {"token": str(i), "seconds": 0}) for i in range(5)])
    statuses = [fetch_job(job.id).get_status() for job in jobs]
    assert statuses.count("queued") == 2
    assert statuses.count("rate_limited") == 3


def test_plain_rq_producer_can_enqueue_a_catalog_job_by_path(redis_conn: Redis) -> None:
    queue = Queue("high", connection=redis_conn, serializer=JSONSerializer)
    job = queue.enqueue("jobs.system.health.ping", message="from another service")
    assert fetch_job(job.id).func_name == "jobs.system.health.ping"
