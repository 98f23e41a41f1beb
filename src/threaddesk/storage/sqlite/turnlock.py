"""Turn locks shared by every process that opens one SQLite file: POSIX byte-range locks on a sidecar.

SQLite locks the whole database for a write, not a thread for a turn: two
processes could both read a thread's latest checkpoint and both write a
successor, and the later write silently hides the earlier turn. So a turn holds
one byte of `<database>.turnlocks` with `fcntl` for its whole duration (the
checkpoint read, the model call and the write). Why these locks:

- the kernel releases them when their process dies, `kill -9` included: no
  lease to expire, no stale row to clean up, no timeout to tune;
- uncontended, taking one is one system call (turns stay as fast as before);
- every kind of process (`serve`, `chat`, the library, `threads cleanup`) takes
  them through the same registry, with no server to coordinate them.

Each thread id maps to one byte (the first 8 bytes of its sha256, modulo
2**62): two ids sharing a byte only serialise each other, never corrupt.

POSIX locks belong to a process, not to a task or a file descriptor: asking
again for a byte this process holds succeeds at once, and closing any
descriptor of the file drops all of them. So the file is opened once and kept
open, and this process counts its own holders of each byte (locking it for the
first, unlocking it after the last). Turns of one thread within a process are
already queued by the thread manager's FIFO lock before they get here.

A wait for a byte another process holds blocks in `F_SETLKW` on a thread of its
own (never the event loop, nor the default executor the database runs on: a
full executor of waiters could starve the turns they wait for).
"""

from __future__ import annotations

import asyncio
import errno
import fcntl
import hashlib
import os
import threading
import time
from collections.abc import AsyncIterator, Sequence
from contextlib import asynccontextmanager
from dataclasses import dataclass
from pathlib import Path

from threaddesk.errors import StorageUnavailable, ThreadBusy
from threaddesk.storage.sqlite.file import DatabaseFile

SUFFIX = ".turnlocks"
_SPAN = 2**62  # byte offsets used; far below off_t's limit
_DEADLOCK_RETRY_S = 0.005  # also the poll of a task waiting behind another task of this process
# The kernel's deadlock detection sees processes, not threads: a process that holds
# one byte while another of its threads waits for a second can be told EDEADLK
# although nothing is stuck. Waiting a moment and asking again is the remedy.
_BUSY = (errno.EAGAIN, errno.EACCES)


def lock_offset(thread_id: str) -> int:
    """The byte of the sidecar file that stands for `thread_id`, the same in every process."""
    digest = hashlib.sha256(thread_id.encode("utf-8")).digest()
    return int.from_bytes(digest[:8], "big") % _SPAN


def sidecar_path(database_path: str | Path) -> Path:
    return Path(f"{database_path}{SUFFIX}")


@dataclass
class _Byte:
    """This process's claim on one byte: how many hold it, and whether a task here is waiting for it."""

    holders: int = 0
    users: int = 0  # holders plus tasks on their way to holding; the entry goes when it reaches 0
    taking: bool = False


_shared: dict[str, FileTurnLocks] = {}
_shared_guard = threading.Lock()


class FileTurnLocks:
    """Exclusive locks on thread ids, shared by all processes that open the same sidecar file.

    One instance per file and process (`open`): two would each believe they
    held a byte the other could unlock, and closing either descriptor would
    drop both's locks. Its bookkeeping is guarded by a thread lock, since
    desks on different event loops (the sync `ThreadDesk`) may share it.
    """

    def __init__(self, path: Path) -> None:
        self.path = path
        try:
            self._fd = os.open(self.path, os.O_RDWR | os.O_CREAT | os.O_CLOEXEC, 0o644)
        except OSError as exc:
            raise StorageUnavailable(f"cannot open the turn lock file {str(self.path)!r}: {exc}") from exc
        self._bytes: dict[int, _Byte] = {}
        self._state = threading.Lock()
        self._opened = 0
        # Deleted or replaced, it would no longer be the file other processes lock: refuse turns then.
        self._file = DatabaseFile(path, what="turn lock file", must_be_writable=False)

    @classmethod
    def open(cls, path: str | Path) -> FileTurnLocks:
        """This process's locks on the file at `path`; `close()` once per `open`."""
        key = os.path.realpath(path)
        with _shared_guard:
            locks = _shared.get(key)
            if locks is None:
                locks = _shared[key] = cls(Path(key))
            locks._opened += 1
            return locks

    def close(self) -> None:
        """Give back one `open`; the last one closes the file, releasing every lock this process holds."""
        with _shared_guard:
            self._opened -= 1
            if self._opened > 0:
                return
            _shared.pop(str(self.path), None)
            os.close(self._fd)
            self._fd = -1

    def check(self) -> None:
        """`StorageUnavailable` once the path names another file than the one locked (at most every 0.5 s)."""
        self._file.check()

    def _try(self, offset: int) -> bool:
        try:
            fcntl.lockf(self._fd, fcntl.LOCK_EX | fcntl.LOCK_NB, 1, offset)
        except OSError as exc:
            if exc.errno in _BUSY:
                return False
            raise
        return True

    def _unlock(self, offset: int) -> None:
        fcntl.lockf(self._fd, fcntl.LOCK_UN, 1, offset)

    def _block(self, offset: int) -> None:
        while True:
            try:
                fcntl.lockf(self._fd, fcntl.LOCK_EX, 1, offset)
                return
            except OSError as exc:
                if exc.errno not in (errno.EDEADLK, errno.EINTR):
                    raise
            time.sleep(_DEADLOCK_RETRY_S)

    async def _wait(self, offset: int) -> None:
        """Block for the byte on a thread of its own; if cancelled meanwhile, give it back once taken."""
        loop = asyncio.get_running_loop()
        granted: asyncio.Future[None] = loop.create_future()
        guard = threading.Lock()
        outcome: dict[str, object] = {}  # "taken" or "abandoned", decided under `guard`

        def settle(error: BaseException | None) -> None:
            if granted.done():
                return
            if error is None:
                granted.set_result(None)
            else:
                granted.set_exception(error)

        def block() -> None:
            try:
                self._block(offset)
            except OSError as exc:
                loop.call_soon_threadsafe(settle, exc)
                return
            with guard:
                if outcome.get("state") == "abandoned":
                    self._give_back_unwanted(offset)
                    return
                outcome["state"] = "taken"
            loop.call_soon_threadsafe(settle, None)

        threading.Thread(target=block, name=f"turnlock-{offset:x}", daemon=True).start()
        try:
            await granted
        except asyncio.CancelledError:
            with guard:
                if outcome.get("state") == "taken":
                    self._unlock(offset)
                outcome["state"] = "abandoned"
            raise

    def _give_back_unwanted(self, offset: int) -> None:
        """Unlock a byte granted to a wait that was cancelled, unless a task here holds or awaits it.

        The kernel grants a byte to the process, not to a thread: by now another
        task of this process may hold it (its `_try` succeeded) or be waiting
        for it, and unlocking would take it from under them.
        """
        with self._state:
            entry = self._bytes.get(offset)
            if entry is None or (entry.holders == 0 and not entry.taking):
                self._unlock(offset)

    async def _acquire(self, offset: int, wait: bool) -> bool:
        """Make this process a holder of `offset`; False if it is taken and `wait` is off."""
        with self._state:
            entry = self._bytes.setdefault(offset, _Byte())
            entry.users += 1
        while True:
            with self._state:
                if entry.holders:  # held here already: an id sharing the byte
                    entry.holders += 1
                    return True
                if not entry.taking:
                    try:
                        taken = self._try(offset)
                    except BaseException:
                        self._forget(offset, entry)
                        raise
                    if taken:
                        entry.holders = 1
                        return True
                    if not wait:
                        self._forget(offset, entry)
                        return False
                    entry.taking = True
                    break
                if not wait:
                    self._forget(offset, entry)
                    return False
            # Another task here waits for the byte (a rare collision): wait for it to get it.
            await asyncio.sleep(_DEADLOCK_RETRY_S)
        try:
            await self._wait(offset)
        except BaseException:
            with self._state:
                entry.taking = False
                self._forget(offset, entry)
            raise
        with self._state:
            entry.taking = False
            entry.holders = 1
        return True

    def _release(self, offset: int) -> None:
        with self._state:
            entry = self._bytes[offset]
            entry.holders -= 1
            if entry.holders == 0:
                self._unlock(offset)
            self._forget(offset, entry)

    def _forget(self, offset: int, entry: _Byte) -> None:
        """Drop one user of the entry (the caller holds `_state`)."""
        entry.users -= 1
        if entry.users == 0:
            del self._bytes[offset]

    @asynccontextmanager
    async def hold(self, thread_id: str, *, wait: bool = True) -> AsyncIterator[None]:
        """Hold `thread_id` against every process on this file; `ThreadBusy` if taken and not `wait`."""
        self.check()
        offset = lock_offset(thread_id)
        try:
            taken = await self._acquire(offset, wait)
        except OSError as exc:
            raise StorageUnavailable(f"cannot lock {str(self.path)!r}: {exc}") from exc
        if not taken:
            raise ThreadBusy(thread_id)
        try:
            yield
        finally:
            self._release(offset)

    @asynccontextmanager
    async def try_hold_many(self, thread_ids: Sequence[str]) -> AsyncIterator[list[str]]:
        """Take, without waiting, these threads' locks; yield the ids taken, held until the block ends."""
        self.check()
        taken: list[tuple[str, int]] = []
        try:
            try:
                for thread_id in thread_ids:
                    offset = lock_offset(thread_id)
                    if await self._acquire(offset, wait=False):
                        taken.append((thread_id, offset))
            except OSError as exc:
                raise StorageUnavailable(f"cannot lock {str(self.path)!r}: {exc}") from exc
            yield [thread_id for thread_id, _ in taken]
        finally:
            for _, offset in taken:
                self._release(offset)


class _NotTaken(Exception):
    """The byte is held elsewhere and the caller would not wait."""
