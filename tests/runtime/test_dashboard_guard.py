"""The dashboard refuses other sites' requests: Host allow-list, POST only, Origin, CSRF token."""

from __future__ import annotations

import re
from collections.abc import Iterator

import pytest
from flask import Flask
from flask.testing import FlaskClient
from redis import Redis
from rq import Queue
from rq.job import Job
from rq.serializers import JSONSerializer

from odyssey_workers.dashboard import create_app
from odyssey_workers.dashboard_guard import allowed_hosts, host_name
from odyssey_workers.queues import enqueue, fetch_job
from odyssey_workers.settings import Settings

ORIGIN = "http://localhost"


@pytest.fixture
def app(env: dict[str, str], redis_conn: Redis) -> Flask:
    return create_app(Settings(dashboard_allowed_hosts="ops.example.org"), connection=redis_conn)


@pytest.fixture
def client(app: Flask) -> Iterator[FlaskClient]:
    with app.test_client() as client:
        yield client


def page_token(client: FlaskClient) -> str:
    """The CSRF token the dashboard's page hands its scripts (and the session cookie with it)."""
    page = client.get("/").get_data(as_text=True)
    match = re.search(r'<meta name="csrf-token" content="([0-9a-f]+)">', page)
    assert match, "no csrf-token meta tag on the page"
    return match.group(1)


def failed_job(redis_conn: Redis) -> Job:
    job = enqueue("testing.permanent", token="x")
    queue = Queue("default", connection=redis_conn, serializer=JSONSerializer)
    queue.remove(job.id)
    job.set_status("failed")
    queue.failed_job_registry.add(job, ttl=600, exc_string="PermanentError: x")
    return job


def test_every_page_carries_a_policy_that_forbids_inline_script(client: FlaskClient) -> None:
    for path in ("/", "/0/view/workers", "/0/data/queues.json", "/assets/dashboard.js", "/static/css/main.css"):
        with client.get(path) as response:  # static files are streamed: closing releases them
            assert response.status_code == 200, path
            policy = response.headers["Content-Security-Policy"]
            assert "script-src 'self';" in policy and "unsafe-inline" not in policy and "unsafe-eval" not in policy
            assert "frame-ancestors 'none'" in policy
            assert response.headers["X-Content-Type-Options"] == "nosniff"
            assert response.headers["Referrer-Policy"] == "same-origin"


def test_a_request_for_another_host_name_is_refused_as_dns_rebinding(client: FlaskClient) -> None:
    response = client.get("/0/data/queues.json", headers={"Host": "attacker.example:9181"})
    assert response.status_code == 400
    assert response.get_data(as_text=True) == (
        "Host 'attacker.example' is not allowed: add it to DASHBOARD_ALLOWED_HOSTS if it names this dashboard\n"
    )


def test_loopback_names_and_the_configured_extra_host_are_answered(client: FlaskClient) -> None:
    for host in ("localhost:9181", "127.0.0.1:9181", "[::1]:9181", "OPS.example.org"):
        assert client.get("/0/data/queues.json", headers={"Host": host}).status_code == 200, host


def test_allowed_hosts_leave_out_a_wildcard_bind_address() -> None:
    assert allowed_hosts("0.0.0.0", " ops.example.org , [fd00::1]") == {
        "localhost",
        "127.0.0.1",
        "::1",
        "ops.example.org",
        "fd00::1",
    }
    assert "10.0.0.5" in allowed_hosts("10.0.0.5", "")
    assert host_name("[::1]:9181") == "::1" and host_name("Example.org:80") == "example.org"


@pytest.mark.parametrize(
    "path", ["/requeue/default", "/job/some-id/delete", "/job/some-id/requeue", "/queue/default/compact"]
)
def test_a_state_change_by_get_is_refused_with_405(client: FlaskClient, redis_conn: Redis, path: str) -> None:
    job = failed_job(redis_conn)
    response = client.get(path)
    assert response.status_code == 405
    assert "POST" in response.headers["Allow"] and "GET" not in response.headers["Allow"]
    assert fetch_job(job.id).get_status() == "failed"


def test_requeue_all_from_another_sites_page_is_refused(client: FlaskClient, redis_conn: Redis) -> None:
    job = failed_job(redis_conn)
    token = page_token(client)
    response = client.post("/requeue/default", headers={"Origin": "http://evil.example", "X-CSRFToken": token})
    assert response.status_code == 403
    assert "another site ('evil.example')" in response.get_data(as_text=True)
    referred = client.post("/requeue/default", headers={"Referer": "http://evil.example/page", "X-CSRFToken": token})
    assert referred.status_code == 403
    assert fetch_job(job.id).get_status() == "failed"


def test_a_state_change_without_origin_or_referer_is_refused(client: FlaskClient, redis_conn: Redis) -> None:
    job = failed_job(redis_conn)
    response = client.post(f"/job/{job.id}/delete", headers={"X-CSRFToken": page_token(client)})
    assert response.status_code == 403
    assert fetch_job(job.id).get_status() == "failed"


def test_a_state_change_without_the_sessions_token_is_refused(client: FlaskClient, redis_conn: Redis) -> None:
    job = failed_job(redis_conn)
    page_token(client)  # the session cookie is set; the token is not sent
    assert client.post(f"/job/{job.id}/delete", headers={"Origin": ORIGIN}).status_code == 403
    wrong = client.post(f"/job/{job.id}/delete", headers={"Origin": ORIGIN, "X-CSRFToken": "0" * 64})
    assert wrong.status_code == 403
    assert "needs the X-CSRFToken header of this session" in wrong.get_data(as_text=True)
    not_ascii = client.post(f"/job/{job.id}/delete", headers={"Origin": ORIGIN, "X-CSRFToken": "tok\u00e9n"})
    assert not_ascii.status_code == 403
    assert fetch_job(job.id).get_status() == "failed"


def test_a_token_from_another_session_is_refused(app: Flask, client: FlaskClient, redis_conn: Redis) -> None:
    job = failed_job(redis_conn)
    with app.test_client() as other:
        their_token = page_token(other)
    page_token(client)
    response = client.post(f"/job/{job.id}/delete", headers={"Origin": ORIGIN, "X-CSRFToken": their_token})
    assert response.status_code == 403
    assert fetch_job(job.id).get_status() == "failed"


def test_the_dashboards_own_requeue_with_origin_and_token_works(client: FlaskClient, redis_conn: Redis) -> None:
    job = failed_job(redis_conn)
    response = client.post(f"/job/{job.id}/requeue", headers={"Origin": ORIGIN, "X-CSRFToken": page_token(client)})
    assert response.status_code == 200
    assert response.get_json() == {"status": "OK"}
    assert fetch_job(job.id).get_status() == "queued"


def test_a_missing_job_page_is_a_one_line_404(client: FlaskClient) -> None:
    response = client.get("/0/view/job/no-such-id")
    assert response.status_code == 404
    assert response.get_data(as_text=True) == "no such job 'no-such-id' (deleted, or its result expired)\n"
