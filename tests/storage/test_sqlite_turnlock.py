"""FileTurnLocks: turn locks across processes on one SQLite file, freed when their holder dies.

Another process is played by a small Python subprocess locking the same byte
with `fcntl`, as a second `threaddesk` process would.
"""

from __future__ import annotations

import asyncio
import signal
import subprocess
import sys
from collections.abc import Iterator
from contextlib import AbstractAsyncContextManager, contextmanager
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from threaddesk.errors import ThreadBusy
from threaddesk.storage import open_storage
from threaddesk.storage.sqlite import turnlock as sqlite_turnlock
from threaddesk.storage.sqlite.turnlock import FileTurnLocks, lock_offset, sidecar_path
from threaddesk.threads import ThreadManager

TIMEOUT = 10  # seconds; only reached if a test would otherwise hang

_HOLDER = """
import fcntl, os, sys, time
fd = os.open(sys.argv[1], os.O_RDWR | os.O_CREAT)
fcntl.lockf(fd, fcntl.LOCK_EX, 1, int(sys.argv[2]))
print("held", flush=True)
time.sleep(120)
"""

_PROBE = """
import fcntl, os, sys
fd = os.open(sys.argv[1], os.O_RDWR | os.O_CREAT)
try:
    fcntl.lockf(fd, fcntl.LOCK_EX | fcntl.LOCK_NB, 1, int(sys.argv[2]))
except OSError:
    sys.exit(1)
"""


@contextmanager
def held_elsewhere(path: Path, thread_id: str) -> Iterator[subprocess.Popen]:
    """Another process holding `thread_id`'s byte until the block ends (or it is killed)."""
    process = subprocess.Popen(
        [sys.executable, "-c", _HOLDER, str(path), str(sqlite_turnlock.lock_offset(thread_id))],
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        assert process.stdout is not None and process.stdout.readline() == "held\n"
        yield process
    finally:
        process.kill()
        process.wait()


def free_elsewhere(path: Path, thread_id: str) -> bool:
    """Whether another process could take `thread_id`'s byte right now."""
    probe = [sys.executable, "-c", _PROBE, str(path), str(sqlite_turnlock.lock_offset(thread_id))]
    return subprocess.run(probe, timeout=TIMEOUT).returncode == 0


@pytest.fixture
def locks(tmp_path: Path) -> Iterator[FileTurnLocks]:
    locks = FileTurnLocks.open(tmp_path / "desk.sqlite.turnlocks")
    yield locks
    locks.close()


def test_the_byte_of_a_thread_id_is_the_same_in_every_process() -> None:
    script = "from threaddesk.storage.sqlite.turnlock import lock_offset; print(lock_offset('t-1'))"
    elsewhere = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, check=True)
    assert int(elsewhere.stdout) == lock_offset("t-1") != lock_offset("t-2")


async def test_a_thread_held_by_another_process_is_busy_and_others_are_not(locks: FileTurnLocks) -> None:
    with held_elsewhere(locks.path, "taken"):
        with pytest.raises(ThreadBusy):
            async with locks.hold("taken", wait=False):
                pass
        async with locks.hold("free", wait=False):
            assert not free_elsewhere(locks.path, "free")
        assert free_elsewhere(locks.path, "free")
        async with locks.try_hold_many(["taken", "free"]) as taken:
            assert taken == ["free"]
    assert free_elsewhere(locks.path, "free")


async def test_a_waiting_turn_gets_the_thread_when_its_holder_is_killed(locks: FileTurnLocks) -> None:
    with held_elsewhere(locks.path, "t") as holder:
        ticks = 0

        async def tick() -> None:  # the event loop keeps running while the turn waits
            nonlocal ticks
            while True:
                ticks += 1
                await asyncio.sleep(0.01)

        ticker = asyncio.create_task(tick())

        async def turn() -> None:
            async with locks.hold("t"):
                assert not free_elsewhere(locks.path, "t")

        waiting = asyncio.create_task(turn())
        await asyncio.sleep(0.5)
        assert not waiting.done() and ticks >= 10
        holder.send_signal(signal.SIGKILL)
        await asyncio.wait_for(waiting, TIMEOUT)
        ticker.cancel()
    assert free_elsewhere(locks.path, "t")


async def test_a_cancelled_wait_leaves_the_thread_free(locks: FileTurnLocks) -> None:
    with held_elsewhere(locks.path, "t") as holder:
        waiting = asyncio.create_task(locks.hold("t").__aenter__())
        await asyncio.sleep(0.2)
        waiting.cancel()
        with pytest.raises(asyncio.CancelledError):
            await waiting
        holder.kill()
        holder.wait()
    # The abandoned wait is granted once the holder is gone, and given straight back.
    for _ in range(100):
        if free_elsewhere(locks.path, "t"):
            break
        await asyncio.sleep(0.05)
    assert free_elsewhere(locks.path, "t")
    async with locks.hold("t", wait=False):
        pass


async def test_ids_sharing_a_byte_hold_it_until_the_last_lets_go(
    locks: FileTurnLocks, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(sqlite_turnlock, "lock_offset", lambda thread_id: 7)
    async with locks.hold("a", wait=False):
        async with locks.hold("b", wait=False):  # a different thread: both run in this process
            pass
        assert not free_elsewhere(locks.path, "x")  # "a" still holds byte 7 against other processes
    assert free_elsewhere(locks.path, "x")


async def test_one_process_shares_one_instance_per_file_and_the_last_close_releases(tmp_path: Path) -> None:
    path = tmp_path / "desk.sqlite.turnlocks"
    first, second = FileTurnLocks.open(path), FileTurnLocks.open(tmp_path / "." / path.name)
    assert first is second
    async with first.hold("t", wait=False):
        second.close()  # another desk of this process closing must not drop this turn's lock
        assert not free_elsewhere(path, "t")
    assert free_elsewhere(path, "t")
    first.close()
    third = FileTurnLocks.open(path)
    assert third is not first
    third.close()


async def test_cleanup_and_delete_respect_a_turn_running_in_another_process(tmp_path: Path) -> None:
    """`threads cleanup` skips a thread another process holds; `threads delete` waits for it."""
    now = [datetime(2026, 1, 1, tzinfo=UTC)]
    database = tmp_path / "desk.sqlite"
    storage = await open_storage(str(database))
    try:
        manager = ThreadManager(storage.registry, storage.checkpointer, clock=lambda: now[0])
        for thread_id in ("busy", "idle"):
            await manager.create("alice", thread_id)
        now[0] += timedelta(days=31)
        with held_elsewhere(sidecar_path(database), "busy") as holder:
            assert [t.thread_id for t in await manager.cleanup("30d")] == ["idle"]
            deleting = asyncio.create_task(manager.delete("busy"))
            await asyncio.sleep(0.3)
            assert not deleting.done()  # waits for the other process's turn
            holder.kill()
            await asyncio.wait_for(deleting, TIMEOUT)
        assert (await manager.list()).threads == []
    finally:
        await storage.aclose()


async def _take_at_once(locks: FileTurnLocks, thread_id: str) -> AbstractAsyncContextManager[None]:
    """Hold `thread_id` as soon as it is free, asking without waiting (no thread of our own)."""
    while True:
        held = locks.hold(thread_id, wait=False)
        try:
            await held.__aenter__()
        except ThreadBusy:
            await asyncio.sleep(0)
            continue
        return held


async def test_a_cancelled_wait_granted_later_does_not_take_the_byte_from_the_next_holder(
    locks: FileTurnLocks,
) -> None:
    """The kernel grants the byte to the process: the abandoned wait must leave it to the new holder."""
    for _ in range(10):
        with held_elsewhere(locks.path, "t") as holder:
            abandoned = asyncio.create_task(locks.hold("t").__aenter__())
            await asyncio.sleep(0.05)
            abandoned.cancel()
            with pytest.raises(asyncio.CancelledError):
                await abandoned
            holder.kill()
            held = await asyncio.wait_for(_take_at_once(locks, "t"), TIMEOUT)
            await asyncio.sleep(0.05)  # time for the abandoned wait's thread to be granted too
            assert not free_elsewhere(locks.path, "t")
            await held.__aexit__(None, None, None)
        assert free_elsewhere(locks.path, "t")
