"""Per-user message budgets in Redis, shared by every replica that names the same server.

For deployments that already run Redis (THREADDESK_REDIS_URL): a spend is one
Lua script, atomic on the server, timed by the server's clock (so replicas'
clocks need not agree). A bucket expires once it would be full again.
"""

from __future__ import annotations

from redis import asyncio as aioredis
from redis.exceptions import RedisError

from threaddesk.errors import RateLimited, StorageUnavailable
from threaddesk.ratelimit import check_per_minute

PREFIX = "threaddesk:rate:"
TIMEOUT_S = 2.0
# KEYS[1] the bucket; ARGV capacity, tokens a second. Returns {1} if spent, else {0, seconds to wait}.
_SPEND = """
local cap = tonumber(ARGV[1])
local rate = tonumber(ARGV[2])
local clock = redis.call('TIME')
local now = tonumber(clock[1]) + tonumber(clock[2]) / 1000000
local bucket = redis.call('HMGET', KEYS[1], 'tokens', 'at')
local tokens = tonumber(bucket[1]) or cap
local at = tonumber(bucket[2]) or now
tokens = math.min(cap, tokens + (now - at) * rate)
if tokens < 1 then
    return {0, tostring((1 - tokens) / rate)}
end
redis.call('HSET', KEYS[1], 'tokens', tostring(tokens - 1), 'at', tostring(now))
redis.call('EXPIRE', KEYS[1], math.ceil(cap / rate) + 1)
return {1}
"""


class RedisRateLimiter:
    """`per_minute` messages a minute per key, in bursts of at most `per_minute`, in Redis."""

    def __init__(self, url: str, per_minute: int) -> None:
        check_per_minute(per_minute)
        self.per_minute = per_minute
        self._client = aioredis.Redis.from_url(
            url, socket_timeout=TIMEOUT_S, socket_connect_timeout=TIMEOUT_S
        )
        self._spend = self._client.register_script(_SPEND)

    async def aspend(self, key: str) -> None:
        """Take one message from `key`'s budget, or raise `RateLimited` (taking nothing).

        Redis unreachable: `StorageUnavailable`, so budgets are never silently lifted.
        """
        try:
            result = await self._spend(keys=[PREFIX + key], args=[self.per_minute, self.per_minute / 60.0])
        except (RedisError, OSError) as exc:
            raise StorageUnavailable(f"the rate budget store (Redis) is unavailable: {exc}") from exc
        if int(result[0]) == 0:
            raise RateLimited(key, self.per_minute, float(result[1]))

    async def aclose(self) -> None:
        await self._client.aclose()
