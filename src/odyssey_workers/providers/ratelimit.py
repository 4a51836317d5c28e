"""Per-provider send rates shared by every worker: a token bucket kept in Redis.

The bucket (tokens, last refill time) lives in one hash per provider and is updated by a Lua
script, atomically, with the Redis server's clock, so workers on many machines draw from the
same quota and no clock skew between them matters.
"""

from __future__ import annotations

import time
from collections.abc import Callable

from redis import Redis

from odyssey_workers.providers.outcomes import ProviderUnavailable

KEY_PREFIX = "odyssey:ratelimit:"

# KEYS[1] bucket hash; ARGV rate (tokens/s), capacity, wanted. Returns the wait in ms (0: granted).
TAKE_SCRIPT = """
local rate = tonumber(ARGV[1])
local capacity = tonumber(ARGV[2])
local wanted = tonumber(ARGV[3])
local now_parts = redis.call('TIME')
local now = tonumber(now_parts[1]) * 1000 + math.floor(tonumber(now_parts[2]) / 1000)
local state = redis.call('HMGET', KEYS[1], 'tokens', 'at')
local tokens = tonumber(state[1]) or capacity
local at = tonumber(state[2]) or now
tokens = math.min(capacity, tokens + (now - at) * rate / 1000)
local wait = 0
if tokens >= wanted then
  tokens = tokens - wanted
else
  wait = math.ceil((wanted - tokens) * 1000 / rate)
end
redis.call('HSET', KEYS[1], 'tokens', tostring(tokens), 'at', tostring(now))
redis.call('PEXPIRE', KEYS[1], math.ceil(capacity * 1000 / rate) + 1000)
return wait
"""


class TokenBucket:
    def __init__(self, redis: Redis, name: str, rate: float, capacity: float | None = None) -> None:
        if rate <= 0:
            raise ValueError("rate must be positive")
        self.redis = redis
        self.key = KEY_PREFIX + name
        self.name = name
        self.rate = rate
        self.capacity = capacity if capacity is not None else max(1.0, rate)
        self._script = redis.register_script(TAKE_SCRIPT)

    def try_take(self, tokens: float = 1.0) -> float:
        """Take ``tokens`` now if there are enough; otherwise take none and return the wait in seconds."""
        if tokens > self.capacity:
            raise ValueError(f"cannot take {tokens} tokens from a bucket of {self.capacity}")
        return int(self._script(keys=[self.key], args=[self.rate, self.capacity, tokens])) / 1000.0

    def take(self, tokens: float = 1.0, max_wait: float = 30.0, sleep: Callable[[float], None] = time.sleep) -> float:
        """Block until ``tokens`` are granted; returns the seconds waited. Past ``max_wait`` it
        raises ProviderUnavailable so the caller reschedules instead of holding a worker."""
        waited = 0.0
        while True:
            wait = self.try_take(tokens)
            if wait <= 0:
                return waited
            if waited + wait > max_wait:
                raise ProviderUnavailable(f"{self.name} rate limit: quota used up for {wait:.1f}s", retry_after=wait)
            sleep(wait)
            waited += wait
