"""The worker loop every serving process runs: claim queued runs from the database and execute them.

Background runs are rows in the runs table, not tasks of the process that accepted
them (threaddesk.runs.queue), so any process sharing the database may run them, and
a run outlives the process that took it: a replica killed mid-run leaves its run
`running` under a lease that stops being renewed; once it runs out, the next claim
(here, in another replica, or after a restart) takes the run again, rolls back what
the dead attempt left, and runs it from the start (at most `MAX_ATTEMPTS` times, as
LangGraph's server retries, then `error`).

Wake-ups: a run made in this process wakes this worker at once (and again at its
`not_before` if delayed); runs made elsewhere, threads freed elsewhere and dead
leases are found by polling every `poll` seconds. Polling, not PostgreSQL's
LISTEN/NOTIFY: it works the same on SQLite files, needs no connection held per
process (nor one that survives a transaction-mode pooler such as PgBouncer), and
only matters when the run's own process cannot take it (busy, worker-less or gone);
an idle poll is one indexed read.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import socket
import uuid
from collections.abc import Awaitable, Callable
from datetime import timedelta

from threaddesk.runs.endings import RunEndings
from threaddesk.runs.interfaces import RunStore
from threaddesk.runs.models import LEASE
from threaddesk.runs.queue import Claim
from threaddesk.threads.models import Clock

log = logging.getLogger(__name__)


# How long `stop` waits for the claim under way, then for the cancelled loop.
STOP_GRACE_S = 5.0


def worker_name() -> str:
    """Unique per desk: host, process and a random part (two desks of one process are two workers)."""
    return f"{socket.gethostname()}:{os.getpid()}:{uuid.uuid4().hex[:8]}"


class RunWorker:
    """Claims queued runs while it has free `slots`, executing each with `execute(claim)`."""

    def __init__(
        self,
        store: RunStore,
        execute: Callable[[Claim], Awaitable[None]],
        clock: Clock,
        *,
        slots: int,
        poll: float,
        lease: timedelta = LEASE,
        endings: RunEndings | None = None,
    ) -> None:
        if slots < 1:
            raise ValueError("a run worker needs at least one slot")
        self.store = store
        self.execute = execute
        self.clock = clock
        self.slots = slots
        self.poll = poll
        self.lease = lease
        # Joiners in this process, told when a run is claimed here and when its execution here ends.
        self.endings = endings if endings is not None else RunEndings()
        self.name = worker_name()
        self.stopping = False
        self._wakeup = asyncio.Event()
        self._running: set[asyncio.Task[None]] = set()
        self._timers: set[asyncio.TimerHandle] = set()
        self._loop_task: asyncio.Task[None] | None = None

    def start(self) -> None:
        self._loop_task = asyncio.create_task(self._loop(), name=f"run worker {self.name}")

    def wake(self, after: float = 0) -> None:
        """Look for runs now (a run was made or a thread freed here), or `after` seconds from now."""
        if after <= 0:
            self._wakeup.set()
            return

        def fire() -> None:
            self._timers.discard(timer)
            self._wakeup.set()

        timer = asyncio.get_running_loop().call_later(after, fire)
        self._timers.add(timer)

    @property
    def busy(self) -> int:
        """How many runs this worker is executing."""
        return len(self._running)

    async def stop(self) -> None:
        """Stop claiming; cancel the runs going (each is rolled back and put back in the queue)."""
        self.stopping = True
        for timer in self._timers:
            timer.cancel()
        if self._loop_task is not None:
            # Let the loop end by itself: a claim cancelled mid-query can leave the database driver
            # waiting on a cancelled statement for good (seen with psycopg), so the claim under way
            # is allowed to finish (a run it took is put back), and only a loop stuck past that is
            # cancelled, and then not waited for.
            self._wakeup.set()
            done, _ = await asyncio.wait({self._loop_task}, timeout=STOP_GRACE_S)
            if not done:
                self._loop_task.cancel()
                await asyncio.wait({self._loop_task}, timeout=STOP_GRACE_S)
        tasks = list(self._running)
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)

    async def _loop(self) -> None:
        while not self.stopping:
            self._wakeup.clear()
            await self._claim_while_free()
            with contextlib.suppress(TimeoutError):
                async with asyncio.timeout(self.poll):
                    await self._wakeup.wait()

    async def _claim_while_free(self) -> None:
        # As many runs per claim as there are free slots: one round trip for a burst of runs, not one
        # each (claims are serial here, and a claim one at a time kept runs waiting while slots were free).
        while (free := self.slots - len(self._running)) > 0 and not self.stopping:
            now = self.clock()
            try:
                claims = await self.store.claim_many(self.name, now, now + self.lease, free)
            except Exception:  # the database is away: try again at the next poll
                log.exception("run worker %s could not claim a run", self.name)
                return
            if self.stopping:  # taken as the process stops: back in the queue, uncounted
                for claim in claims:
                    with contextlib.suppress(Exception):
                        await self.store.release(claim.run.run_id, self.name, self.clock())
                return
            for claim in claims:
                task = asyncio.create_task(self._execute(claim), name=f"run {claim.run.run_id}")
                self._running.add(task)
                task.add_done_callback(self._done)
                self.endings.claimed(claim.run.run_id)
            if len(claims) < free:  # the queue has nothing more to take now
                return

    def _done(self, task: asyncio.Task[None]) -> None:
        self._running.discard(task)
        if not self.stopping:
            self._wakeup.set()  # a slot is free, and the run's thread may have a next run

    async def _execute(self, claim: Claim) -> None:
        try:
            await self.execute(claim)
        except asyncio.CancelledError:
            raise
        except Exception:  # execute records the run's failure itself; this is a bug, not the run's end
            log.exception("run %s failed outside its turn", claim.run.run_id)
        finally:  # however it ended here (even given back, or taken over): its joiners read its row now
            self.endings.ended(claim.run.run_id)
