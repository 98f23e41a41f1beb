"""What the thread manager needs of storage: a registry of threads and an archive of old messages.

The manager talks only to these interfaces, so a backend (SQLite, PostgreSQL:
see `threaddesk.storage`) slots in without touching it. Methods are async; a
backend over a blocking driver runs its statements in a worker thread.
"""

from __future__ import annotations

import builtins
from abc import ABC, abstractmethod
from collections.abc import AsyncIterator, Mapping, Sequence
from contextlib import asynccontextmanager
from datetime import datetime
from typing import Any

from langchain_core.messages import BaseMessage
from langgraph.checkpoint.serde.jsonplus import JsonPlusSerializer

from threaddesk.threads.models import PageCursor, Thread, ThreadQuery, ThreadStatus
from threaddesk.threads.search import IndexedMessage, SearchHit


class ThreadRegistry(ABC):
    """Rows of thread metadata keyed by thread id."""

    async def setup(self) -> None:
        """Create or migrate the schema; idempotent."""

    async def close(self) -> None:
        """Release connections."""

    @abstractmethod
    async def ping(self) -> None:
        """One cheap round trip to the database (a readiness probe); `StorageUnavailable` if it fails."""

    @asynccontextmanager
    async def turn_lock(self, thread_id: str, *, wait: bool = True) -> AsyncIterator[None]:
        """Hold `thread_id` against other processes sharing this database, for one turn.

        With `wait=False`, raise `ThreadBusy` instead of waiting. The manager
        takes its in-process lock first, so this is only the cross-process part
        (PostgreSQL: an advisory lock; SQLite: a byte-range lock on a sidecar file).
        """
        yield

    async def turn_held(self, thread_id: str) -> bool:
        """Whether some process holds `thread_id`'s cross-process turn lock now (a look, not a take:
        for `multitask_strategy="reject"` before a run is queued). False where it cannot tell."""
        return False

    @asynccontextmanager
    async def try_turn_locks(self, thread_ids: Sequence[str]) -> AsyncIterator[list[str]]:
        """Take, without waiting, the cross-process turn locks of these threads, for a batch job.

        Yields the ids it could lock (all of them where only one process uses
        the registry) and holds them until the block ends.
        """
        yield list(thread_ids)

    @abstractmethod
    async def insert(self, thread: Thread) -> bool:
        """Add `thread`; False (and nothing written) if its id is taken."""

    @abstractmethod
    async def get(self, thread_id: str) -> Thread | None:
        """The thread, or None."""

    @abstractmethod
    async def list(
        self,
        *,
        user_id: str | None = None,
        status: ThreadStatus | None = None,
        metadata: Mapping[str, Any] | None = None,
        inactive_before: datetime | None = None,
        limit: int = 50,
        after: PageCursor | None = None,
        title: str | None = None,
    ) -> list[Thread]:
        """Threads matching every filter, ordered by (last_active_at, thread_id) descending.

        `metadata` matches threads whose metadata holds each key with an equal
        value; `inactive_before` those last active strictly before it; `title`
        those whose title contains it, ignoring case (SQLite folds ASCII letters
        only); `after` continues past a previous page's last row.
        """

    @abstractmethod
    async def search(self, query: ThreadQuery) -> builtins.list[Thread]:
        """The `query.limit` threads after `query.offset` matching `query`, in its order."""

    @abstractmethod
    async def count_matching(self, query: ThreadQuery) -> int:
        """How many threads match `query`'s filters (its order and slice aside)."""

    @abstractmethod
    async def update(
        self,
        thread_id: str,
        *,
        title: str | None = None,
        metadata: Mapping[str, Any] | None = None,
    ) -> Thread | None:
        """Set the title (if given) and merge `metadata` (a None value removes the key)."""

    @abstractmethod
    async def record_turn(
        self,
        thread_id: str,
        *,
        at: datetime,
        message_count: int,
        status: ThreadStatus = ThreadStatus.IDLE,
        said: Sequence[IndexedMessage] = (),
    ) -> Thread | None:
        """Record a finished turn: activity time, message count, status.

        `said` (the turn's question and reply) goes into the backend's `MessageIndex`
        in the same transaction, so the index holds exactly the turns recorded,
        for the price of one write (nothing if the thread is gone).
        """

    @abstractmethod
    async def delete(self, thread_id: str, *, inactive_before: datetime | None = None) -> bool:
        """Remove the row; with `inactive_before`, only if it is still that idle. True if removed."""

    async def delete_many(
        self, thread_ids: Sequence[str], *, inactive_before: datetime | None = None
    ) -> builtins.list[str]:
        """`delete` for several threads at once; the ids actually removed.

        Backends override this with one statement where they can.
        """
        return [t for t in thread_ids if await self.delete(t, inactive_before=inactive_before)]

    async def purge(
        self, thread_ids: Sequence[str], *, inactive_before: datetime | None = None
    ) -> builtins.list[str] | None:
        """Remove these threads' rows, checkpoints and archived messages in ONE transaction; the ids removed.

        None where the backend cannot (the manager then removes them in steps,
        and `reclaim_orphans` tidies up after a crash between the steps).
        """
        return None

    async def reclaim_orphans(self) -> int:
        """Remove checkpoints and archived messages whose thread has no row; how many threads they were."""
        return 0

    @abstractmethod
    async def count(self) -> int:
        """How many threads are registered."""


def merge_metadata(current: Mapping[str, Any], patch: Mapping[str, Any] | None) -> dict[str, Any]:
    merged = dict(current)
    for key, value in (patch or {}).items():
        if value is None:
            merged.pop(key, None)
        else:
            merged[key] = value
    return merged


# How messages are stored: the same serializer LangGraph's savers use.
SERDE = JsonPlusSerializer()


class MessageArchive(ABC):
    """Append-only message rows keyed by (thread_id, position): a thread's oldest messages.

    A long thread's checkpoint keeps only its recent messages (see
    `SupportDesk`), so a turn reads and writes a bounded state however long the
    conversation; the older messages move here, once, in order, and are read
    back only for the full history. Position p is the thread's p-th message (from 0).
    """

    @abstractmethod
    async def put(self, thread_id: str, start: int, messages: Sequence[BaseMessage]) -> None:
        """Store `messages` at positions `start`, `start + 1`, ...

        A position stored again is overwritten, so a move that is retried after
        failing half way leaves one copy of each message.
        """

    @abstractmethod
    async def read(self, thread_id: str, start: int, stop: int) -> list[BaseMessage]:
        """The messages at positions `start` <= p < `stop`, oldest first."""

    @abstractmethod
    async def delete(self, thread_ids: Sequence[str]) -> None:
        """Remove every archived message of these threads."""


class PrunableSaver(ABC):
    """A capability of a backend's LangGraph saver: dropping superseded checkpoints.

    LangGraph's `BaseCheckpointSaver.aprune` keeps only the latest checkpoint,
    and most savers do not implement it at all; a backend whose saver keeps the
    `keep` newest declares it by deriving from this class as well, and the
    thread manager then prunes after each turn (`keep_checkpoints`) and deletes
    expired threads' checkpoints in one batch.
    """

    @abstractmethod
    async def aprune(
        self, thread_ids: Sequence[str], *, strategy: str = "keep_latest", keep: int = 1
    ) -> None:
        """Drop superseded checkpoints (and their writes) of these threads.

        `"keep_latest"` keeps the `keep` newest checkpoints per namespace, so
        the latest is never deleted (`keep` < 1 is a `ValueError`); `"delete"`
        removes every checkpoint of the threads.
        """


class TurnBatching(ABC):
    """A capability of a registry that shares a transaction with its backend's saver: a turn in two
    round trips to the database instead of five or six.

    A turn has two storage phases around the graph run. Read: the registry row
    and the thread's latest checkpoint (`begin_turn`, which hands the checkpoint
    to the saver so the graph's own read costs nothing). Write: the turn's
    checkpoint, held back by the saver while the turn is open, the registry
    update, the search index and the prune, in one transaction (`end_turn`): a
    turn is then stored whole or not at all. The thread manager calls these with
    the thread's turn lock held (so nothing else writes the thread meanwhile),
    and only when `batches_for` its own checkpointer.
    """

    @abstractmethod
    def batches_for(self, checkpointer: object) -> bool:
        """Whether `checkpointer` is the saver this registry shares its transactions with."""

    @asynccontextmanager
    async def held_turn(self, thread_id: str, *, wait: bool) -> AsyncIterator[Thread | None]:
        """One batched turn: the thread held against other processes, its row (`begin_turn`), and
        on the way out `close_turn` (keeping what the saver holds back only if the block ended
        normally), all before the lock is let go. `ThreadBusy` if not `wait` and the thread is held.

        By default the registry's `turn_lock`, then `begin_turn`; a backend may take the lock and
        read in one round trip instead (PostgreSQL: on the connection that holds the lock).
        """
        assert isinstance(self, ThreadRegistry)
        async with self.turn_lock(thread_id, wait=wait):
            completed = False
            try:
                thread = await self.begin_turn(thread_id)
                yield thread
                completed = True
            finally:
                await self.close_turn(thread_id, keep_held=completed)

    @abstractmethod
    async def begin_turn(self, thread_id: str) -> Thread | None:
        """The thread's row (None if absent); from now until `close_turn` the saver holds the
        thread's checkpoint writes back, and serves its first read of the latest checkpoint."""

    @abstractmethod
    async def end_turn(
        self,
        thread_id: str,
        *,
        at: datetime,
        message_count: int,
        status: ThreadStatus,
        said: Sequence[IndexedMessage],
        keep_checkpoints: int,
    ) -> Thread | None:
        """`record_turn` and the checkpoint writes held back, pruned to `keep_checkpoints` (0: keep
        all), in ONE transaction; None (and nothing written) if the thread is gone."""

    @abstractmethod
    async def close_turn(self, thread_id: str, *, keep_held: bool) -> None:
        """The turn is over: write what the saver still holds back (`keep_held`) or drop it (a
        failed turn: what it did not record is never stored), and stop holding the thread."""


class MessageIndex(ABC):
    """The text of every stored question and reply, for full-text search (`SupportDesk.search`).

    Rows are keyed by (thread_id, message_id), so indexing a message twice keeps
    one copy. A backend removes a thread's rows in the same statement that
    removes the thread's registry row (a trigger or a cascading foreign key), so
    a deleted or expired thread is never found, whoever deleted it.
    """

    @abstractmethod
    async def add(self, thread_id: str, messages: Sequence[IndexedMessage]) -> None:
        """Index these messages of the thread (those already indexed are left as they are).

        For `SupportDesk.reindex`; a turn's messages arrive with `ThreadRegistry.record_turn`.
        """

    @abstractmethod
    async def search(self, terms: Sequence[str], *, user_id: str | None, limit: int) -> list[SearchHit]:
        """Messages holding every term (as a word or the start of one), best match first.

        `terms` come from `threads.search.search_terms` (letters and digits only);
        with `user_id`, only that user's threads are searched.
        """
