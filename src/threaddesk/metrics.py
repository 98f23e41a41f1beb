"""What the desk reports while it works, for whoever watches: plain hooks, no exporter.

`SupportDesk` calls a `DeskObserver` as turns queue, run and end and as
cleanup removes threads. The base observer ignores everything; the web layer
plugs in one that feeds Prometheus (`threaddesk.web.metrics`), a test one that
counts. Nothing here knows how the figures are shown.
"""

from __future__ import annotations

import asyncio
from enum import StrEnum

from threaddesk.errors import InternalError, ModelUnavailable, StorageUnavailable, ThreadDeskError


class Outcome(StrEnum):
    """How a turn ended."""

    OK = "ok"
    ABANDONED = "abandoned"  # the caller went away: rolled back, unless its reply was stored already
    MODEL_ERROR = "model_error"
    STORAGE_ERROR = "storage_error"
    REFUSED = "refused"  # the request's fault: unknown thread, busy with multitask_strategy=reject, ...
    FAILED = "failed"  # anything else (a bug): logged, rolled back

    @classmethod
    def of(cls, exc: BaseException, *, started: bool) -> Outcome:
        if isinstance(exc, asyncio.CancelledError | GeneratorExit):
            return cls.ABANDONED
        if isinstance(exc, StorageUnavailable):
            return cls.STORAGE_ERROR
        if isinstance(exc, ModelUnavailable):
            return cls.MODEL_ERROR
        if isinstance(exc, ThreadDeskError) and not isinstance(exc, InternalError):
            return cls.REFUSED  # the request's own fault (unknown thread, busy, bad checkpoint id, ...)
        return cls.FAILED


class DeskObserver:
    """Hooks `SupportDesk` calls; override the ones you need. Each must be quick and must not raise."""

    def turn_queued(self) -> None:
        """A turn asked for its thread (it waits while another turn holds it)."""

    def turn_started(self) -> None:
        """The turn holds its thread and runs."""

    def turn_ended(self, outcome: Outcome, seconds: float, *, started: bool) -> None:
        """The turn is over, `seconds` after it was asked for; `started` if it ever held its thread."""

    def cleanup_removed(self, count: int) -> None:
        """Cleanup deleted `count` idle threads."""
