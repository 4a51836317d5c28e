"""Exponential backoff with jitter, and how it becomes RQ's Retry."""

from __future__ import annotations

import random

import pytest

from odyssey_workers.retry import NO_RETRY, RetryPolicy


def test_planned_intervals_grow_exponentially_up_to_the_cap() -> None:
    policy = RetryPolicy(attempts=6, base_seconds=2, factor=4, cap_seconds=300)
    assert policy.planned_intervals() == [2, 8, 32, 128, 300]


def test_jitter_keeps_each_interval_within_its_band() -> None:
    policy = RetryPolicy(attempts=4, base_seconds=100, factor=2, jitter=0.25)
    rng = random.Random(7)
    samples = [policy.intervals(rng) for _ in range(200)]
    for planned, drawn in zip(policy.planned_intervals(), zip(*samples, strict=True), strict=True):
        assert min(drawn) >= planned * 0.75 - 1
        assert max(drawn) <= planned * 1.25 + 1
        assert len(set(drawn)) > 10, "jitter should spread retries"


def test_default_policy_is_three_attempts_that_is_two_retries() -> None:
    retry = RetryPolicy().to_rq(random.Random(1))
    assert retry is not None
    assert retry.max == 2
    assert len(retry.intervals) == 2


def test_single_attempt_policy_has_no_rq_retry() -> None:
    assert NO_RETRY.to_rq() is None


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"attempts": 0}, "attempts"),
        ({"factor": 0.5}, "factor"),
        ({"jitter": 1.5}, "jitter"),
        ({"base_seconds": -1}, "base_seconds"),
    ],
)
def test_nonsense_policies_are_refused(kwargs: dict[str, float], message: str) -> None:
    with pytest.raises(ValueError, match=message):
        RetryPolicy(**kwargs)  # type: ignore[arg-type]
