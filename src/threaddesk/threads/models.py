"""Value types of the thread registry."""

from __future__ import annotations

import base64
import json
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from enum import StrEnum
from typing import Any

from threaddesk.errors import InvalidArgument

Clock = Callable[[], datetime]


def utc_now() -> datetime:
    return datetime.now(UTC)


class ThreadStatus(StrEnum):
    """LangGraph's thread statuses: `busy` while a turn runs, `error` if the last turn failed,
    `interrupted` if the last run paused before its end (an interrupt, `interrupt_before`/`after`)."""

    IDLE = "idle"
    BUSY = "busy"
    ERROR = "error"
    INTERRUPTED = "interrupted"


@dataclass(frozen=True, slots=True)
class Thread:
    """One conversation: its id is LangGraph's `thread_id`, its owner a user id."""

    thread_id: str
    user_id: str
    created_at: datetime
    last_active_at: datetime
    title: str | None = None
    metadata: dict[str, Any] = field(default_factory=dict)
    status: ThreadStatus = ThreadStatus.IDLE
    message_count: int = 0

    def to_dict(self) -> dict[str, Any]:
        return {
            "thread_id": self.thread_id,
            "user_id": self.user_id,
            "title": self.title,
            "metadata": dict(self.metadata),
            "status": str(self.status),
            "created_at": self.created_at.isoformat(),
            "last_active_at": self.last_active_at.isoformat(),
            "message_count": self.message_count,
        }


@dataclass(frozen=True, slots=True)
class ThreadPage:
    """A page of threads, newest activity first; pass `next_cursor` back for the next page."""

    threads: list[Thread]
    next_cursor: str | None = None


@dataclass(frozen=True, slots=True)
class PageCursor:
    """Keyset position: the (last_active_at, thread_id) of the last row of a page."""

    last_active_at: float
    thread_id: str

    def encode(self) -> str:
        raw = json.dumps([self.last_active_at, self.thread_id], separators=(",", ":"))
        return base64.urlsafe_b64encode(raw.encode()).decode().rstrip("=")

    @classmethod
    def decode(cls, cursor: str) -> PageCursor:
        try:
            padded = cursor + "=" * (-len(cursor) % 4)
            at, thread_id = json.loads(base64.urlsafe_b64decode(padded.encode()))
            if not isinstance(at, int | float) or not isinstance(thread_id, str):
                raise ValueError
            datetime.fromtimestamp(at, UTC)  # a real instant (not NaN, infinite or off the calendar)
            return cls(float(at), thread_id)
        except (ValueError, TypeError, OverflowError, OSError, json.JSONDecodeError) as exc:
            raise InvalidArgument(f"invalid cursor {cursor!r}") from exc


MAX_PAGE_SIZE = 1000

# LangGraph's `threads.search(sort_by=...)` names, and the registry column each sorts on.
SORT_COLUMNS = {
    "thread_id": "thread_id",
    "status": "status",
    "created_at": "created_at",
    "updated_at": "last_active_at",
    "state_updated_at": "last_active_at",
}


@dataclass(frozen=True, slots=True)
class ThreadQuery:
    """Which threads a search or a count wants, and (for a search) in what order, which slice.

    `ids` keeps only those ids; `metadata` those whose metadata holds each key
    with an equal value; `sort_by` is a key of `SORT_COLUMNS` (ties broken by
    thread id in the same direction).
    """

    user_id: str | None = None
    ids: tuple[str, ...] | None = None
    status: ThreadStatus | None = None
    metadata: dict[str, Any] | None = None
    sort_by: str = "updated_at"
    sort_order: str = "desc"
    limit: int = 10
    offset: int = 0

    def __post_init__(self) -> None:
        if self.sort_by not in SORT_COLUMNS:
            raise InvalidArgument(f"sort_by must be one of {', '.join(SORT_COLUMNS)}, got {self.sort_by!r}")
        if self.sort_order not in ("asc", "desc"):
            raise InvalidArgument(f"sort_order must be 'asc' or 'desc', got {self.sort_order!r}")
        check_limit(self.limit)
        if isinstance(self.offset, bool) or not isinstance(self.offset, int) or self.offset < 0:
            raise InvalidArgument(f"offset must be a non-negative integer, got {self.offset!r}")

    def order_by(self) -> str:
        """The SQL ORDER BY of this query (column names only from `SORT_COLUMNS`, never from input)."""
        direction = "ASC" if self.sort_order == "asc" else "DESC"
        return f"{SORT_COLUMNS[self.sort_by]} {direction}, thread_id {direction}"


def check_limit(limit: int) -> int:
    if not isinstance(limit, int) or isinstance(limit, bool) or not 1 <= limit <= MAX_PAGE_SIZE:
        raise InvalidArgument(f"limit must be an integer from 1 to {MAX_PAGE_SIZE}, got {limit!r}")
    return limit
