"""Exponential backoff with jitter, expressed as RQ ``Retry`` intervals.

The intervals are drawn once, when the job is created, and stored on the job, so every worker
that retries it waits the same planned time and retries of many jobs do not line up.
"""

from __future__ import annotations

import random
from dataclasses import dataclass

from rq import Retry

from odyssey_workers import defaults


@dataclass(frozen=True)
class RetryPolicy:
    """How often and how far apart a job is tried again."""

    attempts: int = defaults.RETRY_ATTEMPTS
    base_seconds: float = defaults.RETRY_BASE_SECONDS
    factor: float = defaults.RETRY_FACTOR
    cap_seconds: float = defaults.RETRY_CAP_SECONDS
    jitter: float = defaults.RETRY_JITTER

    def __post_init__(self) -> None:
        if self.attempts < 1:
            raise ValueError("attempts must be at least 1 (the first run)")
        if self.base_seconds < 0 or self.cap_seconds < 0:
            raise ValueError("base_seconds and cap_seconds must not be negative")
        if self.factor < 1:
            raise ValueError("factor must be at least 1")
        if not 0 <= self.jitter < 1:
            raise ValueError("jitter must be in [0, 1)")

    def planned_intervals(self) -> list[float]:
        """The exact backoff before each retry, without jitter: base * factor**n, capped."""
        return [min(self.base_seconds * self.factor**n, self.cap_seconds) for n in range(self.attempts - 1)]

    def intervals(self, rng: random.Random | None = None) -> list[int]:
        """The backoff before each retry with jitter, whole seconds (RQ schedules by the second)."""
        draw = (rng or random).uniform
        return [
            max(0, round(interval * draw(1 - self.jitter, 1 + self.jitter))) for interval in self.planned_intervals()
        ]

    def to_rq(self, rng: random.Random | None = None) -> Retry | None:
        """The RQ ``Retry`` for one new job, or None when the job gets a single attempt."""
        if self.attempts <= 1:
            return None
        return Retry(max=self.attempts - 1, interval=self.intervals(rng))


NO_RETRY = RetryPolicy(attempts=1)
