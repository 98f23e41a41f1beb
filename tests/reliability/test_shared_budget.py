"""Per-user message budgets are one budget for all replicas on PostgreSQL (or Redis), not one each.

Two desks on one database stand for two replicas: they share nothing in
memory, so only a budget kept in the shared store can add their spends up.
"""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import AsyncIterator, Iterator

import pytest
from support.postgres import postgres_schema

from threaddesk import Settings, SupportDesk, open_desk
from threaddesk.errors import RateLimited

BUDGET = 5
REDIS_URL = "redis://127.0.0.1:6379/0"


def _redis_or_skip() -> str:
    redis = pytest.importorskip("redis", reason="Redis support not installed: pip install -e '.[redis]'")
    try:
        redis.Redis.from_url(REDIS_URL, socket_connect_timeout=2).ping()
    except redis.RedisError as exc:
        pytest.skip(f"Redis at {REDIS_URL} is unreachable: {exc}")
    return REDIS_URL


@pytest.fixture(params=["postgres", "redis"])
def settings(request: pytest.FixtureRequest) -> Iterator[Settings]:
    pytest.importorskip("psycopg", reason="PostgreSQL support not installed: pip install -e '.[postgres]'")
    redis_url = _redis_or_skip() if request.param == "redis" else None
    with postgres_schema() as url:
        yield Settings(database_url=url, messages_per_minute=BUDGET, redis_url=redis_url)


@pytest.fixture
async def replicas(settings: Settings) -> AsyncIterator[list[SupportDesk]]:
    async with open_desk(settings) as first, open_desk(settings) as second:
        yield [first, second]


async def test_two_replicas_spend_from_one_budget(replicas: list[SupportDesk]) -> None:
    user = f"u{uuid.uuid4().hex[:10]}"  # a fresh budget (Redis outlives the test's schema)

    async def send(n: int) -> bool:
        desk = replicas[n % 2]
        try:
            await desk.send(f"t{n}", f"Message {n}", user_id=user, create=True)
        except RateLimited:
            return False
        return True

    sent = await asyncio.gather(*(send(n) for n in range(2 * BUDGET)))
    assert sum(sent) == BUDGET, sent
    for desk in replicas:
        with pytest.raises(RateLimited) as refused:
            await desk.send("t0", "One more", user_id=user)
        assert 0 < refused.value.retry_after <= 60 / BUDGET
    other = f"v{uuid.uuid4().hex[:10]}"
    await replicas[1].send("other-thread", "My own budget", user_id=other, create=True)
