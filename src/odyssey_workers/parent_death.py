"""Tie a child process's life to its parent's (Linux ``PR_SET_PDEATHSIG``).

A parent killed with SIGKILL cannot stop its children; without this they live on as orphans
(a worker's scheduler would go on holding its queues' scheduler locks and enqueueing jobs).
"""

from __future__ import annotations

import ctypes
import ctypes.util
import signal

PR_SET_PDEATHSIG = 1


def die_with_parent(signum: int = signal.SIGTERM) -> None:
    """Ask the kernel to send ``signum`` to this process when its parent dies (no-op off Linux)."""
    libc_name = ctypes.util.find_library("c")
    if libc_name:
        libc = ctypes.CDLL(libc_name, use_errno=True)
        libc.prctl(PR_SET_PDEATHSIG, signum)
