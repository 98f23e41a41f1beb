"""Blocking twins of the async API, for scripts, notebooks and the CLI.

There is one implementation (the async one); these classes run it on an event
loop in a background thread, so sync and async callers share the same locks,
connections and rules.
"""

from __future__ import annotations

import functools
from collections.abc import Callable, Coroutine, Iterator
from contextlib import ExitStack
from typing import Any, Concatenate, ParamSpec, TypeVar

from anyio.from_thread import BlockingPortal, start_blocking_portal

from threaddesk.service import StreamEvent, SupportDesk, open_desk
from threaddesk.threads.manager import ThreadManager

P = ParamSpec("P")
T = TypeVar("T")


def _blocking(
    method: Callable[Concatenate[Any, P], Coroutine[Any, Any, T]],
) -> Callable[Concatenate[Any, P], T]:
    """The async `method` as a blocking method of a twin that holds `_async` and `_portal`.

    Same parameters and return type as the async original (the type checker sees them too).
    """

    @functools.wraps(method)
    def call(self: Any, /, *args: P.args, **kwargs: P.kwargs) -> T:
        portal: BlockingPortal = self._portal
        return portal.call(functools.partial(method, self._async, *args, **kwargs))

    return call


class SyncThreadManager:
    """`ThreadManager` with blocking methods (same arguments, same errors)."""

    def __init__(self, manager: ThreadManager, portal: BlockingPortal) -> None:
        self._async = manager
        self._portal = portal

    create = _blocking(ThreadManager.create)
    new_conversation = _blocking(ThreadManager.new_conversation)
    get = _blocking(ThreadManager.get)
    list = _blocking(ThreadManager.list)
    update = _blocking(ThreadManager.update)
    delete = _blocking(ThreadManager.delete)
    cleanup = _blocking(ThreadManager.cleanup)


class ThreadDesk:
    """`SupportDesk` with blocking methods; open it with `ThreadDesk.open(...)` in a `with`."""

    def __init__(self, desk: SupportDesk, portal: BlockingPortal, close: Callable[[], None]) -> None:
        self._async = desk
        self._portal = portal
        self._close = close
        self.threads = SyncThreadManager(desk.threads, portal)
        self.agent = desk.agent

    @classmethod
    def open(cls, *args: Any, **kwargs: Any) -> ThreadDesk:
        """Same arguments as `open_desk`; the desk runs on an event loop in a thread of its own."""
        stack = ExitStack()
        try:
            portal = stack.enter_context(start_blocking_portal(name="threaddesk-loop"))
            desk = stack.enter_context(portal.wrap_async_context_manager(open_desk(*args, **kwargs)))
        except BaseException:
            stack.close()
            raise
        return cls(desk, portal, stack.close)

    @property
    def desk(self) -> SupportDesk:
        """The async desk underneath, for code that runs on this desk's event loop (`portal`)."""
        return self._async

    @property
    def portal(self) -> BlockingPortal:
        """The portal to this desk's event loop: `desk.portal.call(async_fn, ...)` runs there."""
        return self._portal

    send = _blocking(SupportDesk.send)
    history = _blocking(SupportDesk.history)

    def stream(self, *args: Any, **kwargs: Any) -> Iterator[StreamEvent]:
        """Blocking `SupportDesk.stream`: yields `Token`s, then the `Reply`."""
        events = self._async.stream(*args, **kwargs)

        async def step() -> StreamEvent | None:
            try:
                return await anext(events)
            except StopAsyncIteration:
                return None

        try:
            while (event := self._portal.call(step)) is not None:
                yield event
        finally:
            self._portal.call(events.aclose)

    def close(self) -> None:
        self._close()

    def __enter__(self) -> ThreadDesk:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()
