"""One SQLite connection, and the lock that serialises it, for every store of the backend."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import sqlite3
import threading
from collections.abc import Callable
from pathlib import Path
from typing import TypeVar

from threaddesk.errors import StorageUnavailable
from threaddesk.storage.sqlite.file import DatabaseFile

T = TypeVar("T")
log = logging.getLogger(__name__)

# Commits between two WAL checkpoints (SQLite's auto-checkpoint, off here, runs one at 1,000 WAL
# pages; a turn writes a handful of pages).
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
            # No statement cache: the turn's phases run on the event loop's thread and the saver's other
            # operations on worker threads, and a cached statement shared between them was seen
            # stepped by one while bound by the other (`bad parameter or other API misuse`).
            self.conn = sqlite3.connect(
                self.path, check_same_thread=False, timeout=busy_timeout_ms / 1000, cached_statements=0
            )
            self.conn.execute("PRAGMA journal_mode=WAL")
            self.conn.execute("PRAGMA synchronous=NORMAL")
            self.conn.execute(f"PRAGMA busy_timeout={int(busy_timeout_ms)}")
            self.conn.execute("PRAGMA foreign_keys=ON")
            # Checkpoints are run by `_committed`, off the event loop (other processes keep theirs).
            self.conn.execute("PRAGMA wal_autocheckpoint=0")
            self.file = None if self.path == ":memory:" else DatabaseFile(self.path)
        except (sqlite3.Error, OSError) as exc:
            raise StorageUnavailable(f"cannot open SQLite database {self.path!r}: {exc}") from exc
        self.busy_timeout_ms = int(busy_timeout_ms)
        self.lock = threading.RLock()  # the saver's cursor is taken again inside `run` in a turn
        self._commits = 0
        self._checkpointing: asyncio.Future[None] | None = None

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
        self._committed()
        return result

    async def run_inline(self, fn: Callable[[sqlite3.Connection], T]) -> T:
        """`run` for a short transaction, on the event loop's own thread when it cannot wait: the
        connection free in this process, and SQLite told not to wait for a lock; anything that
        would wait (`SQLITE_BUSY`: another process holds the write lock) is rolled back and done
        again by `run`, on a worker thread with the full busy timeout, so `fn` must touch nothing
        but the database (it may run twice).

        For a turn's read (registry row + latest checkpoint) and its write (checkpoint, registry
        row, search index, prune): a worker-thread hop costs more than the statements (the worker
        must win the GIL from a busy event loop, then the loop must be woken). A commit here never
        waits on the disk: in WAL mode with `synchronous=NORMAL` a commit appends to the WAL
        without an fsync, and the WAL checkpoint that does fsync runs on a worker thread
        (`_checkpoint_wal`), not inside the commit as SQLite's auto-checkpoint would.
        """
        if self.file is not None:
            self.file.check()
        if self.lock._is_owned():  # type: ignore[attr-defined]
            # The loop's own thread holds the connection already (something on it is mid-use of it,
            # suspended): the RLock would let this in beside it. Wait for it on a worker thread.
            log.warning("SQLite connection of %r re-entered on the event loop's thread", self.path)
            return await self.run(fn)
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
        self._committed()
        return result

    def _committed(self) -> None:
        """Count a commit; every `CHECKPOINT_EVERY` of them, copy the WAL back into the database
        on a worker thread (SQLite's own auto-checkpoint is off on this connection: it would run
        inside a commit, with an fsync, on whichever thread committed)."""
        if self.file is None:
            return
        self._commits += 1
        if self._commits < CHECKPOINT_EVERY or self._checkpointing is not None:
            return
        self._commits = 0
        self._checkpointing = asyncio.get_running_loop().run_in_executor(None, self._checkpoint_wal)
        self._checkpointing.add_done_callback(self._checkpointed)

    def _checkpoint_wal(self) -> None:
        with self.lock:
            self.conn.execute("PRAGMA wal_checkpoint(PASSIVE)").fetchone()

    def _checkpointed(self, done: asyncio.Future[None]) -> None:
        self._checkpointing = None
        if not done.cancelled() and (exc := done.exception()) is not None:
            log.warning("WAL checkpoint of %r failed (retried after more commits): %s", self.path, exc)

    def close(self) -> None:
        with self.lock:
            self.conn.close()
