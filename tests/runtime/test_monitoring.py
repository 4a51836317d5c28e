"""Prometheus metrics collected across worker processes through Redis, and the health check."""

from __future__ import annotations

import json
import urllib.error
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import pytest
from prometheus_client.openmetrics.parser import text_string_to_metric_families as openmetrics_families
from prometheus_client.parser import text_string_to_metric_families
from redis import Redis

from odyssey_workers import monitoring
from odyssey_workers.monitoring import MetricsServer
from odyssey_workers.queues import enqueue, fetch_job
from odyssey_workers.settings import get_settings
from tests.conftest import reset_runtime_caches
from tests.support.servers import free_port
from tests.support.workers import kill_group, start_worker, stop_worker, wait_until


@pytest.fixture
def metrics_url(env: dict[str, str]) -> Iterator[str]:
    server = MetricsServer(get_settings(), host="127.0.0.1", port=0).start()
    host, port = server.address
    yield f"http://{host}:{port}"
    server.stop()


def scrape(url: str) -> dict[tuple[str, tuple[tuple[str, str], ...]], float]:
    text = urllib.request.urlopen(f"{url}/metrics", timeout=10).read().decode()
    samples = {}
    for family in text_string_to_metric_families(text):
        for sample in family.samples:
            samples[(sample.name, tuple(sorted(sample.labels.items())))] = sample.value
    return samples


def value(samples: dict[tuple[str, tuple[tuple[str, str], ...]], float], name: str, **labels: str) -> float | None:
    return samples.get((name, tuple(sorted(labels.items()))))


def test_metrics_count_jobs_run_by_separate_worker_processes(
    env: dict[str, str], redis_conn: Redis, metrics_url: str, tmp_path: Path
) -> None:
    jobs = [
        enqueue("testing.mark", token="a"),
        enqueue("testing.mark", token="b"),
        enqueue("testing.permanent", token="c"),
        enqueue("testing.flaky", token="d", failures=1),  # fails once, retried after ~1 s
    ]
    log = tmp_path / "worker.log"
    worker = start_worker(env, processes=2, log=log)
    try:
        wait_until(lambda: all(fetch_job(job.id).get_status() in ("finished", "failed") for job in jobs), timeout=90)
    finally:
        assert stop_worker(worker) == 0, log.read_text()
    for _ in range(3):
        enqueue("testing.mark_low", token="waiting")

    samples = scrape(metrics_url)
    assert value(samples, "odyssey_jobs_started_total", job_name="testing.mark") == 2
    assert value(samples, "odyssey_jobs_finished_total", job_name="testing.mark") == 2
    assert value(samples, "odyssey_jobs_failed_total", job_name="testing.permanent") == 1
    assert value(samples, "odyssey_jobs_started_total", job_name="testing.flaky") == 2
    assert value(samples, "odyssey_jobs_retried_total", job_name="testing.flaky") == 1
    assert value(samples, "odyssey_jobs_finished_total", job_name="testing.flaky") == 1
    assert value(samples, "odyssey_job_duration_seconds_count", job_name="testing.mark", outcome="finished") == 2
    assert value(samples, "odyssey_job_duration_seconds_count", job_name="testing.permanent", outcome="failed") == 1
    inf_bucket = value(
        samples, "odyssey_job_duration_seconds_bucket", job_name="testing.mark", outcome="finished", le="+Inf"
    )
    assert inf_bucket == 2
    assert value(samples, "odyssey_queue_depth", queue="low") == 3
    assert value(samples, "odyssey_queue_depth", queue="high") == 0
    assert value(samples, "odyssey_queue_failed", queue="default") == 1
    assert value(samples, "odyssey_redis_up") == 1


@pytest.mark.timeout(120)
def test_metrics_count_a_job_abandoned_by_a_killed_worker(
    env: dict[str, str], redis_conn: Redis, metrics_url: str
) -> None:
    job = enqueue("testing.mark", token="orphan", seconds=30)
    worker = start_worker(env)
    wait_until(lambda: fetch_job(job.id).get_status() == "started", timeout=60)
    kill_group(worker)  # kill -9 the worker and its work horse
    # A new worker's maintenance pass finds the job abandoned once its heartbeat expires.
    rescuer = start_worker(env)
    try:
        wait_until(lambda: redis_conn.hget("odyssey:metrics:jobs:abandoned", "testing.mark") == b"1", timeout=60)
    finally:
        kill_group(rescuer)
    samples = scrape(metrics_url)
    assert value(samples, "odyssey_jobs_abandoned_total", job_name="testing.mark") == 1


def test_a_job_outside_the_catalog_is_counted_as_unknown_not_by_its_function(
    env: dict[str, str], redis_conn: Redis, metrics_url: str
) -> None:
    from rq import Queue
    from rq.serializers import JSONSerializer

    Queue("default", connection=redis_conn, serializer=JSONSerializer).enqueue("os.getcwd")
    worker = start_worker(env, burst=True)
    assert worker.wait(timeout=60) == 0
    samples = scrape(metrics_url)
    assert value(samples, "odyssey_jobs_failed_total", job_name="unknown") == 1
    assert not any("os.getcwd" in str(labels) for _, labels in samples)


def test_metrics_give_the_oldest_waiting_job_age_and_the_workers_serving_each_queue(
    env: dict[str, str], redis_conn: Redis, metrics_url: str, tmp_path: Path
) -> None:
    import time

    enqueue("testing.mark_low", token="waits")
    time.sleep(1.2)
    samples = scrape(metrics_url)
    low_age = value(samples, "odyssey_queue_oldest_job_age_seconds", queue="low")
    assert low_age is not None and 1.0 <= low_age < 60
    assert value(samples, "odyssey_queue_oldest_job_age_seconds", queue="high") == 0
    assert value(samples, "odyssey_queue_workers", queue="high") == 0

    log = tmp_path / "worker.log"
    worker = start_worker(env, queues=("high",), log=log)
    try:
        wait_until(lambda: value(scrape(metrics_url), "odyssey_queue_workers", queue="high") == 1, timeout=60)
        samples = scrape(metrics_url)
        assert value(samples, "odyssey_queue_workers", queue="low") == 0  # a worker counts only where it listens
    finally:
        assert stop_worker(worker) == 0, log.read_text()


def test_a_scraper_asking_for_openmetrics_gets_it_and_no_series_has_a_job_label(
    env: dict[str, str], redis_conn: Redis, metrics_url: str
) -> None:
    enqueue("testing.mark", token="om")
    worker = start_worker(env, burst=True)
    assert worker.wait(timeout=60) == 0

    accept = "application/openmetrics-text; version=1.0.0,text/plain;version=0.0.4;q=0.5"
    request = urllib.request.Request(f"{metrics_url}/metrics", headers={"Accept": accept})
    with urllib.request.urlopen(request, timeout=10) as response:
        content_type = response.headers["Content-Type"]
        text = response.read().decode()
    assert content_type.startswith("application/openmetrics-text")
    assert text.endswith("# EOF\n")  # the strict parser below also refuses a body without it
    samples = {
        (sample.name, tuple(sorted(sample.labels.items()))): sample.value
        for family in openmetrics_families(text)
        for sample in family.samples
    }
    assert value(samples, "odyssey_jobs_finished_total", job_name="testing.mark") == 1
    # Prometheus owns the ``job`` label (the scrape job); a target's own would be renamed.
    assert not any("job" in dict(labels) for _, labels in samples)

    plain = urllib.request.urlopen(f"{metrics_url}/metrics", timeout=10)
    assert plain.headers["Content-Type"].startswith("text/plain")
    assert "# EOF" not in plain.read().decode()


def test_metrics_report_redis_down_instead_of_failing_the_scrape(env: dict[str, str], monkeypatch) -> None:  # type: ignore[no-untyped-def]
    monkeypatch.setenv("REDIS_URL", f"redis://127.0.0.1:{free_port()}/0")
    reset_runtime_caches()
    server = MetricsServer(get_settings(), host="127.0.0.1", port=0).start()
    try:
        host, port = server.address
        samples = scrape(f"http://{host}:{port}")
    finally:
        server.stop()
    assert value(samples, "odyssey_redis_up") == 0
    assert value(samples, "odyssey_queue_depth", queue="default") is None


def _health(url: str) -> tuple[int, dict[str, object]]:
    try:
        with urllib.request.urlopen(f"{url}/health", timeout=20) as response:
            return int(response.status), json.loads(response.read())
    except urllib.error.HTTPError as exc:
        return int(exc.code), json.loads(exc.read())


def test_health_is_200_when_redis_and_the_database_answer(
    env: dict[str, str], redis_conn: Redis, database_url: str, metrics_url: str
) -> None:
    status, body = _health(metrics_url)
    assert status == 200
    assert body == {"status": "ok", "failed": [], "checks": {"redis": "ok", "database": "ok"}}


def test_health_is_503_naming_redis_when_redis_is_down(
    env: dict[str, str], database_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("REDIS_URL", f"redis://127.0.0.1:{free_port()}/0")
    reset_runtime_caches()
    server = MetricsServer(get_settings(), host="127.0.0.1", port=0).start()
    try:
        host, port = server.address
        status, body = _health(f"http://{host}:{port}")
    finally:
        server.stop()
    assert status == 503
    assert body["failed"] == ["redis"]
    checks = body["checks"]
    assert isinstance(checks, dict)
    assert checks["database"] == "ok"
    assert str(checks["redis"]).startswith("error: ")


def test_health_is_503_naming_the_database_when_it_is_down(
    env: dict[str, str], redis_conn: Redis, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("DATABASE_URL", f"postgresql://nobody@127.0.0.1:{free_port()}/odyssey")
    reset_runtime_caches()
    server = MetricsServer(get_settings(), host="127.0.0.1", port=0).start()
    try:
        host, port = server.address
        status, body = _health(f"http://{host}:{port}")
    finally:
        server.stop()
    assert status == 503
    assert body["failed"] == ["database"]
    checks = body["checks"]
    assert isinstance(checks, dict)
    assert checks["redis"] == "ok"
    assert "connection" in str(checks["database"]).lower()


def test_duration_buckets_place_each_run_under_the_first_bound_it_fits() -> None:
    assert monitoring.bucket_index(0.01) == 0
    assert monitoring.bucket_index(0.05) == 0
    assert monitoring.bucket_index(0.06) == 1
    assert monitoring.bucket_index(3599) == len(monitoring.DURATION_BUCKETS) - 1
    assert monitoring.bucket_index(10_000) == len(monitoring.DURATION_BUCKETS)
