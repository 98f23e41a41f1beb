"""A run's stream for whoever joins it (`join_stream`), live and, for resumable runs, kept.

The process executing a run publishes its stream here, written as the client
would read it (an `Encoder`, given by the web layer: LangGraph's event names
and JSON) and numbered from 1 (`seq`). Two ways out:

- **live, in this process**: `RunEventHub.subscribe` hands a queue of the
  events from now on; a run nobody listens to costs nothing here.
- **kept** (runs made with `stream_resumable=true`): every event is also
  appended to the run's event log (`EventLog`, a table in the same database),
  so a client may replay from any event (`Last-Event-ID`) and a client of
  **another process** can follow a run: it polls the log (`follow`), every
  `FOLLOW_POLL` seconds, until the run's row says it ended. Polling, not
  PostgreSQL `LISTEN/NOTIFY`: it works alike on SQLite and PostgreSQL, needs
  no connection held per listener (NOTIFY needs one outside the pool, and its
  payloads are capped at 8 kB, so events would be read from the table anyway),
  and costs one indexed query per follower per poll.

A run's kept events are bounded (`MAX_KEPT_EVENTS`; later ones are streamed
live, not kept) and deleted with the run (`runs.delete`, a rollback) or its
thread. A non-resumable run executing in another process can be joined too,
but only its end is seen (no events): LangGraph's server does the same
without its Redis.
"""

from __future__ import annotations

import asyncio
import logging
import re
import uuid
from abc import ABC, abstractmethod
from collections.abc import AsyncGenerator, Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Protocol

from threaddesk.errors import InvalidArgument
from threaddesk.runs.result import RunChunk

log = logging.getLogger(__name__)

MAX_KEPT_EVENTS = 10_000
FOLLOW_POLL = 0.1
_END = None
_STREAM_ID = re.compile(r"^(\d{1,20})(?:-(\d{1,20}))?$")


@dataclass(frozen=True, slots=True)
class RunEvent:
    """One event of a run's stream: its number in the run, name and JSON data."""

    seq: int
    event: str
    data: bytes


def stream_id(run_id: str, seq: int) -> str:
    """The SSE `id:` of a run's event: Redis stream style (`<ms>-<n>`) as LangGraph's server
    sends, the run's creation millisecond (from its UUIDv7) and the event's number."""
    try:
        ms = uuid.UUID(run_id).int >> 80
    except ValueError:
        ms = 0
    return f"{ms}-{seq}"


def after_seq(last_event_id: str | None) -> int | None:
    """The event number a `Last-Event-ID` names (None: replay nothing). `0` replays everything."""
    if last_event_id is None or last_event_id == "":
        return None
    match = _STREAM_ID.match(last_event_id.strip())
    if match is None:
        raise InvalidArgument(f"Last-Event-ID must be an event id this server sent, got {last_event_id!r}")
    return int(match.group(2) if match.group(2) is not None else match.group(1))


class Encoder(Protocol):
    """A run's stream written for clients: what begins it, each chunk, and a failure."""

    def start(self) -> list[tuple[str, bytes]]: ...

    def chunk(self, chunk: RunChunk) -> list[tuple[str, bytes]]: ...

    def error(self, exc: BaseException) -> list[tuple[str, bytes]]: ...


# (run_id, the run's stored kwargs) -> its encoder
EncoderFactory = Callable[[str, Mapping[str, Any]], Encoder]


class EventLog(ABC):
    """The kept events of resumable runs (SQLite and PostgreSQL implement it)."""

    @abstractmethod
    async def append(self, thread_id: str, run_id: str, events: Sequence[RunEvent]) -> None:
        """Add events to the run's log (their `seq` are new)."""

    @abstractmethod
    async def after(self, run_id: str, seq: int, limit: int = 1000) -> list[RunEvent]:
        """The run's kept events numbered above `seq`, in order (at most `limit`)."""

    @abstractmethod
    async def last(self, run_id: str) -> int:
        """The number of the run's last kept event (0: none)."""


@dataclass
class _Live:
    run_id: str
    thread_id: str
    kwargs: Mapping[str, Any]
    resumable: bool
    encoder: Encoder | None = None
    seq: int = 0


@dataclass
class RunEventHub:
    """The streams of runs executing in this process, for the clients joining them."""

    log: EventLog | None = None
    encoder: EncoderFactory | None = None
    _live: dict[str, _Live] = field(default_factory=dict)
    _subscribers: dict[str, set[asyncio.Queue[RunEvent | None]]] = field(default_factory=dict)

    def running_here(self, run_id: str) -> bool:
        return run_id in self._live

    def subscribe(self, run_id: str) -> asyncio.Queue[RunEvent | None]:
        queue: asyncio.Queue[RunEvent | None] = asyncio.Queue()
        self._subscribers.setdefault(run_id, set()).add(queue)
        return queue

    def unsubscribe(self, run_id: str, queue: asyncio.Queue[RunEvent | None]) -> None:
        queues = self._subscribers.get(run_id)
        if queues is not None:
            queues.discard(queue)
            if not queues:
                del self._subscribers[run_id]

    async def begin(self, thread_id: str, run_id: str, kwargs: Mapping[str, Any]) -> None:
        """The run starts executing here (it holds its thread)."""
        if self.encoder is None:
            return
        resumable = bool(kwargs.get("resumable")) and self.log is not None
        live = _Live(run_id, thread_id, kwargs, resumable)
        self._live[run_id] = live
        if resumable or self._subscribers.get(run_id):
            live.encoder = self.encoder(run_id, kwargs)
            await self._emit(live, live.encoder.start())

    async def publish(self, run_id: str, chunk: RunChunk) -> None:
        """One chunk the run yielded."""
        live = self._live.get(run_id)
        if live is None:
            return
        if live.encoder is None:
            if not self._subscribers.get(run_id):
                return  # nobody listens and nothing is kept: no work
            assert self.encoder is not None
            live.encoder = self.encoder(run_id, live.kwargs)  # joined midway: live from now on
        await self._emit(live, live.encoder.chunk(chunk))

    async def end(self, run_id: str, error: BaseException | None = None) -> None:
        """The run ended (`error`: how it failed, sent as LangGraph's `error` event)."""
        live = self._live.pop(run_id, None)
        if live is not None and error is not None and live.encoder is not None:
            try:
                await self._emit(live, live.encoder.error(error))
            except Exception:
                log.exception("could not publish the end of run %r", run_id)
        for queue in self._subscribers.get(run_id, ()):
            queue.put_nowait(_END)

    async def _emit(self, live: _Live, pairs: list[tuple[str, bytes]]) -> None:
        if not pairs:
            return
        events = []
        for name, data in pairs:
            live.seq += 1
            events.append(RunEvent(live.seq, name, data))
        if live.resumable and self.log is not None:
            kept = [e for e in events if e.seq <= MAX_KEPT_EVENTS]
            if kept:
                await self.log.append(live.thread_id, live.run_id, kept)
        for queue in self._subscribers.get(live.run_id, ()):
            for event in events:
                queue.put_nowait(event)


def mode_matches(event: str, modes: Sequence[str] | None) -> bool:
    """Whether a joiner asking for `modes` gets `event` (LangGraph's `_run_stream_mode_matches`)."""
    if not modes:
        return True
    if event in modes:
        return True
    if ("messages" in modes or "messages-tuple" in modes) and event.startswith("messages"):
        return True
    return "|" in event and event.partition("|")[0] in modes


async def follow(
    hub: RunEventHub,
    run_id: str,
    *,
    after: int | None,
    resumable: bool,
    ended: Callable[[], Any],
    queue: asyncio.Queue[RunEvent | None],
    poll: float = FOLLOW_POLL,
) -> AsyncGenerator[RunEvent, None]:
    """A joiner's events: kept ones numbered above `after` (if given), then live ones until the run ends.

    `queue` was subscribed before the run's row was read, so nothing published
    here is missed; from another process the log is polled (resumable runs).
    `ended()` (awaitable) says whether the run's row has ended.
    """
    log_ = hub.log if resumable else None
    if log_ is None:
        seen = 0
    elif after is None:
        seen = await log_.last(run_id)  # live from now on
    else:
        seen = after
        for event in await _kept(log_, run_id, seen):
            seen = event.seq
            yield event
    while True:
        try:
            item = await asyncio.wait_for(queue.get(), poll)
        except TimeoutError:
            if hub.running_here(run_id):
                continue
            if log_ is not None:
                for event in await _kept(log_, run_id, seen):
                    seen = event.seq
                    yield event
            if await ended():
                if log_ is not None:
                    for event in await _kept(log_, run_id, seen):
                        seen = event.seq
                        yield event
                return
            continue
        if item is _END:
            return
        if item.seq > seen:
            seen = item.seq
            yield item


async def _kept(log_: EventLog, run_id: str, seq: int) -> list[RunEvent]:
    events: list[RunEvent] = []
    while True:
        page = await log_.after(run_id, seq, 1000)
        events.extend(page)
        if len(page) < 1000:
            return events
        seq = page[-1].seq
