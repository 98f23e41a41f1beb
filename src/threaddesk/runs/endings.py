"""Joiners in this process told when a run this process's worker executes begins and ends.

`join_run` reads the run's row until it has ended. A run executed in another process
can only be polled for (backing off), but one executed here begins and ends in this
process, so its joiners here are told at once:

- when this process's worker **claims** the run, its joiners read the row again, see it
  is executed here, and stop polling: they wait for its end without reading the row
  (a joiner's polls had cost more statements than the run itself under load);
- when the run **ends** here (however: success, failure, cancel, given back at shutdown,
  taken over by another process), they read its row at once instead of at their next
  poll (which, backing off to half a second, could double a short run's wait).

A joiner registers (`watch`) before its first read of the row, so a run that ends
between that read and the wait is not missed.
"""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from contextlib import contextmanager


class RunWatch:
    """One joiner's mailbox for one run: set by a notice, emptied by `next`."""

    def __init__(self) -> None:
        self._notice = asyncio.Event()

    def notify(self) -> None:
        self._notice.set()

    async def next(self, timeout: float) -> bool:
        """Until a notice (True) or `timeout` seconds (False). A notice that came since the last
        call returns at once; one that comes after this returns is kept for the next call."""
        try:
            async with asyncio.timeout(timeout):
                await self._notice.wait()
            return True
        except TimeoutError:
            return False
        finally:
            self._notice.clear()


class RunEndings:
    """The joiners here of each run, told when it begins or ends in this process."""

    def __init__(self) -> None:
        self._watches: dict[str, set[RunWatch]] = {}

    @contextmanager
    def watch(self, run_id: str) -> Iterator[RunWatch]:
        """Register a joiner of `run_id` for as long as the block lasts (forgotten after)."""
        watch = RunWatch()
        self._watches.setdefault(run_id, set()).add(watch)
        try:
            yield watch
        finally:
            watches = self._watches.get(run_id)
            if watches is not None:
                watches.discard(watch)
                if not watches:
                    del self._watches[run_id]

    async def wait(self, run_id: str, timeout: float) -> None:
        """Until the run begins or ends in this process, or `timeout` seconds."""
        with self.watch(run_id) as watch:
            await watch.next(timeout)

    def claimed(self, run_id: str) -> None:
        """This process's worker took the run: its joiners here read its row again (it runs here)."""
        self._notify(run_id)

    def ended(self, run_id: str) -> None:
        """The run's execution here has ended (its row says how): wake whoever waits for it."""
        self._notify(run_id)

    def _notify(self, run_id: str) -> None:
        for watch in self._watches.get(run_id, ()):
            watch.notify()
