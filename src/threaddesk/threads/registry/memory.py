"""A registry in a dict: for demos and tests; gone with the process."""

from __future__ import annotations

import copy
import dataclasses
from collections.abc import Mapping
from datetime import datetime
from typing import Any

from threaddesk.threads.models import PageCursor, Thread, ThreadStatus
from threaddesk.threads.registry.base import ThreadRegistry, merge_metadata


def _snapshot(thread: Thread) -> Thread:
    """A copy whose metadata the caller may change without touching the stored row."""
    return dataclasses.replace(thread, metadata=copy.deepcopy(thread.metadata))


def _sort_key(thread: Thread) -> tuple[float, str]:
    return (thread.last_active_at.timestamp(), thread.thread_id)


class MemoryRegistry(ThreadRegistry):
    def __init__(self) -> None:
        self._threads: dict[str, Thread] = {}

    async def insert(self, thread: Thread) -> bool:
        if thread.thread_id in self._threads:
            return False
        self._threads[thread.thread_id] = _snapshot(thread)
        return True

    async def get(self, thread_id: str) -> Thread | None:
        thread = self._threads.get(thread_id)
        return _snapshot(thread) if thread else None

    async def list(
        self,
        *,
        user_id: str | None = None,
        status: ThreadStatus | None = None,
        metadata: Mapping[str, Any] | None = None,
        inactive_before: datetime | None = None,
        limit: int = 50,
        after: PageCursor | None = None,
    ) -> list[Thread]:
        def matches(t: Thread) -> bool:
            return (
                (user_id is None or t.user_id == user_id)
                and (status is None or t.status == status)
                and all(k in t.metadata and t.metadata[k] == v for k, v in (metadata or {}).items())
                and (inactive_before is None or t.last_active_at < inactive_before)
                and (after is None or _sort_key(t) < (after.last_active_at, after.thread_id))
            )

        found = sorted(filter(matches, self._threads.values()), key=_sort_key, reverse=True)
        return [_snapshot(t) for t in found[:limit]]

    async def update(
        self,
        thread_id: str,
        *,
        title: str | None = None,
        metadata: Mapping[str, Any] | None = None,
    ) -> Thread | None:
        thread = self._threads.get(thread_id)
        if thread is None:
            return None
        thread = dataclasses.replace(
            thread,
            title=thread.title if title is None else title,
            metadata=merge_metadata(thread.metadata, metadata),
        )
        self._threads[thread_id] = _snapshot(thread)
        return _snapshot(thread)

    async def record_turn(
        self,
        thread_id: str,
        *,
        at: datetime,
        message_count: int,
        status: ThreadStatus = ThreadStatus.IDLE,
    ) -> Thread | None:
        thread = self._threads.get(thread_id)
        if thread is None:
            return None
        thread = dataclasses.replace(thread, last_active_at=at, message_count=message_count, status=status)
        self._threads[thread_id] = thread
        return _snapshot(thread)

    async def delete(self, thread_id: str, *, inactive_before: datetime | None = None) -> bool:
        thread = self._threads.get(thread_id)
        if thread is None or (inactive_before is not None and thread.last_active_at >= inactive_before):
            return False
        del self._threads[thread_id]
        return True

    async def count(self) -> int:
        return len(self._threads)
