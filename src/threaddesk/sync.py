"""Blocking twins of the async API, for scripts, notebooks and the CLI.

There is one implementation (the async one); these classes run it on an event
loop in a background thread, so sync and async callers share the same locks,
connections and rules.
"""

from __future__ import annotations

import asyncio
import functools
import threading
from collections.abc import Callable, Coroutine, Iterator
from typing import Any, Concatenate, ParamSpec, TypeVar

from threaddesk.service import StreamEvent, SupportDesk, open_desk
from threaddesk.threads.manager import ThreadManager

P = ParamSpec("P")
T = TypeVar("T")


class BackgroundLoop:
    """An asyncio event loop running in a daemon thread.

    A daemon thread, so a script that never closes its desk still exits (an
    executor-based portal would keep the interpreter waiting for its loop).
    """

    def __init__(self) -> None:
        self.loop = asyncio.new_event_loop()
        self._thread = threading.Thread(target=self.loop.run_forever, name="threaddesk-loop", daemon=True)
        self._thread.start()

    def run(self, coro: Coroutine[Any, Any, T]) -> T:
        return asyncio.run_coroutine_threadsafe(coro, self.loop).result()

    def close(self) -> None:
        self.loop.call_soon_threadsafe(self.loop.stop)
        self._thread.join()
        self.loop.close()


def _blocking(
    method: Callable[Concatenate[Any, P], Coroutine[Any, Any, T]],
) -> Callable[Concatenate[Any, P], T]:
    """The async `method` as a blocking method of a twin that holds `_async` and `_loop`.

    Same parameters and return type as the async original, for the type checker too.
    """

    @functools.wraps(method)
    def call(self: Any, /, *args: P.args, **kwargs: P.kwargs) -> T:
        loop: BackgroundLoop = self._loop
        return loop.run(method(self._async, *args, **kwargs))

    return call


class SyncThreadManager:
    """`ThreadManager` with blocking methods (same arguments, same errors)."""

    def __init__(self, manager: ThreadManager, loop: BackgroundLoop) -> None:
        self._async = manager
        self._loop = loop

    create = _blocking(ThreadManager.create)
    new_conversation = _blocking(ThreadManager.new_conversation)
    get = _blocking(ThreadManager.get)
    list = _blocking(ThreadManager.list)
    update = _blocking(ThreadManager.update)
    delete = _blocking(ThreadManager.delete)
    cleanup = _blocking(ThreadManager.cleanup)


class ThreadDesk:
    """`SupportDesk` with blocking methods; open it with `ThreadDesk.open(...)` in a `with`."""

    def __init__(self, desk: SupportDesk, loop: BackgroundLoop, close: Callable[[], None]) -> None:
        self._async = desk
        self._loop = loop
        self._close = close
        self.threads = SyncThreadManager(desk.threads, loop)
        self.agent = desk.agent
        self.graphs = desk.graphs  # graph id -> compiled graph (see `SupportDesk.graphs`)

    @classmethod
    def open(cls, *args: Any, **kwargs: Any) -> ThreadDesk:
        """Same arguments as `open_desk`."""
        loop = BackgroundLoop()
        opener = open_desk(*args, **kwargs)
        try:
            desk = loop.run(opener.__aenter__())
        except BaseException:
            loop.close()
            raise

        def close() -> None:
            try:
                loop.run(opener.__aexit__(None, None, None))
            finally:
                loop.close()

        return cls(desk, loop, close)

    @property
    def desk(self) -> SupportDesk:
        """The async desk underneath, for code that runs on this desk's background loop."""
        return self._async

    send = _blocking(SupportDesk.send)
    reply = _blocking(SupportDesk.reply)
    inbox = _blocking(SupportDesk.inbox)
    history = _blocking(SupportDesk.history)
    search = _blocking(SupportDesk.search)
    reindex = _blocking(SupportDesk.reindex)
    seed_demo_orders = _blocking(SupportDesk.seed_demo_orders)

    def stream(self, *args: Any, **kwargs: Any) -> Iterator[StreamEvent]:
        """Blocking `SupportDesk.stream`: yields `Token`s, then the `Reply`."""
        events = self._async.stream(*args, **kwargs)

        async def step() -> StreamEvent | None:
            try:
                return await anext(events)
            except StopAsyncIteration:
                return None

        try:
            while (event := self._loop.run(step())) is not None:
                yield event
        finally:
            self._loop.run(events.aclose())

    def close(self) -> None:
        self._close()

    def __enter__(self) -> ThreadDesk:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()
