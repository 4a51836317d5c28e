"""One forwarding run per tracker at a time, whoever starts it (the job, or the command by hand).

The job is limited to one run across all workers by the catalog; the command is not, so each
tracker's run holds a Redis lock (``SET NX`` with an expiry, released by its token only). A run
finding the lock taken stops at once instead of sending what the other run is sending.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from contextlib import contextmanager

from redis import Redis

from odyssey_workers.errors import OdysseyError

LOCK_PREFIX = "odyssey:analytics:forwarding:"

LOCK_SECONDS = 300
"""The forward job's timeout: a run that died holds its tracker no longer than a live one could."""


class ForwardingLocked(OdysseyError):
    """Another forwarding run holds this tracker's lock; this one sends nothing."""


_RELEASE = """
if redis.call('get', KEYS[1]) == ARGV[1] then return redis.call('del', KEYS[1]) end
return 0
"""


@contextmanager
def tracker_lock(connection: Redis, tracker: str) -> Iterator[None]:
    """Hold ``tracker``'s forwarding lock for the block; ``ForwardingLocked`` if another run holds it."""
    key, token = f"{LOCK_PREFIX}{tracker}", uuid.uuid4().hex
    if not connection.set(key, token, nx=True, ex=LOCK_SECONDS):
        raise ForwardingLocked(f"{tracker}: another forwarding run is sending to it now")
    try:
        yield
    finally:
        connection.eval(_RELEASE, 1, key, token)
