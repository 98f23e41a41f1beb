"""Cancelling runs, as LangGraph's `runs.cancel`: `interrupt` (stop, keep what was checkpointed)
or `rollback` (stop, undo its writes, forget the run).

A cancel request must reach the run wherever it executes, so it is stored on
the run's row (`cancel_action`, see `CancelStore`), whoever receives it:

- a **pending** run is settled at once by the canceller, in one conditional
  statement (`interrupted`, or its row deleted for `rollback`); its executor,
  when it reaches the thread, finds the row no longer `pending` and gives up
  (`RunStore.start` is conditional);
- a **running** run gets `cancel_action` set on its row. The process executing
  it notices at once if it is this one (the run's task is cancelled here and
  now), else within `CANCEL_POLL` seconds: every process executing runs polls their
  rows (`RunControl.watch`), all of them in one statement, while they go on.

The run's task is cancelled like any abandoned turn, so the turn's own cleanup
applies (`SupportDesk._turn`), except that `interrupt` keeps what the graph had
checkpointed. Only once that cleanup is done is the row settled
(`interrupted`, or deleted), so whoever waits for the row sees the thread as the
cancel left it. Waiting callers then raise `RunCancelled`.
"""

from __future__ import annotations

import asyncio
import builtins
import logging
from abc import ABC, abstractmethod
from collections.abc import AsyncIterator, Callable, Sequence
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from datetime import datetime
from typing import Literal

from threaddesk.errors import InvalidArgument, ThreadDeskError
from threaddesk.runs.interfaces import RunStore
from threaddesk.runs.models import Run, RunStatus

log = logging.getLogger(__name__)

CancelAction = Literal["interrupt", "rollback"]
CANCEL_ACTIONS: tuple[CancelAction, ...] = ("interrupt", "rollback")
# How often the process executing a running run looks for a cancel request stored by another process.
CANCEL_POLL = 0.25


def check_action(action: object) -> CancelAction:
    if action not in CANCEL_ACTIONS:
        raise InvalidArgument(f"action must be 'interrupt' or 'rollback', got {action!r}")
    return action


class RunCancelled(ThreadDeskError):
    """The run was cancelled by a request (`runs.cancel`, or a newer run's multitask strategy)."""

    code = "run_cancelled"

    def __init__(self, run_id: str, action: str, *, started: bool = True) -> None:
        self.run_id = run_id
        self.action = action
        self.started = started  # False: cancelled while pending, it never touched the thread
        super().__init__(f"run {run_id!r} was cancelled ({action})")


class CancelStore(ABC):
    """The cancel requests on the runs table (SQLite and PostgreSQL implement it)."""

    @abstractmethod
    async def cancel_pending(self, thread_id: str, run_id: str, action: CancelAction, at: datetime) -> bool:
        """If the run is still `pending`: `interrupted` now (`rollback`: its row and events deleted).

        Whether it was pending."""

    @abstractmethod
    async def request_cancel(self, thread_id: str, run_id: str, action: CancelAction) -> bool:
        """If the run is `running`: store the request for its process. Whether it was running."""

    @abstractmethod
    async def requested(self, run_id: str) -> str | None:
        """The cancel action stored on a running run (None: none, or the run is not running)."""

    async def requested_among(self, run_ids: Sequence[str]) -> dict[str, str]:
        """The cancel actions stored on those of `run_ids` that are running and asked to stop.

        One statement in the stores of threaddesk (a process polls all its running runs at once);
        this default asks `requested` of each."""
        found = {run_id: await self.requested(run_id) for run_id in run_ids}
        return {run_id: action for run_id, action in found.items() if action is not None}

    @abstractmethod
    async def unfinished(
        self,
        *,
        thread_id: str | None = None,
        run_ids: Sequence[str] | None = None,
        statuses: Sequence[RunStatus] = (RunStatus.PENDING, RunStatus.RUNNING),
        user_id: str | None = None,
        limit: int = 1000,
    ) -> builtins.list[Run]:
        """Runs whose row says pending or running (of `statuses`), on `thread_id` / among `run_ids`,
        on threads `user_id` owns if given; oldest first."""


@dataclass
class _Scope:
    """One run executing in this process: its task, and the cancel asked of it (if any)."""

    run_id: str
    thread_id: str
    task: asyncio.Task | None
    action: CancelAction | None = None
    kept: bool = False  # the turn kept the run's writes (interrupt, or finished before the cancel)
    watched: bool = False  # running: its row is polled for a cancel request from another process
    done: asyncio.Event = field(default_factory=asyncio.Event)

    def cancel(self, action: CancelAction) -> None:
        if self.action is not None:
            return
        self.action = action
        if self.task is not None and not self.task.done():
            self.task.cancel()


class RunControl:
    """The runs executing in this process, so a cancel request reaches them (here at once, from
    another process through the row), and the settling of a cancelled run's row."""

    def __init__(
        self,
        runs: RunStore | None,
        cancels: CancelStore | None,
        clock: Callable[[], datetime],
        poll: float = CANCEL_POLL,
    ) -> None:
        self.runs = runs
        self.cancels = cancels
        self.clock = clock
        self.poll = poll
        self._scopes: dict[str, _Scope] = {}
        self._watcher: asyncio.Task[None] | None = None  # polls the rows of every watched run here

    def action(self, run_id: str) -> CancelAction | None:
        """The cancel asked of a run executing here (None: none, or not here)."""
        scope = self._scopes.get(run_id)
        return None if scope is None else scope.action

    def keep(self, run_id: str) -> None:
        """The turn kept the cancelled run's writes: its row says `interrupted`, even for `rollback`."""
        scope = self._scopes.get(run_id)
        if scope is not None:
            scope.kept = True

    def cancel_here(self, run_id: str, action: CancelAction) -> bool:
        """Cancel the run at once if it executes in this process; whether it does."""
        scope = self._scopes.get(run_id)
        if scope is None:
            return False
        scope.cancel(action)
        return True

    async def ended_here(self, run_id: str) -> None:
        """Wait until a run executing in this process has ended (at once if it does not)."""
        scope = self._scopes.get(run_id)
        if scope is not None:
            await scope.done.wait()

    @asynccontextmanager
    async def scope(self, thread_id: str, run_id: str) -> AsyncIterator[_Scope]:
        """Around one run (waiting for its thread included): a cancel request cancels the task
        running it; once the turn has cleaned up, the row is settled and `RunCancelled` raised."""
        task = asyncio.current_task()
        if run_id in self._scopes:  # the same id twice at once: the second is not cancellable here
            yield _Scope(run_id, thread_id, None)
            return
        scope = _Scope(run_id, thread_id, task)
        self._scopes[run_id] = scope
        cancelling = task.cancelling() if task is not None else 0
        try:
            yield scope
        except (asyncio.CancelledError, RunCancelled) as exc:
            if scope.action is None:
                raise
            if isinstance(exc, asyncio.CancelledError) and task is not None:
                task.uncancel()
            await self._settle(scope)
            if task is not None and task.cancelling() > cancelling:
                raise  # cancelled by its caller too: that cancellation goes on
            raise RunCancelled(run_id, scope.action) from None
        else:
            if scope.action is not None and task is not None and task.cancelling() > cancelling:
                # Asked after the run's last pause: it has committed; swallow the cancel still due.
                try:
                    await asyncio.sleep(0)
                except asyncio.CancelledError:
                    task.uncancel()
        finally:
            del self._scopes[run_id]
            scope.done.set()

    def watch(self, run_id: str) -> None:
        """The run is `running` now: poll its row for a cancel request from another process.

        One task polls every watched run of this process, in one statement each `poll` seconds
        (a task and a statement per run cost more than the runs' own statements under load)."""
        scope = self._scopes.get(run_id)
        if scope is None or self.cancels is None or scope.watched:
            return
        scope.watched = True
        if self._watcher is None or self._watcher.done():
            self._watcher = asyncio.create_task(self._watch(self.cancels), name="cancel requests")

    async def _watch(self, cancels: CancelStore) -> None:
        # It ends by itself once no run here is watched, never cancelled mid-statement (a psycopg
        # connection cancelled mid-query may be left waiting on it).
        while True:
            await asyncio.sleep(self.poll)
            if not any(s.watched for s in self._scopes.values()):
                self._watcher = None
                return
            watched = [s.run_id for s in self._scopes.values() if s.watched and s.action is None]
            if not watched:
                continue
            try:
                found = await cancels.requested_among(watched)
            except Exception:
                log.exception("could not look for cancel requests of %d runs", len(watched))
                continue
            for run_id, action in found.items():
                scope = self._scopes.get(run_id)
                if scope is not None and action in CANCEL_ACTIONS:
                    scope.cancel(action)

    async def _settle(self, scope: _Scope) -> None:
        """The cancelled run's row, after its turn cleaned up: `interrupted`, or gone (`rollback`)."""
        if self.runs is None:
            return
        try:
            if scope.action == "rollback" and not scope.kept:
                await self.runs.delete(scope.thread_id, scope.run_id)
            else:
                await self.runs.finish(scope.run_id, RunStatus.INTERRUPTED, self.clock())
        except Exception:
            log.exception("could not record the cancel of run %r", scope.run_id)


async def cancel_run(control: RunControl, thread_id: str, run: Run, action: CancelAction) -> bool:
    """Ask `run` to stop (see the module's docstring); whether it was still pending or running."""
    cancels = control.cancels
    if cancels is None:
        raise InvalidArgument("this desk cannot cancel runs (its storage keeps no cancel requests)")
    for _ in range(3):  # pending -> running may happen between our statements
        if run.status is RunStatus.PENDING:
            if await cancels.cancel_pending(thread_id, run.run_id, action, control.clock()):
                control.cancel_here(run.run_id, action)  # its task waits here: stop it now
                return True
        elif run.status is RunStatus.RUNNING:
            if await cancels.request_cancel(thread_id, run.run_id, action):
                control.cancel_here(run.run_id, action)
                return True
        else:
            return False
        assert control.runs is not None
        fresh = await control.runs.get(thread_id, run.run_id)
        if fresh is None:
            return False
        run = fresh.as_of(control.clock())
    return False


async def wait_ended(control: RunControl, thread_id: str, run_id: str, poll: float = 0.02) -> Run | None:
    """Wait until the run has ended (here or elsewhere): its row, or None if rolled back."""
    await control.ended_here(run_id)
    assert control.runs is not None
    while True:
        row = await control.runs.get(thread_id, run_id)
        if row is None or row.as_of(control.clock()).status.finished:
            return None if row is None else row.as_of(control.clock())
        await asyncio.sleep(poll)
        poll = min(poll * 2, 0.25)
