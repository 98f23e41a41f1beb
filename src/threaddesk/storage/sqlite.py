"""One SQLite file holds both the thread registry and LangGraph's checkpoints."""

from __future__ import annotations

import asyncio
import sqlite3
import threading
from collections.abc import AsyncIterator, Callable, Sequence
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, TypeVar

from langchain_core.runnables import RunnableConfig
from langgraph.checkpoint.base import ChannelVersions, Checkpoint, CheckpointMetadata, CheckpointTuple
from langgraph.checkpoint.sqlite import SqliteSaver

from threaddesk.errors import StorageUnavailable
from threaddesk.storage.sqlite_file import DatabaseFile

T = TypeVar("T")


def _m001_threads(conn: sqlite3.Connection) -> None:
    conn.execute(
        """
        CREATE TABLE threaddesk_threads (
            thread_id TEXT PRIMARY KEY,
            user_id TEXT NOT NULL,
            title TEXT,
            metadata TEXT NOT NULL DEFAULT '{}',
            status TEXT NOT NULL DEFAULT 'idle',
            created_at REAL NOT NULL,
            last_active_at REAL NOT NULL,
            message_count INTEGER NOT NULL DEFAULT 0
        )
        """
    )
    conn.execute(
        "CREATE INDEX threaddesk_threads_by_user"
        " ON threaddesk_threads (user_id, last_active_at DESC, thread_id DESC)"
    )
    conn.execute(
        "CREATE INDEX threaddesk_threads_by_activity"
        " ON threaddesk_threads (last_active_at DESC, thread_id DESC)"
    )


def _m002_users(conn: sqlite3.Connection) -> None:
    conn.execute(
        """
        CREATE TABLE threaddesk_users (
            name TEXT PRIMARY KEY,
            token_hash TEXT NOT NULL UNIQUE,
            is_admin INTEGER NOT NULL DEFAULT 0,
            created_at REAL NOT NULL
        )
        """
    )


def _m003_messages(conn: sqlite3.Connection) -> None:
    conn.execute(
        """
        CREATE TABLE threaddesk_messages (
            thread_id TEXT NOT NULL,
            position INTEGER NOT NULL,
            type TEXT NOT NULL,
            message BLOB NOT NULL,
            PRIMARY KEY (thread_id, position)
        ) WITHOUT ROWID
        """
    )


# threaddesk's own tables, beside LangGraph's `checkpoints` and `writes`.
# Append only: each migration runs once per database, in this order.
MIGRATIONS: list[tuple[str, Callable[[sqlite3.Connection], None]]] = [
    ("001_threads", _m001_threads),
    ("002_users", _m002_users),
    ("003_messages", _m003_messages),
]


def migrate(conn: sqlite3.Connection) -> list[str]:
    """Apply pending migrations in one transaction; return the names applied. Idempotent."""
    conn.execute(
        "CREATE TABLE IF NOT EXISTS threaddesk_migrations (name TEXT PRIMARY KEY, applied_at REAL NOT NULL)"
    )
    conn.commit()
    conn.execute("BEGIN IMMEDIATE")
    try:
        done = {row[0] for row in conn.execute("SELECT name FROM threaddesk_migrations")}
        applied = []
        for name, step in MIGRATIONS:
            if name not in done:
                step(conn)
                conn.execute(
                    "INSERT INTO threaddesk_migrations (name, applied_at) VALUES (?, ?)",
                    (name, datetime.now(UTC).timestamp()),
                )
                applied.append(name)
        conn.commit()
        return applied
    except BaseException:
        conn.rollback()
        raise


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
            self.conn = sqlite3.connect(self.path, check_same_thread=False, timeout=busy_timeout_ms / 1000)
            self.conn.execute("PRAGMA journal_mode=WAL")
            self.conn.execute("PRAGMA synchronous=NORMAL")
            self.conn.execute(f"PRAGMA busy_timeout={int(busy_timeout_ms)}")
            self.conn.execute("PRAGMA foreign_keys=ON")
            self.file = None if self.path == ":memory:" else DatabaseFile(self.path)
        except (sqlite3.Error, OSError) as exc:
            raise StorageUnavailable(f"cannot open SQLite database {self.path!r}: {exc}") from exc
        self.lock = threading.Lock()

    async def run(self, fn: Callable[[sqlite3.Connection], T]) -> T:
        """Run `fn(conn)` in a worker thread under the lock, as one committed transaction.

        Refused (`StorageUnavailable`) once the path no longer names the open, writable file.
        """
        if self.file is not None:
            self.file.check()

        def locked() -> T:
            with self.lock:
                try:
                    result = fn(self.conn)
                    self.conn.commit()
                    return result
                except sqlite3.OperationalError as exc:
                    self.conn.rollback()
                    raise StorageUnavailable(f"SQLite error on {self.path!r}: {exc}") from exc
                except BaseException:
                    self.conn.rollback()
                    raise

        return await asyncio.to_thread(locked)

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
        await asyncio.to_thread(self.prune, thread_ids, strategy=strategy, keep=keep)
