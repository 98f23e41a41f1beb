"""A psycopg connection pool that fails fast while PostgreSQL is unreachable and recovers fast after.

psycopg_pool's defaults suit a server that is rarely down: a request waits up
to `timeout` (30 s) for a connection, and reconnection backs off exponentially
(1, 2, 4, 8 s ...), so after a 10 s outage the first success can come 17 s
after the server is back. threaddesk answers people waiting on a chat, so:

- a connection idle for more than `CHECK_IDLE_S` (or any, while the server is
  thought unreachable) is checked (one empty round trip) before it is handed
  out, so connections an outage killed are weeded out, not handed to requests
  after it; a busy pool's connections, used a moment ago, are not (the extra
  round trip per query would cost a saturated pool a third of its throughput);
- a failed check, connect or query marks the server unreachable; a
  successful connect or check marks it reachable again;
- a request waits for a connection in slices of `FAIL_FAST_S`: while the
  server is reachable (the pool is only busy) it keeps waiting up to the full
  timeout, in order; once it is known unreachable, a request waits only
  `UNREACHABLE_WAIT_S` (`PoolTimeout`, which the callers turn into
  `StorageUnavailable`, a 503), so even a failed turn's rollback attempt is quick;
- reconnection gives up after `RECONNECT_S` instead of 5 minutes, so attempts
  never back off past it: the next request starts a fresh one, and a server
  that is back is found within about that long;
- new connections time out after `CONNECT_TIMEOUT_S`, and TCP keepalives and
  `tcp_user_timeout` notice a silently dropped network instead of waiting
  on it forever.
"""

from __future__ import annotations

import time
import weakref
from typing import Any, TypeVar

import psycopg
from psycopg import AsyncConnection
from psycopg_pool import AsyncConnectionPool, PoolTimeout

FAIL_FAST_S = 0.5
CHECK_IDLE_S = 1.0
UNREACHABLE_WAIT_S = 0.25  # once known unreachable: time for a connection the pool is making now
RECONNECT_S = 1.0
CONNECT_TIMEOUT_S = 2  # libpq's smallest useful value (it rounds up to 2 s)
# Passed to libpq for every connection: notice a dead peer within a few seconds.
NETWORK_KWARGS: dict[str, Any] = {
    "connect_timeout": CONNECT_TIMEOUT_S,
    "keepalives": 1,
    "keepalives_idle": 5,
    "keepalives_interval": 1,
    "keepalives_count": 3,
    "tcp_user_timeout": 5000,  # ms: unacknowledged data this long means the peer is gone
}


class Reachability:
    """Whether the server answered the last time anyone tried; shared by a process's pools."""

    def __init__(self) -> None:
        self.reachable = True
        self.changed_at = time.monotonic()

    def _set(self, reachable: bool) -> None:
        if reachable != self.reachable:
            self.reachable = reachable
            self.changed_at = time.monotonic()

    def failed(self) -> None:
        self._set(False)

    def answered(self) -> None:
        self._set(True)

    def connection_class(self, base: type[AsyncConnection[Any]] = AsyncConnection) -> type[Any]:
        """A `base` whose connects report here, for the pool's `connection_class`."""
        reachability = self

        class ReportingConnection(base):  # type: ignore[valid-type,misc]
            @classmethod
            async def connect(cls, *args: Any, **kwargs: Any) -> Any:
                try:
                    conn = await super().connect(*args, **kwargs)
                except psycopg.OperationalError:
                    reachability.failed()
                    raise
                reachability.answered()
                return conn

        return ReportingConnection


ACT = TypeVar("ACT", bound=AsyncConnection[Any])


class FailFastPool(AsyncConnectionPool[ACT]):
    """`AsyncConnectionPool` that waits for a connection only while the server is reachable."""

    def __init__(self, conninfo: str, *, reachability: Reachability, **kwargs: Any) -> None:
        self.reachability = reachability
        kwargs["kwargs"] = {**NETWORK_KWARGS, **kwargs.get("kwargs", {})}
        self._returned_at: weakref.WeakKeyDictionary[ACT, float] = weakref.WeakKeyDictionary()
        base = kwargs.pop("connection_class", AsyncConnection)
        super().__init__(
            conninfo,
            connection_class=reachability.connection_class(base),
            check=self._check,
            reconnect_timeout=RECONNECT_S,
            **kwargs,
        )

    async def putconn(self, conn: ACT) -> None:
        self._returned_at[conn] = time.monotonic()
        await super().putconn(conn)

    async def _check(self, conn: ACT) -> None:
        returned = self._returned_at.get(conn)
        if (
            self.reachability.reachable
            and returned is not None
            and time.monotonic() - returned < CHECK_IDLE_S
        ):
            return
        try:
            await AsyncConnectionPool.check_connection(conn)
        except Exception:
            self.reachability.failed()
            raise
        self.reachability.answered()

    async def getconn(self, timeout: float | None = None) -> ACT:
        """A connection within `timeout` (the pool's if None), or within one slice if the server is down."""
        deadline = time.monotonic() + (self.timeout if timeout is None else timeout)
        while True:
            left = deadline - time.monotonic()
            wait = FAIL_FAST_S if self.reachability.reachable else UNREACHABLE_WAIT_S
            try:
                return await super().getconn(min(wait, max(left, 0.001)))
            except PoolTimeout:
                if not self.reachability.reachable or left <= wait:
                    raise
