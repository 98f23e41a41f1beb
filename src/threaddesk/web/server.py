"""uvicorn, held against hostile connections: uvicorn's own h11 protocol with three additions.

- A cap on open connections per process (`max_connections`). A connection
  beyond it closes the one that has waited longest without sending a request
  (an idle or slow client) to make room, or, if every connection is busy with a
  request, is answered 503 at once. The cap is fitted under the process's
  open-file limit, so `accept()` never runs out of descriptors (asyncio logs a
  traceback for every failed accept, up to `backlog` of them per loop turn).
- A deadline for a request's head (`header_timeout_s`), from connecting or from
  the first byte after a response: a client that trickles its headers
  (slowloris) or never sends any is closed. A body must then arrive within
  `body_timeout_s` (a slow POST is closed too). Idle keep-alive connections
  keep uvicorn's own `timeout_keep_alive`.
- Strict framing: h11 already refuses conflicting lengths and unknown
  transfer codings; on top, a request that carries both `Content-Length` and
  `Transfer-Encoding`, repeats `Content-Length`, sends `Transfer-Encoding` in
  HTTP/1.0 or folds a header line gets 400, because a proxy in front may frame
  it differently (request smuggling).

uvicorn stays the server: `ServerConfig` is its `Config` plus the limits, and
`GuardedH11Protocol` its `H11Protocol` plus the checks.
"""

from __future__ import annotations

import asyncio
import gc
import logging
import re
import resource
import time
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from typing import Any

import h11
import uvicorn
from uvicorn.config import LOOP_FACTORIES
from uvicorn.importer import import_from_string
from uvicorn.protocols.http.h11_impl import H11Protocol

from threaddesk.config import Settings
from threaddesk.web.logs import log_config

log = logging.getLogger("threaddesk.web.server")

# Descriptors kept for everything but client sockets: the database and its WAL, the listener, the
# event loop's own, log files. Each loop turn may also accept up to `backlog` sockets before any of
# them is looked at, and as many evicted ones may still be closing: 2 x backlog more.
FD_RESERVE = 64
_REFUSAL = (
    b"HTTP/1.1 503 Service Unavailable\r\ncontent-type: text/plain; charset=utf-8\r\n"
    b"connection: close\r\nretry-after: 1\r\ncontent-length: 34\r\n\r\n"
    b"too many open connections, retry\r\n"
)
# A connection is closed to make room only once it has waited this long without a request: one that
# connected a moment ago (its request perhaps already on the way) is never taken for an idle one.
EVICTION_GRACE_S = 1.0
_HEAD_END = re.compile(rb"\r?\n\r?\n")
_FOLDED_LINE = re.compile(rb"\n[ \t]")
_CONTENT_LENGTH = re.compile(rb"(?im)^content-length[ \t]*:([^\r\n]*)")


class OpenConnections:
    """How many client connections this process holds now (read by `/metrics`)."""

    count = 0


def framing_problem(request: h11.Request, head: bytes) -> str | None:
    """Why this request's body framing is ambiguous, or None. `head` is its raw bytes, when known."""
    names = {name for name, _ in request.headers}
    if b"transfer-encoding" in names and b"content-length" in names:
        return "both Content-Length and Transfer-Encoding"
    if b"transfer-encoding" in names and request.http_version == b"1.0":
        return "Transfer-Encoding in an HTTP/1.0 request"
    end = _HEAD_END.search(head)
    head = head[: end.start()] if end else head
    if _FOLDED_LINE.search(head):
        return "a folded header line (obs-fold)"
    lengths = _CONTENT_LENGTH.findall(head)
    if len(lengths) > 1 or any(b"," in value for value in lengths):
        return "Content-Length given more than once"
    return None


class StrictConnection(h11.Connection):
    """h11's server side, keeping each request head's raw bytes to refuse ambiguous framing."""

    def __init__(self, max_incomplete_event_size: int) -> None:
        super().__init__(h11.SERVER, max_incomplete_event_size)
        self._limit = max_incomplete_event_size
        self._head = b""

    def receive_data(self, data: bytes) -> None:
        if self.their_state is h11.IDLE and len(self._head) <= self._limit:
            self._head += data
        super().receive_data(data)

    def start_next_cycle(self) -> None:
        super().start_next_cycle()
        self._head = self.trailing_data[0][: self._limit + 1]  # a pipelined request's start

    def next_event(self) -> Any:
        event = super().next_event()
        if isinstance(event, h11.Request):
            head, self._head = self._head, b""
            problem = framing_problem(event, head)
            if problem:
                raise h11.RemoteProtocolError(f"ambiguous message framing: {problem}", 400)
        return event


class ServerConfig(uvicorn.Config):
    """uvicorn's `Config` with the connection limits of `GuardedH11Protocol`."""

    def __init__(
        self, app: Any, *, max_connections: int, header_timeout_s: float, body_timeout_s: float, **kwargs: Any
    ) -> None:
        super().__init__(app, http=GuardedH11Protocol, **kwargs)
        self.max_connections = max_connections
        self.header_timeout_s = header_timeout_s
        self.body_timeout_s = body_timeout_s


class GuardedH11Protocol(H11Protocol):
    """uvicorn's h11 protocol with a connection cap, a request-head deadline and strict framing."""

    config: ServerConfig

    def __init__(self, config: ServerConfig, *args: Any, **kwargs: Any) -> None:
        super().__init__(config, *args, **kwargs)
        self.config = config
        self.conn = StrictConnection(self.conn._max_incomplete_event_size)
        self._head_deadline: asyncio.TimerHandle | None = None
        self._body_deadline: asyncio.TimerHandle | None = None
        self._idle_since = time.monotonic()
        self._counted = False

    def connection_made(self, transport: asyncio.Transport) -> None:  # type: ignore[override]
        super().connection_made(transport)
        OpenConnections.count += 1
        self._counted = True
        if not self._make_room():
            log.warning(
                "connection limit (%d) reached, no connection idle to close: refused with 503",
                self.config.max_connections,
            )
            transport.write(_REFUSAL)
            transport.close()
            return
        self._arm_head_deadline()

    def connection_lost(self, exc: Exception | None) -> None:
        if self._counted:
            OpenConnections.count -= 1
            self._counted = False
        self._disarm_head_deadline()
        self._disarm_body_deadline()
        super().connection_lost(exc)

    def data_received(self, data: bytes) -> None:
        if self._awaiting_head() and self._head_deadline is None:
            self._arm_head_deadline()
        super().data_received(data)
        if not self._awaiting_head():
            self._disarm_head_deadline()
        if self.conn.their_state is h11.SEND_BODY and self._body_deadline is None:
            self._body_deadline = self.loop.call_later(self.config.body_timeout_s, self._body_timed_out)
        elif self.conn.their_state is not h11.SEND_BODY:
            self._disarm_body_deadline()

    def on_response_complete(self) -> None:
        self._idle_since = time.monotonic()
        super().on_response_complete()

    def _awaiting_head(self) -> bool:
        """No request in progress: before the first, or between two on a kept-alive connection."""
        return self.conn.their_state is h11.IDLE and (self.cycle is None or self.cycle.response_complete)

    def _make_room(self) -> bool:
        """Within the cap, or made so by closing the connection idle longest; False if none is idle."""
        open_ = [c for c in self.connections if not (c.transport and c.transport.is_closing())]
        if len(open_) <= self.config.max_connections:
            return True
        now = time.monotonic()
        idle = [
            c
            for c in open_
            if isinstance(c, GuardedH11Protocol)
            and c._awaiting_head()
            and now - c._idle_since >= EVICTION_GRACE_S
        ]
        if not idle:
            return False
        oldest = min(idle, key=lambda c: c._idle_since)
        oldest._disarm_head_deadline()
        oldest.transport.close()
        return True

    def _arm_head_deadline(self) -> None:
        self._head_deadline = self.loop.call_later(self.config.header_timeout_s, self._head_timed_out)

    def _disarm_head_deadline(self) -> None:
        if self._head_deadline is not None:
            self._head_deadline.cancel()
            self._head_deadline = None

    def _disarm_body_deadline(self) -> None:
        if self._body_deadline is not None:
            self._body_deadline.cancel()
            self._body_deadline = None

    def _body_timed_out(self) -> None:
        """A body still arriving: close (the app's `receive()` then reports a disconnect)."""
        self._body_deadline = None
        if self.conn.their_state is h11.SEND_BODY and not self.transport.is_closing():
            self.transport.close()

    def _head_timed_out(self) -> None:
        self._head_deadline = None
        if self._awaiting_head() and not self.transport.is_closing():
            self.transport.close()


def fit_open_file_limit(max_connections: int, backlog: int) -> tuple[int, int]:
    """`(max_connections, backlog)` that fit the open-file limit, raising its soft value first if allowed.

    Like Go's runtime, the soft limit is raised towards the hard one; what still
    does not fit is taken off the cap (and the backlog), with a warning.
    """
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    needed = max_connections + 2 * backlog + FD_RESERVE
    if soft == resource.RLIM_INFINITY or soft >= needed:
        return max_connections, backlog
    target = needed if hard == resource.RLIM_INFINITY else min(needed, hard)
    try:
        resource.setrlimit(resource.RLIMIT_NOFILE, (target, hard))
        soft = target
    except (ValueError, OSError):
        pass
    if soft >= needed:
        return max_connections, backlog
    fitted_backlog = min(backlog, max(8, soft // 8))
    fitted = max(8, soft - 2 * fitted_backlog - FD_RESERVE)
    log.warning(
        "the open-file limit is %d: serving at most %d connections (max_connections=%d) with a backlog"
        " of %d; raise `ulimit -n` to serve more",
        soft,
        fitted,
        max_connections,
        fitted_backlog,
    )
    return min(fitted, max_connections), fitted_backlog


def freeze_startup_objects() -> int:
    """Collect, then hide every object alive now from the cyclic garbage collector; how many were hidden.

    A server's long-lived objects (modules, classes, the app, the compiled
    graphs: ~150,000 of them) are otherwise walked by every full collection,
    and under load (100 turns in flight keep many young objects alive) full
    collections come often: measured in process, 100 concurrent turns spent
    ~1 ms of each turn's ~3 ms of CPU in the collector, ~0.25 ms once frozen.
    The frozen objects stay alive as they would anyway (they live as long as
    the process); garbage made later is collected as before.
    """
    gc.collect()
    gc.freeze()
    return gc.get_freeze_count()


def freeze_after_startup(app: Any) -> Any:
    """`app` (a Starlette/FastAPI app) with `freeze_startup_objects()` run once its startup is done."""
    startup = app.router.lifespan_context

    @asynccontextmanager
    async def lifespan(app_: Any) -> AsyncIterator[Any]:
        async with startup(app_) as state:
            frozen = freeze_startup_objects()
            log.debug("%d objects alive after startup hidden from the garbage collector", frozen)
            yield state

    app.router.lifespan_context = lifespan
    return app


def loop_factory(settings: Settings) -> Callable[[], asyncio.AbstractEventLoop]:
    """The event loop `threaddesk serve` runs on: uvicorn's own choice for `--loop` (`event_loop`).

    `auto` is uvloop when installed, as a plain `uvicorn app:app` (and each of
    `--workers N`'s processes, started by uvicorn) would run; else asyncio's.
    """
    path = LOOP_FACTORIES[settings.event_loop]
    assert path is not None  # "none" (the caller's own loop) is not one of ours
    return import_from_string(path)(use_subprocess=False)


def server_config(app: Any, settings: Settings, **kwargs: Any) -> ServerConfig:
    """The uvicorn configuration `threaddesk serve` runs with (`app` an app or a factory's import path)."""
    config = ServerConfig(
        app,
        host=settings.host,
        port=settings.port,
        timeout_keep_alive=settings.keep_alive_s,
        log_config=log_config(settings.log_format),
        max_connections=settings.max_connections,
        header_timeout_s=settings.header_timeout_s,
        body_timeout_s=settings.body_timeout_s,
        backlog=settings.backlog,
        loop=settings.event_loop,
        **kwargs,
    )
    config.max_connections, config.backlog = fit_open_file_limit(settings.max_connections, settings.backlog)
    return config
