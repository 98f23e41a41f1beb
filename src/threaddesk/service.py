"""The support desk: the one object the CLI and the web layer talk to.

It joins the thread manager (who may talk on which thread, one turn at a time)
with the agent (what is said). Nothing here knows about HTTP or terminals.
"""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import logging
import os
import time
from collections.abc import AsyncGenerator, AsyncIterator, Callable, Mapping
from contextlib import AsyncExitStack, aclosing, asynccontextmanager
from dataclasses import dataclass
from datetime import timedelta
from typing import Any, Literal
from urllib.parse import urlsplit

from langchain_core.language_models import BaseChatModel
from langchain_core.messages import (
    AIMessage,
    BaseMessage,
    HumanMessage,
    RemoveMessage,
    convert_to_messages,
)
from langchain_core.runnables import RunnableConfig
from langgraph.errors import InvalidUpdateError
from langgraph.graph.state import CompiledStateGraph
from langgraph.pregel import Pregel
from langgraph.types import StateSnapshot

from threaddesk.agent import build_agent, build_model
from threaddesk.agent.graph import AGENT_DESCRIPTION, AGENT_NAME, DEFAULT_CONTEXT_MESSAGES
from threaddesk.agent.handoff import human_agent_of
from threaddesk.agent.memory import CustomerMemory
from threaddesk.agent.models import ModelCache
from threaddesk.agent.orders import DEMO_ORDERS, OrderBook
from threaddesk.agent.tools import describe_call, support_tools
from threaddesk.assistants import AssistantManager, AssistantStore
from threaddesk.config import Settings, is_postgres_url
from threaddesk.errors import (
    CheckpointNotFound,
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
from threaddesk.graph_info import graph_json, graph_schemas, graph_subgraphs
from threaddesk.graphs.config import GraphsConfig, read_config
from threaddesk.graphs.loader import load_graphs
from threaddesk.graphs.registry import GraphRegistry, ServedGraph
from threaddesk.handoff import answer_request, check_resume, may_answer, stamp_responder, waiting_threads
from threaddesk.ids import validate_thread_id, validate_user_id
from threaddesk.items import ItemStore, user_namespace
from threaddesk.metrics import DeskObserver, Outcome
from threaddesk.ratelimit import MessageBudget
from threaddesk.runs import LEASE, Run, RunChunk, RunRecord, RunRequest, RunResult, RunStatus, RunStore
from threaddesk.runs import cancel as run_cancel
from threaddesk.runs.cancel import CancelAction, CancelStore, RunCancelled, RunControl
from threaddesk.runs.endings import RunEndings
from threaddesk.runs.events import EventLog, RunEvent, RunEventHub, follow, mode_matches
from threaddesk.runs.models import MAX_ATTEMPTS, stopped_error
from threaddesk.runs.queue import Claim, QueuedRun, RunTakenOver
from threaddesk.runs.worker import RunWorker
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
from threaddesk.users import User, UserManager
from threaddesk.values import check_metadata, check_text

log = logging.getLogger(__name__)

# Where the agent's memory of a customer lives in their store (`/store/items` namespace ["memory"]).
MEMORY_NAMESPACE = ("memory",)

Role = Literal["user", "assistant", "system", "tool"]
_ROLES: dict[str, Role] = {"human": "user", "ai": "assistant", "system": "system", "tool": "tool"}


@dataclass(frozen=True, slots=True)
class ChatMessage:
    """A stored message as the outside world sees it; an agent's message that called tools names
    the calls (`lookup_order(order_id=1042)`), and their results are messages of role `tool`;
    `author` names the human agent who wrote an assistant message (a handoff's reply), None for
    the bot's and the customer's."""

    role: Role
    content: str
    id: str | None = None
    tool_calls: tuple[str, ...] = ()
    author: str | None = None

    @classmethod
    def from_langchain(cls, message: BaseMessage) -> ChatMessage:
        calls = tuple(describe_call(call) for call in getattr(message, "tool_calls", None) or ())
        role = _ROLES.get(message.type, "assistant")
        return cls(role, message.text, message.id, calls, human_agent_of(message))

    def to_dict(self) -> dict[str, Any]:
        said: dict[str, Any] = {"role": self.role, "content": self.content, "id": self.id}
        if self.tool_calls:
            said["tool_calls"] = list(self.tool_calls)
        if self.author is not None:
            said["author"] = self.author
        return said


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
    agent: Pregel, graph_input: Any, config: dict[str, Any], options: dict[str, Any], events: bool
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


def _description(served: ServedGraph) -> str | None:
    """A served graph's description; the built-in support agent has its own."""
    if served.description is None and served.graph_id == AGENT_NAME and served.location is None:
        return AGENT_DESCRIPTION
    return served.description


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

    # What a run that names no `durability` gets: "exit" (one checkpoint per turn), or "async" (LangGraph's
    # default: the input, then each step, as front-ends that regenerate or edit from a checkpoint need).
    run_durability: str = "exit"

    def __init__(
        self,
        threads: ThreadManager,
        agent: CompiledStateGraph | None = None,
        *,
        users: UserManager,
        graphs: GraphRegistry | None = None,
        graph_config: GraphsConfig | None = None,
        max_message_bytes: int = 32 * 1024,
        limiter: MessageBudget | None = None,
        keep_messages: int = DEFAULT_CONTEXT_MESSAGES,
        archive_after: int = 0,
        index: MessageIndex | None = None,
        runs: RunStore | None = None,
        cancels: CancelStore | None = None,
        run_events: EventLog | None = None,
        items: ItemStore | None = None,
        assistant_store: AssistantStore | None = None,
        observer: DeskObserver | None = None,
        tracer: Any | None = None,
        backend: str = "sqlite",
        orders: OrderBook | None = None,
    ) -> None:
        if archive_after and (threads.archive is None or archive_after <= keep_messages):
            raise InvalidArgument(
                "archiving old messages needs a message archive and archive_after > keep_messages"
            )
        self.threads = threads
        self.limiter = limiter
        if graphs is None:
            if agent is None:
                raise InvalidArgument("a desk needs an agent or graphs to serve")
            archive_node = "agent" if "agent" in agent.nodes else None
            graphs = GraphRegistry([ServedGraph(agent.name, agent, archive_node=archive_node)])
        # What the desk serves, by graph id (read-only); `agent` is the default graph.
        self.graphs = graphs
        self.agent: Any = graphs.default.graph
        # The langgraph.json the graphs came from, if any: its other sections (`auth.path`) are
        # for the layers that use them (`graph_config.auth_path`: custom authentication).
        self.graph_config = graph_config
        self.users = users
        self.max_message_bytes = max_message_bytes
        self.keep_messages = keep_messages
        self.archive_after = archive_after
        self.index = index
        self.runs = runs
        self.control = RunControl(runs, cancels, threads.clock)  # cancel requests reach runs here
        self.events = RunEventHub(run_events)  # runs' streams for join_stream (encoder set by the web layer)
        self.items = items  # each user's long-term memory (LangGraph's store), for the /store API
        self.observer = observer or DeskObserver()
        self.tracer = tracer
        self.backend = backend
        self.orders = orders  # what the agent's support tools read and write (`agent.tools`)
        self._finished: set[str] = set()  # runs whose graph has finished: committed, whatever follows
        self.worker: RunWorker | None = None  # claims queued runs (`serve_runs`); None: only enqueue
        self._endings = RunEndings(runs, threads.clock)  # joiners here, told when their run ends
        self.lease = LEASE  # how long a running run's row vouches for this process (renewed at a third)
        # Saved configurations of the graphs (LangGraph's assistants); without a store, each graph's own.
        self.assistants = AssistantManager(
            assistant_store,
            lambda: list(self.graphs),
            clock=threads.clock,
            descriptions={s.graph_id: d for s in self.graphs.served() if (d := _description(s)) is not None},
        )

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

    def graph_for(self, thread: Thread) -> ServedGraph:
        """The graph whose state `thread` holds (its `graph_id` metadata, else the default graph)."""
        return self.graphs.for_thread(thread)

    async def _graph_of(self, thread_id: str, user_id: str | None) -> ServedGraph:
        """`graph_for` by thread id: no read when the desk serves one graph; the default for a
        thread that does not exist (yet) or is not `user_id`'s, so what is checked against the
        graph answers alike for another user's thread and a missing one (404 comes after)."""
        if len(self.graphs) == 1:
            return self.graphs.default
        try:
            return self.graphs.for_thread(await self.threads.get(thread_id, user_id=user_id))
        except ThreadNotFound:
            return self.graphs.default

    async def _run_graph(
        self, thread_id: str, request: RunRequest, user_id: str | None
    ) -> tuple[ServedGraph, RunRequest]:
        """The graph a run uses (the one it names, else the thread's), and the request checked for it."""
        if request.graph_id is not None:
            served = self.graphs.get_served(request.graph_id)
        else:
            served = await self._graph_of(thread_id, user_id)
        checked = request.checked(self._check_size, served.nodes, served.input_keys, served.has_messages)
        return served, checked

    @asynccontextmanager
    async def _turn(
        self,
        thread_id: str,
        request: RunRequest,
        served: ServedGraph,
        user_id: str | None,
        create: bool,
        wait: bool,
        title: str | None = None,
        owner: str | None = None,
        responder: str | None = None,
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
                # A resume: may the caller answer, and is it still waiting? (Inside the lock: one winner.)
                await check_resume(served.graph, thread_id, request, responder)
                try:
                    yield thread
                except RunTakenOver:  # not this run's to undo: it never started here
                    raise
                except BaseException as exc:
                    abandoned = isinstance(exc, asyncio.CancelledError | GeneratorExit | RunCancelled)
                    if not (isinstance(exc, RunCancelled) and not exc.started):  # else nothing to undo
                        await self._end_failed_run(thread_id, request, abandoned, served.graph)
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

    async def _end_failed_run(
        self, thread_id: str, request: RunRequest, abandoned: bool, graph: Pregel
    ) -> None:
        """After a run failed or was abandoned: keep it if its graph had finished, else roll it back.

        Only a real failure leaves the thread `error`; an abandoned run leaves it `idle`.
        """
        status = ThreadStatus.IDLE if abandoned else ThreadStatus.ERROR
        try:
            if abandoned and self.control.action(request.run_id) == "interrupt":
                await self._keep_interrupted_run(thread_id, request, graph)
                return
            if abandoned and request.run_id in self._finished:
                self.control.keep(request.run_id)
                values = (await graph.aget_state(_config(thread_id))).values
                said = self._said(request, values.get("messages", []))
                await self.threads.record_turn(
                    thread_id, message_count=_message_count(values), status=status, said=said
                )
                return
            count = await self._discard_failed_run(thread_id, request.run_id, graph)
            await self.threads.record_turn(thread_id, message_count=count, status=status)
        except Exception:  # never mask the turn's own error with the cleanup's
            log.exception("could not roll back the failed turn on thread %r", thread_id)

    async def _keep_interrupted_run(self, thread_id: str, request: RunRequest, graph: Pregel) -> None:
        """A run cancelled with `interrupt` keeps what the graph had checkpointed, as LangGraph's
        server does: its input and every step it finished (never half a step: with the default
        durability `exit`, LangGraph writes the state reached on the way out). The thread waits at
        the step it stopped before (`interrupted`) if any is left."""
        self.control.keep(request.run_id)
        state = await graph.aget_state(_config(thread_id))
        await self.threads.record_turn(
            thread_id,
            message_count=_message_count(state.values),
            status=ThreadStatus.INTERRUPTED if state.next else ThreadStatus.IDLE,
            said=self._said(request, state.values.get("messages", [])),
        )

    @asynccontextmanager
    async def _recorded(
        self, thread_id: str, run_id: str, record: RunRecord | None, graph: Pregel
    ) -> AsyncIterator[None]:
        """Keep the run's row (when asked to and able): `running` under a lease, then how it ended.

        A run that pauses at an interrupt succeeded (as on LangGraph's server); a cancelled
        one (its client left) was rolled back and is `interrupted`; a failed one is `error`.
        """
        if record is None or self.runs is None:
            yield
            return
        runs, now = self.runs, self.threads.clock()
        if record.stored:
            if not await runs.start(run_id, now + self.lease, now, worker=record.worker):
                if record.worker is not None:  # cancelled while queued, or taken over: not ours to run
                    raise RunTakenOver(run_id)
                raise RunCancelled(run_id, "interrupt", started=False)  # cancelled while it waited
            if record.retry:  # an earlier attempt's process died: undo what it left, then run again
                count = await self._discard_failed_run(thread_id, run_id, graph)
                await self.threads.record_turn(thread_id, message_count=count, status=ThreadStatus.IDLE)
        else:
            await runs.insert(
                Run(
                    run_id=run_id,
                    thread_id=thread_id,
                    assistant_id=record.assistant_id,
                    status=RunStatus.RUNNING,
                    created_at=now,
                    updated_at=now,
                    lease_until=now + self.lease,
                    metadata=dict(record.metadata),
                    kwargs=dict(record.kwargs),
                    multitask_strategy=record.multitask_strategy,
                )
            )
        heartbeat = asyncio.create_task(self._renew_lease(run_id))
        self.control.watch(run_id)
        try:
            await self.events.begin(thread_id, run_id, record.kwargs)
            yield
        except BaseException as exc:
            heartbeat.cancel()
            cancelled = self.control.action(run_id) is not None
            await self.events.end(run_id, exc if isinstance(exc, Exception) else None)
            if cancelled:  # settled once the turn has cleaned up (`RunControl.scope`)
                raise
            status = RunStatus.ERROR if isinstance(exc, Exception) else RunStatus.INTERRUPTED
            error = f"{type(exc).__name__}: {exc}" if isinstance(exc, Exception) else "cancelled; rolled back"
            try:
                await runs.finish(run_id, status, self.threads.clock(), error=error)
            except Exception:  # the run's own error matters more; the lease makes the row read as failed
                log.exception("could not record how run %r ended", run_id)
            raise
        heartbeat.cancel()
        await self.events.end(run_id)
        await runs.finish(run_id, RunStatus.SUCCESS, self.threads.clock())

    async def _renew_lease(self, run_id: str) -> None:
        """While the run goes on, tell other processes this one is still at it."""
        runs = self.runs
        assert runs is not None
        while True:
            await asyncio.sleep(self.lease.total_seconds() / 3)
            now = self.threads.clock()
            try:
                await runs.renew(run_id, now + self.lease, now)
            except Exception:
                log.exception("could not renew the lease of run %r", run_id)

    async def _has_checkpoint(self, thread_id: str, checkpoint_id: str) -> bool:
        config = _config(thread_id)
        config["configurable"].update(checkpoint_ns="", checkpoint_id=checkpoint_id)
        return await self.threads.checkpointer.aget_tuple(config) is not None

    async def _discard_failed_run(self, thread_id: str, run_id: str, graph: Pregel) -> int:
        """Undo a run that failed after storing part of its work, so no half turn remains.

        Every checkpoint a run writes carries its `run_id` in its metadata. The
        thread goes back to the latest checkpoint written before the run
        (LangGraph's `__copy__` update forks it as the latest), or to empty if the
        run wrote the thread's first.
        """
        config = _config(thread_id)
        state = await graph.aget_state(config)
        if (state.metadata or {}).get("run_id") != run_id:
            return _message_count(state.values)
        async for earlier in graph.aget_state_history(config):
            if (earlier.metadata or {}).get("run_id") != run_id:
                await graph.aupdate_state(earlier.config, None, as_node="__copy__")
                return _message_count((await graph.aget_state(config)).values)
        await self.threads.checkpointer.adelete_thread(thread_id)
        return 0

    async def _archive_old_messages(
        self, thread_id: str, values: dict[str, Any], served: ServedGraph
    ) -> None:
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
        if not served.archives:  # no `archived_messages` channel to keep the count in
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
            await served.graph.aupdate_state(
                _config(thread_id),
                {"messages": [RemoveMessage(id=m.id) for m in moved], "archived_messages": archived + cut},
                as_node=served.archive_node,
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
        responder: str | None = None,
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
        `responder` is the human agent (agent or admin) a resume answers as: only they may resume
        a thread handed to a person (see `threaddesk.handoff`).
        """
        request = await self.assistants.bind(request)  # the named assistant's settings (and graph)
        record = self.assistants.recorded(record, request)
        served, request = await self._run_graph(thread_id, request, user_id)
        request = stamp_responder(request, responder)
        await self._spend(user_id if user_id is not None else owner)
        wanted = set(request.stream_mode)
        modes = list(dict.fromkeys([*request.stream_mode, "values"]))
        default = "async" if wanted & {"checkpoints", "debug"} else self.run_durability
        durability = request.durability or default
        async with (
            self.control.scope(thread_id, request.run_id),  # a cancel request stops it (runs.cancel)
            self._turn(thread_id, request, served, user_id, create, wait, title, owner, responder) as thread,
            self._recorded(thread_id, request.run_id, record, served.graph),
        ):
            if request.assistant_id is None:  # none named: the thread's own assistant, as it was created
                remembered = await self.assistants.bind(
                    request, remembered=thread.metadata.get("assistant_id")
                )
                if remembered.graph_id in (None, served.graph_id):  # not when the run moves it to a graph
                    request = remembered
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
            parts = _graph_stream(served.graph, graph_input, config, options, request.events)
            async with aclosing(parts):
                async for chunk in parts:
                    if chunk.mode == "values" and not chunk.namespace:
                        values = chunk.data
                        if "values" not in wanted:
                            continue
                    await self.events.publish(request.run_id, chunk)
                    yield chunk
            self._finished.add(request.run_id)  # the reply is stored: the run is committed
            interrupted = values is not None and "__interrupt__" in values  # a node's `interrupt()`
            if values is None or request.interrupt_before or request.interrupt_after:
                state = await served.graph.aget_state(_config(thread_id))
                values, interrupted = state.values, bool(state.next)
            if not interrupted:
                await self._archive_old_messages(thread_id, values, served)
            status = ThreadStatus.INTERRUPTED if interrupted else ThreadStatus.IDLE
            thread = await self.threads.record_turn(
                thread_id,
                message_count=_message_count(values),
                status=status,
                said=self._said(request, values.get("messages", [])),
            )
            thread = await self._stamp_graph(thread, request, served)
        yield RunResult(request.run_id, thread, values, interrupted)

    async def _stamp_graph(self, thread: Thread, request: RunRequest, served: ServedGraph) -> Thread:
        """Note on the thread which graph and assistant ran on it (`graph_id`, `assistant_id` in its
        metadata, as LangGraph's server does), so `threads.search(metadata={"graph_id": ...})` finds it.
        Written only when they change: one update on a thread's first run (see `GraphRegistry.stamp`)."""
        stamp = {
            **self.graphs.stamp(thread, served),
            **{key: request.metadata[key] for key in ("graph_id", "assistant_id") if key in request.metadata},
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
        graph_id: str | None = None,
    ) -> Reply:
        """One turn: store `text` on the thread, run the agent, store and return its reply.

        `user_id`, when given, must own the thread (else `ThreadNotFound`). With
        `create`, a missing thread is created for `user_id` (titled `title`), only
        once the message has passed every check: a refused message creates nothing.
        `graph_id` runs that graph (the thread moves to it); else the thread's own.
        """
        self._check_text(text)
        request = RunRequest.say(text, graph_id=graph_id)
        result = await self._run_to_end(
            self.run(thread_id, request, user_id=user_id, create=create, wait=wait, title=title, owner=owner)
        )
        return Reply(result.thread, ChatMessage.from_langchain(result.values["messages"][-1]))

    @staticmethod
    async def _run_to_end(run: AsyncGenerator[RunChunk | RunResult, None]) -> RunResult:
        """A run's result, its chunks passed over; the run's generator is run to its end (not left to
        the garbage collector, whose finaliser would wake the event loop from outside once a turn)."""
        result: RunResult | None = None
        async with aclosing(run):
            async for item in run:
                if isinstance(item, RunResult):
                    result = item
        if result is None:  # pragma: no cover - a run always ends with its result
            raise AssertionError("a run always ends with its result")
        return result

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
        graph_id: str | None = None,
    ) -> AsyncGenerator[StreamEvent, None]:
        """Like `send`, yielding `Token`s as the model produces them, then the `Reply`."""
        self._check_text(text)
        request = RunRequest.say(text, stream_mode=("messages",), graph_id=graph_id)
        events = self.run(
            thread_id, request, user_id=user_id, create=create, wait=wait, title=title, owner=owner
        )
        async with aclosing(events):
            async for item in events:
                if isinstance(item, RunResult):
                    yield Reply(item.thread, ChatMessage.from_langchain(item.values["messages"][-1]))
                elif isinstance(item.data[0], AIMessage) and item.data[0].text:  # chunks, or a whole reply
                    yield Token(item.data[0].text)

    async def reply(
        self,
        thread_id: str,
        text: str | None,
        *,
        agent: str | User,
        then: str = "stay",
        interrupt_id: str | None = None,
        wait: bool = True,
    ) -> Reply:
        """A human agent answers a thread handed to a person (`Command(resume=...)`), as `agent`.

        `text` is their reply (stored as theirs: `ChatMessage.author`); then the conversation
        stays with the people (`then="stay"`), goes back to the bot (`"bot"`), or is closed
        (`"close"`); with no text, only the latter two. `agent` must be an agent or admin
        (`NotAllowed`); a thread no longer waiting (another agent answered first) is
        `NotInterrupted`. Returns the thread and the last message written.
        """
        validate_thread_id(thread_id)
        user = agent if isinstance(agent, User) else await self.users.get(agent)
        may_answer(user)
        if text is not None:
            self._check_text(text)
        request = answer_request(text, then=then, interrupt_id=interrupt_id)
        result = await self._run_to_end(self.run(thread_id, request, wait=wait, responder=user.name))
        return Reply(result.thread, ChatMessage.from_langchain(result.values["messages"][-1]))

    async def inbox(self, *, limit: int = 50, offset: int = 0) -> list[Thread]:
        """The human agents' queue: every customer's interrupted threads, waiting longest first."""
        return await waiting_threads(self.threads, limit=limit, offset=offset)

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
        graph = self.graph_for(await self.threads.get(thread_id, user_id=user_id)).graph
        config = _config(thread_id)
        if checkpoint_id is not None:
            config["configurable"].update(checkpoint_ns="", checkpoint_id=checkpoint_id)
        snapshot = await graph.aget_state(config)
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
        graph = self.graph_for(await self.threads.get(thread_id, user_id=user_id)).graph
        config = _config(thread_id)
        if checkpoint_id is not None:
            config["configurable"]["checkpoint_id"] = checkpoint_id
        before_config = None
        if before is not None:
            before_config = _config(thread_id)
            before_config["configurable"]["checkpoint_id"] = before
        history = graph.aget_state_history(
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
        responder: str | None = None,
    ) -> Run:
        """A background run: stored `pending` in the run queue and returned at once; a worker of any
        process sharing the database (this one's first: it is woken now) runs it, after `delay`
        seconds, in the thread's turn order, kept as `run` keeps it (`join_run` waits for it).

        Refused up front, as `run` would refuse it: a bad request, a thread not theirs, and with
        `wait=False` a thread busy in this process. The run survives this process: if it dies, the
        run is taken by another worker (or after a restart), see `threaddesk.runs.worker`.
        A `temporary` thread is deleted (its runs with it) once the run ends.
        """
        runs = self._run_store()
        request = await self.assistants.bind(request)
        record = self.assistants.recorded(record, request) or record
        _, request = await self._run_graph(thread_id, request, user_id)
        if create:
            creator = owner if owner is not None else user_id
            if creator is None:
                raise InvalidArgument("creating a thread needs the user_id that will own it")
            with contextlib.suppress(ThreadExists):  # someone else's: not found below, as anywhere
                await self.threads.create(creator, thread_id, if_exists="get")
        await self.threads.get(thread_id, user_id=user_id)
        if not wait and await self.threads.is_busy(thread_id):  # a turn here, or in another replica
            raise ThreadBusy(thread_id)
        now = self.threads.clock()
        run = Run(
            run_id=request.run_id,
            thread_id=thread_id,
            assistant_id=record.assistant_id,
            status=RunStatus.PENDING,
            created_at=now,
            updated_at=now,
            metadata=dict(record.metadata),
            kwargs=dict(record.kwargs),
            multitask_strategy=record.multitask_strategy,
            queued=True,
            not_before=now + timedelta(seconds=delay),
        )
        await runs.enqueue(run, QueuedRun(request, user_id, wait, temporary, responder).encode())
        if self.worker is not None:
            self.worker.wake()
            if delay:
                self.worker.wake(after=delay)
        return run

    def serve_runs(self, slots: int, *, poll: float = 0.5) -> None:
        """Run a worker in this process that claims queued runs (at most `slots` at once), whichever
        process made them; `stop_background` stops it. Without one, this desk only enqueues."""
        if self.runs is None or self.worker is not None:
            return
        self.worker = RunWorker(
            self.runs,
            self._run_claimed,
            self.threads.clock,
            slots=slots,
            poll=poll,
            lease=self.lease,
            endings=self._endings,
        )
        self.worker.start()

    async def stop_background(self) -> None:
        """Stop the run worker: runs it is executing are rolled back and put back in the queue, for
        another process or the next start (their attempt is not counted)."""
        if self.worker is not None:
            await self.worker.stop()

    async def _run_claimed(self, claim: Claim) -> None:
        """Execute a run this desk's worker claimed, recording how it ended (see `RunWorker`)."""
        runs, row, worker = self._run_store(), claim.run, self.worker
        assert worker is not None
        try:
            job = QueuedRun.decode(claim.payload)
        except Exception as exc:  # stored by another version, or damaged: fail it visibly
            await runs.finish(
                row.run_id, RunStatus.ERROR, self.threads.clock(), error=f"unreadable run: {exc}"
            )
            return
        if row.attempts > MAX_ATTEMPTS:  # its servers kept dying: undo what the last one left, give up
            await self._give_up(row, job.temporary)
            return
        request = job.request
        if "run_attempt" in request.metadata:  # LangGraph's metadata counts the attempts
            request = dataclasses.replace(request, metadata={**request.metadata, "run_attempt": row.attempts})
        record = RunRecord(
            row.assistant_id,
            row.kwargs,
            row.metadata,
            row.multitask_strategy,
            stored=True,
            worker=worker.name,
            retry=claim.retried,
        )
        heartbeat = asyncio.create_task(self._renew_lease(row.run_id))  # while it waits for the thread too
        ended = True
        result: RunResult | None = None
        try:
            if claim.retried and await self._stored_whole(row):
                # Its dead attempt had stored the whole turn before its row said so: done, and neither
                # run twice nor undone (with one checkpoint kept, undoing would empty the thread).
                await runs.finish(row.run_id, RunStatus.SUCCESS, self.threads.clock())
                return
            async for item in self.run(
                row.thread_id,
                request,
                user_id=job.user_id,
                wait=job.wait,
                record=record,
                responder=job.responder,
            ):
                if isinstance(item, RunResult):
                    result = item
        except RunTakenOver:
            ended = False
        except BaseException as exc:  # refused before it started, or failed: the row must say so
            if worker.stopping and isinstance(exc, asyncio.CancelledError):
                # Shutting down: back in the queue, for another process or the restart; unless the
                # turn was committed just before (kept whole), which must not run twice.
                ended = False
                with contextlib.suppress(Exception):
                    await asyncio.shield(self._requeue(row, worker.name))
                raise
            current = await runs.get(row.thread_id, row.run_id)
            if current is not None and not current.status.finished:
                status = RunStatus.ERROR if isinstance(exc, Exception) else RunStatus.INTERRUPTED
                await runs.finish(
                    row.run_id, status, self.threads.clock(), error=f"{type(exc).__name__}: {exc}"
                )
            if not isinstance(exc, Exception):
                raise
        finally:
            heartbeat.cancel()
            self._endings.ended(row.run_id, None if result is None else result.values)
            if ended and job.temporary:
                with contextlib.suppress(ThreadNotFound):
                    await self.threads.delete(row.thread_id)

    async def _stored_whole(self, row: Run) -> bool:
        """Whether the thread's latest checkpoint is the run's own, its graph done, and the registry
        row counts what it holds: a turn recorded whole (the checkpoint and the row commit together),
        not one cut short halfway."""
        graph = (await self._graph_of(row.thread_id, None)).graph
        state = await graph.aget_state(_config(row.thread_id))
        if (state.metadata or {}).get("run_id") != row.run_id or state.next:
            return False
        thread = await self.threads.get(row.thread_id)
        return thread.message_count == _message_count(state.values)

    async def _requeue(self, row: Run, worker: str) -> None:
        runs, now = self._run_store(), self.threads.clock()
        graph = (await self._graph_of(row.thread_id, None)).graph
        state = await graph.aget_state(_config(row.thread_id))
        # (a retried run's checkpoints may be what its dead attempt left, not yet undone: requeue it)
        if row.attempts == 1 and (state.metadata or {}).get("run_id") == row.run_id:
            await runs.finish(row.run_id, RunStatus.SUCCESS, now)
        else:
            await runs.release(row.run_id, worker, now)

    async def _give_up(self, row: Run, temporary: bool) -> None:
        error = stopped_error(dataclasses.replace(row, attempts=row.attempts - 1))
        with contextlib.suppress(ThreadNotFound):
            async with self.threads.turn(row.thread_id):
                graph = (await self._graph_of(row.thread_id, None)).graph
                count = await self._discard_failed_run(row.thread_id, row.run_id, graph)
                await self.threads.record_turn(row.thread_id, message_count=count, status=ThreadStatus.ERROR)
        await self._run_store().finish(row.run_id, RunStatus.ERROR, self.threads.clock(), error=error)
        if temporary:
            with contextlib.suppress(ThreadNotFound):
                await self.threads.delete(row.thread_id)

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

    async def join_run(self, thread_id: str, run_id: str, *, user_id: str | None = None) -> Run:
        """Wait until the run has ended (here or in another process sharing the database); return it.

        Its joiners are told when it ends (`threaddesk.runs.endings`): at once if this process's
        worker executes it, else by one poll shared by every joiner here (a claim by this process's
        worker ends the polling). Then its row is read once. Ownership is checked once.
        """
        return (await self.join_result(thread_id, run_id, user_id=user_id))[0]

    async def join_result(
        self, thread_id: str, run_id: str, *, user_id: str | None = None
    ) -> tuple[Run, dict[str, Any] | None]:
        """`join_run`, and the state values the run ended with if it ended in this process while
        joined (as `runs.wait` answers them); None otherwise (read the thread's state)."""
        runs = self._run_store()
        wait = self.lease.total_seconds()  # at the latest, should a notice be lost without a word
        with self._endings.watch(run_id) as watch:  # before the first read: an end in between is seen
            run = await self.get_run(thread_id, run_id, user_id=user_id)
            here = self._executes_here(run)
            while not run.status.finished:
                if here:
                    told = await watch.next(wait)
                else:
                    with self._endings.polled(run_id):
                        told = await watch.next(wait)
                if told and watch.claimed_here and not watch.ended_here:
                    here = True  # taken by this process's worker: its end will be told, no read now
                    continue
                row = await runs.get(thread_id, run_id)
                if row is None:  # deleted meanwhile (a rollback)
                    raise RunNotFound(run_id)
                run = row.as_of(self.threads.clock())
                here = self._executes_here(run)
        return run, watch.values

    def _executes_here(self, run: Run) -> bool:
        """The run is running on this process's worker: its end here will be told (`RunEndings`)."""
        return self.worker is not None and run.status is RunStatus.RUNNING and run.worker == self.worker.name

    async def seed_demo_orders(self) -> int:
        """Put the demo shop's orders (`agent.orders.DEMO_ORDERS`) in the database, for the support
        tools to find; idempotent. How many orders were written."""
        if self.orders is None:
            raise InvalidArgument("this desk keeps no orders (its storage has no order book)")
        return await self.orders.put_orders(DEMO_ORDERS)

    async def cancel_run(
        self,
        thread_id: str,
        run_id: str,
        action: CancelAction | str = "interrupt",
        *,
        user_id: str | None = None,
        wait: bool = False,
    ) -> Run | None:
        """LangGraph's `runs.cancel`: stop a pending or running run, wherever it executes.

        `interrupt` keeps what it had checkpointed (the run reads `interrupted`);
        `rollback` undoes its writes and deletes the run. `RunNotFound` if it is
        missing, not theirs, or already finished. With `wait`, returns once it has
        ended: its row (None once rolled back); without, at once (None).
        """
        checked = run_cancel.check_action(action)
        run = await self.get_run(thread_id, run_id, user_id=user_id)
        if not await run_cancel.cancel_run(self.control, thread_id, run, checked):
            raise RunNotFound(run_id)
        if not wait:
            return None
        return await run_cancel.wait_ended(self.control, thread_id, run_id)

    async def run_ended(self, thread_id: str, run_id: str) -> Run | None:
        """Wait until the run has ended, here or in another process: its row (None if rolled back)."""
        return await run_cancel.wait_ended(self.control, thread_id, run_id)

    async def cancel_runs(
        self,
        action: CancelAction | str = "interrupt",
        *,
        thread_id: str | None = None,
        run_ids: list[str] | None = None,
        status: str | None = None,
        user_id: str | None = None,
    ) -> list[Run]:
        """LangGraph's `runs.cancel_many`: `run_ids` of `thread_id`, or every run of `status`
        (`pending`, `running`, `all`) on the threads `user_id` may see. The runs cancelled
        (`RunNotFound` if none could be)."""
        checked = run_cancel.check_action(action)
        statuses = {
            None: (RunStatus.PENDING, RunStatus.RUNNING),
            "all": (RunStatus.PENDING, RunStatus.RUNNING),
            "pending": (RunStatus.PENDING,),
            "running": (RunStatus.RUNNING,),
        }
        if status not in statuses:
            raise InvalidArgument(f"status must be 'pending', 'running' or 'all', got {status!r}")
        if status is None and (thread_id is None or run_ids is None):
            raise InvalidArgument("give a status, or both thread_id and run_ids")
        if status is not None and (thread_id is not None or run_ids is not None):
            raise InvalidArgument(
                "a status cancels runs on every thread: give no thread_id or run_ids with it"
            )
        if thread_id is not None:
            await self.threads.get(thread_id, user_id=user_id)
        if self.control.cancels is None:
            raise InvalidArgument("this desk cannot cancel runs (its storage keeps no cancel requests)")
        found = await self.control.cancels.unfinished(
            thread_id=thread_id, run_ids=run_ids, statuses=statuses[status], user_id=user_id
        )
        now = self.threads.clock()
        cancelled = [
            run
            for run in found
            if await run_cancel.cancel_run(self.control, run.thread_id, run.as_of(now), checked)
        ]
        if not cancelled:
            raise RunNotFound(", ".join(run_ids or []) or "(none pending or running)")
        return cancelled

    async def cancel_thread_runs(
        self, thread_id: str, action: CancelAction | str, *, user_id: str | None = None
    ) -> list[Run]:
        """Cancel every pending and running run of the thread (multitask `interrupt` / `rollback`:
        the new run, queued behind them, starts once they have been cancelled). Nothing if the
        thread is missing or not theirs (the new run answers that)."""
        checked = run_cancel.check_action(action)
        if self.control.cancels is None:
            return []
        try:
            await self.threads.get(thread_id, user_id=user_id)
        except ThreadNotFound:
            return []
        found = await self.control.cancels.unfinished(thread_id=thread_id)
        now = self.threads.clock()
        return [
            r for r in found if await run_cancel.cancel_run(self.control, thread_id, r.as_of(now), checked)
        ]

    async def join_stream(
        self,
        thread_id: str,
        run_id: str,
        *,
        user_id: str | None = None,
        after: int | None = None,
        modes: list[str] | None = None,
    ) -> tuple[Run, AsyncIterator[RunEvent]]:
        """LangGraph's `runs.join_stream`: the run and its events from now on (kept ones numbered
        above `after` first, for a resumable run), until it ends, filtered to `modes`.
        `RunNotFound` if the run is missing or not theirs."""
        await self.threads.get(thread_id, user_id=user_id)
        queue = self.events.subscribe(run_id)  # before the row is read: nothing published is missed
        try:
            run = await self.get_run(thread_id, run_id, user_id=user_id)
        except BaseException:
            self.events.unsubscribe(run_id, queue)
            raise
        runs = self._run_store()
        clock = self.threads.clock

        async def ended() -> bool:
            row = await runs.get(thread_id, run_id)
            return row is None or row.as_of(clock()).status.finished

        async def events() -> AsyncGenerator[RunEvent, None]:
            try:
                if run.status.finished and not (after is not None and run.kwargs.get("resumable")):
                    return
                stream = follow(
                    self.events,
                    run_id,
                    after=after,
                    resumable=bool(run.kwargs.get("resumable")),
                    ended=ended,
                    queue=queue,
                )
                async with aclosing(stream):
                    async for event in stream:
                        if mode_matches(event.event, modes):
                            yield event
            finally:
                self.events.unsubscribe(run_id, queue)

        return run, events()

    async def ready(self) -> None:
        """A readiness probe: one cheap query; `StorageUnavailable` if the database does not answer."""
        await self.threads.registry.ping()

    async def history(
        self, thread_id: str, *, user_id: str | None = None, limit: int | None = None
    ) -> list[ChatMessage]:
        """The thread's messages, archived and recent, oldest first (the last `limit` of them if given)."""
        if limit is not None and limit < 0:
            raise InvalidArgument("limit must not be negative")
        served = self.graph_for(await self.threads.get(thread_id, user_id=user_id))
        if not served.has_messages:  # a graph without a messages channel has no conversation to show
            return []
        values = (await served.graph.aget_state(_config(thread_id))).values
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
            states = await asyncio.gather(*(self._values(t) for t in threads))
            return list(zip(threads, states, strict=True))
        found: list[tuple[Thread, dict[str, Any] | None]] = []
        wanted, skip = query.limit, query.offset
        scan = dataclasses.replace(query, limit=MAX_PAGE_SIZE, offset=0)
        while len(found) < wanted:
            page = await self.threads.search(scan)
            for thread in page:
                values = await self._values(thread)
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
                count += values_match(await self._values(thread))
            if len(page) < scan.limit:
                return count
            scan = dataclasses.replace(scan, offset=scan.offset + scan.limit)

    async def _values(self, thread: Thread) -> dict[str, Any]:
        return (await self.graph_for(thread).graph.aget_state(_config(thread.thread_id))).values

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

    def graph_json(self, xray: bool | int = False, graph_id: str | None = None) -> dict[str, Any]:
        """A served graph (default: the default one) drawn as JSON (nodes, edges), as LangGraph's
        `assistants.get_graph`; `GraphNotFound` for a graph not served."""
        served = self.graphs.default if graph_id is None else self.graphs.get_served(graph_id)
        return graph_json(served.graph, xray)

    def graph_schemas(self, graph_id: str) -> dict[str, Any]:
        """The graph's input, output, state, config and context JSON schemas (`assistants.get_schemas`)."""
        return graph_schemas(self.graphs.get_served(graph_id).graph, graph_id)

    async def graph_subgraphs(
        self, graph_id: str, namespace: str | None = None, recurse: bool = False
    ) -> dict[str, Any]:
        """The graph's subgraphs by namespace, each with its schemas (`assistants.get_subgraphs`)."""
        return await graph_subgraphs(self.graphs.get_served(graph_id).graph, namespace, recurse)

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
        served = await self._graph_of(thread_id, user_id)
        graph, nodes = served.graph, served.nodes
        if as_node is not None and as_node not in (*nodes, "__start__", "__end__", "__copy__"):
            raise InvalidArgument(f"as_node must be one of the graph's nodes {nodes}, got {as_node!r}")
        if isinstance(values, dict) and "archived_messages" in values and served.archives:
            raise InvalidArgument("archived_messages is kept by threaddesk and cannot be set")
        if isinstance(values, dict) and "messages" in values and served.has_messages:
            values = {**values, "messages": self._checked_messages(values["messages"])}
        async with self.threads.turn(thread_id, user_id=user_id):
            config = _config(thread_id)
            if checkpoint_id is not None:
                if not await self._has_checkpoint(thread_id, checkpoint_id):
                    raise CheckpointNotFound(thread_id, checkpoint_id)
                config["configurable"].update(checkpoint_ns="", checkpoint_id=checkpoint_id)
            try:
                written = await graph.aupdate_state(config, values, as_node=as_node)
            except (InvalidUpdateError, ValueError, TypeError, KeyError) as exc:
                raise InvalidArgument(f"the state update was refused: {exc}") from exc
            state = await graph.aget_state(_config(thread_id))
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
    graphs: GraphsConfig | Mapping[str, Any] | str | os.PathLike[str] | None = None,
    run_workers: int | None = None,
) -> AsyncIterator[SupportDesk]:
    """Open storage, build the model and agent, and yield a ready `SupportDesk`.

    `graphs` serves your own LangGraph graphs instead of the built-in agent: the
    path of a `langgraph.json`, a parsed `GraphsConfig`, or a mapping graph id →
    compiled graph, `StateGraph`, factory, or import path (`"pkg.module:attr"`,
    `"./file.py:attr"`). Without it, `settings.config` (`THREADDESK_CONFIG`) is
    read if set. Every graph is loaded before the desk opens: a graph that cannot
    be served raises `GraphLoadError`.

    The desk runs a worker executing queued background runs (`SupportDesk.serve_runs`) with
    `run_workers` slots (default `settings.run_workers`; 0: none, this process only enqueues).
    """
    settings = settings or Settings()
    if graphs is None and settings.config is not None:
        graphs = settings.config
    if isinstance(graphs, str | os.PathLike):
        graphs = read_config(graphs)
    chat_model = model if isinstance(model, BaseChatModel) else build_model(model, settings)
    tracer = turn_tracer(settings.tracing)
    url = database_url or settings.database_url
    storage: Storage = await open_storage(
        url,
        pool_size=settings.pg_pool_size,
        turn_pool_size=settings.pg_turn_pool_size,
    )
    limiter: MessageBudget | None = None
    stack = AsyncExitStack()
    try:
        registry: GraphRegistry | None = None
        if graphs is not None:
            loaded = await load_graphs(
                graphs, checkpointer=storage.checkpointer, store=storage.store, stack=stack
            )
            registry = GraphRegistry(loaded)
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
            tools=support_tools(storage.orders) if storage.orders is not None else (),
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
            graphs=registry,
            graph_config=graphs if isinstance(graphs, GraphsConfig) else None,
            users=users,
            max_message_bytes=settings.max_message_bytes,
            limiter=limiter,
            keep_messages=settings.context_messages,
            archive_after=archive_after if storage.archive is not None else 0,
            index=storage.search,
            runs=storage.runs,
            cancels=storage.cancels,
            run_events=storage.run_events,
            items=ItemStore(storage.store) if storage.store is not None else None,
            assistant_store=storage.assistants,
            tracer=tracer,
            backend="postgres" if is_postgres_url(url) else "sqlite",
            orders=storage.orders,
        )
        desk.run_durability = settings.run_durability
        desk.lease = timedelta(seconds=settings.run_lease_s)
        workers = settings.run_workers if run_workers is None else run_workers
        if workers:
            desk.serve_runs(workers, poll=settings.run_poll_s)
        try:
            yield desk
        finally:
            await desk.stop_background()
    finally:
        if limiter is not None:
            await limiter.aclose()
        try:
            await stack.aclose()  # graph factories that were context managers
        finally:
            await storage.aclose()


async def upgrade_database(database_url: str) -> list[str]:
    """Open the database at `database_url` only to migrate it; the names of the migrations applied.

    Every open migrates (idempotently); this is the same, without a model or an
    agent, for a deploy step (`threaddesk db upgrade`).
    """
    storage = await open_storage(database_url, pool_size=1, turn_pool_size=1)
    await storage.aclose()
    return storage.migrations_applied
