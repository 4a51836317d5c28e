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


ID_REFUSAL = "must be an id: a whole number from 1 to 9223372036854775807"


@pytest.mark.parametrize("value", ["true", "1e23", "1.0", '"1"', "0", "-5", "9223372036854775808", "null"])
def test_id_that_is_not_a_positive_whole_number_in_the_database_range_is_refused(redis_conn: Redis, value: str) -> None:
    before = redis_keys(redis_conn)
    with pytest.raises(PayloadError) as caught:
        odyssey_workers.enqueue("content.optimize_image", asset_id=json.loads(value))  # as a JSON producer sends it
    assert f"content.optimize_image: bad payload: asset_id: {ID_REFUSAL}" in str(caught.value)
    assert redis_keys(redis_conn) == before


@pytest.mark.parametrize(
    ("name", "payload", "field"),
    [
        ("payments.pay_creators", {"week": "2026-W48", "creator_ids": [3, True]}, "creator_ids.1"),
        ("notifications.notify", {"event": "new_follower", "recipients": [1.0]}, "recipients.0"),
        ("notifications.notify", {"event": "new_follower", "followers_of": True}, "followers_of"),
        ("payments.refund_charge", {"charge_id": 1e23}, "charge_id"),
    ],
)
def test_ids_in_lists_and_optional_ids_are_just_as_strict(
    redis_conn: Redis, name: str, payload: dict[str, object], field: str
) -> None:
    with pytest.raises(PayloadError) as caught:
        odyssey_workers.enqueue(name, **payload)
    assert f"{field}: {ID_REFUSAL}" in str(caught.value)
    assert get_queue("default").count + get_queue("high").count + get_queue("low").count == 0


def test_largest_database_id_is_accepted(redis_conn: Redis) -> None:
    job = odyssey_workers.enqueue("content.optimize_image", asset_id=2**63 - 1)
    assert fetch_job(job.id).kwargs == {"asset_id": 2**63 - 1}


def test_every_id_field_of_every_catalog_payload_is_a_strict_id() -> None:
    from odyssey_workers.catalog import get_catalog

    id_fields = {"recipients", "followers_of"}  # user ids under other names
    checked = []
    for spec in get_catalog():
        for field, info in spec.payload.model_fields.items():
            if not (field.endswith(("_id", "_ids")) or field in id_fields):
                continue
            plural = field.endswith("s") and field != "followers_of"
            errors = []
            try:
                spec.payload.model_validate({field: [True] if plural else True})
            except Exception as exc:  # noqa: BLE001 - a ValidationError, read below
                errors = getattr(exc, "errors", list)()
            location = (field, 0) if plural else (field,)
            messages = [str(error["msg"]) for error in errors if error["loc"] == location]
            assert any(ID_REFUSAL in message for message in messages), f"{spec.name}.{field} is not an Id ({info})"
            checked.append(f"{spec.name}.{field}")
    assert "content.optimize_image.asset_id" in checked
    assert "payments.pay_creators.creator_ids" in checked
