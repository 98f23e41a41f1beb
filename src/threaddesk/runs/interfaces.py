"""What runs need of storage: a table of runs beside the threads (SQLite and PostgreSQL implement it)."""

from __future__ import annotations

import builtins
from abc import ABC, abstractmethod
from collections.abc import Sequence
from datetime import datetime

from threaddesk.runs.models import Run, RunStatus
from threaddesk.runs.queue import Claim


class RunStore(ABC):
    """Rows of runs keyed by run id, each on one thread."""

    @abstractmethod
    async def insert(self, run: Run) -> None:
        """Add `run` (its id is new)."""

    @abstractmethod
    async def start(
        self, run_id: str, lease_until: datetime, at: datetime, worker: str | None = None
    ) -> bool:
        """A pending run begins: it is `running` now. False if it is no longer pending (cancelled);
        with `worker`, only if that worker still holds it (the row unfinished, not claimed by
        another): False otherwise, and nothing changed."""

    @abstractmethod
    async def finish(self, run_id: str, status: RunStatus, at: datetime, error: str | None = None) -> None:
        """Record how the run ended."""

    @abstractmethod
    async def renew(self, run_id: str, lease_until: datetime, at: datetime) -> None:
        """Extend a pending or running run's lease (its process is alive and still at it)."""

    @abstractmethod
    async def get(self, thread_id: str, run_id: str) -> Run | None:
        """The run of that thread with that id, or None."""

    @abstractmethod
    async def get_among(self, run_ids: Sequence[str]) -> dict[str, Run]:
        """The rows of those of `run_ids` that exist, by run id, in one statement (for the shared
        poll of the runs joiners wait for, `threaddesk.runs.endings`)."""

    @abstractmethod
    async def list(
        self, thread_id: str, *, limit: int, offset: int, status: RunStatus | None = None
    ) -> builtins.list[Run]:
        """The thread's runs, newest first."""

    @abstractmethod
    async def delete(self, thread_id: str, run_id: str) -> bool:
        """Remove one run (and its kept stream events); False if there was none."""

    @abstractmethod
    async def delete_threads(self, thread_ids: Sequence[str]) -> None:
        """Remove every run of these threads (they are being deleted)."""

    # The queue of background runs (threaddesk.runs.worker): rows `pending` with their request.

    @abstractmethod
    async def enqueue(self, run: Run, payload: bytes) -> None:
        """Add the `pending` background run `run` (its `not_before` set), with its request `payload`."""

    async def claim(self, worker: str, now: datetime, lease_until: datetime) -> Claim | None:
        """Take one queued run for `worker`, or None (`claim_many` with a limit of one)."""
        claims = await self.claim_many(worker, now, lease_until, 1)
        return claims[0] if claims else None

    @abstractmethod
    async def claim_many(
        self, worker: str, now: datetime, lease_until: datetime, limit: int
    ) -> builtins.list[Claim]:
        """Take up to `limit` queued runs for `worker` in one statement, oldest first (by `not_before`,
        then run id): each `running` under a lease, `attempts` + 1. A worker asks for as many as it has
        free slots, so a burst of runs costs one round trip, not one per run.

        Claimable: a `pending` run whose `not_before` has come, the first of its thread's pending
        runs, on a thread with no run `running`; or a queued run left `running` by a dead process
        (lease over: its worker retries it, or past `MAX_ATTEMPTS` rolls it back and fails it). The
        runs taken together are judged on one view of the table, in which a thread's second pending
        run still has its first before it: at most one run per thread is taken at a time. First,
        unqueued rows left by dead processes (their client is gone) are marked `error`. Safe with any
        number of processes.
        """

    @abstractmethod
    async def release(self, run_id: str, worker: str, at: datetime) -> None:
        """Put a run `worker` holds back in the queue, uncounted (its process is shutting down)."""
