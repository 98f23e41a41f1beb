"""LangGraph's SQLite saver on the backend's shared connection, one worker-thread hop per operation,
and none at all for a turn's own checkpoint read and write (see `TurnBatching`)."""

from __future__ import annotations

import asyncio
import inspect
import json
import sqlite3
from collections.abc import AsyncIterator, Callable, Sequence
from typing import Any, TypeVar

from langchain_core.runnables import RunnableConfig
from langgraph.checkpoint.base import (
    ChannelVersions,
    Checkpoint,
    CheckpointMetadata,
    CheckpointTuple,
    get_checkpoint_id,
    get_checkpoint_metadata,
)
from langgraph.checkpoint.sqlite import SqliteSaver

from threaddesk.errors import StorageUnavailable
from threaddesk.storage.sqlite.database import SqliteDatabase
from threaddesk.threads.interfaces import PrunableSaver

T = TypeVar("T")

_INSERT = (
    "INSERT OR REPLACE INTO checkpoints (thread_id, checkpoint_ns, checkpoint_id, parent_checkpoint_id,"
    " type, checkpoint, metadata) VALUES (?, ?, ?, ?, ?, ?, ?)"
)
# Keep-1 as an upsert: the thread's one root checkpoint row becomes the new one in place.
_REPLACE_LATEST = (
    "UPDATE checkpoints SET checkpoint_id = ?3, parent_checkpoint_id = ?4, type = ?5, checkpoint = ?6,"
    " metadata = ?7 WHERE thread_id = ?1 AND checkpoint_ns = ?2"
)
_DROP_OTHER_WRITES = "DELETE FROM writes WHERE thread_id = ?1 AND checkpoint_ns = ?2 AND checkpoint_id != ?3"
_PRUNE_KEEP = (
    """
    DELETE FROM checkpoints WHERE thread_id = ?1 AND (checkpoint_ns, checkpoint_id) IN (
        SELECT checkpoint_ns, checkpoint_id FROM (
            SELECT checkpoint_ns, checkpoint_id, row_number() OVER (
                PARTITION BY checkpoint_ns ORDER BY checkpoint_id DESC) AS newest
            FROM checkpoints WHERE thread_id = ?1)
        WHERE newest > ?2)
    """,
    """
    DELETE FROM writes WHERE thread_id = ?1 AND NOT EXISTS (
        SELECT 1 FROM checkpoints AS c WHERE c.thread_id = ?1
        AND c.checkpoint_ns = writes.checkpoint_ns AND c.checkpoint_id = writes.checkpoint_id)
    """,
)
Row = tuple[str, str, str, str | None, str, bytes, bytes]


def prune_on(conn: sqlite3.Connection, thread_ids: Sequence[str], strategy: str, keep: int) -> None:
    """The prune's statements, in the caller's transaction (see `ThreadedSqliteSaver.prune`)."""
    if strategy not in ("keep_latest", "delete"):
        raise ValueError(f"unknown prune strategy {strategy!r}")
    if keep < 1:
        raise ValueError("keep must be at least 1: the latest checkpoint is never pruned")
    ids = [(str(thread_id),) for thread_id in thread_ids]
    if strategy == "delete":
        conn.executemany("DELETE FROM checkpoints WHERE thread_id = ?", ids)
        conn.executemany("DELETE FROM writes WHERE thread_id = ?", ids)
        return
    conn.executemany(_PRUNE_KEEP[0], [(thread_id, keep) for (thread_id,) in ids])
    conn.executemany(_PRUNE_KEEP[1], ids)


class _Turn:
    """A thread in a turn: its latest checkpoint as read with the registry row (served once), the
    checkpoint rows held back until the turn is recorded, and whether anything else was written."""

    __slots__ = ("held", "mixed", "primed")

    def __init__(self, primed: list[CheckpointTuple | None]) -> None:
        self.primed = primed  # [] once served or stale
        self.held: list[Row] = []
        self.mixed = False  # wrote writes or nested namespaces: prune the general way


class ThreadedSqliteSaver(SqliteSaver, PrunableSaver):
    """LangGraph's `SqliteSaver` with its async methods run in a worker thread.

    `AsyncSqliteSaver` pays an aiosqlite round trip per statement; running the
    sync saver's whole operation in one `asyncio.to_thread` call is one hop per
    operation, and the sync API (`agent.invoke`) keeps working on the same object.
    Driver errors of the async methods leave as `StorageUnavailable`.
    """

    def __init__(self, database: SqliteDatabase, **kwargs: Any) -> None:
        super().__init__(database.conn, **kwargs)
        # Reentrant: the turn phases call the saver inside `database.run`.
        self.lock = database.lock  # type: ignore[assignment]
        self.path = database.path
        self.database = database
        self._turns: dict[str, _Turn] = {}

    # A turn's phases (`TurnBatching`, through `SqliteRegistry`), with the thread's turn lock held.

    def open_turn(self, thread_id: str) -> None:
        """Hold the thread's checkpoint writes back, and read its latest checkpoint now for the
        graph's first read (called inside the registry's transaction, holding the database lock)."""
        latest = self.get_tuple({"configurable": {"thread_id": thread_id, "checkpoint_ns": ""}})
        self._turns[thread_id] = _Turn([latest])

    def held(self, thread_id: str) -> tuple[list[Row], bool]:
        """The checkpoint rows held back for the thread, and whether it wrote anything else."""
        turn = self._turns.get(thread_id)
        return ([], False) if turn is None else (list(turn.held), turn.mixed)

    def written(self, thread_id: str, rows: list[Row]) -> None:
        """`rows` (from `held`) are committed: hold them no longer."""
        turn = self._turns.get(thread_id)
        if turn is not None and rows:
            turn.held = turn.held[len(rows) :]

    @staticmethod
    def write_held(conn: sqlite3.Connection, thread_id: str, rows: list[Row], mixed: bool, keep: int) -> None:
        """Write checkpoint rows held back for the thread and prune to `keep` (0: keep all), in the
        caller's transaction. Keep-1 replaces the thread's root checkpoint row in place. `rows`
        stay held until the caller reports them `written` (after its commit)."""
        if keep == 1 and rows and not mixed:
            row = rows[-1]  # the earlier ones would be pruned at once
            try:
                replaced = conn.execute(_REPLACE_LATEST, row).rowcount
            except sqlite3.IntegrityError:  # several root checkpoints (kept under another setting)
                conn.execute(_INSERT, row)
                prune_on(conn, [thread_id], "keep_latest", 1)
            else:
                if replaced == 0:
                    conn.execute(_INSERT, row)
            conn.execute(_DROP_OTHER_WRITES, row[:3])
            return
        conn.executemany(_INSERT, rows)
        if keep:
            prune_on(conn, [thread_id], "keep_latest", keep)

    insert_sql = _INSERT

    def close_turn(self, thread_id: str) -> list[Row]:
        """Stop holding the thread; the rows still held back (for the caller to write or drop)."""
        turn = self._turns.pop(thread_id, None)
        return [] if turn is None else turn.held

    def _row(self, config: RunnableConfig, checkpoint: Checkpoint, metadata: CheckpointMetadata) -> Row:
        """The checkpoints row `put` would insert (serialised now: the graph may reuse its objects)."""
        type_, serialized = self.serde.dumps_typed(checkpoint)
        meta = json.dumps(get_checkpoint_metadata(config, metadata), ensure_ascii=False)
        configurable = config["configurable"]
        return (
            str(configurable["thread_id"]),
            configurable["checkpoint_ns"],
            checkpoint["id"],
            configurable.get("checkpoint_id"),
            type_,
            serialized,
            meta.encode("utf-8", "ignore"),
        )

    async def _settle(self, thread_id: str, *, mixed: bool = False) -> None:
        """Before any other operation on a thread in a turn: write what it holds back (as the stock
        saver would have by now) and forget the primed read (it may be stale after this)."""
        turn = self._turns.get(thread_id)
        if turn is None:
            return
        turn.primed = []
        turn.mixed = turn.mixed or mixed
        if turn.held:
            rows, turn.held = turn.held, []
            await self.database.run(lambda conn: conn.executemany(_INSERT, rows))

    async def _in_thread(self, fn: Callable[[], T]) -> T:
        try:
            return await asyncio.to_thread(fn)
        except sqlite3.Error as exc:
            raise StorageUnavailable(f"checkpoint storage failed on SQLite {self.path!r}: {exc}") from exc

    async def aget_tuple(self, config: RunnableConfig) -> CheckpointTuple | None:
        configurable = config["configurable"]
        thread_id = str(configurable["thread_id"])
        turn = self._turns.get(thread_id)
        if turn is not None:
            if (
                turn.primed
                and not turn.held
                and not get_checkpoint_id(config)
                and configurable.get("checkpoint_ns", "") == ""
            ):
                return turn.primed.pop()
            await self._settle(thread_id)
        return await self._in_thread(lambda: self.get_tuple(config))

    async def alist(
        self,
        config: RunnableConfig | None,
        *,
        filter: dict[str, Any] | None = None,
        before: RunnableConfig | None = None,
        limit: int | None = None,
    ) -> AsyncIterator[CheckpointTuple]:
        if config is not None:
            await self._settle(str(config["configurable"]["thread_id"]))
        else:
            for thread_id in list(self._turns):
                await self._settle(thread_id)
        items = await self._in_thread(
            lambda: list(self.list(config, filter=filter, before=before, limit=limit))
        )
        for item in items:
            yield item

    async def aput(
        self,
        config: RunnableConfig,
        checkpoint: Checkpoint,
        metadata: CheckpointMetadata,
        new_versions: ChannelVersions,
    ) -> RunnableConfig:
        configurable = config["configurable"]
        thread_id = str(configurable["thread_id"])
        turn = self._turns.get(thread_id)
        if turn is not None and configurable["checkpoint_ns"] == "" and not turn.mixed:
            turn.primed = []
            turn.held.append(self._row(config, checkpoint, metadata))
            return {
                "configurable": {
                    "thread_id": configurable["thread_id"],
                    "checkpoint_ns": "",
                    "checkpoint_id": checkpoint["id"],
                }
            }
        await self._settle(thread_id, mixed=True)
        return await self._in_thread(lambda: self.put(config, checkpoint, metadata, new_versions))

    async def aput_writes(
        self,
        config: RunnableConfig,
        writes: Sequence[tuple[str, Any]],
        task_id: str,
        task_path: str = "",
    ) -> None:
        await self._settle(str(config["configurable"]["thread_id"]), mixed=True)
        await self._in_thread(lambda: self.put_writes(config, writes, task_id, task_path))

    async def adelete_thread(self, thread_id: str) -> None:
        await self._settle(str(thread_id), mixed=True)
        await self._in_thread(lambda: self.delete_thread(thread_id))

    def prune(self, thread_ids: Sequence[str], *, strategy: str = "keep_latest", keep: int = 1) -> None:
        """Drop superseded checkpoints (and their writes) of these threads, in one transaction.

        `"keep_latest"` keeps the `keep` newest checkpoints per namespace, so the
        latest is never deleted; `"delete"` removes every checkpoint. Safe here
        because threaddesk's graph has no `DeltaChannel`: each checkpoint holds
        full channel values and needs no ancestor to be read back (see
        `BaseCheckpointSaver.prune`).
        """
        with self.cursor() as cur:
            prune_on(cur.connection, thread_ids, strategy, keep)

    async def aprune(
        self, thread_ids: Sequence[str], *, strategy: str = "keep_latest", keep: int = 1
    ) -> None:
        for thread_id in thread_ids:
            await self._settle(str(thread_id))
        await self._in_thread(lambda: self.prune(thread_ids, strategy=strategy, keep=keep))


# LangGraph asks `inspect.signature(saver.aput_writes)` at the start of every run (does it take
# `task_path`?); a signature stored on the function is returned without parsing it again.
ThreadedSqliteSaver.aput_writes.__signature__ = inspect.signature(  # type: ignore[attr-defined]
    ThreadedSqliteSaver.aput_writes
)
