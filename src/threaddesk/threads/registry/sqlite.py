"""The registry as a table in the same SQLite file as the checkpoints."""

from __future__ import annotations

import asyncio
import json
import sqlite3
from collections.abc import Callable, Mapping
from datetime import datetime, timezone
from typing import Any, TypeVar

from threaddesk.errors import StorageUnavailable
from threaddesk.storage.sqlite import SqliteDatabase
from threaddesk.threads.models import PageCursor, Thread, ThreadStatus
from threaddesk.threads.registry.base import ThreadRegistry, merge_metadata

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


# Append only: each migration runs once per database, in this order.
MIGRATIONS: list[tuple[str, Callable[[sqlite3.Connection], None]]] = [
    ("001_threads", _m001_threads),
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
                    (name, datetime.now(timezone.utc).timestamp()),
                )
                applied.append(name)
        conn.commit()
        return applied
    except BaseException:
        conn.rollback()
        raise


_COLUMNS = "thread_id, user_id, title, metadata, status, created_at, last_active_at, message_count"


def _ts(value: float) -> datetime:
    return datetime.fromtimestamp(value, timezone.utc)


def _row(row: tuple) -> Thread:
    thread_id, user_id, title, metadata, status, created, active, count = row
    return Thread(
        thread_id=thread_id,
        user_id=user_id,
        title=title,
        metadata=json.loads(metadata),
        status=ThreadStatus(status),
        created_at=_ts(created),
        last_active_at=_ts(active),
        message_count=count,
    )


class SqliteRegistry(ThreadRegistry):
    def __init__(self, database: SqliteDatabase) -> None:
        self.db = database

    async def _run(self, fn: Callable[[sqlite3.Connection], T]) -> T:
        def locked() -> T:
            with self.db.lock:
                try:
                    result = fn(self.db.conn)
                    self.db.conn.commit()
                    return result
                except sqlite3.OperationalError as exc:
                    self.db.conn.rollback()
                    raise StorageUnavailable(f"SQLite error on {self.db.path!r}: {exc}") from exc
                except BaseException:
                    self.db.conn.rollback()
                    raise

        return await asyncio.to_thread(locked)

    async def setup(self) -> None:
        await self._run(migrate)

    async def insert(self, thread: Thread) -> bool:
        def run(conn: sqlite3.Connection) -> bool:
            cur = conn.execute(
                f"INSERT OR IGNORE INTO threaddesk_threads ({_COLUMNS}) VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
                (
                    thread.thread_id,
                    thread.user_id,
                    thread.title,
                    json.dumps(thread.metadata),
                    str(thread.status),
                    thread.created_at.timestamp(),
                    thread.last_active_at.timestamp(),
                    thread.message_count,
                ),
            )
            return cur.rowcount == 1

        return await self._run(run)

    async def get(self, thread_id: str) -> Thread | None:
        def run(conn: sqlite3.Connection) -> Thread | None:
            row = conn.execute(
                f"SELECT {_COLUMNS} FROM threaddesk_threads WHERE thread_id = ?", (thread_id,)
            ).fetchone()
            return _row(row) if row else None

        return await self._run(run)

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
        where, params = [], []
        if user_id is not None:
            where.append("user_id = ?")
            params.append(user_id)
        if status is not None:
            where.append("status = ?")
            params.append(str(status))
        for key, value in (metadata or {}).items():
            # json_each compares the key as a bound value: no path escaping.
            where.append(
                "EXISTS (SELECT 1 FROM json_each(metadata) AS m WHERE m.key = ?"
                " AND m.value IS json_extract(?, '$'))"
            )
            params.extend([key, json.dumps(value)])
        if inactive_before is not None:
            where.append("last_active_at < ?")
            params.append(inactive_before.timestamp())
        if after is not None:
            where.append("(last_active_at < ? OR (last_active_at = ? AND thread_id < ?))")
            params.extend([after.last_active_at, after.last_active_at, after.thread_id])
        sql = f"SELECT {_COLUMNS} FROM threaddesk_threads"
        if where:
            sql += " WHERE " + " AND ".join(where)
        sql += " ORDER BY last_active_at DESC, thread_id DESC LIMIT ?"
        params.append(limit)
        return await self._run(lambda conn: [_row(r) for r in conn.execute(sql, params)])

    async def update(
        self,
        thread_id: str,
        *,
        title: str | None = None,
        metadata: Mapping[str, Any] | None = None,
    ) -> Thread | None:
        def run(conn: sqlite3.Connection) -> Thread | None:
            row = conn.execute(
                f"SELECT {_COLUMNS} FROM threaddesk_threads WHERE thread_id = ?", (thread_id,)
            ).fetchone()
            if row is None:
                return None
            thread = _row(row)
            merged = merge_metadata(thread.metadata, metadata)
            new_title = thread.title if title is None else title
            conn.execute(
                "UPDATE threaddesk_threads SET title = ?, metadata = ? WHERE thread_id = ?",
                (new_title, json.dumps(merged), thread_id),
            )
            return _row((*row[:2], new_title, json.dumps(merged), *row[4:]))

        return await self._run(run)

    async def record_turn(
        self,
        thread_id: str,
        *,
        at: datetime,
        message_count: int,
        status: ThreadStatus = ThreadStatus.IDLE,
    ) -> Thread | None:
        def run(conn: sqlite3.Connection) -> Thread | None:
            row = conn.execute(
                "UPDATE threaddesk_threads SET last_active_at = ?, message_count = ?, status = ?"
                f" WHERE thread_id = ? RETURNING {_COLUMNS}",
                (at.timestamp(), message_count, str(status), thread_id),
            ).fetchone()
            return _row(row) if row else None

        return await self._run(run)

    async def delete(self, thread_id: str, *, inactive_before: datetime | None = None) -> bool:
        def run(conn: sqlite3.Connection) -> bool:
            if inactive_before is None:
                cur = conn.execute("DELETE FROM threaddesk_threads WHERE thread_id = ?", (thread_id,))
            else:
                cur = conn.execute(
                    "DELETE FROM threaddesk_threads WHERE thread_id = ? AND last_active_at < ?",
                    (thread_id, inactive_before.timestamp()),
                )
            return cur.rowcount == 1

        return await self._run(run)

    async def count(self) -> int:
        return await self._run(
            lambda conn: conn.execute("SELECT count(*) FROM threaddesk_threads").fetchone()[0]
        )
