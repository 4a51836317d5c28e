"""The dashboard names jobs by their catalog name, however they were enqueued."""

from __future__ import annotations

from flask.testing import FlaskClient
from redis import Redis
from rq import Queue
from rq.serializers import JSONSerializer

from tests.runtime.test_dashboard_guard import app, client

__all__ = ["app", "client"]  # the fixtures, imported to be used here


def test_a_plain_rq_producers_job_is_listed_by_its_catalog_name(client: FlaskClient, redis_conn: Redis) -> None:
    queue = Queue("default", connection=redis_conn, serializer=JSONSerializer)
    job = queue.enqueue("tests.support.jobs.permanent", token="plain")
    listed = client.get("/0/data/jobs/default/queued/8/asc/1.json").get_json()
    assert [(row["id"], row["description"]) for row in listed["jobs"]] == [(job.id, "testing.permanent")]
    assert client.get(f"/0/data/job/{job.id}.json").get_json()["description"] == "testing.permanent"


def test_a_pickled_job_from_a_plain_rq_producer_is_still_listed_by_its_call(
    client: FlaskClient, redis_conn: Redis
) -> None:
    # Not JSON, so it will never run here; the dashboard still shows it instead of failing.
    job = Queue("default", connection=redis_conn).enqueue("tests.support.jobs.permanent", token="pickled")
    listed = client.get("/0/data/jobs/default/queued/8/asc/1.json")
    assert listed.status_code == 200
    assert [row["description"] for row in listed.get_json()["jobs"]] == [
        "tests.support.jobs.permanent(token='pickled')"
    ]
    assert client.get(f"/0/data/job/{job.id}.json").status_code == 200
