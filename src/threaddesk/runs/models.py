"""A run as a stored resource: LangGraph's `Run` (id, thread, status, what was asked) and its lease."""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from enum import StrEnum
from typing import Any

# A pending or running run's row says until when its process vouches for it; the process renews it
# while the run waits and goes on. A row unfinished past its lease was left by a process that died:
# it reads as `error`.
LEASE = timedelta(seconds=30)


class RunStatus(StrEnum):
    """LangGraph's run statuses (threaddesk's runs never time out: `timeout` is not used)."""

    PENDING = "pending"
    RUNNING = "running"
    SUCCESS = "success"
    ERROR = "error"
    INTERRUPTED = "interrupted"

    @property
    def finished(self) -> bool:
        return self not in (RunStatus.PENDING, RunStatus.RUNNING)


@dataclass(frozen=True, slots=True)
class Run:
    """One run of the agent on a thread, as stored: `kwargs` is the request it was made from."""

    run_id: str
    thread_id: str
    assistant_id: str
    status: RunStatus
    created_at: datetime
    updated_at: datetime
    lease_until: datetime | None = None
    metadata: dict[str, Any] = field(default_factory=dict)
    kwargs: dict[str, Any] = field(default_factory=dict)
    multitask_strategy: str = "enqueue"
    error: str | None = None

    def as_of(self, now: datetime) -> Run:
        """The run as it stands at `now`: unfinished past its lease means its process died, so `error`."""
        if not self.status.finished and self.lease_until is not None and self.lease_until < now:
            return dataclasses.replace(
                self, status=RunStatus.ERROR, error="the server running it stopped before it finished"
            )
        return self


@dataclass(frozen=True, slots=True)
class RunRecord:
    """What to store of a run besides its id and thread: set by callers that keep runs as resources.

    `stored`: the row exists already (a background run, `pending` until it starts).
    """

    assistant_id: str
    kwargs: dict[str, Any] = field(default_factory=dict)
    metadata: dict[str, Any] = field(default_factory=dict)
    multitask_strategy: str = "enqueue"
    stored: bool = False
