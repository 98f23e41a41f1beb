"""Per-thread turn locks: one turn at a time on a thread, any number across threads."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from threaddesk.errors import ThreadBusy


class _Entry:
    __slots__ = ("lock", "users")

    def __init__(self) -> None:
        self.lock = asyncio.Lock()
        self.users = 0


class ThreadLocks:
    """A FIFO lock per thread id, created on demand and dropped when nobody holds or waits.

    asyncio.Lock wakes waiters in arrival order, so a burst of turns on one
    thread is applied in the order it arrived. Entries are reference counted,
    so memory stays bounded by the number of threads in use right now.
    """

    def __init__(self) -> None:
        self._entries: dict[str, _Entry] = {}

    def __len__(self) -> int:
        return len(self._entries)

    def locked_ids(self) -> list[str]:
        """The threads held (or waited for) in this process now."""
        return [thread_id for thread_id in list(self._entries) if self.is_locked(thread_id)]

    def is_locked(self, thread_id: str) -> bool:
        entry = self._entries.get(thread_id)
        return entry is not None and entry.lock.locked()

    @asynccontextmanager
    async def hold(self, thread_id: str, *, wait: bool = True) -> AsyncIterator[None]:
        """Hold `thread_id`'s lock; with `wait=False` raise `ThreadBusy` instead of queueing."""
        entry = self._entries.get(thread_id)
        if entry is None:
            entry = self._entries[thread_id] = _Entry()
        if not wait and entry.users:
            raise ThreadBusy(thread_id)
        entry.users += 1
        try:
            await entry.lock.acquire()
            try:
                yield
            finally:
                entry.lock.release()
        finally:
            entry.users -= 1
            if entry.users == 0:
                del self._entries[thread_id]
