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

Any other run (pending, or executed by another process) is **polled for**: one task
reads the rows of every such run joined here in one statement every `JOIN_POLL`
seconds (`RunStore.get_among`), and tells the joiners of those that have ended. A
joiner's own polls, backing off, had cost a statement each, and up to half a second
of lateness.

A joiner registers (`watch`) before its first read of the row, so a run that ends
between that read and the wait is not missed.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import datetime
from typing import Any

from threaddesk.runs.interfaces import RunStore

log = logging.getLogger(__name__)

# How often the rows of the runs joined in this process, but not executed by it, are read.
JOIN_POLL = 0.05


class RunWatch:
    """One joiner's mailbox for one run: set by a notice, emptied by `next`."""

    def __init__(self) -> None:
        self._notice = asyncio.Event()
        # The state values the run ended with, when it ended in this process: a joiner answers them
        # without reading the thread's state again (as LangGraph's join answers the run's last values).
        self.values: dict[str, Any] | None = None
        self.claimed_here = False  # this process's worker took the run (sticky)
        self.ended_here = False  # its execution here has ended (sticky)

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
    """The joiners here of each run, told when it begins or ends in this process, or when the
    shared poll finds it ended elsewhere (with a `runs` store to read, and the desk's `clock`)."""

    def __init__(
        self,
        runs: RunStore | None = None,
        clock: Callable[[], datetime] | None = None,
        *,
        poll: float = JOIN_POLL,
    ) -> None:
        self.runs = runs
        self.clock = clock
        self.poll = poll
        self._watches: dict[str, set[RunWatch]] = {}
        self._polled: dict[str, int] = {}  # run id -> how many joiners here wait for it to be polled
        self._poller: asyncio.Task[None] | None = None

    @contextmanager
    def polled(self, run_id: str) -> Iterator[None]:
        """While the block lasts, the shared poll reads the run's row, and tells its joiners here
        (`watch`) once it has ended (or is gone)."""
        if self.runs is None or self.clock is None:
            raise RuntimeError("polling for runs needs a run store and a clock")
        self._polled[run_id] = self._polled.get(run_id, 0) + 1
        if self._poller is None or self._poller.done():
            self._poller = asyncio.create_task(self._poll(self.runs, self.clock), name="joined runs")
        try:
            yield
        finally:
            self._polled[run_id] -= 1
            if not self._polled[run_id]:
                del self._polled[run_id]

    async def _poll(self, runs: RunStore, clock: Callable[[], datetime]) -> None:
        # It ends by itself once nothing is left to poll, never cancelled mid-statement (a psycopg
        # connection cancelled mid-query may be left waiting on it).
        while True:
            await asyncio.sleep(self.poll)
            ids = list(self._polled)
            if not ids:
                self._poller = None
                return
            try:
                rows = await runs.get_among(ids)
            except Exception:  # the database is away: the next poll tries again
                log.exception("could not read the rows of %d joined runs", len(ids))
                continue
            now = clock()
            for run_id in ids:
                row = rows.get(run_id)
                if row is None or row.as_of(now).status.finished:
                    self._notify(run_id)

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
        """This process's worker took the run: its joiners here wait for its end (it runs here)."""
        for watch in self._watches.get(run_id, ()):
            watch.claimed_here = True
        self._notify(run_id)

    def ended(self, run_id: str, values: dict[str, Any] | None = None) -> None:
        """The run's execution here has ended (its row says how): wake whoever waits for it, handing
        them the state `values` it ended with if given."""
        for watch in self._watches.get(run_id, ()):
            watch.ended_here = True
            if values is not None:
                watch.values = values
        self._notify(run_id)

    def _notify(self, run_id: str) -> None:
        for watch in self._watches.get(run_id, ()):
            watch.notify()
