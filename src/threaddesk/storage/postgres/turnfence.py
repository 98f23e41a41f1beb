"""A turn writes its checkpoint only while its advisory lock is still held.

A turn's lock lives on its own connection's session: if that connection is
lost (a network cut, a server restart), PostgreSQL releases the lock while the
turn goes on in this process, say in a model call that outlasts the outage.
Another replica may then start a turn on the thread; if both wrote, the later
checkpoint would hide the earlier turn. So the checkpointer asks the lock's
connection for one round trip before each write: a psycopg connection never
reconnects behind our back, so an answer means the session, and its lock, are
intact; no answer fails the write (503, the turn rolled back) instead.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from typing import Any

import psycopg
from psycopg import AsyncConnection

from threaddesk.errors import StorageUnavailable

_lock_session: ContextVar[AsyncConnection[Any] | None] = ContextVar(
    "threaddesk_turn_lock_session", default=None
)


@contextmanager
def holding(conn: AsyncConnection[Any]) -> Iterator[None]:
    """Within the block, this task's checkpoint writes are fenced by `conn`'s session."""
    token = _lock_session.set(conn)
    try:
        yield
    finally:
        _lock_session.reset(token)


async def check_lock_held() -> None:
    """Raise `StorageUnavailable` if this task holds a turn lock whose session has ended."""
    conn = _lock_session.get()
    if conn is None:
        return
    try:
        await conn.execute("SELECT 1")
    except psycopg.Error as exc:
        raise StorageUnavailable(
            f"the turn lost its lock (its connection ended: {exc}); not written"
        ) from exc
