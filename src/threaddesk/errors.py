"""Errors of the threaddesk core.

They carry no HTTP status or exit code: the web and CLI layers map them. Every
error a caller can cause derives from `ThreadDeskError`, so one `except` covers
bad input without hiding programming errors.
"""

from __future__ import annotations


class ThreadDeskError(Exception):
    """Base class of every error threaddesk raises on purpose."""

    code = "threaddesk_error"


class InvalidArgument(ThreadDeskError, ValueError):
    """A value the caller passed is malformed (not merely unknown)."""

    code = "invalid_argument"


class InvalidThreadId(InvalidArgument):
    code = "invalid_thread_id"

    def __init__(self, thread_id: object, reason: str) -> None:
        self.thread_id = thread_id
        self.reason = reason
        super().__init__(f"invalid thread id {thread_id!r}: {reason}")


class InvalidUserId(InvalidArgument):
    code = "invalid_user_id"

    def __init__(self, user_id: object, reason: str) -> None:
        self.user_id = user_id
        super().__init__(f"invalid user id {user_id!r}: {reason}")


class InvalidDuration(InvalidArgument):
    code = "invalid_duration"

    def __init__(self, text: object) -> None:
        self.text = text
        super().__init__(
            f"invalid duration {text!r}: use a number and a unit, e.g. 90s, 15m, 12h, 7d or 2w"
            " (at most 100 years)"
        )


class MessageTooLarge(InvalidArgument):
    code = "message_too_large"

    def __init__(self, size: int, limit: int) -> None:
        self.size = size
        self.limit = limit
        super().__init__(f"message of {size} bytes exceeds the limit of {limit} bytes")


class ThreadNotFound(ThreadDeskError, LookupError):
    """No thread with this id, or not one the caller may see (same answer on purpose)."""

    code = "thread_not_found"

    def __init__(self, thread_id: str) -> None:
        self.thread_id = thread_id
        super().__init__(f"thread {thread_id!r} not found")


class CheckpointNotFound(ThreadDeskError, LookupError):
    """The thread has no checkpoint with this id (never had, or pruned: see `keep_checkpoints`)."""

    code = "checkpoint_not_found"

    def __init__(self, thread_id: str, checkpoint_id: str) -> None:
        self.thread_id = thread_id
        super().__init__(f"thread {thread_id!r} has no checkpoint {checkpoint_id!r}")


class RunNotFound(ThreadDeskError, LookupError):
    """No run with this id on this thread (or not one the caller may see)."""

    code = "run_not_found"

    def __init__(self, run_id: str) -> None:
        self.run_id = run_id
        super().__init__(f"run {run_id!r} not found")


class RunInProgress(ThreadDeskError):
    """The run is still going: what was asked needs a finished run."""

    code = "run_in_progress"

    def __init__(self, run_id: str) -> None:
        super().__init__(f"run {run_id!r} is still running")


class ThreadExists(ThreadDeskError):
    code = "thread_exists"

    def __init__(self, thread_id: str) -> None:
        self.thread_id = thread_id
        super().__init__(f"thread {thread_id!r} already exists")


class ThreadBusy(ThreadDeskError):
    """A turn is already running on the thread and the caller asked not to wait."""

    code = "thread_busy"

    def __init__(self, thread_id: str) -> None:
        self.thread_id = thread_id
        super().__init__(f"thread {thread_id!r} is busy with another turn")


class StorageUnavailable(ThreadDeskError):
    """The database cannot be opened or reached."""

    code = "storage_unavailable"


class ModelUnavailable(ThreadDeskError):
    """The chat model cannot be built (unknown provider, missing extra) or failed to answer."""

    code = "model_unavailable"


class InternalError(ThreadDeskError):
    """Something failed that no caller could have caused (a bug): logged with its traceback.

    A turn that ends this way is rolled back like any failed turn; the web layer
    answers 500 and the CLI exits with its own code, instead of blaming the
    model or the database.
    """

    code = "internal_error"


class UserExists(ThreadDeskError):
    code = "user_exists"

    def __init__(self, name: str) -> None:
        self.name = name
        super().__init__(f"user {name!r} already exists")


class UserNotFound(ThreadDeskError, LookupError):
    code = "user_not_found"

    def __init__(self, name: str) -> None:
        self.name = name
        super().__init__(f"user {name!r} not found")


class LimitExceeded(ThreadDeskError):
    """A per-user limit refused the request; nothing was stored.

    `retry_after` is the seconds until waiting alone would let it through, or
    None when waiting will not help (free something up first).
    """

    code = "limit_exceeded"

    def __init__(self, message: str, retry_after: float | None = None) -> None:
        self.retry_after = retry_after
        super().__init__(message)


class RateLimited(LimitExceeded):
    code = "rate_limited"

    def __init__(self, user_id: str, per_minute: int, retry_after: float) -> None:
        self.user_id = user_id
        super().__init__(
            f"user {user_id!r} may send {per_minute} messages a minute: retry in {retry_after:.1f}s",
            retry_after,
        )


class TooManyThreads(LimitExceeded):
    code = "too_many_threads"

    def __init__(self, user_id: str, limit: int) -> None:
        self.user_id = user_id
        self.limit = limit
        super().__init__(f"user {user_id!r} has reached the limit of {limit} threads: delete one first")


class ItemNotFound(ThreadDeskError, LookupError):
    """No store item under this namespace and key (for this user: every user has their own store)."""

    code = "item_not_found"

    def __init__(self, namespace: tuple[str, ...], key: str) -> None:
        self.namespace = namespace
        self.key = key
        super().__init__(f"no item {key!r} in namespace {list(namespace)!r}")


class GraphNotFound(ThreadDeskError, LookupError):
    """A run or an assistant call named a graph (or assistant) this desk does not serve."""

    code = "graph_not_found"

    def __init__(self, graph_id: str, served: list[str]) -> None:
        self.graph_id = graph_id
        self.served = served
        super().__init__(f"graph {graph_id!r} not found: this desk serves {', '.join(served)}")


class GraphLoadError(ThreadDeskError):
    """A graph named in the config could not be imported, built or served (a start-up error).

    The message is one line naming the graph, where it comes from and what went wrong,
    so `threaddesk serve` can print it and exit before taking a request.
    """

    code = "graph_load_error"

    def __init__(self, graph_id: str, location: str, reason: str) -> None:
        self.graph_id = graph_id
        self.location = location
        self.reason = " ".join(reason.split())  # one line
        super().__init__(f"graph {graph_id!r} ({location}): {self.reason}")


class NotInterrupted(ThreadDeskError):
    """A human agent answered a thread that no longer waits for one: someone else answered first
    (the loser of two agents replying at once), or it was never handed over."""

    code = "not_interrupted"

    def __init__(self, thread_id: str, detail: str = "it is not waiting for a human agent") -> None:
        self.thread_id = thread_id
        super().__init__(f"thread {thread_id!r}: {detail}")


class NotAllowed(ThreadDeskError):
    """The caller's role does not allow this (a customer answering as a human agent)."""

    code = "forbidden"


class AssistantNotFound(ThreadDeskError, LookupError):
    """No assistant (stored, or a graph's own) with this id, or no such version of it."""

    code = "assistant_not_found"

    def __init__(self, assistant_id: str, version: int | None = None) -> None:
        self.assistant_id = assistant_id
        self.version = version
        what = f"assistant {assistant_id!r}" if version is None else f"version {version} of {assistant_id!r}"
        super().__init__(f"{what} not found")


class AssistantExists(ThreadDeskError):
    """`create` with `if_exists="raise"` on a taken assistant id."""

    code = "assistant_exists"

    def __init__(self, assistant_id: str) -> None:
        self.assistant_id = assistant_id
        super().__init__(f"assistant {assistant_id!r} already exists")


class SystemAssistant(ThreadDeskError):
    """A graph's own assistant is part of the desk: it cannot be changed or deleted."""

    code = "system_assistant"

    def __init__(self, assistant_id: str) -> None:
        self.assistant_id = assistant_id
        super().__init__(
            f"assistant {assistant_id!r} is a graph's own (created_by: system) and cannot be changed;"
            " create an assistant of that graph instead"
        )
