"""Jobs that exist only for the test suite, declared like any catalog job.

They are loaded through ``ODYSSEY_EXTRA_CONTRACTS`` so worker subprocesses know them too.
"""

from __future__ import annotations

from pydantic import Field

from odyssey_workers.catalog import Payload, declare, declare_callback
from odyssey_workers.retry import NO_RETRY, RetryPolicy


class MarkPayload(Payload):
    token: str = Field(max_length=100)
    seconds: float = Field(default=0.0, ge=0, le=60)


class FlakyPayload(Payload):
    token: str
    failures: int = Field(ge=0, le=10)


class ConcurrencyPayload(Payload):
    token: str
    seconds: float = Field(ge=0, le=10)


declare(
    "testing.mark",
    function="tests.support.jobs.mark",
    payload=MarkPayload,
    priority=5,
    timeout=120,
    retry=RetryPolicy(attempts=3, base_seconds=0, factor=1),
    description="Records one execution of a token in Redis (exactly-once checks).",
)
declare(
    "testing.mark_low",
    function="tests.support.jobs.mark_low",
    payload=MarkPayload,
    priority=2,
    timeout=120,
    retry=NO_RETRY,
    description="Like testing.mark, on the low queue.",
)
declare(
    "testing.mark_high",
    function="tests.support.jobs.mark_high",
    payload=MarkPayload,
    priority=9,
    timeout=120,
    retry=NO_RETRY,
    description="Like testing.mark, on the high queue.",
)
declare(
    "testing.flaky",
    function="tests.support.jobs.flaky",
    payload=FlakyPayload,
    priority=5,
    retry=RetryPolicy(attempts=4, base_seconds=1, factor=2, jitter=0),
    description="Fails with a retryable error the first N runs, then succeeds.",
)
declare(
    "testing.permanent",
    function="tests.support.jobs.permanent",
    payload=MarkPayload,
    priority=5,
    retry=RetryPolicy(attempts=3, base_seconds=0),
    description="Always fails with a PermanentError.",
)
declare(
    "testing.limited",
    function="tests.support.jobs.limited",
    payload=ConcurrencyPayload,
    priority=5,
    concurrency=2,
    retry=NO_RETRY,
    description="Records how many of its kind run at once (concurrency limit checks).",
)

declare(
    "testing.log_line",
    function="tests.support.jobs.log_line",
    payload=MarkPayload,
    priority=5,
    retry=NO_RETRY,
    description="Logs one WARNING line naming its token (job log context checks).",
)


class DbWritePayload(Payload):
    email: str
    hold_seconds: float = Field(default=0.0, ge=0, le=30)


declare(
    "testing.db_write",
    function="tests.support.jobs.db_write",
    payload=DbWritePayload,
    priority=5,
    retry=RetryPolicy(attempts=3, base_seconds=1, factor=1, jitter=0),
    description="Inserts one user row (database locking checks).",
)


RECORD_SUCCESS_CALLBACK = declare_callback("tests.support.jobs.record_success")
"""A declared ``on_success`` callback: records the job id it was called for."""
RECORD_FAILURE_CALLBACK = declare_callback("tests.support.jobs.record_failure")
"""A declared ``on_failure`` callback: records the job id and the exception's type."""
