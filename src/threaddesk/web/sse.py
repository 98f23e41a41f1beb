"""Server-sent events whose errors before the first event are still HTTP errors.

A turn can fail before it produces anything (unknown thread, busy thread,
message too large) and the client deserves a 404/409/413 then, not a 200
stream carrying an error. So the turn is started first, in a task of its own,
and the response begins only once its first event exists. The task is
cancelled when the response ends for any reason, so a client that goes away
abandons the turn (which the core rolls back) and frees the thread, unless the
response was told to let it finish (`cancel_on_close=False`).
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator, Callable
from contextlib import aclosing
from typing import Any, Generic, TypeVar

from starlette.responses import StreamingResponse
from starlette.types import Receive, Scope, Send

T = TypeVar("T")
_END = object()
_DETACHED: set[asyncio.Task[None]] = set()  # drains of detached streams, kept from the garbage collector


def frame(event: str, data: Any) -> bytes:
    """One SSE frame: `event: <name>` and its JSON `data`."""
    return f"event: {event}\ndata: {json.dumps(data, ensure_ascii=False, default=str)}\n\n".encode()


class StartedStream(Generic[T]):
    """An async iterator driven by a background task, already past its first item."""

    def __init__(self, events: AsyncIterator[T], buffer: int = 64) -> None:
        self._queue: asyncio.Queue[Any] = asyncio.Queue(buffer)
        self._first: Any = _END
        self._task = asyncio.create_task(self._produce(events))

    @classmethod
    async def start(cls, events: AsyncIterator[T]) -> StartedStream[T]:
        """Begin `events`; raise its error here if it fails before the first item."""
        stream = cls(events)
        first = await stream._queue.get()
        if isinstance(first, BaseException):
            await stream.aclose()
            raise first
        stream._first = first
        return stream

    async def _produce(self, events: AsyncIterator[T]) -> None:
        try:
            async with aclosing(events):  # type: ignore[type-var]
                async for event in events:
                    await self._queue.put(event)
        except Exception as exc:  # handed to the consumer, who decides what it means
            await self._queue.put(exc)
        else:
            await self._queue.put(_END)

    async def __aiter__(self) -> AsyncIterator[T | Exception]:
        """The items, ending with the exception (yielded, not raised) if the source failed."""
        item = self._first
        while item is not _END:
            yield item
            if isinstance(item, Exception):
                return
            item = await self._queue.get()

    async def aclose(self) -> None:
        if not self._task.done():
            self._task.cancel()
        await asyncio.gather(self._task, return_exceptions=True)

    def detach(self) -> None:
        """Let the source run to its end with nobody reading (LangGraph's `on_disconnect=continue`)."""
        if self._task.done():
            return

        async def drain() -> None:
            while True:
                item = await self._queue.get()
                if item is _END or isinstance(item, BaseException):
                    return

        task = asyncio.create_task(drain())
        _DETACHED.add(task)
        task.add_done_callback(_DETACHED.discard)


class EventStreamResponse(StreamingResponse):
    """`text/event-stream` of `body`; closes `source` however the response ends."""

    def __init__(
        self,
        source: StartedStream[Any],
        body: AsyncIterator[bytes],
        headers: dict[str, str] | None = None,
        *,
        cancel_on_close: bool = True,
    ) -> None:
        super().__init__(
            body,
            media_type="text/event-stream",
            headers={"Cache-Control": "no-store", "X-Accel-Buffering": "no", **(headers or {})},
        )
        self.source = source
        self.cancel_on_close = cancel_on_close

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        try:
            await super().__call__(scope, receive, send)
        finally:
            if self.cancel_on_close:
                await self.source.aclose()
            else:
                self.source.detach()


def render(source: StartedStream[T], frames: Callable[[T | Exception], list[bytes]]) -> AsyncIterator[bytes]:
    async def body() -> AsyncIterator[bytes]:
        async for item in source:
            for chunk in frames(item):
                yield chunk

    return body()
