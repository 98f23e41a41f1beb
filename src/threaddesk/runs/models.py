"""A run as a stored resource: LangGraph's `Run` (id, thread, status, what was asked) and its lease."""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from enum import StrEnum
from typing import Any

# A running run's row says until when its process vouches for it; the process renews it while the
# run goes on. A row still `running` past its lease was left by a process that died: a queued run is
# tried again (up to MAX_ATTEMPTS, as LangGraph's server retries), any other reads as `error`.
LEASE = timedelta(seconds=30)
# How many times a queued run is started before a run whose servers keep dying is given up as `error`
# (LangGraph's `BG_JOB_MAX_RETRIES` is 3 too).
MAX_ATTEMPTS = 3


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
    # Queued (background) runs only: when it may start, how often it was started, which process has it.
    queued: bool = False
    not_before: datetime | None = None
    attempts: int = 0
    worker: str | None = None

    def as_of(self, now: datetime) -> Run:
        """The run as it stands at `now`. Unfinished past its lease means its process died: a queued run
        with attempts left is `pending` again (a worker will retry it), any other is `error`."""
        if not self.status.finished and self.lease_until is not None and self.lease_until < now:
            if self.queued and self.attempts < MAX_ATTEMPTS:
                return dataclasses.replace(self, status=RunStatus.PENDING, lease_until=None, worker=None)
            return dataclasses.replace(self, status=RunStatus.ERROR, error=stopped_error(self))
        return self


def stopped_error(run: Run) -> str:
    """Why a run left behind by dead servers failed (LangGraph's words, when it gives up retrying)."""
    if run.queued:
        return (
            f"the server running it stopped before it finished, {run.attempts} times"
            f" (at most {MAX_ATTEMPTS} attempts)"
        )
    return "the server running it stopped before it finished"


@dataclass(frozen=True, slots=True)
class RunRecord:
    """What to store of a run besides its id and thread: set by callers that keep runs as resources.

    `stored`: the row exists already (a background run, `pending` until it starts); `worker`: the
    queue worker that claimed it (it starts only if still that worker's); `retry`: an earlier attempt
    died mid-run, so its half turn is undone first.
    """

    assistant_id: str
    kwargs: dict[str, Any] = field(default_factory=dict)
    metadata: dict[str, Any] = field(default_factory=dict)
    multitask_strategy: str = "enqueue"
    stored: bool = False
    worker: str | None = None
    retry: bool = False
