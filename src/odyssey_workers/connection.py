"""The Redis connection: ``REDIS_URL``, or the bundled server that ``odyssey-workers run`` starts."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from redis import Redis

from odyssey_workers.settings import Settings, get_settings


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
