"""Joiners in the process executing a run are told when it is claimed here and when it ends here."""

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
    assert not endings._watches  # nothing kept once it ended


async def test_a_run_ending_elsewhere_times_out_and_leaves_nothing_behind() -> None:
    endings = RunEndings()
    await asyncio.gather(endings.wait("r2", timeout=0.01), endings.wait("r2", timeout=0.02))
    assert not endings._watches
    endings.ended("r2")  # ended after every waiter left: nothing to wake, no error


async def test_every_waiter_of_one_run_is_woken() -> None:
    endings = RunEndings()
    waiters = [asyncio.create_task(endings.wait("r3", timeout=5)) for _ in range(3)]
    await asyncio.sleep(0.01)
    endings.claimed("r3")
    done, pending = await asyncio.wait(waiters, timeout=1)
    assert len(done) == 3 and not pending


async def test_a_notice_between_two_waits_is_kept_for_the_next() -> None:
    """A joiner reads the row between waits: a run ending during that read must not be missed
    (the joiner would wait its whole timeout, a lease, for nothing)."""
    endings = RunEndings()
    with endings.watch("r4") as watch:
        endings.ended("r4")  # while the joiner was reading the row, not yet waiting
        started = time.perf_counter()
        assert await watch.next(timeout=5) is True
        assert time.perf_counter() - started < 1
        assert await watch.next(timeout=0.01) is False  # used up: the next wait waits
    assert not endings._watches


async def test_a_notice_is_for_its_own_run_only() -> None:
    endings = RunEndings()
    with endings.watch("r5") as mine, endings.watch("r6") as other:
        endings.ended("r6")
        assert await mine.next(timeout=0.01) is False
        assert await other.next(timeout=0.01) is True
