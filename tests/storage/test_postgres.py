"""PostgreSQL-only behaviour: migrations, turn locks shared across processes, cleanup on replicas.

Two `open_storage` calls on one schema stand for two replicas: each has its
own pools, so its own database sessions, which is all advisory locks see.
"""

from __future__ import annotations

import asyncio
import os
import subprocess
import sys
from collections.abc import AsyncIterator, Iterator
from contextlib import AsyncExitStack
from datetime import timedelta
from typing import Any

import pytest
from support.postgres import postgres_schema, thread_lock_key

from threaddesk.agent import OfflineChatModel, build_agent
from threaddesk.errors import StorageUnavailable, ThreadBusy, ThreadNotFound
from threaddesk.storage import Storage, open_storage
from threaddesk.threads import ThreadManager

psycopg = pytest.importorskip(
    "psycopg", reason="PostgreSQL support not installed: pip install -e '.[postgres]'"
)

from psycopg.conninfo import conninfo_to_dict  # noqa: E402

from threaddesk.storage.postgres.database import advisory_key, redact, turn_key  # noqa: E402
from threaddesk.storage.postgres.migrations import MIGRATIONS  # noqa: E402

DAY = timedelta(days=1)


@pytest.fixture
def pg_url() -> Iterator[str]:
    with postgres_schema() as url:
        yield url


@pytest.fixture
async def replicas(pg_url: str, clock: Any) -> AsyncIterator[list[tuple[Storage, ThreadManager]]]:
    """Two 'replicas' (separate pools) on one schema, sharing the test's clock."""
    async with AsyncExitStack() as stack:
        pair = []
        for _ in range(2):
            storage = await open_storage(pg_url, pool_size=4, turn_pool_size=4)
            stack.push_async_callback(storage.aclose)
            pair.append((storage, ThreadManager(storage.registry, storage.checkpointer, clock=clock)))
        yield pair


def query(url: str, sql: str, params: tuple = ()) -> list[tuple]:
    with psycopg.connect(url, autocommit=True) as conn:
        return conn.execute(sql, params).fetchall()


# --- migrations ----------------------------------------------------------------


async def test_blank_schema_is_migrated_once_and_recorded(pg_url: str) -> None:
    storage = await open_storage(pg_url)
    await storage.aclose()
    assert storage.migrations_applied == [name for name, _ in MIGRATIONS]

    tables = {
        row[0] for row in query(pg_url, "SELECT tablename FROM pg_tables WHERE schemaname = current_schema()")
    }
    assert {"threaddesk_threads", "threaddesk_users", "threaddesk_migrations", "checkpoints"} <= tables
    columns = dict(
        query(
            pg_url,
            "SELECT column_name, data_type FROM information_schema.columns"
            " WHERE table_schema = current_schema() AND table_name = 'threaddesk_threads'",
        )
    )
    assert columns["metadata"] == "jsonb"
    assert columns["last_active_at"] == "timestamp with time zone"

    again = await open_storage(pg_url)
    await again.aclose()
    assert again.migrations_applied == []
    recorded = [row[0] for row in query(pg_url, "SELECT name FROM threaddesk_migrations ORDER BY name")]
    assert recorded == [name for name, _ in MIGRATIONS]


async def test_replicas_starting_together_migrate_without_racing(pg_url: str) -> None:
    storages = await asyncio.gather(*(open_storage(pg_url, pool_size=1, turn_pool_size=1) for _ in range(5)))
    for storage in storages:
        await storage.aclose()
    applied = [name for storage in storages for name in storage.migrations_applied]
    assert sorted(applied) == sorted(name for name, _ in MIGRATIONS)  # each exactly once
    versions = [row[0] for row in query(pg_url, "SELECT v FROM checkpoint_migrations")]
    assert len(versions) == len(set(versions)) > 0


@pytest.mark.parametrize(
    "url",
    [
        "postgresql://postgres:hunter2@127.0.0.1:1/secret",
        "postgresql://postgres@127.0.0.1:1/secret?password=hunter2&sslmode=disable",
        "host=127.0.0.1 port=1 dbname=secret user=postgres password=hunter2",
    ],
)
def test_redaction_drops_the_password_wherever_it_is(url: str) -> None:
    redacted = redact(url)
    assert "hunter2" not in redacted
    assert conninfo_to_dict(redacted) == {
        "host": "127.0.0.1",
        "port": "1",
        "dbname": "secret",
        "user": "postgres",
    } | ({"sslmode": "disable"} if "sslmode" in url else {})
    assert redact("postgresql://[bad") == "an unparsable PostgreSQL URL"


async def test_unreachable_server_is_storage_unavailable() -> None:
    with pytest.raises(StorageUnavailable, match="cannot connect to PostgreSQL.*secret") as info:
        await open_storage("postgresql://postgres:hunter2@127.0.0.1:1/secret")
    assert "hunter2" not in str(info.value)


def test_advisory_key_is_the_same_in_every_process() -> None:
    code = (
        "from threaddesk.storage.postgres.database import advisory_key; print(advisory_key('alice_session'))"
    )
    keys = {
        subprocess.run(
            [sys.executable, "-c", code],
            env={**os.environ, "PYTHONHASHSEED": seed},
            capture_output=True,
            text=True,
            check=True,
        ).stdout.strip()
        for seed in ("1",)  # this process has another (random) seed
    }
    assert keys == {str(advisory_key("alice_session"))}
    key = advisory_key("alice_session")
    assert -(2**63) <= key < 2**63 and key != advisory_key("bob_session")


# --- turn locks across replicas ------------------------------------------------


def test_turn_keys_are_per_schema_and_unchanged_in_the_default_one() -> None:
    """Advisory locks are database-wide: deployments in two schemas must not hold each other's
    threads; in `public` the key is what it always was, so older replicas still agree."""
    assert turn_key("public", "t1") == advisory_key("t1")
    assert len({turn_key("public", "t1"), turn_key("tenant_a", "t1"), turn_key("tenant_b", "t1")}) == 3
    assert turn_key("tenant_a", "t1") != turn_key("tenant_a", "t2")


async def test_deployments_in_two_schemas_do_not_hold_each_others_threads() -> None:
    with postgres_schema() as url_a, postgres_schema() as url_b:
        a = await open_storage(url_a, pool_size=1, turn_pool_size=1)
        b = await open_storage(url_b, pool_size=1, turn_pool_size=1)
        try:
            ma = ThreadManager(a.registry, a.checkpointer)
            mb = ThreadManager(b.registry, b.checkpointer)
            await ma.create("u", "same")
            await mb.create("u", "same")
            async with ma.turn("same"), asyncio.timeout(5), mb.turn("same", wait=False):
                pass
        finally:
            await a.aclose()
            await b.aclose()


async def test_a_turn_on_one_replica_holds_the_thread_on_the_other(replicas: list) -> None:
    (_, a), (_, b) = replicas
    await a.create("alice", "shared")
    await a.create("bob", "other")
    order: list[str] = []

    async def second_turn() -> None:
        async with b.turn("shared"):
            order.append("b")

    async with a.turn("shared"):
        with pytest.raises(ThreadBusy):
            async with b.turn("shared", wait=False):
                pass
        async with b.turn("other", wait=False):  # other threads are not held
            pass
        waiting = asyncio.create_task(second_turn())
        await asyncio.sleep(0.3)
        assert not waiting.done()
        order.append("a")
    await asyncio.wait_for(waiting, 10)
    assert order == ["a", "b"]


async def test_a_turn_held_by_another_replica_is_seen_as_busy(replicas: list) -> None:
    """For `multitask_strategy="reject"` before a run is queued: a look at the lock, not a take."""
    (_, a), (_, b) = replicas
    await a.create("alice", "t")
    assert not await b.is_busy("t")
    async with a.turn("t"):
        assert await b.is_busy("t") and await a.is_busy("t")
        assert not await b.is_busy("other")
    assert not await b.is_busy("t")


async def test_a_dead_session_releases_its_threads(replicas: list, pg_url: str) -> None:
    (_, a), _ = replicas
    await a.create("alice", "t")
    # Another process takes the thread's lock, then dies.
    holder = await psycopg.AsyncConnection.connect(pg_url, autocommit=True)
    await holder.execute("SELECT pg_advisory_lock(%s)", (thread_lock_key(pg_url, "t"),))
    with pytest.raises(ThreadBusy):
        async with a.turn("t", wait=False):
            pass
    query(pg_url, "SELECT pg_terminate_backend(%s)", (holder.info.backend_pid,))
    async with asyncio.timeout(10), a.turn("t"):
        pass
    await holder.close()


async def test_a_cancelled_wait_leaves_no_lock_behind(replicas: list, pg_url: str) -> None:
    (_, a), (_, b) = replicas
    await a.create("alice", "t")
    async with a.turn("t"):
        waiting = asyncio.create_task(b.turn("t").__aenter__())
        await asyncio.sleep(0.2)
        waiting.cancel()
        with pytest.raises(asyncio.CancelledError):
            await waiting
    key = thread_lock_key(pg_url, "t")
    held = query(
        pg_url,
        "SELECT count(*) FROM pg_locks WHERE locktype = 'advisory' AND objid = %s",
        (key & 0xFFFFFFFF,),
    )
    assert held == [(0,)]
    async with b.turn("t", wait=False):
        pass


async def test_deleting_on_one_replica_waits_for_the_turn_on_the_other(replicas: list) -> None:
    (_, a), (_, b) = replicas
    await a.create("alice", "t")
    async with a.turn("t"):
        deleting = asyncio.create_task(b.delete("t"))
        await asyncio.sleep(0.2)
        assert not deleting.done()
    await asyncio.wait_for(deleting, 10)
    with pytest.raises(ThreadNotFound):
        await a.get("t")


# --- cleanup on several replicas -----------------------------------------------


async def test_two_replicas_cleaning_up_at_once_remove_each_thread_once(replicas: list, clock: Any) -> None:
    (storage_a, a), (_, b) = replicas
    agent = build_agent(OfflineChatModel(), storage_a.checkpointer)
    expired = [f"old-{i:03d}" for i in range(300)]
    for thread_id in expired:
        await a.create("alice", thread_id)
    # Checkpoints on some of them, which must go too.
    await asyncio.gather(
        *(
            agent.ainvoke({"messages": [("user", "Hi, I'm Ann.")]}, {"configurable": {"thread_id": t}})
            for t in expired[::10]
        )
    )
    clock.advance(31 * DAY)
    fresh = [(await a.create("bob")).thread_id for _ in range(5)]

    removed_a, removed_b = await asyncio.gather(a.cleanup("30d"), b.cleanup("30d"))
    ids_a = [t.thread_id for t in removed_a]
    ids_b = [t.thread_id for t in removed_b]
    assert not set(ids_a) & set(ids_b), "a thread was removed twice"
    assert sorted(ids_a + ids_b) == expired
    assert await storage_a.registry.count() == len(fresh)
    for thread_id in expired[::10]:
        assert await storage_a.checkpointer.aget_tuple({"configurable": {"thread_id": thread_id}}) is None
