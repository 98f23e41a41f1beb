"""Per-user message budgets shared by every replica on one PostgreSQL database.

One row per user who spent recently: tokens left and when. A spend is one
`INSERT ... ON CONFLICT DO UPDATE ... WHERE`, so PostgreSQL's row lock makes
concurrent spends from any number of replicas add up exactly. The table is
UNLOGGED: budgets are worth less than the WAL they would cost, and an empty
table after a server crash only means everyone's budget is full.
"""

from __future__ import annotations

import time

from threaddesk.errors import RateLimited
from threaddesk.ratelimit import check_per_minute
from threaddesk.storage.postgres.database import PostgresDatabase, advisory_key

_TABLE_LOCK = advisory_key("threaddesk:rate_buckets")
_CREATE = """
CREATE UNLOGGED TABLE IF NOT EXISTS threaddesk_rate_buckets (
    key TEXT PRIMARY KEY,
    tokens DOUBLE PRECISION NOT NULL,
    at TIMESTAMPTZ NOT NULL
)
"""
# The bucket refilled up to now, less one, if it had at least one token; no row otherwise.
_SPEND = """
INSERT INTO threaddesk_rate_buckets AS b (key, tokens, at) VALUES (%(key)s, %(cap)s - 1, now())
ON CONFLICT (key) DO UPDATE
SET tokens = LEAST(%(cap)s, b.tokens + EXTRACT(EPOCH FROM now() - b.at) * %(rate)s) - 1, at = now()
WHERE LEAST(%(cap)s, b.tokens + EXTRACT(EPOCH FROM now() - b.at) * %(rate)s) >= 1
RETURNING tokens
"""
_LEFT = """
SELECT LEAST(%(cap)s, tokens + EXTRACT(EPOCH FROM now() - at) * %(rate)s) AS tokens
FROM threaddesk_rate_buckets WHERE key = %(key)s
"""
# After a minute untouched a bucket is full again, the same as no row.
_SWEEP = "DELETE FROM threaddesk_rate_buckets WHERE at < now() - interval '61 seconds'"
SWEEP_EVERY_S = 60.0


class PostgresRateLimiter:
    """`per_minute` messages a minute per key, in bursts of at most `per_minute`, across replicas."""

    def __init__(self, database: PostgresDatabase, per_minute: int) -> None:
        check_per_minute(per_minute)
        self.db = database
        self.per_minute = per_minute
        self._params = {"cap": float(per_minute), "rate": per_minute / 60.0}
        self._ready = False
        self._next_sweep = 0.0

    async def _setup(self) -> None:
        async with self.db.connection() as conn, conn.transaction():
            # Replicas starting together would race on the catalog without it.
            await conn.execute("SELECT pg_advisory_xact_lock(%s)", (_TABLE_LOCK,))
            await conn.execute(_CREATE)
        self._ready = True

    async def aspend(self, key: str) -> None:
        """Take one message from `key`'s budget, or raise `RateLimited` (taking nothing)."""
        if not self._ready:
            await self._setup()
        params = {**self._params, "key": key}
        async with self.db.connection() as conn:
            if time.monotonic() >= self._next_sweep:
                self._next_sweep = time.monotonic() + SWEEP_EVERY_S
                await conn.execute(_SWEEP)
            if await (await conn.execute(_SPEND, params)).fetchone() is not None:
                return
            row = await (await conn.execute(_LEFT, params)).fetchone()
        tokens = min(float(row["tokens"]), 1.0) if row else 1.0
        raise RateLimited(key, self.per_minute, (1.0 - tokens) / self._params["rate"])

    async def aclose(self) -> None:
        """Nothing of its own to release: it borrows the database's pool."""
