"""Worker processes for tests: real ``odyssey-workers worker`` or plain ``rq worker`` subprocesses."""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
import sys
import time
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path

VENV_BIN = Path(sys.executable).parent


def start_worker(
    env: Mapping[str, str],
    queues: Sequence[str] = ("high", "default", "low"),
    *,
    processes: int = 1,
    burst: bool = False,
    plain_rq: bool = False,
    log: Path | None = None,
) -> subprocess.Popen[bytes]:
    """Start a worker in its own process group (so a test can kill it and its work horses)."""
    if plain_rq:
        command = [str(VENV_BIN / "rq"), "worker", *queues, "--with-scheduler"]
    else:
        command = [str(VENV_BIN / "odyssey-workers"), "worker", *queues, "--processes", str(processes)]
    if burst:
        command.append("--burst")
    output = log.open("ab") if log else None
    try:
        return subprocess.Popen(
            command,
            env={**os.environ, **env},
            stdout=output or subprocess.DEVNULL,
            stderr=subprocess.STDOUT,
            start_new_session=True,
            cwd=Path(__file__).resolve().parents[2],
        )
    finally:
        if output:
            output.close()  # the child has its own copy of the descriptor


def stop_worker(process: subprocess.Popen[bytes], timeout: float = 30) -> int:
    """Warm shutdown: SIGTERM, wait; SIGKILL everything it started if it does not stop in time."""
    if process.poll() is None:
        process.send_signal(signal.SIGTERM)
        try:
            process.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            kill_group(process)  # its work horses too: they lead process groups of their own
    return process.returncode


def session_pids(session_id: int) -> list[int]:
    """Every live process in a session (a worker, its pool children and their work horses).

    RQ puts each work horse in a process group of its own, so killing the worker's group would
    miss them; the session (from ``start_new_session``) holds them all.
    """
    pids = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            stat = (entry / "stat").read_text()
        except OSError:
            continue
        fields = stat.rsplit(")", 1)[1].split()
        if int(fields[3]) == session_id and fields[0] != "Z":
            pids.append(int(entry.name))
    return pids


def kill_group(process: subprocess.Popen[bytes]) -> None:
    """kill -9 the worker and everything it started (work horses too), as a lost machine would.

    The worker goes first, so it cannot fork a new work horse while the rest are killed; then
    the session is swept until nothing in it runs.
    """
    with contextlib.suppress(ProcessLookupError):
        os.kill(process.pid, signal.SIGKILL)
    deadline = time.monotonic() + 10
    while (pids := session_pids(process.pid)) and time.monotonic() < deadline:
        for pid in pids:
            with contextlib.suppress(ProcessLookupError):
                os.kill(pid, signal.SIGKILL)
        time.sleep(0.02)
    process.wait(timeout=10)


def horse_pids(process: subprocess.Popen[bytes]) -> list[int]:
    """A worker's work horses: the processes of its session that lead a process group of their
    own (RQ's horse calls ``setpgrp``). The worker's scheduler process stays in the worker's
    group and is not one: killing it would stop delayed retries until its lock lapses."""
    return [pid for pid in session_pids(process.pid) if pid != process.pid and _process_group(pid) == pid]


def scheduler_pids(process: subprocess.Popen[bytes]) -> list[int]:
    """The worker's scheduler process (RQ forks it into the worker's own process group)."""
    return [pid for pid in session_pids(process.pid) if pid != process.pid and _process_group(pid) == process.pid]


def _process_group(pid: int) -> int:
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return -1
    return int(stat.rsplit(")", 1)[1].split()[2])


def wait_until(predicate: Callable[[], bool], timeout: float = 30.0, interval: float = 0.05) -> float:
    """Poll until ``predicate()`` is true; returns the seconds it took, raises on timeout."""
    started = time.monotonic()
    while not predicate():
        if time.monotonic() - started > timeout:
            raise TimeoutError(f"condition not met within {timeout}s")
        time.sleep(interval)
    return time.monotonic() - started
