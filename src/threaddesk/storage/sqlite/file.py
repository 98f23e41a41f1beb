"""Notice when a SQLite database's path stops naming the file this process has open.

An open connection keeps writing to its file after `rm` (into an unlinked
inode) or after another file is moved into its place, and everything looks
fine until a restart finds the path empty (or someone else's): every thread
and user gone, a new admin token minted. So the path is compared with the
file opened (device and inode) and checked for writability, at most once per
`interval` seconds: a turn or a readiness probe then fails with
`StorageUnavailable` (503) instead of answering from a file nobody will see again.
"""

from __future__ import annotations

import os
import stat
import time
from collections.abc import Callable
from pathlib import Path

from threaddesk.errors import StorageUnavailable

CHECK_INTERVAL_S = 0.5


def _writable(status: os.stat_result, path: Path) -> bool:
    """Whether the file may be written; root ignores permissions, so its write bits are read instead."""
    if os.geteuid() == 0:
        return bool(status.st_mode & (stat.S_IWUSR | stat.S_IWGRP | stat.S_IWOTH))
    return os.access(path, os.W_OK)


class DatabaseFile:
    """The identity of an open database file, and a cheap check that its path still names it."""

    def __init__(
        self,
        path: str | Path,
        *,
        interval: float = CHECK_INTERVAL_S,
        clock: Callable[[], float] = time.monotonic,
        what: str = "SQLite database",
        must_be_writable: bool = True,
    ) -> None:
        self.path = Path(path)
        self.what = what
        self.must_be_writable = must_be_writable
        status = self.path.stat()
        self._identity = (status.st_dev, status.st_ino)
        self._interval = interval
        self._clock = clock
        self._next_check = clock() + interval
        self._problem: str | None = None

    def problem(self) -> str | None:
        """What is wrong with the file now (None if nothing); looks again at most once per interval."""
        now = self._clock()
        if now < self._next_check:
            return self._problem
        self._next_check = now + self._interval
        try:
            status = self.path.stat()
        except FileNotFoundError:
            self._problem = "was deleted"
        except OSError as exc:
            self._problem = f"cannot be read: {exc}"
        else:
            if (status.st_dev, status.st_ino) != self._identity:
                self._problem = "was replaced by another file"
            elif self.must_be_writable and not _writable(status, self.path):
                self._problem = "is not writable"
            else:
                self._problem = None
        return self._problem

    def check(self) -> None:
        """Raise `StorageUnavailable` while the path does not name the open, writable file."""
        problem = self.problem()
        if problem is not None:
            raise StorageUnavailable(
                f"the {self.what} {str(self.path)!r} {problem} while this process had it open"
            )
