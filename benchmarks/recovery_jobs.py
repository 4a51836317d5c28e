"""The job of the kill -9 recovery benchmark."""

from __future__ import annotations

import time


def sleep_retried(seconds: float) -> float:
    """Sleeps ``seconds`` and returns them: long enough to be killed mid-way."""
    time.sleep(seconds)
    return seconds
