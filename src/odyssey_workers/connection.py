"""The Redis connection: ``REDIS_URL``, or the bundled server that ``odyssey-workers run`` starts."""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit, urlunsplit

from redis import Redis
from redis.exceptions import ConnectionError as RedisConnectionError
from redis.exceptions import TimeoutError as RedisTimeoutError

from odyssey_workers.settings import Settings, get_settings

logger = logging.getLogger(__name__)

REDIS_WAIT_MAX_SECONDS = 10.0
"""The longest pause between two attempts to reach Redis, in seconds."""


def safe_url(url: str) -> str:
    """The URL without any password in it."""
    parts = urlsplit(url)
    if parts.password:
        netloc = parts.netloc.replace(f":{parts.password}@", ":***@")
        return urlunsplit(parts._replace(netloc=netloc))
    return url


def wait_for_redis(
    connection: Redis,
    *,
    stopping: Callable[[], bool] = lambda: False,
    label: str = "",
    log: logging.Logger | logging.LoggerAdapter[logging.Logger] = logger,
) -> bool:
    """Block until ``connection`` answers, retrying with capped backoff; one log line per attempt.

    Workers, ``run`` and the scheduler wait for a Redis that is starting or coming back rather
    than exit. Returns False if ``stopping()`` turned true before Redis answered.
    """
    delay = 0.5
    while not stopping():
        try:
            connection.ping()
            return True
        except (RedisConnectionError, RedisTimeoutError) as exc:
            log.warning("%scannot reach Redis at %s: %s; next try in %.1f s", label, safe_url(redis_url()), exc, delay)
            time.sleep(delay)
            delay = min(delay * 2, REDIS_WAIT_MAX_SECONDS)
    return False


def bundled_redis_socket(settings: Settings) -> Path:
    """Where the bundled redis-server listens when ``REDIS_URL`` is unset."""
    return (settings.var_dir / "redis" / "redis.sock").resolve()


def redis_url(settings: Settings | None = None) -> str:
    """The URL every part of the service connects to."""
    settings = settings or get_settings()
    if settings.redis_url:
        return settings.redis_url
    return f"unix://{bundled_redis_socket(settings)}"


def get_redis(settings: Settings | None = None) -> Redis:
    """A client with timeouts, so a lost server is an error to handle, never a hang.

    ``health_check_interval`` makes a client that sat idle past a server restart reconnect
    instead of failing its first command.

    ``driver_info=None`` turns off redis-py's ``CLIENT SETINFO`` handshake (library name and
    version, for ``CLIENT LIST``): two round trips on every new connection, and every work horse
    opens a new one after its fork.
    """
    url = redis_url(settings)
    options: dict[str, Any] = {
        "socket_connect_timeout": 5,
        "health_check_interval": 15,
        "retry_on_timeout": True,
        "driver_info": None,
    }
    if not url.startswith("unix:"):
        options["socket_keepalive"] = True  # TCP only: a unix socket connection refuses the option
    if url.startswith("redis+sentinel:"):
        from odyssey_workers.sentinel import sentinel_master

        return sentinel_master(url, **options)
    return Redis.from_url(url, **options)
