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
        self.busy_timeout_ms = int(busy_timeout_ms)
        self.lock = threading.RLock()  # the saver's cursor is taken again inside `run` in a turn

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

        return await asyncio.to_thread(locked)

    async def read_inline(self, fn: Callable[[sqlite3.Connection], T]) -> T:
        """`run` for a short read, on the event loop's own thread when it cannot wait: the
        connection free in this process, and SQLite told not to wait for a lock (a WAL reader
        rarely needs one); anything that would wait (`SQLITE_BUSY`) is done again by `run`, on a
        worker thread with the full busy timeout, so `fn` must be safe to run twice.

        For a turn's read (registry row + latest checkpoint): a worker-thread hop costs more
        than the read (the worker must win the GIL from a busy event loop). Writes stay on worker
        threads: their `write()`s into the WAL may block on a busy disk, which must not stop the loop.
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
        return result

    def close(self) -> None:
        with self.lock:
            self.conn.close()
