"""ThreadLocks: one turn at a time per thread, FIFO, concurrent across threads, no leaks."""

from __future__ import annotations

import asyncio

import pytest

from threaddesk.errors import ThreadBusy
from threaddesk.threads.locks import ThreadLocks

TIMEOUT = 5  # seconds; only reached if a test would otherwise hang


async def settle(rounds: int = 10) -> None:
    """Let every ready task run until it blocks."""
    for _ in range(rounds):
        await asyncio.sleep(0)


async def test_turns_on_one_key_run_one_at_a_time_in_arrival_order() -> None:
    locks = ThreadLocks()
    log: list[tuple[str, int]] = []
    inside = 0
    max_inside = 0

    async def turn(i: int) -> None:
        nonlocal inside, max_inside
        async with locks.hold("t"):
            inside += 1
            max_inside = max(max_inside, inside)
            log.append(("start", i))
            await asyncio.sleep(0)
            await asyncio.sleep(0)
            log.append(("end", i))
            inside -= 1

    tasks = [asyncio.create_task(turn(i)) for i in range(50)]
    await settle(1)
    assert locks.is_locked("t")
    assert len(locks) == 1
    await asyncio.wait_for(asyncio.gather(*tasks), TIMEOUT)

    assert max_inside == 1
    expected = [entry for i in range(50) for entry in (("start", i), ("end", i))]
    assert log == expected
    assert len(locks) == 0
    assert not locks.is_locked("t")


async def test_different_keys_run_concurrently() -> None:
    locks = ThreadLocks()
    a_in, b_in = asyncio.Event(), asyncio.Event()
    both_checked = asyncio.Event()
    both_locked: list[bool] = []

    async def holder(key: str, mine: asyncio.Event, other: asyncio.Event) -> None:
        async with locks.hold(key):
            mine.set()
            # Deadlocks (and times out) unless the other key's holder is inside too.
            await asyncio.wait_for(other.wait(), TIMEOUT)
            both_locked.append(locks.is_locked("a") and locks.is_locked("b"))
            if len(both_locked) == 2:
                both_checked.set()
            await asyncio.wait_for(both_checked.wait(), TIMEOUT)

    await asyncio.wait_for(asyncio.gather(holder("a", a_in, b_in), holder("b", b_in, a_in)), TIMEOUT * 2)
    assert both_locked == [True, True]
    assert len(locks) == 0


async def test_wait_false_on_a_held_key_raises_thread_busy() -> None:
    locks = ThreadLocks()
    async with locks.hold("t"):
        with pytest.raises(ThreadBusy) as info:
            async with locks.hold("t", wait=False):
                pytest.fail("entered a held lock")
        assert info.value.thread_id == "t"
        assert locks.is_locked("t")
        # Another key is free even without waiting.
        async with locks.hold("other", wait=False):
            assert locks.is_locked("other")
        assert len(locks) == 1
    assert len(locks) == 0
    async with locks.hold("t", wait=False):
        assert locks.is_locked("t")
    assert len(locks) == 0


async def test_wait_false_is_busy_while_others_are_queued() -> None:
    locks = ThreadLocks()
    release = asyncio.Event()

    async def hold_until_released() -> None:
        async with locks.hold("t"):
            await release.wait()

    first = asyncio.create_task(hold_until_released())
    second = asyncio.create_task(hold_until_released())
    await settle()
    with pytest.raises(ThreadBusy):
        async with locks.hold("t", wait=False):
            pass
    release.set()
    await asyncio.wait_for(asyncio.gather(first, second), TIMEOUT)
    assert len(locks) == 0


async def test_no_entry_left_after_a_holder_raises() -> None:
    locks = ThreadLocks()
    with pytest.raises(RuntimeError, match="boom"):
        async with locks.hold("t"):
            raise RuntimeError("boom")
    assert len(locks) == 0
    assert not locks.is_locked("t")

    # With a waiter queued behind the failing holder, the waiter still gets its turn.
    release = asyncio.Event()
    ran: list[str] = []

    async def failing() -> None:
        async with locks.hold("t"):
            await release.wait()
            raise ValueError("turn failed")

    async def waiter() -> None:
        async with locks.hold("t"):
            ran.append("waiter")

    f = asyncio.create_task(failing())
    w = asyncio.create_task(waiter())
    await settle()
    assert ran == [] and len(locks) == 1
    release.set()
    results = await asyncio.wait_for(asyncio.gather(f, w, return_exceptions=True), TIMEOUT)
    assert isinstance(results[0], ValueError)
    assert results[1] is None and ran == ["waiter"]
    assert len(locks) == 0


async def test_no_entry_left_after_a_cancelled_waiter() -> None:
    locks = ThreadLocks()
    release = asyncio.Event()
    order: list[str] = []

    async def holder() -> None:
        async with locks.hold("t"):
            order.append("holder")
            await release.wait()

    async def waiter(name: str) -> None:
        async with locks.hold("t"):
            order.append(name)

    h = asyncio.create_task(holder())
    await settle()
    cancelled = asyncio.create_task(waiter("cancelled"))
    later = asyncio.create_task(waiter("later"))
    await settle()
    assert len(locks) == 1

    cancelled.cancel()
    with pytest.raises(asyncio.CancelledError):
        await cancelled
    assert len(locks) == 1  # holder and the later waiter still use it

    release.set()
    await asyncio.wait_for(asyncio.gather(h, later), TIMEOUT)
    assert order == ["holder", "later"]
    assert len(locks) == 0
    assert not locks.is_locked("t")


async def test_no_entry_left_after_the_only_waiter_is_cancelled() -> None:
    locks = ThreadLocks()
    release = asyncio.Event()

    async def holder() -> None:
        async with locks.hold("t"):
            await release.wait()

    async def waiter() -> None:
        async with locks.hold("t"):
            pytest.fail("cancelled waiter got the lock")

    h = asyncio.create_task(holder())
    await settle()
    w = asyncio.create_task(waiter())
    await settle()
    w.cancel()
    with pytest.raises(asyncio.CancelledError):
        await w
    release.set()
    await asyncio.wait_for(h, TIMEOUT)
    assert len(locks) == 0


async def test_no_entry_left_after_a_cancelled_holder() -> None:
    locks = ThreadLocks()
    entered = asyncio.Event()

    async def holder() -> None:
        async with locks.hold("t"):
            entered.set()
            await asyncio.Event().wait()  # until cancelled

    h = asyncio.create_task(holder())
    await asyncio.wait_for(entered.wait(), TIMEOUT)
    assert locks.is_locked("t")
    h.cancel()
    with pytest.raises(asyncio.CancelledError):
        await h
    assert len(locks) == 0
    async with locks.hold("t", wait=False):
        pass
    assert len(locks) == 0


async def test_many_keys_leave_no_entries() -> None:
    locks = ThreadLocks()

    async def turn(key: str) -> None:
        async with locks.hold(key):
            await asyncio.sleep(0)

    await asyncio.wait_for(asyncio.gather(*(turn(f"k{i % 37}") for i in range(500))), TIMEOUT)
    assert len(locks) == 0
