"""The registry as a table in the same SQLite file as the checkpoints."""

from __future__ import annotations

import builtins
import json
import sqlite3
from collections.abc import AsyncIterator, Mapping, Sequence
from contextlib import asynccontextmanager
from datetime import UTC, datetime
from typing import Any

from threaddesk.storage.sqlite.checkpointer import ThreadedSqliteSaver
from threaddesk.storage.sqlite.database import SqliteDatabase
from threaddesk.storage.sqlite.migrations import migrate
from threaddesk.storage.sqlite.purge import delete_orphans, delete_threads
from threaddesk.storage.sqlite.turnlock import FileTurnLocks, sidecar_path
from threaddesk.threads.interfaces import ThreadRegistry, TurnBatching, merge_metadata
from threaddesk.threads.models import PageCursor, Thread, ThreadQuery, ThreadStatus
from threaddesk.threads.search import IndexedMessage

COLUMNS = "thread_id, user_id, title, metadata, status, created_at, last_active_at, message_count"


def _canonical(value: Any) -> str:
    """Sorted keys, no spaces: equal structures give equal text, whatever their key order."""
    return json.dumps(value, sort_keys=True, separators=(",", ":"))


def insert_text(conn: sqlite3.Connection, thread_id: str, said: Sequence[IndexedMessage]) -> None:
    """Put messages in the search index (`storage.sqlite.search`); one already there stays as it is."""
    conn.executemany(
        "INSERT INTO threaddesk_message_text (thread_id, message_id, role, body) VALUES (?, ?, ?, ?)"
        " ON CONFLICT (thread_id, message_id) DO NOTHING",
        [(thread_id, m.message_id, m.role, m.content) for m in said],
    )


def like_escape(text: str) -> str:
    """`text` matched literally by LIKE ... ESCAPE '\\' (its `%` and `_` are not wildcards)."""
    return text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")


def _ts(value: float) -> datetime:
    return datetime.fromtimestamp(value, UTC)


def thread_from_row(row: tuple) -> Thread:
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


def _filters(
    user_id: str | None,
    status: ThreadStatus | None,
    metadata: Mapping[str, Any] | None,
    ids: Sequence[str] | None = None,
) -> tuple[list[str], list[object]]:
    """WHERE conditions (and their parameters) shared by list, search and count."""
    where: list[str] = []
    params: list[object] = []
    if ids is not None:
        where.append("thread_id IN (SELECT value FROM json_each(?))")
        params.append(json.dumps(list(ids)))
    if user_id is not None:
        where.append("user_id = ?")
        params.append(user_id)
    if status is not None:
        where.append("status = ?")
        params.append(str(status))
    for key, value in (metadata or {}).items():
        # json_each binds the key as a value (no path escaping). Objects and arrays
        # compare as canonical JSON text (stored with sorted keys), never with strings.
        if isinstance(value, dict | list):
            where.append(
                "EXISTS (SELECT 1 FROM json_each(metadata) AS m WHERE m.key = ?"
                " AND m.type IN ('object', 'array') AND m.value = json(?))"
            )
            params.extend([key, _canonical(value)])
        else:
            where.append(
                "EXISTS (SELECT 1 FROM json_each(metadata) AS m WHERE m.key = ?"
                " AND m.type NOT IN ('object', 'array') AND m.value IS json_extract(?, '$'))"
            )
            params.extend([key, json.dumps(value)])
    return where, params


_GET = f"SELECT {COLUMNS} FROM threaddesk_threads WHERE thread_id = ?"
_RECORD = (
    "UPDATE threaddesk_threads SET last_active_at = ?, message_count = ?, status = ?"
    f" WHERE thread_id = ? RETURNING {COLUMNS}"
)


class SqliteRegistry(ThreadRegistry, TurnBatching):
    """Rows in the database's file; turn locks on its sidecar (see `threaddesk.storage.sqlite.turnlock`).

    An in-memory database is private to its process, so it needs no cross-process lock.
    With `saver` (the checkpointer on the same database), a turn's reads and its
    writes are one worker-thread hop and one transaction each (`TurnBatching`).
    """

    def __init__(self, database: SqliteDatabase, saver: ThreadedSqliteSaver | None = None) -> None:
        self.db = database
        self.saver = saver
        self.turn_locks = (
            None if database.path == ":memory:" else FileTurnLocks.open(sidecar_path(database.path))
        )

    async def setup(self) -> None:
        await self.db.run(migrate)

    async def close(self) -> None:
        if self.turn_locks is not None:
            self.turn_locks.close()

    @asynccontextmanager
    async def turn_lock(self, thread_id: str, *, wait: bool = True) -> AsyncIterator[None]:
        if self.turn_locks is None:
            yield
            return
        async with self.turn_locks.hold(thread_id, wait=wait):
            yield

    @asynccontextmanager
    async def try_turn_locks(self, thread_ids: Sequence[str]) -> AsyncIterator[list[str]]:
        if self.turn_locks is None:
            yield list(thread_ids)
            return
        async with self.turn_locks.try_hold_many(thread_ids) as taken:
            yield taken

    async def insert(self, thread: Thread) -> bool:
        def run(conn: sqlite3.Connection) -> bool:
            cur = conn.execute(
                f"INSERT OR IGNORE INTO threaddesk_threads ({COLUMNS}) VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
                (
                    thread.thread_id,
                    thread.user_id,
                    thread.title,
                    _canonical(thread.metadata),
                    str(thread.status),
                    thread.created_at.timestamp(),
                    thread.last_active_at.timestamp(),
                    thread.message_count,
                ),
            )
            return cur.rowcount == 1

        return await self.db.run_inline(run)

    async def get(self, thread_id: str) -> Thread | None:
        def run(conn: sqlite3.Connection) -> Thread | None:
            row = conn.execute(_GET, (thread_id,)).fetchone()
            return thread_from_row(row) if row else None

        return await self.db.run(run)

    def batches_for(self, checkpointer: object) -> bool:
        return self.saver is not None and checkpointer is self.saver

    async def begin_turn(self, thread_id: str) -> Thread | None:
        saver = self.saver
        assert saver is not None

        def run(conn: sqlite3.Connection) -> Thread | None:
            row = conn.execute(_GET, (thread_id,)).fetchone()
            saver.open_turn(thread_id)
            return thread_from_row(row) if row else None

        return await self.db.run_inline(run)

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
        saver = self.saver
        assert saver is not None

        rows, mixed = saver.held(thread_id)

        def run(conn: sqlite3.Connection) -> Thread | None:
            row = conn.execute(_RECORD, (at.timestamp(), message_count, str(status), thread_id)).fetchone()
            if row is None:
                return None
            saver.write_held(conn, thread_id, rows, mixed, keep_checkpoints)
            insert_text(conn, thread_id, said)
            return thread_from_row(row)

        thread = await self.db.run_inline(run)
        if thread is not None:
            saver.written(thread_id, rows)
        return thread

    async def close_turn(self, thread_id: str, *, keep_held: bool) -> None:
        assert self.saver is not None
        rows = self.saver.close_turn(thread_id)
        if rows and keep_held:
            saver = self.saver
            await self.db.run(lambda conn: conn.executemany(saver.insert_sql, rows))

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
        where, params = _filters(user_id, status, metadata)
        if title is not None:
            where.append("title LIKE ? ESCAPE '\\'")
            params.append(f"%{like_escape(title)}%")
        if inactive_before is not None:
            where.append("last_active_at < ?")
            params.append(inactive_before.timestamp())
        if after is not None:
            where.append("(last_active_at < ? OR (last_active_at = ? AND thread_id < ?))")
            params.extend([after.last_active_at, after.last_active_at, after.thread_id])
        sql = f"SELECT {COLUMNS} FROM threaddesk_threads"
        if where:
            sql += " WHERE " + " AND ".join(where)
        sql += " ORDER BY last_active_at DESC, thread_id DESC LIMIT ?"
        params.append(limit)
        return await self.db.run(lambda conn: [thread_from_row(r) for r in conn.execute(sql, params)])

    async def search(self, query: ThreadQuery) -> builtins.list[Thread]:
        where, params = _filters(query.user_id, query.status, query.metadata, query.ids)
        sql = f"SELECT {COLUMNS} FROM threaddesk_threads"
        if where:
            sql += " WHERE " + " AND ".join(where)
        sql += f" ORDER BY {query.order_by()} LIMIT ? OFFSET ?"
        params.extend([query.limit, query.offset])
        return await self.db.run(lambda conn: [thread_from_row(r) for r in conn.execute(sql, params)])

    async def count_matching(self, query: ThreadQuery) -> int:
        where, params = _filters(query.user_id, query.status, query.metadata, query.ids)
        sql = "SELECT count(*) FROM threaddesk_threads"
        if where:
            sql += " WHERE " + " AND ".join(where)
        return await self.db.run(lambda conn: conn.execute(sql, params).fetchone()[0])

    async def update(
        self,
        thread_id: str,
        *,
        title: str | None = None,
        metadata: Mapping[str, Any] | None = None,
    ) -> Thread | None:
        def run(conn: sqlite3.Connection) -> Thread | None:
            row = conn.execute(
                f"SELECT {COLUMNS} FROM threaddesk_threads WHERE thread_id = ?", (thread_id,)
            ).fetchone()
            if row is None:
                return None
            thread = thread_from_row(row)
            merged = merge_metadata(thread.metadata, metadata)
            new_title = thread.title if title is None else title
            conn.execute(
                "UPDATE threaddesk_threads SET title = ?, metadata = ? WHERE thread_id = ?",
                (new_title, _canonical(merged), thread_id),
            )
            return thread_from_row((*row[:2], new_title, _canonical(merged), *row[4:]))

        return await self.db.run(run)

    async def record_turn(
        self,
        thread_id: str,
        *,
        at: datetime,
        message_count: int,
        status: ThreadStatus = ThreadStatus.IDLE,
        said: Sequence[IndexedMessage] = (),
    ) -> Thread | None:
        def run(conn: sqlite3.Connection) -> Thread | None:
            row = conn.execute(_RECORD, (at.timestamp(), message_count, str(status), thread_id)).fetchone()
            if row is None:
                return None
            insert_text(conn, thread_id, said)
            return thread_from_row(row)

        return await self.db.run(run)

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

        return await self.db.run_inline(run)

    async def delete_many(
        self, thread_ids: Sequence[str], *, inactive_before: datetime | None = None
    ) -> builtins.list[str]:
        ids = json.dumps(list(thread_ids))
        sql = "DELETE FROM threaddesk_threads WHERE thread_id IN (SELECT value FROM json_each(?))"
        params: tuple = (ids,)
        if inactive_before is not None:
            sql += " AND last_active_at < ?"
            params = (ids, inactive_before.timestamp())
        sql += " RETURNING thread_id"
        return await self.db.run(lambda conn: [row[0] for row in conn.execute(sql, params)])

    async def purge(
        self, thread_ids: Sequence[str], *, inactive_before: datetime | None = None
    ) -> builtins.list[str] | None:
        return await self.db.run(lambda conn: delete_threads(conn, thread_ids, inactive_before))

    async def reclaim_orphans(self) -> int:
        return await self.db.run(delete_orphans)

    async def ping(self) -> None:
        if self.turn_locks is not None:
            self.turn_locks.check()
        await self.db.run(lambda conn: conn.execute("SELECT 1").fetchone())

    async def count(self) -> int:
        return await self.db.run(
            lambda conn: conn.execute("SELECT count(*) FROM threaddesk_threads").fetchone()[0]
        )
