"""The service ``make demo`` starts and talks to: ``odyssey-workers run`` as a watched child.

The demo and its service read one set of settings, the demo's own embedded defaults: everything
under ``var/demo`` (bundled Redis, SQLite, local files), whatever ``REDIS_URL``, ``DATABASE_URL``,
``STORAGE_URL`` or ``VAR_DIR`` the shell or a ``.env`` file says. The demo applies that
environment to itself as well as to every command it runs, so its own enqueues, database
reads and commands reach the service it started and no other.

It is healthy only when *its* service answers: the process is alive and the metrics port that
answers ``/health`` is held by one of that service's processes (another service on the same
port does not count). When the service exits, the demo stops with that service's error line.
"""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
import time
import urllib.request
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

DEMO_VAR_DIR = Path("var") / "demo"
"""Where the demo's service keeps everything (relative to the working directory)."""

IGNORED_VARIABLES = ("REDIS_URL", "DATABASE_URL", "STORAGE_URL")
"""Settings the demo never takes from the shell: its service runs on the embedded defaults."""

START_TIMEOUT_SECONDS = 180.0
"""How long the service gets to answer its health check, in seconds (a first start migrates)."""

STOP_TIMEOUT_SECONDS = 90.0
"""How long a warm stop may take before the demo kills the service, in seconds."""


class ServiceExited(RuntimeError):
    """The demo's service stopped on its own; the message ends with its last error line."""


def demo_env(base: Mapping[str, str] | None = None) -> dict[str, str]:
    """The environment of the demo and of everything it starts: the embedded defaults, forced."""
    env = dict(os.environ if base is None else base)
    for name in IGNORED_VARIABLES:
        env[name] = ""  # empty rather than absent, so a .env file cannot set it again
    env["VAR_DIR"] = str(DEMO_VAR_DIR.resolve())
    # Demo only: earnings are payable at once instead of after the 7-day hold, so the payout
    # step has something to pay.
    env.setdefault("PAYOUT_HOLD_DAYS", "0")
    env.setdefault("COLUMNS", "120")  # rich tables from the CLI stay readable in a pipe
    return env


def ignored_settings(base: Mapping[str, str] | None = None) -> list[str]:
    """Which of the ignored variables the caller's environment had set (to say so)."""
    env = os.environ if base is None else base
    return [name for name in (*IGNORED_VARIABLES, "VAR_DIR") if env.get(name)]


def session_pids(session_id: int) -> list[int]:
    """Every live process of a session: the service started one of its own."""
    pids = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            fields = (entry / "stat").read_text().rsplit(")", 1)[1].split()
        except (OSError, IndexError):
            continue
        if int(fields[3]) == session_id and fields[0] != "Z":
            pids.append(int(entry.name))
    return pids


def listening_socket_inodes(port: int) -> set[str]:
    """Inodes of the TCP sockets listening on ``port`` (IPv4 and IPv6), from ``/proc/net``."""
    inodes = set()
    for table in ("/proc/net/tcp", "/proc/net/tcp6"):
        with contextlib.suppress(OSError):
            for line in Path(table).read_text().splitlines()[1:]:
                fields = line.split()
                local, state, inode = fields[1], fields[3], fields[9]
                if state == "0A" and int(local.rsplit(":", 1)[1], 16) == port:  # 0A: LISTEN
                    inodes.add(inode)
    return inodes


def health_ok(port: int) -> bool:
    try:
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/health", timeout=2) as response:
            return bool(response.status == 200)
    except OSError:
        return False


@dataclass
class DemoService:
    """A started ``odyssey-workers run``, its log, and where this start's part of the log begins."""

    process: subprocess.Popen[bytes]
    log: Path
    log_start: int

    def owns_port(self, port: int) -> bool:
        """Whether a process of this service holds the listening socket on ``port``."""
        targets = {f"socket:[{inode}]" for inode in listening_socket_inodes(port)}
        if not targets:
            return False
        for pid in session_pids(self.process.pid):
            with contextlib.suppress(OSError):
                for descriptor in Path(f"/proc/{pid}/fd").iterdir():
                    with contextlib.suppress(OSError):
                        if os.readlink(descriptor) in targets:
                            return True
        return False

    def last_error_line(self) -> str:
        """The service's own words on why it stopped: its last ``Error:`` or ERROR line."""
        try:
            with self.log.open("rb") as handle:
                handle.seek(self.log_start)
                text = handle.read().decode(errors="replace")
        except OSError:
            return f"no log at {self.log}"
        lines = [line.strip() for line in text.splitlines() if line.strip()]
        for marker in ("Error:", " ERROR ", " CRITICAL "):
            found = [line for line in lines if marker in line or line.startswith(marker.strip())]
            if found:
                return found[-1]
        return lines[-1] if lines else "it printed nothing"

    def check(self) -> None:
        """Raise ServiceExited, with the service's error line, if the service is gone."""
        code = self.process.poll()
        if code is not None:
            raise ServiceExited(f"odyssey-workers run exited with code {code}: {self.last_error_line()}")

    def wait_until_healthy(self, port: int, timeout: float = START_TIMEOUT_SECONDS) -> None:
        deadline = time.monotonic() + timeout
        while True:
            self.check()
            if health_ok(port) and self.owns_port(port):
                self.check()  # still ours after the probe
                return
            if time.monotonic() > deadline:
                self.kill()
                raise ServiceExited(f"odyssey-workers run did not answer /health within {timeout:.0f}s; see {self.log}")
            time.sleep(0.2)

    def stop(self) -> int:
        """SIGINT (running jobs finish, then Redis stops); SIGKILL to the session if it hangs."""
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGINT)
        try:
            return self.process.wait(timeout=STOP_TIMEOUT_SECONDS)
        except subprocess.TimeoutExpired:
            self.kill()
            return self.process.wait()

    def kill(self) -> None:
        for pid in session_pids(self.process.pid):
            with contextlib.suppress(ProcessLookupError, PermissionError):
                os.kill(pid, signal.SIGKILL)


def start_service(command: str, env: Mapping[str, str], log: Path) -> DemoService:
    """Start ``odyssey-workers run`` in a session of its own, output appended to ``log``."""
    log.parent.mkdir(parents=True, exist_ok=True)
    with log.open("ab") as handle:
        start = handle.tell()
        process = subprocess.Popen(
            [command, "run"], env=dict(env), stdout=handle, stderr=subprocess.STDOUT, start_new_session=True
        )
    return DemoService(process, log, start)
