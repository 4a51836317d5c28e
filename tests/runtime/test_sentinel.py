"""Redis Sentinel: clients and worker processes find the master through real sentinels."""

from __future__ import annotations

import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest
from redis import Redis

import odyssey_workers
from odyssey_workers.errors import ConfigurationError
from odyssey_workers.queues import fetch_job
from odyssey_workers.sentinel import parse_sentinel_url
from odyssey_workers.settings import get_settings, load_settings
from tests.support.servers import RedisServer, free_port, redis_server_binary, wait_for_port
from tests.support.workers import start_worker, wait_until


def test_sentinel_url_names_hosts_service_database_and_password() -> None:
    target = parse_sentinel_url("redis+sentinel://:s3cret@10.0.0.1:26380,sentinel-b/jobs/2")
    assert target.sentinels == (("10.0.0.1", 26380), ("sentinel-b", 26379))
    assert (target.service, target.db, target.password) == ("jobs", 2, "s3cret")


@pytest.mark.parametrize(
    ("url", "reason"),
    [
        ("redis+sentinel://host:26379", "expected the service name after the hosts"),
        ("redis+sentinel:///mymaster", "expected sentinel hosts"),
        ("redis+sentinel://host:abc/mymaster", "expected a numeric port for every sentinel"),
        ("redis+sentinel://host/mymaster/zero", "expected /service or /service/db"),
    ],
)
def test_malformed_sentinel_url_is_refused_naming_the_variable(
    monkeypatch: pytest.MonkeyPatch, url: str, reason: str
) -> None:
    monkeypatch.setenv("REDIS_URL", url)
    with pytest.raises(ConfigurationError, match=f"REDIS_URL: {reason}"):
        load_settings()


@pytest.fixture
def sentinel(tmp_path: Path) -> Iterator[tuple[RedisServer, int]]:
    master = RedisServer().start()
    port = free_port()
    config = tmp_path / "sentinel.conf"
    config.write_text(
        f"port {port}\nbind 127.0.0.1\ndir {tmp_path}\n"
        f"sentinel monitor jobs 127.0.0.1 {master.port} 1\n"
        "sentinel down-after-milliseconds jobs 5000\n"
    )
    process = subprocess.Popen(
        [redis_server_binary(), str(config), "--sentinel"], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
    )
    try:
        wait_for_port(port)
        yield master, port
    finally:
        process.kill()
        process.wait(timeout=10)
        master.stop()


@pytest.mark.timeout(60)
def test_worker_processes_reach_the_master_through_the_sentinels(
    env: dict[str, str], tmp_path: Path, monkeypatch: pytest.MonkeyPatch, sentinel: tuple[RedisServer, int]
) -> None:
    master, port = sentinel
    url = f"redis+sentinel://127.0.0.1:{port}/jobs/0"
    monkeypatch.setenv("REDIS_URL", url)
    get_settings.cache_clear()
    jobs = [odyssey_workers.enqueue("testing.mark", token=f"s{i}") for i in range(4)]
    direct = Redis(port=master.port)
    assert direct.llen("rq:queue:default") == 4, "enqueue() wrote to the master the sentinels named"
    worker = start_worker({**env, "REDIS_URL": url}, processes=2, burst=True, log=tmp_path / "worker.log")
    assert worker.wait(timeout=45) == 0
    wait_until(lambda: all(fetch_job(job.id).get_status().value == "finished" for job in jobs), timeout=10)
    assert [direct.get(f"test:runs:s{i}") for i in range(4)] == [b"1"] * 4
    direct.close()
