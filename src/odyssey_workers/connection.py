"""The Redis connection: ``REDIS_URL``, or the bundled server that ``odyssey-workers run`` starts."""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any
from urllib.parse import unquote_plus, urlsplit, urlunsplit

from redis import Redis
from redis.exceptions import ConnectionError as RedisConnectionError
from redis.exceptions import TimeoutError as RedisTimeoutError

from odyssey_workers.settings import Settings, get_settings

logger = logging.getLogger(__name__)

REDIS_WAIT_MAX_SECONDS = 10.0
"""The longest pause between two attempts to reach Redis, in seconds."""


SECRET_PARAMETER_WORDS = ("pass", "pwd", "token", "secret", "key", "auth", "credential", "signature")
"""A query parameter whose name contains one of these (any case) is masked by ``safe_url``:
``password``, ``sslpassword``, ``sentinel_password``, ``access_token``, ``api_key``, ``X-Amz-Signature``..."""

MASK = "***"


def is_secret_parameter(name: str) -> bool:
    """Whether a URL query parameter called ``name`` may carry a secret."""
    lowered = unquote_plus(name).lower()
    return any(word in lowered for word in SECRET_PARAMETER_WORDS)


def _mask_query(query: str) -> str:
    pieces = []
    for piece in query.split("&"):
        name, equals, value = piece.partition("=")
        pieces.append(f"{name}={MASK}" if equals and value and is_secret_parameter(name) else piece)
    return "&".join(pieces)


def safe_url(url: str) -> str:
    """The URL with every secret masked: the password of its userinfo and any query parameter
    whose name looks secret. Everything else (user, hosts, ports, path, other parameters) stays
    readable, so the line still says where the service connects. Works for multi-host Sentinel
    URLs and never raises: an unparseable URL prints as its scheme alone."""
    try:
        parts = urlsplit(url)
    except ValueError:
        scheme = url.partition("://")[0] if "://" in url else ""
        return f"{scheme}://{MASK}" if scheme.isalnum() else MASK
    scheme, separator, rest = url.partition("://")
    if separator and "@" in rest and "@" not in parts.netloc:
        # A raw '?', '#' or '/' in the password ends urlsplit's netloc early: hide all up to the '@'.
        return f"{scheme}://{MASK}@{rest.rpartition('@')[2]}"
    userinfo, at, hosts = parts.netloc.rpartition("@")
    if at:
        user, colon, password = userinfo.partition(":")
        netloc = f"{user}:{MASK}@{hosts}" if colon and password else parts.netloc
    else:
        netloc = parts.netloc
    query = _mask_query(parts.query) if parts.query else parts.query
    if netloc == parts.netloc and query == parts.query:
        return url  # nothing to hide: keep the URL exactly as written
    if separator:  # urlunsplit would drop an empty netloc (unix:///path became unix:/path)
        path = parts.path + (f"?{query}" if query else "") + (f"#{parts.fragment}" if parts.fragment else "")
        return f"{parts.scheme}://{netloc}{path}"
    return urlunsplit(parts._replace(netloc=netloc, query=query))


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
