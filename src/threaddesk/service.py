"""The support desk: the one object the CLI and the web layer talk to.

It joins the thread manager (who may talk on which thread, one turn at a time)
with the agent (what is said). Nothing here knows about HTTP or terminals.
"""

from __future__ import annotations

import logging
import uuid
from collections.abc import AsyncGenerator, AsyncIterator
from contextlib import aclosing, asynccontextmanager
from dataclasses import dataclass
from typing import Any, Literal
from urllib.parse import urlsplit

from langchain_core.language_models import BaseChatModel
from langchain_core.messages import AIMessageChunk, BaseMessage, HumanMessage, RemoveMessage
from langchain_core.runnables import RunnableConfig
from langgraph.graph.state import CompiledStateGraph
from langgraph.types import StateSnapshot

from threaddesk.agent import build_agent, build_model
from threaddesk.agent.graph import DEFAULT_CONTEXT_MESSAGES
from threaddesk.config import Settings
from threaddesk.errors import (
    InternalError,
    InvalidArgument,
    MessageTooLarge,
    ThreadDeskError,
    ThreadNotFound,
)
from threaddesk.ids import validate_thread_id, validate_user_id
from threaddesk.ratelimit import MessageBudget
from threaddesk.storage import MEMORY_URLS, Storage, open_storage, sqlite_path
from threaddesk.threads.interfaces import MessageIndex
from threaddesk.threads.manager import ThreadManager
from threaddesk.threads.models import MAX_PAGE_SIZE, Clock, Thread, ThreadStatus, utc_now
from threaddesk.threads.search import IndexedMessage, SearchHit, check_search_limit, search_terms
from threaddesk.users import UserManager
from threaddesk.values import check_text

log = logging.getLogger(__name__)

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

    def _question(self, text: object) -> HumanMessage:
        """The customer's message, checked, with an id to recognise it by."""
        if not isinstance(text, str) or not text.strip():
            raise InvalidArgument("message text must be a non-empty string")
        size = len(check_text(text, "message text").encode("utf-8"))
        if size > self.max_message_bytes:
            raise MessageTooLarge(size, self.max_message_bytes)
        return HumanMessage(content=text, id=str(uuid.uuid4()))

    async def _spend(self, user_id: str | None) -> None:
        """Charge one message to `user_id`'s rate budget (callers acting for everyone have none)."""
        if self.limiter is not None and user_id is not None:
            await self.limiter.aspend(user_id)

    @asynccontextmanager
    async def _turn(
        self,
        thread_id: str,
        question: HumanMessage,
        user_id: str | None,
        create: bool,
        wait: bool,
        title: str | None = None,
    ) -> AsyncIterator[Thread]:
        async with self.threads.turn(
            thread_id, user_id=user_id, wait=wait, create=create, title=title
        ) as thread:
            try:
                yield thread
            except BaseException as exc:
                try:
                    count = await self._discard_failed_turn(thread_id, question)
                    await self.threads.record_turn(thread_id, message_count=count, status=ThreadStatus.ERROR)
                except Exception:  # never mask the turn's own error with the cleanup's
                    log.exception("could not roll back the failed turn on thread %r", thread_id)
                if isinstance(exc, Exception) and not isinstance(exc, ThreadDeskError):
                    raise _turn_error(thread_id, exc) from exc
                raise

    async def _discard_failed_turn(self, thread_id: str, question: HumanMessage) -> int:
        """Undo a turn that failed after storing its question, so no half turn remains.

        The thread goes back to the checkpoint before the turn (LangGraph's
        `__copy__` update forks it as the latest), or to empty if it was the first.
        """
        config = _config(thread_id)
        state = await self.agent.aget_state(config)
        messages = state.values.get("messages", [])
        if not messages or messages[-1].id != question.id:
            return _message_count(state.values)
        if state.parent_config is None:
            await self.threads.checkpointer.adelete_thread(thread_id)
            return 0
        await self.agent.aupdate_state(state.parent_config, None, as_node="__copy__")
        return _message_count((await self.agent.aget_state(config)).values)

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

    def _said(self, question: HumanMessage, messages: list[BaseMessage]) -> list[IndexedMessage]:
        """The turn's question and what the agent said after it, for the search index (if there is one)."""
        if self.index is None:
            return []
        start = next((i for i in range(len(messages) - 1, -1, -1) if messages[i].id == question.id), 0)
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

    async def send(
        self,
        thread_id: str,
        text: str,
        *,
        user_id: str | None = None,
        create: bool = False,
        wait: bool = True,
        title: str | None = None,
    ) -> Reply:
        """One turn: store `text` on the thread, run the agent, store and return its reply.

        `user_id`, when given, must own the thread (else `ThreadNotFound`). With
        `create`, a missing thread is created for `user_id` (titled `title`), only
        once the message has passed every check: a refused message creates nothing.
        """
        question = self._question(text)
        await self._spend(user_id)
        async with self._turn(thread_id, question, user_id, create, wait, title):
            state = await self.agent.ainvoke({"messages": [question]}, _config(thread_id), durability="exit")
            await self._archive_old_messages(thread_id, state)
            thread = await self.threads.record_turn(
                thread_id, message_count=_message_count(state), said=self._said(question, state["messages"])
            )
        return Reply(thread, ChatMessage.from_langchain(state["messages"][-1]))

    async def stream(
        self,
        thread_id: str,
        text: str,
        *,
        user_id: str | None = None,
        create: bool = False,
        wait: bool = True,
        title: str | None = None,
    ) -> AsyncGenerator[StreamEvent, None]:
        """Like `send`, yielding `Token`s as the model produces them, then the `Reply`."""
        question = self._question(text)
        await self._spend(user_id)
        async with self._turn(thread_id, question, user_id, create, wait, title):
            values: dict[str, Any] = {}
            # Closed before the turn is judged, so an abandoned stream has finished
            # writing (or not) by the time a half turn is looked for.
            events: AsyncGenerator[tuple[str, Any], None] = self.agent.astream(  # type: ignore[assignment]
                {"messages": [question]},
                _config(thread_id),
                stream_mode=["messages", "values"],
                durability="exit",
            )
            async with aclosing(events):
                async for mode, payload in events:
                    if mode == "values":
                        values = payload
                    elif isinstance(payload[0], AIMessageChunk) and payload[0].text:
                        yield Token(payload[0].text)
            await self._archive_old_messages(thread_id, values)
            thread = await self.threads.record_turn(
                thread_id, message_count=_message_count(values), said=self._said(question, values["messages"])
            )
        yield Reply(thread, ChatMessage.from_langchain(values["messages"][-1]))

    async def state(self, thread_id: str) -> StateSnapshot:
        """The thread's latest LangGraph state: its recent messages, checkpoint ids and metadata.

        For the LangGraph dialect of the HTTP API. Older messages are in the
        archive (`history` joins them back). Access is the caller's to check
        first (`threads.get(thread_id, user_id=...)`); an unknown thread has an empty state.
        """
        return await self.agent.aget_state(_config(validate_thread_id(thread_id)))

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
    storage: Storage = await open_storage(
        database_url or settings.database_url,
        pool_size=settings.pg_pool_size,
        turn_pool_size=settings.pg_turn_pool_size,
    )
    limiter: MessageBudget | None = None
    try:
        agent = build_agent(
            chat_model,
            storage.checkpointer,
            system_prompt=settings.system_prompt,
            context_messages=settings.context_messages,
            context_tokens=settings.context_tokens,
        )
        manager = ThreadManager(
            storage.registry,
            storage.checkpointer,
            clock=clock,
            keep_checkpoints=settings.keep_checkpoints,
            max_threads_per_user=settings.max_threads_per_user,
            archive=storage.archive,
        )
        users = UserManager(storage.users, clock=clock)
        if settings.messages_per_minute:
            limiter = storage.message_budget(settings.messages_per_minute, redis_url=settings.redis_url)
        archive_after = settings.max_state_messages
        if archive_after is None:
            archive_after = 2 * settings.context_messages
        yield SupportDesk(
            manager,
            agent,
            users=users,
            max_message_bytes=settings.max_message_bytes,
            limiter=limiter,
            keep_messages=settings.context_messages,
            archive_after=archive_after if storage.archive is not None else 0,
            index=storage.search,
        )
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
