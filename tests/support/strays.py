"""Find processes a test left running: a worker's scheduler, a server, a work horse.

The pytest process becomes a child subreaper, so a process orphaned by any test (its parent
killed with SIGKILL) is re-parented to pytest instead of to init, and stays visible here. A
stray process acts on the shared test Redis and breaks later tests far from its cause.
"""

from __future__ import annotations

import ctypes
import ctypes.util
import os
import time

import psutil

PR_SET_CHILD_SUBREAPER = 36
SETTLE_SECONDS = 5.0  # a scheduler told to stop finishes its current turn first


def become_subreaper() -> bool:
    libc_name = ctypes.util.find_library("c")
    if not libc_name:
        return False
    return int(ctypes.CDLL(libc_name, use_errno=True).prctl(PR_SET_CHILD_SUBREAPER, 1)) == 0


def live_children() -> set[int]:
    """This process's children that still run; exited ones are reaped on the way."""
    alive = set()
    for child in psutil.Process().children():
        try:
            if child.status() != psutil.STATUS_ZOMBIE:
                alive.add(child.pid)
                continue
            os.waitpid(child.pid, os.WNOHANG)
        except (psutil.NoSuchProcess, ChildProcessError):
            pass
    return alive


def strays_since(before: set[int]) -> list[str]:
    """Children started since ``before`` that are still running after a short grace; each one
    found is killed (so one leak does not spread to later tests) and described."""
    deadline = time.monotonic() + SETTLE_SECONDS
    while (new := live_children() - before) and time.monotonic() < deadline:
        time.sleep(0.1)
    described = []
    for pid in sorted(new):
        try:
            process = psutil.Process(pid)
            described.append(f"pid {pid}: {' '.join(process.cmdline())[:160]}")
            process.kill()
            process.wait(timeout=5)
        except (psutil.NoSuchProcess, psutil.TimeoutExpired, ChildProcessError):
            pass
    live_children()
    return described
