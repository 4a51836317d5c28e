"""The bundled redis-server of ``odyssey-workers run``: its configuration and its refusals."""

from __future__ import annotations

import socket
from pathlib import Path

import pytest
from redis import Redis

from odyssey_workers.bundled_redis import BundledRedis, BundledRedisError
from odyssey_workers.errors import ConfigurationError
from odyssey_workers.settings import Settings


def test_bundled_redis_keeps_an_append_only_file_never_evicts_and_stops_cleanly(tmp_path: Path) -> None:
    bundled = BundledRedis(Settings(var_dir=tmp_path / "var")).start()
    try:
        client = Redis(unix_socket_path=str(bundled.socket_path))
        client.set("kept", "yes")
        assert client.config_get("appendonly")["appendonly"] == "yes"
        assert client.config_get("maxmemory-policy")["maxmemory-policy"] == "noeviction"
        assert client.config_get("dir")["dir"] == str(tmp_path / "var" / "redis")
        client.close()
    finally:
        assert bundled.stop() == 0
    assert not bundled.socket_path.exists()

    # The data is still there for the next start.
    again = BundledRedis(Settings(var_dir=tmp_path / "var")).start()
    try:
        assert Redis(unix_socket_path=str(again.socket_path)).get("kept") == b"yes"
    finally:
        again.stop()


def test_a_second_bundled_redis_on_the_same_var_dir_is_refused(tmp_path: Path) -> None:
    first = BundledRedis(Settings(var_dir=tmp_path / "var")).start()
    try:
        with pytest.raises(BundledRedisError, match=r"a Redis is already answering on .*redis\.sock"):
            BundledRedis(Settings(var_dir=tmp_path / "var")).start()
        assert Redis(unix_socket_path=str(first.socket_path)).ping()  # the first one is untouched
    finally:
        first.stop()


def test_a_stale_socket_left_by_a_killed_redis_is_replaced(tmp_path: Path) -> None:
    stale = tmp_path / "var" / "redis" / "redis.sock"
    stale.parent.mkdir(parents=True)
    listener = socket.socket(socket.AF_UNIX)
    listener.bind(str(stale))
    listener.close()  # the file stays; nobody listens on it
    bundled = BundledRedis(Settings(var_dir=tmp_path / "var")).start()
    try:
        assert Redis(unix_socket_path=str(stale)).ping()
    finally:
        bundled.stop()


def test_a_var_dir_too_deep_for_a_unix_socket_is_refused_naming_var_dir(tmp_path: Path) -> None:
    deep = tmp_path / ("d" * 60) / ("e" * 60)
    with pytest.raises(ConfigurationError, match=r"^VAR_DIR: the bundled Redis socket .* is longer than 107 bytes"):
        BundledRedis(Settings(var_dir=deep)).start()
    assert not (deep / "redis" / "redis.sock").exists()
