"""A joiner in the process executing a run is woken when it ends, not at its next poll."""

from __future__ import annotations

import asyncio
import time

from threaddesk.runs.endings import RunEndings


async def test_a_waiter_is_woken_at_once_when_the_run_ends_here() -> None:
    endings = RunEndings()
    started = time.perf_counter()
    waiter = asyncio.create_task(endings.wait("r1", timeout=5))
    await asyncio.sleep(0.01)
    endings.ended("r1")
    await waiter
    assert time.perf_counter() - started < 1  # not the 5 s timeout
    assert not endings._events and not endings._waiting  # nothing kept once it ended


async def test_a_run_ending_elsewhere_times_out_and_leaves_nothing_behind() -> None:
    endings = RunEndings()
    await asyncio.gather(endings.wait("r2", timeout=0.01), endings.wait("r2", timeout=0.02))
    assert not endings._events and not endings._waiting
    endings.ended("r2")  # ended after every waiter left: nothing to wake, no error


async def test_every_waiter_of_one_run_is_woken() -> None:
    endings = RunEndings()
    waiters = [asyncio.create_task(endings.wait("r3", timeout=5)) for _ in range(3)]
    await asyncio.sleep(0.01)
    endings.ended("r3")
    done, pending = await asyncio.wait(waiters, timeout=1)
    assert len(done) == 3 and not pending
