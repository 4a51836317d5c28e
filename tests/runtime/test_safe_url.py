"""``safe_url``: every secret part of a URL masked, everything else left readable."""

from __future__ import annotations

import logging

import pytest
from click.testing import CliRunner
from redis import Redis

from odyssey_workers.cli import main
from odyssey_workers.connection import safe_url, wait_for_redis
from tests.conftest import reset_runtime_caches
from tests.support.servers import free_port


@pytest.mark.parametrize(
    ("url", "shown"),
    [
        ("redis://:hunter2@cache:6379/0", "redis://:***@cache:6379/0"),
        ("redis://worker:hunter2@cache/0", "redis://worker:***@cache/0"),
        ("redis://cache/0?password=hunter2", "redis://cache/0?password=***"),
        (
            "postgresql://odyssey@db/odyssey?password=hunter2&sslmode=require",
            "postgresql://odyssey@db/odyssey?password=***&sslmode=require",
        ),
        (
            "postgresql://odyssey@db/odyssey?sslpassword=hunter2&sslcert=client.pem",
            "postgresql://odyssey@db/odyssey?sslpassword=***&sslcert=client.pem",
        ),
        (
            "redis+sentinel://:hunter2@s1:26379,s2:26379/mymaster/0?sentinel_password=hunter2&socket_timeout=2",
            "redis+sentinel://:***@s1:26379,s2:26379/mymaster/0?sentinel_password=***&socket_timeout=2",
        ),
        ("unix:///run/redis.sock?db=1&password=hunter2", "unix:///run/redis.sock?db=1&password=***"),
        ("s3://media/uploads?access_token=hunter2&region=eu", "s3://media/uploads?access_token=***&region=eu"),
        ("https://api.example/hook?API_KEY=hunter2&Auth=hunter2", "https://api.example/hook?API_KEY=***&Auth=***"),
        ("redis://:hun?ter2@cache/0", "redis://***@cache/0"),  # a raw '?' in the password
        ("sqlite:////srv/odyssey/var/odyssey.db", "sqlite:////srv/odyssey/var/odyssey.db"),
        ("redis://cache:6379/0", "redis://cache:6379/0"),
    ],
)
def test_safe_url_masks_passwords_and_secret_parameters_and_keeps_the_rest(url: str, shown: str) -> None:
    assert safe_url(url) == shown


def test_safe_url_of_an_unparseable_url_shows_only_its_scheme() -> None:
    assert safe_url("redis://[::1:hunter2") == "redis://***"


def test_doctor_table_and_json_never_show_a_password_given_as_a_query_parameter(
    env: dict[str, str], monkeypatch: pytest.MonkeyPatch
) -> None:
    port = free_port()
    monkeypatch.setenv("REDIS_URL", f"redis://127.0.0.1:{port}/0?password=hunter2")
    monkeypatch.setenv("DATABASE_URL", f"postgresql://odyssey@127.0.0.1:{free_port()}/odyssey?password=hunter2")
    reset_runtime_caches()
    table = CliRunner().invoke(main, ["doctor"], terminal_width=250)
    as_json = CliRunner().invoke(main, ["doctor", "--json"])
    for result in (table, as_json):
        assert result.exit_code == 1
        assert "hunter2" not in result.output
    assert f"cannot reach Redis at redis://127.0.0.1:{port}/0?password=***" in as_json.stdout
    assert "/odyssey?password=***: " in as_json.stdout


def test_cannot_reach_redis_error_masks_the_password_parameter(
    env: dict[str, str], monkeypatch: pytest.MonkeyPatch
) -> None:
    port = free_port()
    monkeypatch.setenv("REDIS_URL", f"redis://127.0.0.1:{port}/0?password=hunter2")
    reset_runtime_caches()
    result = CliRunner().invoke(main, ["enqueue", "system.ping"])
    assert result.exit_code == 1
    assert "hunter2" not in result.output
    assert f"cannot reach Redis at redis://127.0.0.1:{port}/0?password=***" in result.stderr


def test_reconnect_warning_masks_the_password_parameter(
    env: dict[str, str], monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    url = f"redis://:hunter2@127.0.0.1:{free_port()}/0?password=hunter2"
    monkeypatch.setenv("REDIS_URL", url)
    reset_runtime_caches()
    attempts = iter([False, True])  # one attempt, then stop
    with caplog.at_level(logging.WARNING):
        reached = wait_for_redis(Redis.from_url(url, socket_connect_timeout=1), stopping=lambda: next(attempts))
    assert reached is False
    assert "cannot reach Redis at redis://:***@127.0.0.1:" in caplog.text
    assert "hunter2" not in caplog.text
