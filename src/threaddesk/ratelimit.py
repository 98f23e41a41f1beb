"""How many messages each user may send a minute: a token bucket per user.

`RateLimiter` keeps its buckets in this process's memory: right for one
process (SQLite). Replicas on PostgreSQL share theirs in PostgreSQL
(`threaddesk.storage.postgres.ratelimit`) or, where THREADDESK_REDIS_URL is set,
in Redis (`threaddesk.storage.redis.ratelimit`), so N replicas allow one budget, not N.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Protocol

from threaddesk.errors import InvalidArgument, RateLimited


class MessageBudget(Protocol):
    """Where a desk spends its users' messages: `aspend` raises `RateLimited` when one's budget is spent."""

    per_minute: int

    async def aspend(self, key: str) -> None: ...

    async def aclose(self) -> None: ...


def check_per_minute(per_minute: int) -> None:
    if per_minute < 1:
        raise InvalidArgument("per_minute must be at least 1")


class RateLimiter:
    """`per_minute` messages a minute per key, in bursts of at most `per_minute`.

    A bucket refills at `per_minute / 60` tokens a second. A bucket that is full
    again is the same as no bucket, so such entries are swept out (at most once
    per refill period, on a call to `spend`): memory is bounded by the users
    active within the last minute, not by every user ever seen.
    """

    def __init__(self, per_minute: int, *, clock: Callable[[], float] = time.monotonic) -> None:
        check_per_minute(per_minute)
        self.per_minute = per_minute
        self._rate = per_minute / 60.0  # tokens a second
        self._refill_s = 60.0  # an empty bucket is full again after this long
        self._clock = clock
        self._buckets: dict[str, tuple[float, float]] = {}  # key -> (tokens, as of)
        self._next_sweep = clock() + self._refill_s

    def __len__(self) -> int:
        return len(self._buckets)

    def _tokens(self, key: str, now: float) -> float:
        tokens, at = self._buckets.get(key, (float(self.per_minute), now))
        return min(float(self.per_minute), tokens + (now - at) * self._rate)

    def spend(self, key: str) -> None:
        """Take one message from `key`'s budget, or raise `RateLimited` (taking nothing)."""
        now = self._clock()
        if now >= self._next_sweep:
            self.evict_idle()
            self._next_sweep = now + self._refill_s
        tokens = self._tokens(key, now)
        if tokens < 1.0:
            raise RateLimited(key, self.per_minute, (1.0 - tokens) / self._rate)
        self._buckets[key] = (tokens - 1.0, now)

    async def aspend(self, key: str) -> None:
        self.spend(key)

    async def aclose(self) -> None:
        """Nothing to release: the buckets live in this object."""

    def evict_idle(self) -> int:
        """Drop every bucket that has refilled; return how many went."""
        now = self._clock()
        full = [key for key in self._buckets if self._tokens(key, now) >= self.per_minute]
        for key in full:
            del self._buckets[key]
        return len(full)
