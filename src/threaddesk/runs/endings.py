"""Joiners in this process woken the moment a run this process executes ends.

`join_run` reads the run's row until it has ended: from another process that is all
it can do (it polls, backing off), but a run executed here ends in this process, so
its joiners here are woken at once instead of at their next poll (which, backing off
to half a second, could double a short run's wait).
"""

from __future__ import annotations

import asyncio
import contextlib


class RunEndings:
    """One event per run someone here is waiting for, set when the run ends here."""

    def __init__(self) -> None:
        self._events: dict[str, asyncio.Event] = {}
        self._waiting: dict[str, int] = {}

    async def wait(self, run_id: str, timeout: float) -> None:
        """Until the run ends in this process, or `timeout` seconds (then the caller reads its row)."""
        event = self._events.setdefault(run_id, asyncio.Event())
        self._waiting[run_id] = self._waiting.get(run_id, 0) + 1
        try:
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(event.wait(), timeout)
        finally:
            self._waiting[run_id] -= 1
            if not self._waiting[run_id]:  # nobody else waits: forget it (a run ended elsewhere too)
                del self._waiting[run_id]
                self._events.pop(run_id, None)

    def ended(self, run_id: str) -> None:
        """The run has ended here (its row says how): wake whoever waits for it."""
        event = self._events.pop(run_id, None)
        if event is not None:
            event.set()
