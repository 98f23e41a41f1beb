"""Exit codes of the `threaddesk` command: the one place core errors become them.

Every command runs inside `ThreadDeskGroup.invoke`, so a `ThreadDeskError`
raised anywhere below (including commands other modules register) becomes one
line on stderr and its exit code, never a traceback.
"""

from __future__ import annotations

from enum import IntEnum
from typing import Any, NoReturn

import typer
from typer.core import TyperGroup

from threaddesk.errors import (
    AssistantExists,
    AssistantNotFound,
    GraphLoadError,
    GraphNotFound,
    InternalError,
    InvalidArgument,
    LimitExceeded,
    ModelUnavailable,
    NotAllowed,
    NotInterrupted,
    StorageUnavailable,
    SystemAssistant,
    ThreadBusy,
    ThreadDeskError,
    ThreadExists,
    ThreadNotFound,
    UserExists,
    UserNotFound,
)


class ExitCode(IntEnum):
    OK = 0
    FAILURE = 1  # a check failed (demo), or the user declined a confirmation
    INVALID_INPUT = 2  # bad option, id, duration, message; also click's usage errors
    THREAD_NOT_FOUND = 3  # or unknown user, assistant, graph
    STORAGE_UNAVAILABLE = 4
    MODEL_UNAVAILABLE = 5
    CONFLICT = 6  # the id belongs to another user's thread, the thread is busy, the user (assistant) exists
    LIMIT_EXCEEDED = 7  # a per-user limit (threads per user, messages per minute)
    INTERNAL_ERROR = 8  # a bug: the turn was rolled back and the traceback logged


_CODES: list[tuple[type[ThreadDeskError], ExitCode]] = [
    (GraphLoadError, ExitCode.INVALID_INPUT),  # a graph of --config cannot be served: fix the config
    (GraphNotFound, ExitCode.INVALID_INPUT),
    (InvalidArgument, ExitCode.INVALID_INPUT),
    (ThreadNotFound, ExitCode.THREAD_NOT_FOUND),
    (UserNotFound, ExitCode.THREAD_NOT_FOUND),
    (AssistantNotFound, ExitCode.THREAD_NOT_FOUND),
    (GraphNotFound, ExitCode.THREAD_NOT_FOUND),
    (StorageUnavailable, ExitCode.STORAGE_UNAVAILABLE),
    (ModelUnavailable, ExitCode.MODEL_UNAVAILABLE),
    (ThreadExists, ExitCode.CONFLICT),
    (ThreadBusy, ExitCode.CONFLICT),
    (UserExists, ExitCode.CONFLICT),
    (NotInterrupted, ExitCode.CONFLICT),
    (NotAllowed, ExitCode.INVALID_INPUT),
    (AssistantExists, ExitCode.CONFLICT),
    (SystemAssistant, ExitCode.CONFLICT),
    (LimitExceeded, ExitCode.LIMIT_EXCEEDED),
    (InternalError, ExitCode.INTERNAL_ERROR),
]


def exit_code(error: ThreadDeskError) -> ExitCode:
    for kind, code in _CODES:
        if isinstance(error, kind):
            return code
    return ExitCode.FAILURE


def fail(message: str, code: ExitCode = ExitCode.INVALID_INPUT) -> NoReturn:
    """Print `error: message` on stderr and exit with `code`."""
    typer.echo(f"error: {message}", err=True)
    raise typer.Exit(code)


class ThreadDeskGroup(TyperGroup):
    """The root command group: maps core errors to one stderr line and an exit code."""

    def invoke(self, ctx: typer.Context) -> Any:  # type: ignore[override]  # typer types it as its click copy
        try:
            return super().invoke(ctx)
        except ThreadDeskError as error:
            fail(str(error), exit_code(error))
