"""Per-user limits (429 + Retry-After, nothing stored) and idle cleanup of locks, buckets and connections."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import httpx
import pytest
from support.postgres import postgres_schema

from threaddesk import Settings, SupportDesk, open_desk
from threaddesk.errors import RateLimited
from threaddesk.ratelimit import RateLimiter
from threaddesk.web import create_app


class Ticks:
    """A monotonic clock moved by hand."""

    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


@pytest.fixture
def ticks() -> Ticks:
    return Ticks()


def test_a_bucket_allows_a_burst_then_one_message_per_refill_interval(ticks: Ticks) -> None:
    limiter = RateLimiter(3, clock=ticks)
    for _ in range(3):
        limiter.spend("alice")
    with pytest.raises(RateLimited) as refused:
        limiter.spend("alice")
    assert refused.value.retry_after == pytest.approx(20.0)
    limiter.spend("bob")  # budgets are per user
    ticks.now += 19.9
    with pytest.raises(RateLimited) as refused:
        limiter.spend("alice")
    assert refused.value.retry_after == pytest.approx(0.1)
    ticks.now += 0.1
    limiter.spend("alice")


def test_idle_buckets_are_swept_so_memory_tracks_active_users(ticks: Ticks) -> None:
    limiter = RateLimiter(1, clock=ticks)  # a spent bucket takes a minute to refill
    for n in range(10_000):
        limiter.spend(f"user-{n}")
    assert len(limiter) == 10_000
    ticks.now += 30  # half refilled: still remembered
    assert limiter.evict_idle() == 0
    ticks.now += 30
    limiter.spend("latecomer")  # a spend after a refill period sweeps the full buckets
    assert len(limiter) == 1


@pytest.fixture
async def limited(ticks: Ticks, tmp_path: Path) -> AsyncIterator[tuple[SupportDesk, httpx.AsyncClient]]:
    settings = Settings(
        database_url=str(tmp_path / "limits.sqlite"), messages_per_minute=3, max_threads_per_user=2
    )
    async with open_desk(settings) as desk:
        desk.limiter = RateLimiter(3, clock=ticks)
        app = create_app(settings, desk=desk)
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://threaddesk.test") as client:
            yield desk, client


async def _token(desk: SupportDesk, name: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {(await desk.users.add(name))[1]}"}


async def test_a_spent_message_budget_is_429_with_retry_after_and_stores_nothing(
    limited: tuple[SupportDesk, httpx.AsyncClient], ticks: Ticks
) -> None:
    desk, client = limited
    alice, bob = await _token(desk, "alice"), await _token(desk, "bob")
    assert (await client.post("/threads", json={"thread_id": "t-alice"}, headers=alice)).status_code == 200
    url = "/threads/t-alice/messages"
    for n in range(3):
        assert (await client.post(url, json={"content": f"hi {n}"}, headers=alice)).status_code == 200
    before = await desk.history("t-alice")
    for accept in ("application/json", "text/event-stream"):
        refused = await client.post(url, json={"content": "one more"}, headers={**alice, "Accept": accept})
        assert refused.status_code == 429
        assert refused.headers["Retry-After"] == "20"
        assert refused.json()["error"]["code"] == "rate_limited"
    assert await desk.history("t-alice") == before
    assert (await desk.threads.get("t-alice")).message_count == len(before) == 6

    assert (await client.post("/threads", json={"thread_id": "t-bob"}, headers=bob)).status_code == 200
    assert (
        await client.post("/threads/t-bob/messages", json={"content": "hello"}, headers=bob)
    ).status_code == 200
    ticks.now += 20
    assert (await client.post(url, json={"content": "later"}, headers=alice)).status_code == 200


async def test_the_thread_limit_is_429_without_retry_after_and_creates_nothing(
    limited: tuple[SupportDesk, httpx.AsyncClient],
) -> None:
    desk, client = limited
    alice = await _token(desk, "alice")
    # Twenty creates at once: the count and the insert are one step, so exactly two get in.
    created = await asyncio.gather(*(client.post("/threads", json={}, headers=alice) for _ in range(20)))
    assert sorted(r.status_code for r in created) == [200] * 2 + [429] * 18
    refused = next(r for r in created if r.status_code == 429)
    assert refused.json()["error"]["code"] == "too_many_threads"
    assert "Retry-After" not in refused.headers
    mine = (await client.get("/threads", headers=alice)).json()["threads"]
    assert sorted(t["thread_id"] for t in mine) == sorted(
        r.json()["thread_id"] for r in created if r.status_code == 200
    )
    assert await desk.threads.registry.count() == 2
    # Your own existing thread is still yours to "create" with do_nothing; a delete makes room.
    again = await client.post(
        "/threads", json={"thread_id": mine[0]["thread_id"], "if_exists": "do_nothing"}, headers=alice
    )
    assert again.status_code == 200
    assert (await client.delete(f"/threads/{mine[0]['thread_id']}", headers=alice)).status_code == 204
    assert (await client.post("/threads", json={}, headers=alice)).status_code == 200


@pytest.fixture(params=["sqlite", "postgres"])
def load_database(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    if request.param == "postgres":
        pytest.importorskip("psycopg", reason="PostgreSQL support not installed")
        with postgres_schema() as url:
            yield url
    else:
        yield str(tmp_path / "load.sqlite")


def _pools(desk: SupportDesk) -> list:
    database = getattr(desk.threads.registry, "db", None)
    return [database.pool, database.turn_pool] if hasattr(database, "turn_pool") else []


async def test_after_load_no_lock_bucket_or_connection_is_left_behind(
    load_database: str, ticks: Ticks
) -> None:
    settings = Settings(database_url=load_database, messages_per_minute=10_000, pg_pool_size=4)
    async with open_desk(settings) as desk:
        desk.limiter = RateLimiter(10_000, clock=ticks)
        app = create_app(settings, desk=desk)
        users = {f"user-{n}": await _token(desk, f"user-{n}") for n in range(10)}
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://threaddesk.test") as client:

            async def post(user: str, thread_id: str, n: int) -> int:
                body = {"content": f"turn {n}", "multitask_strategy": "reject" if n % 3 == 0 else "enqueue"}
                response = await client.post(f"/threads/{thread_id}/messages", json=body, headers=users[user])
                return response.status_code

            for user in users:
                for t in range(3):
                    thread_id = f"{user}-t{t}"
                    created = await client.post(
                        "/threads", json={"thread_id": thread_id}, headers=users[user]
                    )
                    assert created.status_code == 200
            statuses = await asyncio.gather(
                *(post(user, f"{user}-t{t}", n) for user in users for t in range(3) for n in range(8))
            )
        assert set(statuses) <= {200, 409} and statuses.count(200) >= 30, statuses
        assert len(desk.threads.locks) == 0
        assert len(desk.threads._creating) == 0
        assert len(desk.limiter) == len(users)
        ticks.now += 60
        assert desk.limiter.evict_idle() == len(users)
        assert len(desk.limiter) == 0
        for pool in _pools(desk):
            stats = pool.get_stats()
            assert stats.get("requests_waiting", 0) == 0, stats
            assert stats["pool_available"] == stats["pool_size"], (pool.name, stats)
