"""LangGraph's SQLite saver on the backend's shared connection, one worker-thread hop per operation."""

from __future__ import annotations

import asyncio
import sqlite3
from collections.abc import AsyncIterator, Callable, Sequence
from typing import Any, TypeVar

from langchain_core.runnables import RunnableConfig
from langgraph.checkpoint.base import ChannelVersions, Checkpoint, CheckpointMetadata, CheckpointTuple
from langgraph.checkpoint.sqlite import SqliteSaver

from threaddesk.errors import StorageUnavailable
from threaddesk.storage.sqlite.database import SqliteDatabase
from threaddesk.threads.interfaces import PrunableSaver

T = TypeVar("T")


class ThreadedSqliteSaver(SqliteSaver, PrunableSaver):
    """LangGraph's `SqliteSaver` with its async methods run in a worker thread.

    `AsyncSqliteSaver` pays an aiosqlite round trip per statement; running the
    sync saver's whole operation in one `asyncio.to_thread` call is one hop per
    operation, and the sync API (`agent.invoke`) keeps working on the same object.
    Driver errors of the async methods leave as `StorageUnavailable`.
    """

    def __init__(self, database: SqliteDatabase, **kwargs: Any) -> None:
        super().__init__(database.conn, **kwargs)
        self.lock = database.lock
        self.path = database.path

    async def _in_thread(self, fn: Callable[[], T]) -> T:
        try:
            return await asyncio.to_thread(fn)
        except sqlite3.Error as exc:
            raise StorageUnavailable(f"checkpoint storage failed on SQLite {self.path!r}: {exc}") from exc

    async def aget_tuple(self, config: RunnableConfig) -> CheckpointTuple | None:
        return await self._in_thread(lambda: self.get_tuple(config))

    async def alist(
        self,
        config: RunnableConfig | None,
        *,
        filter: dict[str, Any] | None = None,
        before: RunnableConfig | None = None,
        limit: int | None = None,
    ) -> AsyncIterator[CheckpointTuple]:
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
        return await self._in_thread(lambda: self.put(config, checkpoint, metadata, new_versions))

    async def aput_writes(
        self,
        config: RunnableConfig,
        writes: Sequence[tuple[str, Any]],
        task_id: str,
        task_path: str = "",
    ) -> None:
        await self._in_thread(lambda: self.put_writes(config, writes, task_id, task_path))

    async def adelete_thread(self, thread_id: str) -> None:
        await self._in_thread(lambda: self.delete_thread(thread_id))

    def prune(self, thread_ids: Sequence[str], *, strategy: str = "keep_latest", keep: int = 1) -> None:
        """Drop superseded checkpoints (and their writes) of these threads, in one transaction.

        `"keep_latest"` keeps the `keep` newest checkpoints per namespace, so the
        latest is never deleted; `"delete"` removes every checkpoint. Safe here
        because threaddesk's graph has no `DeltaChannel`: each checkpoint holds
        full channel values and needs no ancestor to be read back (see
        `BaseCheckpointSaver.prune`).
        """
        if strategy not in ("keep_latest", "delete"):
            raise ValueError(f"unknown prune strategy {strategy!r}")
        if keep < 1:
            raise ValueError("keep must be at least 1: the latest checkpoint is never pruned")
        ids = [(str(thread_id),) for thread_id in thread_ids]
        with self.cursor() as cur:
            if strategy == "delete":
                cur.executemany("DELETE FROM checkpoints WHERE thread_id = ?", ids)
                cur.executemany("DELETE FROM writes WHERE thread_id = ?", ids)
                return
            cur.executemany(
                """
                DELETE FROM checkpoints WHERE thread_id = ?1 AND (checkpoint_ns, checkpoint_id) IN (
                    SELECT checkpoint_ns, checkpoint_id FROM (
                        SELECT checkpoint_ns, checkpoint_id, row_number() OVER (
                            PARTITION BY checkpoint_ns ORDER BY checkpoint_id DESC) AS newest
                        FROM checkpoints WHERE thread_id = ?1)
                    WHERE newest > ?2)
                """,
                [(thread_id, keep) for (thread_id,) in ids],
            )
            cur.executemany(
                """
                DELETE FROM writes WHERE thread_id = ?1 AND NOT EXISTS (
                    SELECT 1 FROM checkpoints AS c WHERE c.thread_id = ?1
                    AND c.checkpoint_ns = writes.checkpoint_ns AND c.checkpoint_id = writes.checkpoint_id)
                """,
                ids,
            )

    async def aprune(
        self, thread_ids: Sequence[str], *, strategy: str = "keep_latest", keep: int = 1
    ) -> None:
        await self._in_thread(lambda: self.prune(thread_ids, strategy=strategy, keep=keep))
