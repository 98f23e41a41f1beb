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
    """LangGraph's thread statuses: `busy` while a turn runs, `error` if the last turn failed."""

    IDLE = "idle"
    BUSY = "busy"
    ERROR = "error"


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


def check_limit(limit: int) -> int:
    if not isinstance(limit, int) or isinstance(limit, bool) or not 1 <= limit <= MAX_PAGE_SIZE:
        raise InvalidArgument(f"limit must be an integer from 1 to {MAX_PAGE_SIZE}, got {limit!r}")
    return limit
