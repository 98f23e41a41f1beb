"""One SQLite connection, and the lock that serialises it, for every store of the backend."""

from __future__ import annotations

import asyncio
import contextlib
import sqlite3
import threading
from collections.abc import Callable
from pathlib import Path
from typing import TypeVar

from threaddesk.errors import StorageUnavailable
from threaddesk.storage.sqlite.file import DatabaseFile

T = TypeVar("T")

# The WAL is copied back into the database (with an fsync) in a worker thread after this many
# transactions (a turn writes a few pages: about SQLite's own 1,000-page auto-checkpoint), not by
# SQLite inside whichever commit crosses 1,000 pages, which may be one made on the event loop.
CHECKPOINT_EVERY = 200


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
            self.conn.execute("PRAGMA wal_autocheckpoint=0")  # see `_after_inline_write`
            self.file = None if self.path == ":memory:" else DatabaseFile(self.path)
        except (sqlite3.Error, OSError) as exc:
            raise StorageUnavailable(f"cannot open SQLite database {self.path!r}: {exc}") from exc
        self.busy_timeout_ms = int(busy_timeout_ms)
        self.lock = threading.RLock()  # the saver's cursor is taken again inside `run` in a turn
        self._writes = 0
        self._checkpointing: asyncio.Task[None] | None = None

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
                except BaseException as exc:
                    with contextlib.suppress(sqlite3.Error):  # a closed connection has nothing to undo
                        self.conn.rollback()
                    if isinstance(exc, sqlite3.Error):
                        raise StorageUnavailable(f"SQLite error on {self.path!r}: {exc}") from exc
                    raise

        result = await asyncio.to_thread(locked)
        self._after_write()
        return result

    async def run_inline(self, fn: Callable[[sqlite3.Connection], T]) -> T:
        """`run`, but on the event loop's own thread when that cannot wait: the connection free in
        this process and the database not locked by another (SQLite asked not to wait for it).

        For a turn's two short transactions: a worker-thread hop costs more than they do (the
        worker must win the GIL from a busy event loop). Anything that would wait goes to `run`:
        this process's connection in use, or another process writing (`SQLITE_BUSY` at once,
        rolled back, then done again in a worker thread with the full `busy_timeout`). `fn` must
        therefore be safe to run twice. The fsync of copying the WAL back stays off this thread
        too (`_after_write`).
        """
        if self.file is not None:
            self.file.check()
        if not self.lock.acquire(blocking=False):
            return await self.run(fn)
        try:
            self.conn.execute("PRAGMA busy_timeout=0")
            try:
                result = fn(self.conn)
                self.conn.commit()
            except sqlite3.OperationalError as exc:
                with contextlib.suppress(sqlite3.Error):
                    self.conn.rollback()
                if getattr(exc, "sqlite_errorcode", 0) & 0xFF not in (
                    sqlite3.SQLITE_BUSY,
                    sqlite3.SQLITE_LOCKED,
                ):
                    raise StorageUnavailable(f"SQLite error on {self.path!r}: {exc}") from exc
                busy = True
            except BaseException as exc:
                with contextlib.suppress(sqlite3.Error):
                    self.conn.rollback()
                if isinstance(exc, sqlite3.Error):
                    raise StorageUnavailable(f"SQLite error on {self.path!r}: {exc}") from exc
                raise
            else:
                busy = False
            finally:
                with contextlib.suppress(sqlite3.Error):
                    self.conn.execute(f"PRAGMA busy_timeout={self.busy_timeout_ms}")
        finally:
            self.lock.release()
        if busy:
            return await self.run(fn)
        self._after_write()
        return result

    def _after_write(self) -> None:
        """Every `CHECKPOINT_EVERY` transactions, copy the WAL back into the database in a worker
        thread (SQLite's auto-checkpoint is off: it would fsync inside a commit, maybe on the loop)."""
        self._writes += 1
        if self._writes < CHECKPOINT_EVERY or self.path == ":memory:":
            return
        if self._checkpointing is not None and not self._checkpointing.done():
            return
        self._writes = 0
        self._checkpointing = asyncio.get_running_loop().create_task(self._checkpoint())

    async def _checkpoint(self) -> None:
        def passive() -> None:
            with self.lock:
                self.conn.execute("PRAGMA wal_checkpoint(PASSIVE)").fetchall()

        with contextlib.suppress(sqlite3.Error):
            await asyncio.to_thread(passive)

    def close(self) -> None:
        with self.lock:
            self.conn.close()
