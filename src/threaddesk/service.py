"""The support desk: the one object the CLI and the web layer talk to.

It joins the thread manager (who may talk on which thread, one turn at a time)
with the agent (what is said). Nothing here knows about HTTP or terminals.
"""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import logging
import time
from collections.abc import AsyncGenerator, AsyncIterator, Callable
from contextlib import aclosing, asynccontextmanager
from dataclasses import dataclass
from datetime import timedelta
from typing import Any, Literal
from urllib.parse import urlsplit

from langchain_core.language_models import BaseChatModel
from langchain_core.messages import (
    AIMessageChunk,
    BaseMessage,
    HumanMessage,
    RemoveMessage,
    convert_to_messages,
)
from langchain_core.runnables import RunnableConfig
from langgraph.errors import InvalidUpdateError
from langgraph.graph.state import CompiledStateGraph
from langgraph.types import StateSnapshot

from threaddesk.agent import build_agent, build_model
from threaddesk.agent.graph import AGENT_NAME, DEFAULT_CONTEXT_MESSAGES
from threaddesk.agent.memory import CustomerMemory
from threaddesk.agent.models import ModelCache
from threaddesk.assistants import AssistantManager, AssistantStore
from threaddesk.config import Settings, is_postgres_url
from threaddesk.errors import (
    CheckpointNotFound,
    GraphNotFound,
    InternalError,
    InvalidArgument,
    MessageTooLarge,
    RunInProgress,
    RunNotFound,
    ThreadBusy,
    ThreadDeskError,
    ThreadExists,
    ThreadNotFound,
)
from threaddesk.graph_info import graph_json, graph_schemas
from threaddesk.ids import validate_thread_id, validate_user_id
from threaddesk.items import ItemStore, user_namespace
from threaddesk.metrics import DeskObserver, Outcome
from threaddesk.ratelimit import MessageBudget
from threaddesk.runs import LEASE, Run, RunChunk, RunRecord, RunRequest, RunResult, RunStatus, RunStore
from threaddesk.storage import MEMORY_URLS, Storage, open_storage, sqlite_path
from threaddesk.threads.interfaces import MessageIndex
from threaddesk.threads.manager import ThreadManager
from threaddesk.threads.models import (
    MAX_PAGE_SIZE,
    Clock,
    Thread,
    ThreadQuery,
    ThreadStatus,
    check_limit,
    utc_now,
)
from threaddesk.threads.search import IndexedMessage, SearchHit, check_search_limit, search_terms
from threaddesk.tracing import TurnSpan, turn_tracer
from threaddesk.users import UserManager
from threaddesk.values import check_metadata, check_text

log = logging.getLogger(__name__)

# Where the agent's memory of a customer lives in their store (`/store/items` namespace ["memory"]).
MEMORY_NAMESPACE = ("memory",)
ASSISTANT_DESCRIPTIONS = {AGENT_NAME: "threaddesk's customer-support agent"}

Role = Literal["user", "assistant", "system", "tool"]
_ROLES: dict[str, Role] = {"human": "user", "ai": "assistant", "system": "system", "tool": "tool"}


@dataclass(frozen=True, slots=True)
class ChatMessage:
    """A stored message as the outside world sees it."""

    role: Role
    content: str
    id: str | None = None

    @classmethod
    def from_langchain(cls, message: BaseMessage) -> ChatMessage:
        return cls(_ROLES.get(message.type, "assistant"), message.text, message.id)

    def to_dict(self) -> dict[str, Any]:
        return {"role": self.role, "content": self.content, "id": self.id}


@dataclass(frozen=True, slots=True)
class Reply:
    """The agent's answer to one turn, and the thread as the turn left it."""

    thread: Thread
    message: ChatMessage

    @property
    def text(self) -> str:
        return self.message.content


@dataclass(frozen=True, slots=True)
class Token:
    """A piece of the reply as the model produces it."""

    text: str


StreamEvent = Token | Reply


def _turn_error(thread_id: str, exc: Exception) -> InternalError:
    """An unexpected error in a turn, logged with its traceback.

    The backends raise `StorageUnavailable` and the agent `ModelUnavailable`
    for their own failures, so what arrives here unclassified is a bug.
    """
    log.error("unexpected error in a turn on thread %r", thread_id, exc_info=exc)
    return InternalError(f"the turn failed unexpectedly ({type(exc).__name__}) and was rolled back")


def _config(thread_id: str) -> RunnableConfig:
    return {"configurable": {"thread_id": thread_id}}


async def _graph_stream(
    agent: CompiledStateGraph, graph_input: Any, config: dict[str, Any], options: dict[str, Any], events: bool
) -> AsyncGenerator[RunChunk, None]:
    """The graph's stream as `RunChunk`s; with `events`, LangChain's event stream around it.

    In the event stream, the graph's own stream items arrive as the root run's
    `on_chain_stream` events: those become chunks of their mode, as in `astream`.
    """
    subgraphs = options["subgraphs"]
    pregel: Any = agent  # options are checked by RunRequest; astream's overloads cannot see them
    if not events:
        async with aclosing(pregel.astream(graph_input, config, **options)) as parts:
            async for part in parts:
                namespace, mode, data = part if subgraphs else ((), *part)
                yield RunChunk(mode, data, tuple(namespace))
        return
    root = str(config["run_id"])
    async with aclosing(pregel.astream_events(graph_input, config, version="v2", **options)) as stream:
        async for event in stream:
            if event["event"] == "on_chain_stream" and event["run_id"] == root:
                part = event["data"]["chunk"]
                namespace, mode, data = part if subgraphs else ((), *part)
                yield RunChunk(mode, data, tuple(namespace))
            elif "langsmith:hidden" not in (event.get("tags") or ()):
                yield RunChunk("events", event)


def _message_count(values: dict[str, Any]) -> int:
    """All of a thread's messages: those archived and those still in its state."""
    return values.get("archived_messages", 0) + len(values.get("messages", []))


def _searchable(message: ChatMessage) -> bool:
    """What search covers: what the customer and the agent said (not tool calls or their results)."""
    return message.role in ("user", "assistant") and bool(message.content.strip())


def _indexable(messages: list[BaseMessage]) -> list[IndexedMessage]:
    said = [ChatMessage.from_langchain(m) for m in messages]
    return [IndexedMessage(m.id, m.role, m.content) for m in said if m.id and _searchable(m)]


class SupportDesk:
    """Send customer messages to threads and read their history.

    Unknown threads raise `ThreadNotFound` unless the caller passes
    `create=True`; turns on one thread never interleave (a second turn waits,
    or raises `ThreadBusy` with `wait=False`); different threads run concurrently.
    `users` are the people who may call it (tokens, admins), stored beside the threads.
    With a `limiter`, each message a `user_id` sends spends from their budget
    before anything is stored (`RateLimited` when it is spent).

    A thread's checkpoint stays bounded: once its state holds more than
    `archive_after` messages (0: never), the oldest move to the thread manager's
    message archive, keeping at least `keep_messages` (whole turns), so a turn on
    a long thread reads and writes as little as one on a new thread.
    `history` joins the archive and the state back together.

    A turn is committed when its run has finished (the reply stored). A turn
    abandoned before that (its caller cancelled it, or closed its stream)
    leaves nothing behind; one abandoned after it stays stored whole. Either
    way the thread is left `idle`: only a real failure marks it `error`.
    `observer` hears about every turn (queued, running, how it ended) and
    every cleanup, for metrics; `tracer` (OpenTelemetry's, optional) gets a
    span per turn; `backend` names the storage in both.
    """

    def __init__(
        self,
        threads: ThreadManager,
        agent: CompiledStateGraph,
        *,
        users: UserManager,
        max_message_bytes: int = 32 * 1024,
        limiter: MessageBudget | None = None,
        keep_messages: int = DEFAULT_CONTEXT_MESSAGES,
        archive_after: int = 0,
        index: MessageIndex | None = None,
        runs: RunStore | None = None,
        items: ItemStore | None = None,
        assistant_store: AssistantStore | None = None,
        observer: DeskObserver | None = None,
        tracer: Any | None = None,
        backend: str = "sqlite",
    ) -> None:
        if archive_after and (threads.archive is None or archive_after <= keep_messages):
            raise InvalidArgument(
                "archiving old messages needs a message archive and archive_after > keep_messages"
            )
        self.threads = threads
        self.limiter = limiter
        self.agent = agent
        self.users = users
        self.max_message_bytes = max_message_bytes
        self.keep_messages = keep_messages
        self.archive_after = archive_after
        self.index = index
        self.runs = runs
        self.items = items  # each user's long-term memory (LangGraph's store), for the /store API
        self.observer = observer or DeskObserver()
        self.tracer = tracer
        self.backend = backend
        self._finished: set[str] = set()  # runs whose graph has finished: committed, whatever follows
        self._background: set[asyncio.Task[None]] = set()  # background runs, kept from the garbage collector
        self._nodes = tuple(name for name in agent.nodes if not name.startswith("__"))
        # Saved configurations of the graphs (LangGraph's assistants); without a store, each graph's own.
        self.assistants = AssistantManager(
            assistant_store, self.graph_ids, clock=threads.clock, descriptions=ASSISTANT_DESCRIPTIONS
        )

    # The graphs this desk serves, by id: the one place that says which exist.

    def graph_ids(self) -> list[str]:
        """The ids of the graphs this desk runs (today the support agent alone)."""
        return [AGENT_NAME]

    def graph(self, graph_id: str) -> CompiledStateGraph:
        """The compiled graph `graph_id` (`GraphNotFound` if the desk serves no such graph)."""
        if graph_id not in self.graph_ids():
            raise GraphNotFound(graph_id, self.graph_ids())
        return self.agent

    def _check_text(self, text: object) -> None:
        """A customer's message as `send` takes it: a non-empty string the storage can hold."""
        if not isinstance(text, str) or not text.strip():
            raise InvalidArgument("message text must be a non-empty string")
        self._check_size(text)

    def _check_size(self, text: str) -> None:
        """Any message a run carries: storable characters, at most `max_message_bytes`."""
        size = len(check_text(text, "message text").encode("utf-8"))
        if size > self.max_message_bytes:
            raise MessageTooLarge(size, self.max_message_bytes)

    async def _spend(self, user_id: str | None) -> None:
        """Charge one message to `user_id`'s rate budget (callers acting for everyone have none)."""
        if self.limiter is not None and user_id is not None:
            await self.limiter.aspend(user_id)

    @asynccontextmanager
    async def _turn(
        self,
        thread_id: str,
        request: RunRequest,
        user_id: str | None,
        create: bool,
        wait: bool,
        title: str | None = None,
        owner: str | None = None,
    ) -> AsyncIterator[Thread]:
        """Hold the thread for one run; roll back what a failed or abandoned run left; report it."""
        asked = time.perf_counter()
        span = TurnSpan(self.tracer, thread_id, self.backend)
        self.observer.turn_queued()
        started = False
        outcome = Outcome.OK
        error: BaseException | None = None
        try:
            async with self.threads.turn(
                thread_id, user_id=user_id, wait=wait, create=create, title=title, owner=owner
            ) as thread:
                started = True
                self.observer.turn_started()
                start = (request.checkpoint or {}).get("checkpoint_id")
                if start is not None and not await self._has_checkpoint(thread_id, start):
                    # LangGraph would start from an empty state, and the conversation would be lost.
                    raise CheckpointNotFound(thread_id, start)
                try:
                    yield thread
                except BaseException as exc:
                    abandoned = isinstance(exc, asyncio.CancelledError | GeneratorExit)
                    await self._end_failed_run(thread_id, request, abandoned)
                    if isinstance(exc, Exception) and not isinstance(exc, ThreadDeskError):
                        raise _turn_error(thread_id, exc) from exc
                    raise
        except BaseException as exc:
            outcome, error = Outcome.of(exc, started=started), exc
            raise
        finally:
            self._finished.discard(request.run_id)
            self.observer.turn_ended(outcome, time.perf_counter() - asked, started=started)
            span.end(outcome, error)

    async def _end_failed_run(self, thread_id: str, request: RunRequest, abandoned: bool) -> None:
        """After a run failed or was abandoned: keep it if its graph had finished, else roll it back.

        Only a real failure leaves the thread `error`; an abandoned run leaves it `idle`.
        """
        status = ThreadStatus.IDLE if abandoned else ThreadStatus.ERROR
        try:
            if abandoned and request.run_id in self._finished:
                values = (await self.agent.aget_state(_config(thread_id))).values
                said = self._said(request, values.get("messages", []))
                await self.threads.record_turn(
                    thread_id, message_count=_message_count(values), status=status, said=said
                )
                return
            count = await self._discard_failed_run(thread_id, request.run_id)
            await self.threads.record_turn(thread_id, message_count=count, status=status)
        except Exception:  # never mask the turn's own error with the cleanup's
            log.exception("could not roll back the failed turn on thread %r", thread_id)

    @asynccontextmanager
    async def _recorded(self, thread_id: str, run_id: str, record: RunRecord | None) -> AsyncIterator[None]:
        """Keep the run's row (when asked to and able): `running` under a lease, then how it ended.

        A run that pauses at an interrupt succeeded (as on LangGraph's server); a cancelled
        one (its client left) was rolled back and is `interrupted`; a failed one is `error`.
        """
        if record is None or self.runs is None:
            yield
            return
        runs, now = self.runs, self.threads.clock()
        if record.stored:
            await runs.start(run_id, now + LEASE, now)
        else:
            await runs.insert(
                Run(
                    run_id=run_id,
                    thread_id=thread_id,
                    assistant_id=record.assistant_id,
                    status=RunStatus.RUNNING,
                    created_at=now,
                    updated_at=now,
                    lease_until=now + LEASE,
                    metadata=dict(record.metadata),
                    kwargs=dict(record.kwargs),
                    multitask_strategy=record.multitask_strategy,
                )
            )
        heartbeat = asyncio.create_task(self._renew_lease(run_id))
        try:
            yield
        except BaseException as exc:
            heartbeat.cancel()
            status = RunStatus.ERROR if isinstance(exc, Exception) else RunStatus.INTERRUPTED
            error = f"{type(exc).__name__}: {exc}" if isinstance(exc, Exception) else "cancelled; rolled back"
            try:
                await runs.finish(run_id, status, self.threads.clock(), error=error)
            except Exception:  # the run's own error matters more; the lease makes the row read as failed
                log.exception("could not record how run %r ended", run_id)
            raise
        heartbeat.cancel()
        await runs.finish(run_id, RunStatus.SUCCESS, self.threads.clock())

    async def _renew_lease(self, run_id: str) -> None:
        """While the run goes on, tell other processes this one is still at it."""
        runs = self.runs
        assert runs is not None
        while True:
            await asyncio.sleep(LEASE.total_seconds() / 3)
            now = self.threads.clock()
            try:
                await runs.renew(run_id, now + LEASE, now)
            except Exception:
                log.exception("could not renew the lease of run %r", run_id)

    async def _has_checkpoint(self, thread_id: str, checkpoint_id: str) -> bool:
        config = _config(thread_id)
        config["configurable"].update(checkpoint_ns="", checkpoint_id=checkpoint_id)
        return await self.threads.checkpointer.aget_tuple(config) is not None

    async def _discard_failed_run(self, thread_id: str, run_id: str) -> int:
        """Undo a run that failed after storing part of its work, so no half turn remains.

        Every checkpoint a run writes carries its `run_id` in its metadata. The
        thread goes back to the latest checkpoint written before the run
        (LangGraph's `__copy__` update forks it as the latest), or to empty if the
        run wrote the thread's first.
        """
        config = _config(thread_id)
        state = await self.agent.aget_state(config)
        if (state.metadata or {}).get("run_id") != run_id:
            return _message_count(state.values)
        async for earlier in self.agent.aget_state_history(config):
            if (earlier.metadata or {}).get("run_id") != run_id:
                await self.agent.aupdate_state(earlier.config, None, as_node="__copy__")
                return _message_count((await self.agent.aget_state(config)).values)
        await self.threads.checkpointer.adelete_thread(thread_id)
        return 0

    async def _archive_old_messages(self, thread_id: str, values: dict[str, Any]) -> None:
        """Move the oldest messages out of a state grown past `archive_after`.

        They are written to the archive first, then removed from the state (with
        the count moved), so a failure in between leaves them in both places, and
        the next move writes the same positions again. The turn has succeeded by
        now: a failed move is logged and tried again after the next turn.
        """
        messages = values.get("messages", [])
        archive = self.threads.archive
        if archive is None or not self.archive_after or len(messages) <= self.archive_after:
            return
        cut = len(messages) - self.keep_messages
        while cut > 0 and not isinstance(messages[cut], HumanMessage):  # keep whole turns
            cut -= 1
        if cut <= 0:
            return
        archived = values.get("archived_messages", 0)
        moved = messages[:cut]
        try:
            await archive.put(thread_id, archived, moved)
            await self.agent.aupdate_state(
                _config(thread_id),
                {"messages": [RemoveMessage(id=m.id) for m in moved], "archived_messages": archived + cut},
                as_node="agent",
            )
        except Exception:
            log.exception("could not archive old messages of thread %r; will retry", thread_id)

    def _said(self, request: RunRequest, messages: list[BaseMessage]) -> list[IndexedMessage]:
        """What the run added, for the search index (if there is one).

        From the run's first input message when it carries an id (every turn
        `send` and `stream` make), else from the latest customer message; the
        index ignores what it already holds, and `reindex` catches anything else.
        """
        if self.index is None:
            return []
        given = (request.input or {}).get("messages") or []
        first = getattr(given[0], "id", None) if isinstance(given, list) and given else None
        start = None
        if first is not None:
            start = next((i for i in range(len(messages) - 1, -1, -1) if messages[i].id == first), None)
        if start is None:
            start = next((i for i in range(len(messages) - 1, -1, -1) if messages[i].type == "human"), 0)
        return _indexable(messages[start:])

    async def search(self, text: str, *, user_id: str | None = None, limit: int = 20) -> list[SearchHit]:
        """Stored questions and replies holding every word of `text`, best match first.

        Each word matches a word that starts with it, ignoring case ("refund"
        finds "Refunds"); punctuation is ignored. With `user_id`, only that
        user's threads are searched.
        """
        terms = search_terms(text)
        check_search_limit(limit)
        if user_id is not None:
            validate_user_id(user_id)
        if self.index is None:
            raise InvalidArgument("full-text search is not available: this storage keeps no message index")
        return await self.index.search(terms, user_id=user_id, limit=limit)

    async def reindex(self) -> int:
        """Index every stored message of every thread (after an upgrade, or a failed indexing); threads done.

        Indexing is idempotent, so running it while turns are served is harmless.
        """
        if self.index is None:
            raise InvalidArgument("full-text search is not available: this storage keeps no message index")
        done = 0
        cursor: str | None = None
        while True:
            page = await self.threads.list(limit=MAX_PAGE_SIZE, cursor=cursor)
            for thread in page.threads:
                try:
                    said = await self.history(thread.thread_id)
                except ThreadNotFound:
                    continue  # deleted meanwhile
                indexed = [IndexedMessage(m.id, m.role, m.content) for m in said if m.id and _searchable(m)]
                await self.index.add(thread.thread_id, indexed)
                done += 1
            if page.next_cursor is None:
                return done
            cursor = page.next_cursor

    async def run(
        self,
        thread_id: str,
        request: RunRequest,
        *,
        user_id: str | None = None,
        create: bool = False,
        wait: bool = True,
        record: RunRecord | None = None,
        title: str | None = None,
        owner: str | None = None,
    ) -> AsyncGenerator[RunChunk | RunResult, None]:
        """One run of the agent on the thread: `RunChunk`s as the graph streams them, then the `RunResult`.

        A run is a whole turn: turns on one thread never interleave (a second
        waits, or raises `ThreadBusy` with `wait=False`), and a run that fails
        or is abandoned (the iterator closed early) is undone, so the thread is
        as before it. `user_id`, when given, must own the thread (else
        `ThreadNotFound`); with `create`, a missing thread is made for them
        (titled `title`), or for `owner` if given (an admin acting for everyone).
        Bad requests raise `InvalidArgument` before anything is stored.
        With `record` (and a run store), the run is kept as a resource: `running`
        while it goes, then `success` (also when it paused at an interrupt, as on
        LangGraph's server), `error`, or `interrupted` if it was cancelled (see `get_run`).
        """
        request = request.checked(self._check_size, self._nodes)
        request = await self.assistants.bind(request)
        record = self.assistants.recorded(record, request)
        await self._spend(user_id if user_id is not None else owner)
        wanted = set(request.stream_mode)
        modes = list(dict.fromkeys([*request.stream_mode, "values"]))
        durability = request.durability or ("async" if wanted & {"checkpoints", "debug"} else "exit")
        async with (
            self._turn(thread_id, request, user_id, create, wait, title, owner) as thread,
            self._recorded(thread_id, request.run_id, record),
        ):
            if request.assistant_id is None:  # none named: the thread's own assistant, as it was created
                request = await self.assistants.bind(request, remembered=thread.metadata.get("assistant_id"))
            config = request.config(thread_id, thread.metadata)
            config["configurable"]["user_id"] = thread.user_id  # whose memory (never the caller's say)
            graph_input: Any = request.command if request.command is not None else request.input
            options: dict[str, Any] = {
                "stream_mode": modes,
                "subgraphs": request.subgraphs,
                "durability": durability,
                "interrupt_before": request.interrupt_before,
                "interrupt_after": request.interrupt_after,
            }
            if request.context is not None:
                options["context"] = request.context
            values: dict[str, Any] | None = None
            # Closed before the turn is judged, so an abandoned stream has finished
            # writing (or not) by the time a half turn is looked for.
            parts = _graph_stream(self.agent, graph_input, config, options, request.events)
            async with aclosing(parts):
                async for chunk in parts:
                    if chunk.mode == "values" and not chunk.namespace:
                        values = chunk.data
                        if "values" not in wanted:
                            continue
                    yield chunk
            self._finished.add(request.run_id)  # the reply is stored: the run is committed
            interrupted = False
            if values is None or request.interrupt_before or request.interrupt_after:
                state = await self.agent.aget_state(_config(thread_id))
                values, interrupted = state.values, bool(state.next)
            if not interrupted:
                await self._archive_old_messages(thread_id, values)
            status = ThreadStatus.INTERRUPTED if interrupted else ThreadStatus.IDLE
            thread = await self.threads.record_turn(
                thread_id,
                message_count=_message_count(values),
                status=status,
                said=self._said(request, values.get("messages", [])),
            )
            thread = await self._stamp_graph(thread, request)
        yield RunResult(request.run_id, thread, values, interrupted)

    async def _stamp_graph(self, thread: Thread, request: RunRequest) -> Thread:
        """Note on the thread which graph and assistant ran on it (`graph_id`, `assistant_id` in its
        metadata, as LangGraph's server does), so `threads.search(metadata={"graph_id": ...})` finds it.
        Written only when they change: one update on a thread's first run."""
        stamp = {
            key: request.metadata[key] for key in ("graph_id", "assistant_id") if key in request.metadata
        }
        if all(thread.metadata.get(key) == value for key, value in stamp.items()):
            return thread
        try:
            return await self.threads.update(thread.thread_id, metadata=stamp)
        except InvalidArgument:  # metadata already at its size limit: the run stands, unstamped
            log.warning("thread %r: no room in its metadata for graph_id/assistant_id", thread.thread_id)
            return thread

    async def send(
        self,
        thread_id: str,
        text: str,
        *,
        user_id: str | None = None,
        create: bool = False,
        wait: bool = True,
        title: str | None = None,
        owner: str | None = None,
    ) -> Reply:
        """One turn: store `text` on the thread, run the agent, store and return its reply.

        `user_id`, when given, must own the thread (else `ThreadNotFound`). With
        `create`, a missing thread is created for `user_id` (titled `title`), only
        once the message has passed every check: a refused message creates nothing.
        """
        self._check_text(text)
        request = RunRequest.say(text)
        async for item in self.run(
            thread_id, request, user_id=user_id, create=create, wait=wait, title=title, owner=owner
        ):
            if isinstance(item, RunResult):
                return Reply(item.thread, ChatMessage.from_langchain(item.values["messages"][-1]))
        raise AssertionError("a run always ends with its result")  # pragma: no cover

    async def stream(
        self,
        thread_id: str,
        text: str,
        *,
        user_id: str | None = None,
        create: bool = False,
        wait: bool = True,
        title: str | None = None,
        owner: str | None = None,
    ) -> AsyncGenerator[StreamEvent, None]:
        """Like `send`, yielding `Token`s as the model produces them, then the `Reply`."""
        self._check_text(text)
        request = RunRequest.say(text, stream_mode=("messages",))
        events = self.run(
            thread_id, request, user_id=user_id, create=create, wait=wait, title=title, owner=owner
        )
        async with aclosing(events):
            async for item in events:
                if isinstance(item, RunResult):
                    yield Reply(item.thread, ChatMessage.from_langchain(item.values["messages"][-1]))
                elif isinstance(item.data[0], AIMessageChunk) and item.data[0].text:
                    yield Token(item.data[0].text)

    async def cleanup(
        self,
        max_idle: timedelta | str,
        *,
        dry_run: bool = False,
        on_removed: Callable[[Thread], object] | None = None,
    ) -> list[Thread]:
        """`ThreadManager.cleanup`, with the removals reported to the observer."""
        removed = await self.threads.cleanup(max_idle, dry_run=dry_run, on_removed=on_removed)
        if not dry_run:
            self.observer.cleanup_removed(len(removed))
        return removed

    async def state(
        self, thread_id: str, *, user_id: str | None = None, checkpoint_id: str | None = None
    ) -> StateSnapshot:
        """The thread's LangGraph state: the latest, or as of `checkpoint_id` (else `CheckpointNotFound`)."""
        await self.threads.get(thread_id, user_id=user_id)
        config = _config(thread_id)
        if checkpoint_id is not None:
            config["configurable"].update(checkpoint_ns="", checkpoint_id=checkpoint_id)
        snapshot = await self.agent.aget_state(config)
        if checkpoint_id is not None and snapshot.created_at is None:
            raise CheckpointNotFound(thread_id, checkpoint_id)
        return snapshot

    async def state_history(
        self,
        thread_id: str,
        *,
        user_id: str | None = None,
        limit: int = 10,
        before: str | None = None,
        checkpoint_id: str | None = None,
        metadata: dict[str, Any] | None = None,
    ) -> list[StateSnapshot]:
        """The thread's kept checkpoints, newest first: at most `limit`, older than `before`,
        `checkpoint_id` alone if given, those whose metadata contains `metadata`.

        With bounded checkpoints (`keep_checkpoints`), only the latest few exist.
        """
        check_limit(limit)
        await self.threads.get(thread_id, user_id=user_id)
        config = _config(thread_id)
        if checkpoint_id is not None:
            config["configurable"]["checkpoint_id"] = checkpoint_id
        before_config = None
        if before is not None:
            before_config = _config(thread_id)
            before_config["configurable"]["checkpoint_id"] = before
        history = self.agent.aget_state_history(
            config, filter=check_metadata(metadata) or None, before=before_config, limit=limit
        )
        return [snapshot async for snapshot in history]

    async def start_run(
        self,
        thread_id: str,
        request: RunRequest,
        record: RunRecord,
        *,
        user_id: str | None = None,
        create: bool = False,
        wait: bool = True,
        delay: float = 0,
        temporary: bool = False,
        owner: str | None = None,
    ) -> Run:
        """A background run: stored `pending` and returned at once, run in this process (after `delay`
        seconds) in the thread's turn order, kept as `run` keeps it (`join_run` waits for it).

        Refused up front, as `run` would refuse it: a bad request, a thread not theirs, and with
        `wait=False` a thread busy in this process. If this process dies first, the run's lease
        runs out and it reads `error`. A `temporary` thread is deleted (its runs with it) once the run ends.
        """
        runs = self._run_store()
        request = request.checked(self._check_size, self._nodes)
        request = await self.assistants.bind(request)
        record = self.assistants.recorded(record, request) or record
        if create:
            creator = owner if owner is not None else user_id
            if creator is None:
                raise InvalidArgument("creating a thread needs the user_id that will own it")
            with contextlib.suppress(ThreadExists):  # someone else's: not found below, as anywhere
                await self.threads.create(creator, thread_id, if_exists="get")
        await self.threads.get(thread_id, user_id=user_id)
        if not wait and self.threads.locks.is_locked(thread_id):
            raise ThreadBusy(thread_id)
        now = self.threads.clock()
        run = Run(
            run_id=request.run_id,
            thread_id=thread_id,
            assistant_id=record.assistant_id,
            status=RunStatus.PENDING,
            created_at=now,
            updated_at=now,
            lease_until=now + LEASE,
            metadata=dict(record.metadata),
            kwargs=dict(record.kwargs),
            multitask_strategy=record.multitask_strategy,
        )
        await runs.insert(run)
        stored = dataclasses.replace(record, stored=True)
        task = asyncio.create_task(
            self._in_background(thread_id, request, stored, user_id, wait, delay, temporary)
        )
        self._background.add(task)
        task.add_done_callback(self._background.discard)
        return run

    async def stop_background(self) -> None:
        """Cancel the background runs still going (each is rolled back and reads `interrupted`)."""
        tasks = list(self._background)
        await asyncio.sleep(0)  # let runs created just now begin, so each records its end
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)

    async def _in_background(
        self,
        thread_id: str,
        request: RunRequest,
        record: RunRecord,
        user_id: str | None,
        wait: bool,
        delay: float,
        temporary: bool,
    ) -> None:
        runs = self._run_store()
        heartbeat = asyncio.create_task(self._renew_lease(request.run_id))  # pending ones too
        try:
            if delay:
                await asyncio.sleep(delay)
            async for _ in self.run(thread_id, request, user_id=user_id, wait=wait, record=record):
                pass
        except BaseException as exc:  # refused before it started, or failed: the row must say so
            row = await runs.get(thread_id, request.run_id)
            if row is not None and not row.status.finished:
                status = RunStatus.ERROR if isinstance(exc, Exception) else RunStatus.INTERRUPTED
                await runs.finish(
                    request.run_id, status, self.threads.clock(), error=f"{type(exc).__name__}: {exc}"
                )
            if not isinstance(exc, Exception):
                raise
        finally:
            heartbeat.cancel()
            if temporary:
                with contextlib.suppress(ThreadNotFound):
                    await self.threads.delete(thread_id)

    def _run_store(self) -> RunStore:
        if self.runs is None:
            raise InvalidArgument("this desk keeps no runs (it has no run store)")
        return self.runs

    async def get_run(self, thread_id: str, run_id: str, *, user_id: str | None = None) -> Run:
        """One run of the thread (`RunNotFound` if none; `ThreadNotFound` if the thread is not theirs)."""
        await self.threads.get(thread_id, user_id=user_id)
        run = await self._run_store().get(thread_id, run_id)
        if run is None:
            raise RunNotFound(run_id)
        return run.as_of(self.threads.clock())

    async def list_runs(
        self,
        thread_id: str,
        *,
        user_id: str | None = None,
        limit: int = 10,
        offset: int = 0,
        status: RunStatus | str | None = None,
    ) -> list[Run]:
        """The thread's runs, newest first."""
        check_limit(limit)
        if not isinstance(offset, int) or offset < 0:
            raise InvalidArgument("offset must be a non-negative integer")
        try:
            wanted = None if status is None else RunStatus(status)
        except ValueError as exc:
            raise InvalidArgument(f"status must be one of {', '.join(RunStatus)}, got {status!r}") from exc
        await self.threads.get(thread_id, user_id=user_id)
        now = self.threads.clock()
        runs = await self._run_store().list(thread_id, limit=limit, offset=offset, status=wanted)
        return [run.as_of(now) for run in runs]

    async def delete_run(self, thread_id: str, run_id: str, *, user_id: str | None = None) -> None:
        """Forget a finished run (`RunInProgress` while it is still going)."""
        run = await self.get_run(thread_id, run_id, user_id=user_id)
        if not run.status.finished:
            raise RunInProgress(run_id)
        if not await self._run_store().delete(thread_id, run_id):
            raise RunNotFound(run_id)

    async def join_run(
        self, thread_id: str, run_id: str, *, user_id: str | None = None, poll: float = 0.02
    ) -> Run:
        """Wait until the run has ended (here or in another process sharing the database); return it."""
        run = await self.get_run(thread_id, run_id, user_id=user_id)
        while not run.status.finished:
            await asyncio.sleep(poll)
            poll = min(poll * 2, 0.5)
            run = await self.get_run(thread_id, run_id, user_id=user_id)
        return run

    async def ready(self) -> None:
        """A readiness probe: one cheap query; `StorageUnavailable` if the database does not answer."""
        await self.threads.registry.ping()

    async def history(
        self, thread_id: str, *, user_id: str | None = None, limit: int | None = None
    ) -> list[ChatMessage]:
        """The thread's messages, archived and recent, oldest first (the last `limit` of them if given)."""
        if limit is not None and limit < 0:
            raise InvalidArgument("limit must not be negative")
        await self.threads.get(thread_id, user_id=user_id)
        values = (await self.agent.aget_state(_config(thread_id))).values
        messages: list[BaseMessage] = list(values.get("messages", []))
        archived = values.get("archived_messages", 0)
        wanted = archived + len(messages) if limit is None else limit
        if archived and wanted > len(messages) and self.threads.archive is not None:
            start = max(0, archived - (wanted - len(messages)))
            messages = [*await self.threads.archive.read(thread_id, start, archived), *messages]
        if limit is not None:
            messages = messages[-limit:] if limit else []
        return [ChatMessage.from_langchain(m) for m in messages]

    # LangGraph's thread calls beyond runs: search, count, copy, prune, update_state.

    async def search_threads(
        self,
        query: ThreadQuery,
        *,
        values_match: Callable[[dict[str, Any]], bool] | None = None,
        with_values: bool = False,
    ) -> list[tuple[Thread, dict[str, Any] | None]]:
        """`ThreadManager.search`, each thread with its state values if `with_values`.

        The registry holds no state, so a `values_match` filter reads the state
        of every thread the other filters match (in the query's order, until the
        slice is full): fine for a user's threads, costly over a whole desk.
        Without it, only the states of the returned page are read, concurrently.
        """
        if values_match is None:
            threads = await self.threads.search(query)
            if not with_values:
                return [(thread, None) for thread in threads]
            states = await asyncio.gather(*(self._values(t.thread_id) for t in threads))
            return list(zip(threads, states, strict=True))
        found: list[tuple[Thread, dict[str, Any] | None]] = []
        wanted, skip = query.limit, query.offset
        scan = dataclasses.replace(query, limit=MAX_PAGE_SIZE, offset=0)
        while len(found) < wanted:
            page = await self.threads.search(scan)
            for thread in page:
                values = await self._values(thread.thread_id)
                if not values_match(values):
                    continue
                if skip:
                    skip -= 1
                    continue
                found.append((thread, values if with_values else None))
                if len(found) == wanted:
                    break
            if len(page) < scan.limit:
                break
            scan = dataclasses.replace(scan, offset=scan.offset + scan.limit)
        return found

    async def count_threads(
        self, query: ThreadQuery, *, values_match: Callable[[dict[str, Any]], bool] | None = None
    ) -> int:
        """How many threads match (reading each candidate's state when filtering on `values_match`)."""
        if values_match is None:
            return await self.threads.count_matching(query)
        count = 0
        scan = dataclasses.replace(query, limit=MAX_PAGE_SIZE, offset=0)
        while True:
            page = await self.threads.search(scan)
            for thread in page:
                count += values_match(await self._values(thread.thread_id))
            if len(page) < scan.limit:
                return count
            scan = dataclasses.replace(scan, offset=scan.offset + scan.limit)

    async def _values(self, thread_id: str) -> dict[str, Any]:
        return (await self.agent.aget_state(_config(thread_id))).values

    async def copy_thread(self, thread_id: str, owner: str, *, user_id: str | None = None) -> Thread:
        """A copy of the thread (state, history, archive, title, metadata) owned by `owner`."""
        return await self.threads.copy(thread_id, owner, user_id=user_id)

    async def prune_threads(
        self, thread_ids: list[str], strategy: str = "delete", *, user_id: str | None = None
    ) -> int:
        """LangGraph's prune: `delete` the threads, or `keep_latest` (only their latest checkpoint).

        Ids that do not exist, or that `user_id` does not own, are skipped alike
        (a prune reveals nothing about other users' threads); the count is of
        the threads pruned.
        """
        if strategy not in ("delete", "keep_latest"):
            raise InvalidArgument(f"strategy must be 'delete' or 'keep_latest', got {strategy!r}")
        if len(thread_ids) > MAX_PAGE_SIZE:
            raise InvalidArgument(f"thread_ids may name at most {MAX_PAGE_SIZE} threads")
        for thread_id in thread_ids:
            validate_thread_id(thread_id)
        pruned = 0
        for thread_id in dict.fromkeys(thread_ids):
            try:
                if strategy == "delete":
                    await self.threads.delete(thread_id, user_id=user_id)
                else:
                    await self.threads.prune_checkpoints(thread_id, user_id=user_id)
            except ThreadNotFound:
                continue
            pruned += 1
        return pruned

    def graph_json(self, xray: bool | int = False, *, graph_id: str = AGENT_NAME) -> dict[str, Any]:
        """The graph drawn as JSON (nodes, edges), as LangGraph's `assistants.get_graph`."""
        return graph_json(self.graph(graph_id), xray)

    def graph_schemas(self, graph_id: str) -> dict[str, Any]:
        """The graph's input, output, state, config and context JSON schemas (`assistants.get_schemas`)."""
        return graph_schemas(self.graph(graph_id), graph_id)

    async def delete_assistant(self, assistant_id: str, *, delete_threads: bool = False) -> None:
        """Delete a stored assistant; with `delete_threads`, also every thread whose metadata names it
        (LangGraph's `delete_threads`). Threads kept go on with the desk's defaults."""
        assistant = await self.assistants.delete(assistant_id)
        if not delete_threads:
            return
        query = ThreadQuery(metadata={"assistant_id": assistant.assistant_id}, limit=MAX_PAGE_SIZE)
        while page := await self.threads.search(query):
            for thread in page:
                with contextlib.suppress(ThreadNotFound):
                    await self.threads.delete(thread.thread_id)

    def _checked_messages(self, messages: Any) -> list[BaseMessage]:
        """Messages as LangChain takes them (dicts, tuples, message objects), each storable, else
        `InvalidArgument`: checked before the graph sees them, since a refusal inside
        `aupdate_state` may come after it has written part of the update."""
        try:
            converted = convert_to_messages(messages if isinstance(messages, list) else [messages])
        except (ValueError, TypeError, KeyError, NotImplementedError) as exc:
            raise InvalidArgument(f"values.messages must be messages: {exc}") from exc
        for message in converted:
            self._check_size(message.text)
        return converted

    async def update_state(
        self,
        thread_id: str,
        values: dict[str, Any] | list[Any] | None,
        *,
        as_node: str | None = None,
        checkpoint_id: str | None = None,
        user_id: str | None = None,
    ) -> RunnableConfig:
        """LangGraph's `update_state`: write `values` as if node `as_node` had (a new checkpoint).

        Serialised with turns (the thread's turn lock), from the latest state or
        from `checkpoint_id` (a fork, which must be a kept checkpoint); the
        registry row follows (message count, `interrupted` if the graph now waits).
        Returns the new checkpoint's config.
        """
        if as_node is not None and as_node not in (*self._nodes, "__start__", "__end__", "__copy__"):
            raise InvalidArgument(f"as_node must be one of the graph's nodes {self._nodes}, got {as_node!r}")
        if isinstance(values, dict) and "archived_messages" in values:
            raise InvalidArgument("archived_messages is kept by threaddesk and cannot be set")
        if isinstance(values, dict) and "messages" in values:
            values = {**values, "messages": self._checked_messages(values["messages"])}
        async with self.threads.turn(thread_id, user_id=user_id):
            config = _config(thread_id)
            if checkpoint_id is not None:
                if not await self._has_checkpoint(thread_id, checkpoint_id):
                    raise CheckpointNotFound(thread_id, checkpoint_id)
                config["configurable"].update(checkpoint_ns="", checkpoint_id=checkpoint_id)
            try:
                written = await self.agent.aupdate_state(config, values, as_node=as_node)
            except (InvalidUpdateError, ValueError, TypeError, KeyError) as exc:
                raise InvalidArgument(f"the state update was refused: {exc}") from exc
            state = await self.agent.aget_state(_config(thread_id))
            status = ThreadStatus.INTERRUPTED if state.next else ThreadStatus.IDLE
            await self.threads.record_turn(
                thread_id, message_count=_message_count(state.values), status=status
            )
        return written


def database_location(url: str) -> str:
    """Where the database URL `url` leads, as a person should read it: a SQLite file's absolute path.

    SQLAlchemy's convention applies: `sqlite:///x.sqlite` is relative to the
    current directory, `sqlite:////tmp/x.sqlite` absolute; printing the resolved
    path shows which one was meant. `(new)` marks a file not created yet; a
    PostgreSQL URL is shown with its password masked.
    """
    if url in MEMORY_URLS:
        return "in memory (gone when the process exits)"
    path = sqlite_path(url)
    if path is None:
        parts = urlsplit(url)
        if parts.password is not None:
            url = parts._replace(netloc=parts.netloc.replace(f":{parts.password}@", ":***@", 1)).geturl()
        return url
    resolved = path.resolve()
    return f"{resolved}{'' if resolved.exists() else ' (new)'}"


@asynccontextmanager
async def open_desk(
    settings: Settings | None = None,
    *,
    database_url: str | None = None,
    model: str | BaseChatModel | None = None,
    clock: Clock = utc_now,
) -> AsyncIterator[SupportDesk]:
    """Open storage, build the model and agent, and yield a ready `SupportDesk`."""
    settings = settings or Settings()
    chat_model = model if isinstance(model, BaseChatModel) else build_model(model, settings)
    tracer = turn_tracer(settings.tracing)
    url = database_url or settings.database_url
    storage: Storage = await open_storage(
        url,
        pool_size=settings.pg_pool_size,
        turn_pool_size=settings.pg_turn_pool_size,
    )
    limiter: MessageBudget | None = None
    try:
        default_spec = None if isinstance(model, BaseChatModel) else (model or settings.model)
        memory = None
        if settings.memory and storage.store is not None:
            memory = CustomerMemory(storage.store, lambda owner: user_namespace(owner, MEMORY_NAMESPACE))
        agent = build_agent(
            chat_model,
            storage.checkpointer,
            system_prompt=settings.system_prompt,
            context_messages=settings.context_messages,
            context_tokens=settings.context_tokens,
            model_for=ModelCache(chat_model, default_spec, settings),
            memory=memory,
        )
        manager = ThreadManager(
            storage.registry,
            storage.checkpointer,
            clock=clock,
            keep_checkpoints=settings.keep_checkpoints,
            max_threads_per_user=settings.max_threads_per_user,
            archive=storage.archive,
            also_delete=[storage.runs.delete_threads] if storage.runs is not None else [],
        )
        users = UserManager(storage.users, clock=clock)
        if settings.messages_per_minute:
            limiter = storage.message_budget(settings.messages_per_minute, redis_url=settings.redis_url)
        archive_after = settings.max_state_messages
        if archive_after is None:
            archive_after = 2 * settings.context_messages
        desk = SupportDesk(
            manager,
            agent,
            users=users,
            max_message_bytes=settings.max_message_bytes,
            limiter=limiter,
            keep_messages=settings.context_messages,
            archive_after=archive_after if storage.archive is not None else 0,
            index=storage.search,
            runs=storage.runs,
            items=ItemStore(storage.store) if storage.store is not None else None,
            assistant_store=storage.assistants,
            tracer=tracer,
            backend="postgres" if is_postgres_url(url) else "sqlite",
        )
        try:
            yield desk
        finally:
            await desk.stop_background()
    finally:
        if limiter is not None:
            await limiter.aclose()
        await storage.aclose()


async def upgrade_database(database_url: str) -> list[str]:
    """Open the database at `database_url` only to migrate it; the names of the migrations applied.

    Every open migrates (idempotently); this is the same, without a model or an
    agent, for a deploy step (`threaddesk db upgrade`).
    """
    storage = await open_storage(database_url, pool_size=1, turn_pool_size=1)
    await storage.aclose()
    return storage.migrations_applied
