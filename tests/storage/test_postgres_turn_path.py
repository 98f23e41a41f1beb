"""A PostgreSQL turn on the one session that holds its advisory lock: the lock, the registry row and
the latest checkpoint in one pipelined round trip; the checkpoint, registry update, search index and
prune in one pipelined transaction on that session; then the unlock. Three round trips a turn, one
connection, and every guarantee of the turn lock kept (other sessions are excluded, a lost session
writes nothing, a vanished thread writes nothing)."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Iterator
from typing import Any
from urllib.parse import urlsplit

import pytest
from support.postgres import postgres_schema, thread_lock_key
from support.tcp_proxy import TcpProxy

from threaddesk.agent import OfflineChatModel, build_agent
from threaddesk.errors import ThreadBusy, ThreadNotFound
from threaddesk.storage import Storage, open_storage
from threaddesk.threads import ThreadManager

psycopg = pytest.importorskip(
    "psycopg", reason="PostgreSQL support not installed: pip install -e '.[postgres]'"
)


@pytest.fixture
def pg_url() -> Iterator[str]:
    with postgres_schema() as url:
        yield url


@pytest.fixture
async def proxied(pg_url: str) -> AsyncIterator[tuple[TcpProxy, Storage, ThreadManager]]:
    """One replica whose every connection goes through a proxy that counts round trips."""
    parts = urlsplit(pg_url)
    with TcpProxy(parts.hostname or "127.0.0.1", parts.port or 5432) as proxy:
        storage = await open_storage(proxy.proxied(pg_url), pool_size=2, turn_pool_size=2)
        try:
            yield proxy, storage, ThreadManager(storage.registry, storage.checkpointer, keep_checkpoints=1)
        finally:
            await storage.aclose()


async def one_turn(manager: ThreadManager, agent: Any, thread_id: str, text: str) -> str:
    """A turn as `SupportDesk` runs one: held, the graph run with `durability="exit"`, recorded."""
    async with manager.turn(thread_id):
        state = await agent.ainvoke(
            {"messages": [("user", text)]}, {"configurable": {"thread_id": thread_id}}, durability="exit"
        )
        await manager.record_turn(thread_id, message_count=len(state["messages"]))
    return str(state["messages"][-1].content)


def advisory_holders(url: str, thread_id: str) -> list[int]:
    """The backend pids holding the thread's advisory lock (as `pg_locks` shows a bigint key)."""
    key = thread_lock_key(url, thread_id)
    with psycopg.connect(url, autocommit=True) as conn:
        rows = conn.execute(
            "SELECT pid FROM pg_locks WHERE locktype = 'advisory' AND granted"
            " AND classid = %s AND objid = %s AND objsubid = 1",
            ((key >> 32) & 0xFFFFFFFF, key & 0xFFFFFFFF),
        ).fetchall()
    return [pid for (pid,) in rows]


async def test_a_turn_is_three_round_trips(proxied: tuple[TcpProxy, Storage, ThreadManager]) -> None:
    proxy, storage, manager = proxied
    agent = build_agent(OfflineChatModel(), storage.checkpointer)
    threads = [f"t{i}" for i in range(5)]
    for thread_id in threads:
        await manager.create("u", thread_id)
        await one_turn(manager, agent, thread_id, "Hi, I'm Alice.")
    proxy.round_trips = 0
    for thread_id in threads:
        assert await one_turn(manager, agent, thread_id, "What's my name?") == "Your name is Alice!"
    # Lock + row + checkpoint; checkpoint + registry + prune in one transaction; unlock.
    assert proxy.round_trips <= 3 * len(threads)
    for thread_id in threads:
        assert (await manager.get(thread_id)).message_count == 4
        stored = [c async for c in storage.checkpointer.alist({"configurable": {"thread_id": thread_id}})]
        assert len(stored) == 1  # pruned to keep-1 in the same transaction


async def test_the_lock_is_held_by_the_session_the_turn_reads_and_writes_on(pg_url: str) -> None:
    a = await open_storage(pg_url, pool_size=1, turn_pool_size=1)
    b = await open_storage(pg_url, pool_size=1, turn_pool_size=1)
    try:
        ma = ThreadManager(a.registry, a.checkpointer)
        mb = ThreadManager(b.registry, b.checkpointer)
        await ma.create("u", "t")
        async with ma.turn("t"):
            holders = advisory_holders(pg_url, "t")
            assert len(holders) == 1
            session = a.registry._sessions["t"]  # type: ignore[attr-defined]
            assert holders == [session.info.backend_pid]
            with pytest.raises(ThreadBusy):  # another replica (its own sessions) is kept out
                async with mb.turn("t", wait=False):
                    pass
            await ma.record_turn("t", message_count=2)
        assert advisory_holders(pg_url, "t") == []  # let go once the turn ends
        async with mb.turn("t", wait=False):
            pass
    finally:
        await a.aclose()
        await b.aclose()


async def test_many_turns_in_flight_need_no_query_connection(pg_url: str) -> None:
    """A turn's own statements run on its lock's session: turns queue for those, never deadlock
    on the query pool, and each thread's turns stay whole and in order."""
    storage = await open_storage(pg_url, pool_size=1, turn_pool_size=3)
    try:
        manager = ThreadManager(storage.registry, storage.checkpointer, keep_checkpoints=1)
        agent = build_agent(OfflineChatModel(), storage.checkpointer)
        for i in range(10):
            await manager.create("u", f"t{i}")

        names = ["Ann", "Ben", "Cleo", "Dan", "Eve", "Finn", "Gus", "Hana", "Ivo", "Jo"]

        async def conversation(i: int) -> None:
            await one_turn(manager, agent, f"t{i}", f"Hi, I'm {names[i]}.")
            assert await one_turn(manager, agent, f"t{i}", "What's my name?") == f"Your name is {names[i]}!"

        await asyncio.wait_for(asyncio.gather(*(conversation(i) for i in range(10)), conversation(0)), 60)
        assert (await manager.get("t0")).message_count == 8
        assert (await manager.get("t5")).message_count == 4
    finally:
        await storage.aclose()


async def test_a_thread_deleted_behind_the_lock_gets_no_checkpoint(pg_url: str) -> None:
    """The write transaction asks whether the row is still there: if not, nothing is written."""
    storage = await open_storage(pg_url, pool_size=1, turn_pool_size=1)
    try:
        manager = ThreadManager(storage.registry, storage.checkpointer)
        agent = build_agent(OfflineChatModel(), storage.checkpointer)
        await manager.create("u", "t")
        with pytest.raises(ThreadNotFound):
            async with manager.turn("t"):
                await agent.ainvoke(
                    {"messages": [("user", "Hi")]}, {"configurable": {"thread_id": "t"}}, durability="exit"
                )
                assert await storage.registry.delete("t")  # not through the manager: no lock taken
                await manager.record_turn("t", message_count=2)
        assert await storage.checkpointer.aget_tuple({"configurable": {"thread_id": "t"}}) is None
        async with manager.turn("t", create=True, owner="u"):  # the session is clean and free again
            pass
    finally:
        await storage.aclose()


async def test_a_failed_turn_writes_nothing_and_lets_go(pg_url: str) -> None:
    storage = await open_storage(pg_url, pool_size=1, turn_pool_size=1)
    try:
        manager = ThreadManager(storage.registry, storage.checkpointer)
        agent = build_agent(OfflineChatModel(), storage.checkpointer)
        await manager.create("u", "t")
        with pytest.raises(RuntimeError):
            async with manager.turn("t"):
                await agent.ainvoke(
                    {"messages": [("user", "Hi")]}, {"configurable": {"thread_id": "t"}}, durability="exit"
                )
                raise RuntimeError("the model failed")
        assert await storage.checkpointer.aget_tuple({"configurable": {"thread_id": "t"}}) is None
        assert advisory_holders(pg_url, "t") == []
        assert (await manager.get("t")).message_count == 0
    finally:
        await storage.aclose()
