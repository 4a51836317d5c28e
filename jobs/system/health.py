"""Round-trip and drill jobs used by ``doctor``, the demo, load tests and benchmarks."""

from __future__ import annotations

import os
import socket
import time
from datetime import UTC, datetime
from typing import Any

from odyssey_workers.progress import report_progress


def ping(message: str = "ping") -> dict[str, Any]:
    """Answer with where and when the job ran, proving a worker took it from Redis."""
    return {
        "message": message,
        "host": socket.gethostname(),
        "pid": os.getpid(),
        "at": datetime.now(UTC).isoformat(),
    }


def sleep(seconds: float, steps: int = 1) -> dict[str, Any]:
    """Wait ``seconds`` in ``steps`` equal parts, reporting progress after each."""
    started = time.monotonic()
    for step in range(1, steps + 1):
        time.sleep(seconds / steps)
        report_progress(100.0 * step / steps, done=step, total=steps, unit="steps")
    return {"slept": round(time.monotonic() - started, 3)}
