"""What runs need of storage: a table of runs beside the threads (SQLite and PostgreSQL implement it)."""

from __future__ import annotations

import builtins
from abc import ABC, abstractmethod
from collections.abc import Sequence
from datetime import datetime

from threaddesk.runs.models import Run, RunStatus


class RunStore(ABC):
    """Rows of runs keyed by run id, each on one thread."""

    @abstractmethod
    async def insert(self, run: Run) -> None:
        """Add `run` (its id is new)."""

    @abstractmethod
    async def start(self, run_id: str, lease_until: datetime, at: datetime) -> bool:
        """A pending run begins: it is `running` now. False if it is no longer pending (cancelled)."""

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
