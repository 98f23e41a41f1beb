"""One SQLite file holds both the thread registry and LangGraph's checkpoints."""

from __future__ import annotations

import asyncio
import sqlite3
import threading
from collections.abc import AsyncIterator, Sequence
from pathlib import Path
from typing import Any

from langchain_core.runnables import RunnableConfig
from langgraph.checkpoint.base import ChannelVersions, Checkpoint, CheckpointMetadata, CheckpointTuple
from langgraph.checkpoint.sqlite import SqliteSaver

from threaddesk.errors import StorageUnavailable


class SqliteDatabase:
    """One connection and the lock that serialises it, shared by registry and checkpointer.

    Sharing a connection means in-process writers queue on a lock instead of
    spinning in SQLite's busy handler; other processes on the same file wait up
    to `busy_timeout_ms`.
    """

    def __init__(self, path: str | Path, *, busy_timeout_ms: int = 30_000) -> None:
        self.path = str(path)
        try:
            if self.path != ":memory:":
                Path(self.path).parent.mkdir(parents=True, exist_ok=True)
            self.conn = sqlite3.connect(
                self.path, check_same_thread=False, timeout=busy_timeout_ms / 1000
            )
            self.conn.execute("PRAGMA journal_mode=WAL")
            self.conn.execute("PRAGMA synchronous=NORMAL")
            self.conn.execute(f"PRAGMA busy_timeout={int(busy_timeout_ms)}")
            self.conn.execute("PRAGMA foreign_keys=ON")
        except (sqlite3.Error, OSError) as exc:
            raise StorageUnavailable(f"cannot open SQLite database {self.path!r}: {exc}") from exc
        self.lock = threading.Lock()

    def close(self) -> None:
        with self.lock:
            self.conn.close()


class ThreadedSqliteSaver(SqliteSaver):
    """LangGraph's `SqliteSaver` with its async methods run in a worker thread.

    `AsyncSqliteSaver` pays an aiosqlite round trip per statement; running the
    sync saver's whole operation in one `asyncio.to_thread` call is one hop per
    operation, and the sync API (`agent.invoke`) keeps working on the same object.
    """

    def __init__(self, database: SqliteDatabase, **kwargs: Any) -> None:
        super().__init__(database.conn, **kwargs)
        self.lock = database.lock

    async def aget_tuple(self, config: RunnableConfig) -> CheckpointTuple | None:
        return await asyncio.to_thread(self.get_tuple, config)

    async def alist(
        self,
        config: RunnableConfig | None,
        *,
        filter: dict[str, Any] | None = None,
        before: RunnableConfig | None = None,
        limit: int | None = None,
    ) -> AsyncIterator[CheckpointTuple]:
        items = await asyncio.to_thread(
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
        return await asyncio.to_thread(self.put, config, checkpoint, metadata, new_versions)

    async def aput_writes(
        self,
        config: RunnableConfig,
        writes: Sequence[tuple[str, Any]],
        task_id: str,
        task_path: str = "",
    ) -> None:
        await asyncio.to_thread(self.put_writes, config, writes, task_id, task_path)

    async def adelete_thread(self, thread_id: str) -> None:
        await asyncio.to_thread(self.delete_thread, thread_id)
