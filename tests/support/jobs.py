"""Bodies of the test-only jobs: each records what happened in Redis, where the test reads it."""

from __future__ import annotations

import logging
import os
import time

from redis import Redis
from rq.job import Job

from odyssey_workers.connection import get_redis
from odyssey_workers.errors import PermanentError, RetryableError

logger = logging.getLogger(__name__)


def _redis() -> Redis:
    return get_redis()


def mark(token: str, seconds: float = 0.0) -> dict[str, object]:
    time.sleep(seconds)
    runs = _redis().incr(f"test:runs:{token}")
    _redis().rpush("test:order", token)
    return {"token": token, "runs": runs, "pid": os.getpid()}


mark_low = mark
mark_high = mark


def flaky(token: str, failures: int) -> str:
    attempt = int(_redis().incr(f"test:attempts:{token}"))
    _redis().rpush(f"test:attempt_times:{token}", time.time())
    if attempt <= failures:
        raise RetryableError(f"attempt {attempt} of {token} failed on purpose")
    return f"succeeded on attempt {attempt}"


def permanent(token: str, seconds: float = 0.0) -> None:
    _redis().incr(f"test:attempts:{token}")
    raise PermanentError(f"{token}: this input can never work")


def limited(token: str, seconds: float) -> None:
    connection = _redis()
    running = int(connection.incr("test:limited:running"))
    # Record the highest simultaneous count ever seen (compare-and-set in a Lua script).
    connection.eval(
        "local cur = tonumber(redis.call('GET', KEYS[1]) or '0') "
        "if tonumber(ARGV[1]) > cur then redis.call('SET', KEYS[1], ARGV[1]) end",
        1,
        "test:limited:max",
        running,
    )
    time.sleep(seconds)
    connection.decr("test:limited:running")
    connection.incr("test:limited:done")


def record_success(job: Job, connection: Redis, result: object) -> None:
    connection.rpush("test:success_callbacks", job.id)


def record_failure(job: Job, connection: Redis, exc_type: type, exc_value: BaseException, tb: object) -> None:
    connection.rpush("test:failure_callbacks", f"{job.id} {exc_type.__name__}")


def db_write(email: str, hold_seconds: float = 0.0) -> int:
    from odyssey_workers.db.models import User
    from odyssey_workers.db.session import session_scope

    _redis().incr(f"test:attempts:{email}")
    with session_scope() as session:
        user = User(email=email)
        session.add(user)
        session.flush()
        time.sleep(hold_seconds)
        return user.id


def log_line(token: str, seconds: float = 0.0) -> None:
    logger.warning("a line from inside the job: %s", token)
