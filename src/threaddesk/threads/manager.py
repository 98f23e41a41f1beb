"""The thread manager: one registry row plus one LangGraph checkpoint history per thread.

It owns the rules: ids are validated, a thread is created only on request,
ownership is checked, deleting a thread deletes its checkpoints, idle threads
expire, and turns on one thread are serialised.
"""

from __future__ import annotations

import builtins
import dataclasses
from collections.abc import AsyncIterator, Awaitable, Callable, Mapping, Sequence
from contextlib import AsyncExitStack, asynccontextmanager
from datetime import datetime, timedelta
from typing import Any, Literal

from langgraph.checkpoint.base import BaseCheckpointSaver

from threaddesk.durations import parse_duration
from threaddesk.errors import InvalidArgument, ThreadBusy, ThreadExists, ThreadNotFound, TooManyThreads
from threaddesk.ids import new_thread_id, validate_thread_id, validate_user_id
from threaddesk.threads.copying import copy_checkpoints
from threaddesk.threads.interfaces import (
    MessageArchive,
    PrunableSaver,
    ThreadRegistry,
    TurnBatching,
    merge_metadata,
)
from threaddesk.threads.locks import ThreadLocks
from threaddesk.threads.models import (
    MAX_PAGE_SIZE,
    Clock,
    PageCursor,
    Thread,
    ThreadPage,
    ThreadQuery,
    ThreadStatus,
    check_limit,
    utc_now,
)
from threaddesk.threads.search import IndexedMessage
from threaddesk.values import check_metadata, check_text

IfExists = Literal["raise", "get"]
MAX_TITLE_LENGTH = 200
CLEANUP_BATCH = 500
MAX_OFFSET = 2**62


def _check_title(title: str | None) -> str | None:
    if title is None:
        return None
    if not isinstance(title, str) or len(title) > MAX_TITLE_LENGTH:
        raise InvalidArgument(f"title must be a string of at most {MAX_TITLE_LENGTH} characters")
    return check_text(title, "title").strip() or None


class ThreadManager:
    """Create, find, list, update, delete and expire threads.

    Args:
        registry: where thread rows live.
        checkpointer: the LangGraph saver holding each thread's memory.
        clock: returns the current UTC time; inject one to test TTLs without sleeping.
        keep_checkpoints: after each turn, prune the thread's checkpoints to the
            latest this many (0 keeps all), so storage grows with the conversation,
            not with the square of it. Needs a saver with the `PrunableSaver`
            capability (every threaddesk backend's has it); ignored otherwise.
        max_threads_per_user: creating a thread beyond this many for one user
            raises `TooManyThreads` (None: no limit). Exact within a process;
            replicas creating for the same user at the same instant may overshoot.
        archive: where messages moved out of long threads' checkpoints live
            (see `SupportDesk`); deleting a thread deletes them too.
        also_delete: more of a thread's records kept elsewhere (its runs): each
            is called with the ids of threads being deleted.
    """

    def __init__(
        self,
        registry: ThreadRegistry,
        checkpointer: BaseCheckpointSaver,
        *,
        clock: Clock = utc_now,
        keep_checkpoints: int = 0,
        max_threads_per_user: int | None = None,
        archive: MessageArchive | None = None,
        also_delete: Sequence[Callable[[Sequence[str]], Awaitable[None]]] = (),
    ) -> None:
        if keep_checkpoints < 0:
            raise InvalidArgument("keep_checkpoints must not be negative")
        if max_threads_per_user is not None and max_threads_per_user < 1:
            raise InvalidArgument("max_threads_per_user must be at least 1")
        self.registry = registry
        self.checkpointer = checkpointer
        self.archive = archive
        self.also_delete = list(also_delete)
        self.clock = clock
        self.locks = ThreadLocks()
        self.max_threads_per_user = max_threads_per_user
        self._creating = ThreadLocks()  # per user: count-then-insert is one step within this process
        self.pruner = checkpointer if isinstance(checkpointer, PrunableSaver) else None
        self.keep_checkpoints = keep_checkpoints if self.pruner is not None else 0
        # A turn's reads and writes in one round trip each, where registry and saver share a database.
        self.batching = (
            registry if isinstance(registry, TurnBatching) and registry.batches_for(checkpointer) else None
        )
        self._batched: set[str] = set()  # threads in a batched turn in this manager now

    @asynccontextmanager
    async def _hold(self, thread_id: str, *, wait: bool = True) -> AsyncIterator[None]:
        """Hold the thread against every other turn: this process's lock, then the registry's.

        In-process first: it is cheap, FIFO, and leaves at most one task per
        thread and process waiting on (and holding a connection for) the
        registry's cross-process lock.
        """
        async with self.locks.hold(thread_id, wait=wait), self.registry.turn_lock(thread_id, wait=wait):
            yield

    async def create(
        self,
        user_id: str,
        thread_id: str | None = None,
        title: str | None = None,
        metadata: Mapping[str, Any] | None = None,
        *,
        if_exists: IfExists = "raise",
    ) -> Thread:
        """Register a new thread; a generated id unless the caller chooses one.

        Raises:
            InvalidThreadId: the chosen id is malformed.
            ThreadExists: the id is taken and `if_exists="raise"`. With
                `if_exists="get"` the existing thread is returned, if `user_id` owns it.
            TooManyThreads: `user_id` already owns `max_threads_per_user` threads.
        """
        validate_user_id(user_id)
        if if_exists not in ("raise", "get"):
            raise InvalidArgument(f"if_exists must be 'raise' or 'get', got {if_exists!r}")
        chosen = thread_id is not None
        thread_id = validate_thread_id(thread_id) if chosen else new_thread_id()
        now = self.clock()
        thread = Thread(
            thread_id=thread_id,
            user_id=user_id,
            title=_check_title(title),
            metadata=check_metadata(metadata),
            created_at=now,
            last_active_at=now,
        )
        if self.max_threads_per_user is None:
            return await self._insert(thread, if_exists)
        async with self._creating.hold(user_id):
            owned = await self.registry.list(user_id=user_id, limit=self.max_threads_per_user)
            if len(owned) >= self.max_threads_per_user and await self.registry.get(thread_id) is None:
                raise TooManyThreads(user_id, self.max_threads_per_user)
            return await self._insert(thread, if_exists)

    async def _insert(self, thread: Thread, if_exists: IfExists) -> Thread:
        thread_id, user_id = thread.thread_id, thread.user_id
        if await self.registry.insert(thread):
            return thread
        existing = await self.registry.get(thread_id)
        if if_exists == "get" and existing is not None and existing.user_id == user_id:
            return existing
        # Taken (by this user, or by another: an id can't be handed over).
        raise ThreadExists(thread_id)

    async def new_conversation(
        self, user_id: str, title: str | None = None, metadata: Mapping[str, Any] | None = None
    ) -> Thread:
        """Start a fresh thread for `user_id`; their other threads stay as they are."""
        return await self.create(user_id, title=title, metadata=metadata)

    async def get(self, thread_id: str, *, user_id: str | None = None) -> Thread:
        """The thread, or `ThreadNotFound`; with `user_id`, also when someone else owns it."""
        validate_thread_id(thread_id)
        thread = await self.registry.get(thread_id)
        if thread is None or (user_id is not None and thread.user_id != user_id):
            raise ThreadNotFound(thread_id)
        return self._live(thread)

    async def list(
        self,
        user_id: str | None = None,
        status: ThreadStatus | str | None = None,
        metadata: Mapping[str, Any] | None = None,
        inactive_since: datetime | timedelta | str | None = None,
        limit: int = 50,
        cursor: str | None = None,
        title: str | None = None,
    ) -> ThreadPage:
        """Threads by most recent activity, one page at a time.

        `inactive_since` keeps threads with no activity since then: a datetime,
        or an idle duration (`timedelta` or "7d") counted back from now; `title`
        those whose title contains it, ignoring case.
        """
        check_limit(limit)
        if title is not None:
            title = _check_title(title)
            if title is None:
                raise InvalidArgument("the title to search for must not be empty")
        if status is not None:
            try:
                status = ThreadStatus(status)
            except ValueError as exc:
                statuses = ", ".join(s.value for s in ThreadStatus)
                raise InvalidArgument(f"status must be one of {statuses}, got {status!r}") from exc
        if isinstance(inactive_since, timedelta | str):
            inactive_since = self.clock() - parse_duration(inactive_since)
        after = PageCursor.decode(cursor) if cursor else None
        metadata = check_metadata(metadata)
        if status is ThreadStatus.BUSY and not len(self.locks):
            return ThreadPage([])
        # The registry filters what it stores; `busy` is live, so rows are checked
        # again after the overlay and the scan goes on until the page is full.
        found: list[Thread] = []
        while len(found) <= limit:
            rows = await self.registry.list(
                user_id=user_id,
                status=None if status is ThreadStatus.BUSY else status,
                metadata=metadata,
                inactive_before=inactive_since,
                limit=limit + 1,
                after=after,
                title=title,
            )
            found += [t for t in map(self._live, rows) if status is None or t.status is status]
            if len(rows) <= limit:
                break
            after = PageCursor(rows[-1].last_active_at.timestamp(), rows[-1].thread_id)
        if len(found) <= limit:
            return ThreadPage(found)
        last = found[limit - 1]
        return ThreadPage(
            found[:limit],
            PageCursor(last.last_active_at.timestamp(), last.thread_id).encode(),
        )

    async def search(self, query: ThreadQuery) -> builtins.list[Thread]:
        """One slice of the threads matching `query`, in its order (LangGraph's `threads.search`).

        `busy` is live (a turn held in this process), so that status is looked
        up in this process's locks, not in the registry.
        """
        query = self._checked(query)
        if query.offset > MAX_OFFSET:  # past any table a database can hold (and its integers)
            return []
        if query.status is ThreadStatus.BUSY:
            busy = self.locks.locked_ids()
            ids = busy if query.ids is None else [i for i in query.ids if i in busy]
            query = dataclasses.replace(query, status=None, ids=tuple(ids))
        return [self._live(thread) for thread in await self.registry.search(query)]

    async def count_matching(self, query: ThreadQuery) -> int:
        """How many threads match `query`'s filters (LangGraph's `threads.count`)."""
        query = self._checked(query)
        if query.status is ThreadStatus.BUSY:
            busy = self.locks.locked_ids()
            ids = busy if query.ids is None else [i for i in query.ids if i in busy]
            query = dataclasses.replace(query, status=None, ids=tuple(ids))
        return await self.registry.count_matching(query)

    @staticmethod
    def _checked(query: ThreadQuery) -> ThreadQuery:
        ids = None if query.ids is None else tuple(validate_thread_id(i) for i in query.ids)
        if ids is not None and len(ids) > MAX_PAGE_SIZE:
            raise InvalidArgument(f"ids may name at most {MAX_PAGE_SIZE} threads")
        return dataclasses.replace(query, ids=ids, metadata=check_metadata(query.metadata) or None)

    async def copy(self, thread_id: str, owner: str, *, user_id: str | None = None) -> Thread:
        """A new thread for `owner` with the title, metadata, checkpoints and archive of `thread_id`.

        Taken between turns (the source's turn lock is held), so the copy is of
        a whole turn; if copying fails, the half-made copy is deleted.
        """
        async with self.turn(thread_id, user_id=user_id) as source:
            copy = await self.create(owner, title=source.title, metadata=source.metadata)
            try:
                await copy_checkpoints(self.checkpointer, thread_id, copy.thread_id)
                if self.archive is not None:
                    moved = await self.archive.read(thread_id, 0, source.message_count)
                    if moved:
                        await self.archive.put(copy.thread_id, 0, moved)
                copied = await self.registry.record_turn(
                    copy.thread_id,
                    at=self.clock(),
                    message_count=source.message_count,
                    status=source.status,
                )
            except BaseException:
                await self.delete(copy.thread_id)
                raise
        if copied is None:
            raise ThreadNotFound(copy.thread_id)
        return copied

    async def prune_checkpoints(self, thread_id: str, *, user_id: str | None = None) -> None:
        """Keep only the thread's latest checkpoint (LangGraph's `keep_latest` prune), between turns."""
        if self.pruner is None:
            raise InvalidArgument("this storage cannot prune checkpoints")
        async with self.turn(thread_id, user_id=user_id):
            await self.pruner.aprune([thread_id], keep=1)

    async def is_busy(self, thread_id: str) -> bool:
        """Whether a turn holds the thread now, in this process or (where the registry can tell:
        PostgreSQL) in another one sharing the database."""
        return self.locks.is_locked(thread_id) or await self.registry.turn_held(thread_id)

    def _live(self, thread: Thread) -> Thread:
        """The thread with its status as of now: `busy` while this process runs or queues a turn on it."""
        if self.locks.is_locked(thread.thread_id):
            return dataclasses.replace(thread, status=ThreadStatus.BUSY)
        return thread

    async def update(
        self,
        thread_id: str,
        *,
        title: str | None = None,
        metadata: Mapping[str, Any] | None = None,
        user_id: str | None = None,
    ) -> Thread:
        """Rename and/or merge metadata (a None value removes that key)."""
        current = await self.get(thread_id, user_id=user_id)
        patch = check_metadata(metadata)
        check_metadata(merge_metadata(current.metadata, patch))  # the result must fit the limits too
        updated = await self.registry.update(thread_id, title=_check_title(title), metadata=patch)
        if updated is None:
            raise ThreadNotFound(thread_id)
        return updated

    async def delete(self, thread_id: str, *, user_id: str | None = None) -> Thread:
        """Remove the thread, its checkpoints and archived messages, after any turn running on it ends."""
        thread = await self.get(thread_id, user_id=user_id)
        async with self._hold(thread_id):
            if not await self._purge([thread_id]):
                raise ThreadNotFound(thread_id)
        return thread

    async def _purge(
        self, thread_ids: builtins.list[str], inactive_before: datetime | None = None
    ) -> builtins.list[str]:
        """Remove threads with their checkpoints and archived messages; the ids removed.

        In one transaction where the registry can (SQLite, PostgreSQL); else the
        row first, then the rest, and `cleanup` reclaims what a crash in between leaves.
        """
        gone = await self.registry.purge(thread_ids, inactive_before=inactive_before)
        if gone is None:
            gone = await self.registry.delete_many(thread_ids, inactive_before=inactive_before)
            await self._delete_conversations(sorted(gone))
            return gone
        for delete in self.also_delete:  # records kept elsewhere (runs), after the transaction
            await delete(gone)
        return gone

    async def cleanup(
        self,
        max_idle: timedelta | str,
        *,
        dry_run: bool = False,
        on_removed: Callable[[Thread], object] | None = None,
    ) -> builtins.list[Thread]:
        """Remove every thread idle longer than `max_idle`, with its checkpoints and archived messages.

        Works in batches; a thread with a turn in progress is skipped, and a
        thread that became active meanwhile is kept. Returns what was (or, with
        `dry_run`, would be) removed; `on_removed(thread)` is called as each one
        goes, so a long cleanup can report progress. Checkpoints and archived
        messages left without a thread (by a crash mid-delete in an older
        version) are reclaimed at the end.
        """
        cutoff = self.clock() - parse_duration(max_idle)
        removed: list[Thread] = []
        after: PageCursor | None = None
        while True:
            batch = await self.registry.list(inactive_before=cutoff, limit=CLEANUP_BATCH, after=after)
            if not batch:
                if not dry_run:
                    await self.registry.reclaim_orphans()
                return removed
            after = PageCursor(batch[-1].last_active_at.timestamp(), batch[-1].thread_id)
            if dry_run:
                removed.extend(batch)
                continue
            async with AsyncExitStack() as held:
                idle = []
                for thread in batch:
                    try:
                        await held.enter_async_context(self.locks.hold(thread.thread_id, wait=False))
                    except ThreadBusy:
                        continue
                    idle.append(thread)
                # Threads with a turn running in another process are skipped too.
                unlocked = await held.enter_async_context(
                    self.registry.try_turn_locks([t.thread_id for t in idle])
                )
                gone = set(await self._purge(unlocked, inactive_before=cutoff))
            for thread in idle:
                if thread.thread_id in gone:
                    removed.append(thread)
                    if on_removed is not None:
                        on_removed(thread)

    async def _delete_conversations(self, thread_ids: builtins.list[str]) -> None:
        if not thread_ids:
            return
        if self.archive is not None:
            await self.archive.delete(thread_ids)
        for delete in self.also_delete:
            await delete(thread_ids)
        if self.pruner is not None:
            await self.pruner.aprune(thread_ids, strategy="delete")
            return
        for thread_id in thread_ids:
            await self.checkpointer.adelete_thread(thread_id)

    @asynccontextmanager
    async def turn(
        self,
        thread_id: str,
        *,
        user_id: str | None = None,
        wait: bool = True,
        create: bool = False,
        owner: str | None = None,
        title: str | None = None,
    ) -> AsyncIterator[Thread]:
        """Hold the thread for one turn; other turns on it queue (or `ThreadBusy` if not `wait`).

        The lock is taken before anything is awaited, so turns sent to one
        thread run in the order they were sent. With `create`, a missing
        thread is created for `owner` (default `user_id`) first (titled
        `title`). A thread `user_id` does not own is `ThreadNotFound`, `create`
        or not, as everywhere else: whether someone else uses an id is not revealed.
        """
        validate_thread_id(thread_id)
        owner = owner if owner is not None else user_id
        if create and owner is None:
            raise InvalidArgument("creating a thread needs the user_id that will own it")
        async with self.locks.hold(thread_id, wait=wait):  # in-process first: see `_hold`
            if self.batching is None:
                async with self.registry.turn_lock(thread_id, wait=wait):
                    thread = await self.registry.get(thread_id)  # one round trip when the thread exists
                    async with self._found(thread, thread_id, user_id, create, owner, title) as found:
                        yield found
                return
            # The lock, the row and the latest checkpoint in as few round trips as the backend can;
            # the checkpoint written by the turn waits for `record_turn`, and what a failed turn
            # did not record is dropped.
            self._batched.add(thread_id)
            try:
                async with (
                    self.batching.held_turn(thread_id, wait=wait) as thread,
                    self._found(thread, thread_id, user_id, create, owner, title) as found,
                ):
                    yield found
            finally:
                self._batched.discard(thread_id)

    @asynccontextmanager
    async def _found(
        self,
        thread: Thread | None,
        thread_id: str,
        user_id: str | None,
        create: bool,
        owner: str | None,
        title: str | None,
    ) -> AsyncIterator[Thread]:
        """The turn's thread: as read, or made for `owner` if missing and `create`; else `ThreadNotFound`."""
        if thread is None and create:
            creator = validate_user_id(owner)
            try:
                thread = await self.create(creator, thread_id, title=title, if_exists="get")
            except ThreadExists:  # taken meanwhile by another user (not through a turn)
                thread = await self.registry.get(thread_id)
        if thread is None or (user_id is not None and thread.user_id != user_id):
            raise ThreadNotFound(thread_id)
        yield thread

    async def record_turn(
        self,
        thread_id: str,
        *,
        message_count: int,
        status: ThreadStatus = ThreadStatus.IDLE,
        said: Sequence[IndexedMessage] = (),
    ) -> Thread:
        """Note a finished turn (activity, message count, status, `said` for search); prune checkpoints.

        In a batched turn (`TurnBatching`), with the turn's checkpoint, in one transaction.
        """
        if self.batching is not None and thread_id in self._batched:
            thread = await self.batching.end_turn(
                thread_id,
                at=self.clock(),
                message_count=message_count,
                status=status,
                said=said,
                keep_checkpoints=self.keep_checkpoints,
            )
            if thread is None:
                raise ThreadNotFound(thread_id)
            return thread
        thread = await self.registry.record_turn(
            thread_id, at=self.clock(), message_count=message_count, status=status, said=said
        )
        if thread is None:
            raise ThreadNotFound(thread_id)
        if self.pruner is not None and self.keep_checkpoints:
            await self.pruner.aprune([thread_id], keep=self.keep_checkpoints)
        return thread
