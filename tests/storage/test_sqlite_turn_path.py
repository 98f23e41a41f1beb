"""A SQLite turn in two short transactions, the read (registry row + latest checkpoint) and the write
(checkpoint + registry + search index + prune, keep-1 as an in-place upsert), each on the event loop
when nothing would wait, else on a worker thread with SQLite's full busy timeout; the WAL
checkpoint (the one write that fsyncs) on a worker thread, never inside a turn's commit."""

from __future__ import annotations

import asyncio
import sqlite3
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pytest
from langchain_core.messages import (
    AIMessage,
    BaseMessage,
    HumanMessage,
    SystemMessage,
    ToolMessage,
    trim_messages,
)

from threaddesk import open_desk
from threaddesk.agent.graph import recent_context


@contextmanager
def counting_hops(monkeypatch: pytest.MonkeyPatch) -> Iterator[list[str]]:
    """Every `asyncio.to_thread` call made in the block, by the function handed over."""
    calls: list[str] = []
    original = asyncio.to_thread

    async def counted(func: Any, /, *args: Any, **kwargs: Any) -> Any:
        calls.append(getattr(func, "__qualname__", repr(func)))
        return await original(func, *args, **kwargs)

    with monkeypatch.context() as patch:
        patch.setattr(asyncio, "to_thread", counted)
        yield calls


async def test_a_turn_is_one_read_and_one_committed_write_with_no_thread_hand_off(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    async with open_desk(database_url=str(tmp_path / "desk.sqlite")) as desk:
        await desk.send("t1", "Hi, I'm Alice.", user_id="u", create=True)
        statements: list[str] = []
        desk.threads.registry.db.conn.set_trace_callback(
            lambda sql: statements.append(sql.split(None, 1)[0].upper()) if not sql.startswith("--") else None
        )
        with counting_hops(monkeypatch) as hops:
            reply = await desk.send("t1", "What's my name?", user_id="u")
        desk.threads.registry.db.conn.set_trace_callback(None)
        assert reply.text == "Your name is Alice!"
        assert hops == []  # the read and the write ran on the event loop: nothing had to wait
        assert statements.count("COMMIT") == 1  # checkpoint, registry row, index and prune together
        assert statements.count("BEGIN") == 1
        with sqlite3.connect(tmp_path / "desk.sqlite") as conn:
            # keep-1: the thread's checkpoint row was replaced in place, not inserted then pruned
            assert conn.execute("SELECT count(*) FROM checkpoints WHERE thread_id = 't1'").fetchone() == (1,)
        assert [m.content for m in await desk.history("t1")][-1] == "Your name is Alice!"
        assert (await desk.threads.get("t1")).message_count == 4


async def test_another_process_writing_sends_the_turn_to_a_worker_thread_and_the_loop_keeps_running(
    tmp_path: Path,
) -> None:
    """SQLite is asked not to wait on the event loop: a write lock held elsewhere (another process,
    played by another connection) makes the turn wait on a worker thread, not on the loop."""
    path = tmp_path / "desk.sqlite"
    async with open_desk(database_url=str(path)) as desk:
        await desk.send("t1", "Hi, I'm Alice.", user_id="u", create=True)
        other = sqlite3.connect(path, check_same_thread=False, isolation_level=None)
        other.execute("BEGIN IMMEDIATE")  # holds the database's write lock
        release = threading.Timer(0.5, lambda: other.execute("COMMIT"))
        ticks = 0

        async def ticker() -> None:
            nonlocal ticks
            while True:
                await asyncio.sleep(0.01)
                ticks += 1

        beat = asyncio.create_task(ticker())
        release.start()
        started = time.monotonic()
        reply = await desk.send("t1", "What's my name?", user_id="u")
        waited = time.monotonic() - started
        beat.cancel()
        release.join()
        other.close()
        assert reply.text == "Your name is Alice!"
        assert waited >= 0.4  # it did wait for the other writer...
        assert ticks >= 10  # ...without stopping the event loop
        assert (await desk.threads.get("t1")).message_count == 4


async def test_the_wal_is_checkpointed_on_a_worker_thread_not_in_a_commit(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """SQLite's auto-checkpoint (an fsync inside whichever commit crosses 1,000 WAL pages) is off on
    the shared connection; every `CHECKPOINT_EVERY` commits a PASSIVE checkpoint runs on a worker
    thread, so the WAL stays bounded and no turn's commit waits on the disk."""
    from threaddesk.storage.sqlite import database

    monkeypatch.setattr(database, "CHECKPOINT_EVERY", 4)
    path = tmp_path / "desk.sqlite"
    async with open_desk(database_url=str(path)) as desk:
        db = desk.threads.registry.db
        assert db.conn.execute("PRAGMA wal_autocheckpoint").fetchone() == (0,)
        on_threads: list[str] = []
        original = db._checkpoint_wal

        def checkpoint() -> None:
            on_threads.append(threading.current_thread().name)
            original()

        monkeypatch.setattr(db, "_checkpoint_wal", checkpoint)
        for i in range(6):
            await desk.send(f"t{i}", "Hi, I'm Alice.", user_id="u", create=True)
        for _ in range(100):
            if on_threads and db._checkpointing is None:
                break
            await asyncio.sleep(0.01)
        assert on_threads and threading.main_thread().name not in on_threads
        with sqlite3.connect(path) as conn:  # what the checkpoint copied is in the database file
            busy, wal_pages, copied = conn.execute("PRAGMA wal_checkpoint(PASSIVE)").fetchone()
            assert busy == 0 and copied == wal_pages


async def test_a_failed_turn_writes_nothing_of_itself(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The checkpoint a turn's graph wrote is held back until the turn is recorded: a failure in
    between (here the registry update) leaves the thread's state as before, in one checkpoint."""
    path = tmp_path / "desk.sqlite"
    async with open_desk(database_url=str(path)) as desk:
        await desk.send("t1", "Hi, I'm Alice.", user_id="u", create=True)
        before = (await desk.state("t1")).values
        registry = desk.threads.registry
        calls = 0
        original = registry.end_turn

        async def failing(*args: Any, **kwargs: Any) -> Any:
            nonlocal calls
            calls += 1
            if calls == 1:
                raise sqlite3.OperationalError("disk I/O error")
            return await original(*args, **kwargs)

        monkeypatch.setattr(registry, "end_turn", failing)
        with pytest.raises(Exception):  # noqa: B017 - whichever way the service reports it
            await desk.send("t1", "My order is late.", user_id="u")
        assert (await desk.state("t1")).values == before
        with sqlite3.connect(path) as conn:
            assert conn.execute("SELECT count(*) FROM checkpoints WHERE thread_id = 't1'").fetchone() == (1,)
        assert [m.content for m in await desk.history("t1")] == [
            "Hi, I'm Alice.",
            "Hello Alice! How can I help?",
        ]
        assert (await desk.send("t1", "What's my name?", user_id="u")).text == "Your name is Alice!"


@pytest.mark.parametrize("max_messages", [1, 2, 3, 5, 40])
def test_recent_context_is_trim_messages_by_count(max_messages: int) -> None:
    """The count-only context equals `trim_messages(..., token_counter=len, start_on="human")` over
    the latest `max_messages`, widened to hold the turn under way whole (its calls and results)."""
    kinds: list[type[BaseMessage]] = [HumanMessage, AIMessage, ToolMessage, SystemMessage]
    for seed in range(300):
        messages: list[BaseMessage] = []
        for k in range(seed % 13):
            kind = kinds[(seed * 7 + k * 3) % len(kinds)]
            messages.append(
                kind(content=f"m{k}", tool_call_id="x") if kind is ToolMessage else kind(content=f"m{k}")
            )
        humans = [i for i, m in enumerate(messages) if isinstance(m, HumanMessage)]
        turn = humans[-1] if humans else len(messages)
        expected = trim_messages(
            messages[min(turn, max(0, len(messages) - max_messages)) :],
            max_tokens=max(max_messages, len(messages) - turn),
            token_counter=len,
            strategy="last",
            start_on="human",
        )
        if len(expected) < len(messages) - turn:
            expected = messages[turn:]
        assert recent_context(messages, max_messages=max_messages) == expected
