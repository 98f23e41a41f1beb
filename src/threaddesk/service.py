"""The support desk: the one object the CLI and the web layer talk to.

It joins the thread manager (who may talk on which thread, one turn at a time)
with the agent (what is said). Nothing here knows about HTTP or terminals.
"""

from __future__ import annotations

import logging
import sqlite3
import uuid
from collections.abc import AsyncIterator
from contextlib import aclosing, asynccontextmanager
from dataclasses import dataclass
from typing import Any, Literal

from langchain_core.language_models import BaseChatModel
from langchain_core.messages import AIMessageChunk, BaseMessage, HumanMessage
from langgraph.graph.state import CompiledStateGraph

from threaddesk.agent import build_agent, build_model
from threaddesk.config import Settings
from threaddesk.errors import (
    InvalidArgument,
    MessageTooLarge,
    ModelUnavailable,
    StorageUnavailable,
    ThreadDeskError,
)
from threaddesk.ratelimit import RateLimiter
from threaddesk.storage import Storage, open_storage
from threaddesk.threads.manager import ThreadManager
from threaddesk.threads.models import Clock, Thread, ThreadStatus, utc_now
from threaddesk.users import UserManager
from threaddesk.users.store.memory import MemoryUserStore
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


def _turn_error(exc: Exception) -> ThreadDeskError:
    """Name what failed in a turn: the database, or (anything else) the chat model."""
    if isinstance(exc, sqlite3.Error | OSError) or type(exc).__module__.startswith("psycopg"):
        return StorageUnavailable(f"storage failed during the turn: {exc}")
    return ModelUnavailable(f"the chat model failed: {type(exc).__name__}: {exc}")


def _config(thread_id: str) -> dict[str, Any]:
    return {"configurable": {"thread_id": thread_id}}


class SupportDesk:
    """Send customer messages to threads and read their history.

    Unknown threads raise `ThreadNotFound` unless the caller passes
    `create=True`; turns on one thread never interleave (a second turn waits,
    or raises `ThreadBusy` with `wait=False`); different threads run concurrently.
    `users` are the people who may call it (tokens, admins), stored beside the threads.
    With a `limiter`, each message a `user_id` sends spends from their budget
    before anything is stored (`RateLimited` when it is spent).
    """

    def __init__(
        self,
        threads: ThreadManager,
        agent: CompiledStateGraph,
        *,
        users: UserManager | None = None,
        max_message_bytes: int = 32 * 1024,
        limiter: RateLimiter | None = None,
    ) -> None:
        self.threads = threads
        self.limiter = limiter
        self.agent = agent
        self.users = users or UserManager(MemoryUserStore())
        self.max_message_bytes = max_message_bytes

    def _question(self, text: object) -> HumanMessage:
        """The customer's message, checked, with an id to recognise it by."""
        if not isinstance(text, str) or not text.strip():
            raise InvalidArgument("message text must be a non-empty string")
        size = len(check_text(text, "message text").encode("utf-8"))
        if size > self.max_message_bytes:
            raise MessageTooLarge(size, self.max_message_bytes)
        return HumanMessage(content=text, id=str(uuid.uuid4()))

    def _spend(self, user_id: str | None) -> None:
        """Charge one message to `user_id`'s rate budget (callers acting for everyone have none)."""
        if self.limiter is not None and user_id is not None:
            self.limiter.spend(user_id)

    @asynccontextmanager
    async def _turn(
        self, thread_id: str, question: HumanMessage, user_id: str | None, create: bool, wait: bool
    ) -> AsyncIterator[Thread]:
        async with self.threads.turn(thread_id, user_id=user_id, wait=wait, create=create) as thread:
            try:
                yield thread
            except BaseException as exc:
                try:
                    count = await self._discard_failed_turn(thread_id, question)
                    await self.threads.record_turn(
                        thread_id, message_count=count, status=ThreadStatus.ERROR
                    )
                except Exception:  # never mask the turn's own error with the cleanup's
                    log.exception("could not roll back the failed turn on thread %r", thread_id)
                if isinstance(exc, Exception) and not isinstance(exc, ThreadDeskError):
                    raise _turn_error(exc) from exc
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
            return len(messages)
        if state.parent_config is None:
            await self.threads.checkpointer.adelete_thread(thread_id)
            return 0
        await self.agent.aupdate_state(state.parent_config, None, as_node="__copy__")
        return len((await self.agent.aget_state(config)).values.get("messages", []))

    async def send(
        self,
        thread_id: str,
        text: str,
        *,
        user_id: str | None = None,
        create: bool = False,
        wait: bool = True,
    ) -> Reply:
        """One turn: store `text` on the thread, run the agent, store and return its reply.

        `user_id`, when given, must own the thread (else `ThreadNotFound`).
        """
        question = self._question(text)
        self._spend(user_id)
        async with self._turn(thread_id, question, user_id, create, wait):
            state = await self.agent.ainvoke(
                {"messages": [question]}, _config(thread_id), durability="exit"
            )
            messages = state["messages"]
            thread = await self.threads.record_turn(thread_id, message_count=len(messages))
        return Reply(thread, ChatMessage.from_langchain(messages[-1]))

    async def stream(
        self,
        thread_id: str,
        text: str,
        *,
        user_id: str | None = None,
        create: bool = False,
        wait: bool = True,
    ) -> AsyncIterator[StreamEvent]:
        """Like `send`, yielding `Token`s as the model produces them, then the `Reply`."""
        question = self._question(text)
        self._spend(user_id)
        async with self._turn(thread_id, question, user_id, create, wait):
            messages: list[BaseMessage] = []
            # Closed before the turn is judged, so an abandoned stream has finished
            # writing (or not) by the time a half turn is looked for.
            events = self.agent.astream(
                {"messages": [question]},
                _config(thread_id),
                stream_mode=["messages", "values"],
                durability="exit",
            )
            async with aclosing(events):
                async for mode, payload in events:
                    if mode == "values":
                        messages = payload["messages"]
                    elif isinstance(payload[0], AIMessageChunk) and payload[0].text:
                        yield Token(payload[0].text)
            thread = await self.threads.record_turn(thread_id, message_count=len(messages))
        yield Reply(thread, ChatMessage.from_langchain(messages[-1]))

    async def history(
        self, thread_id: str, *, user_id: str | None = None, limit: int | None = None
    ) -> list[ChatMessage]:
        """The thread's stored messages, oldest first (the last `limit` of them if given)."""
        await self.threads.get(thread_id, user_id=user_id)
        state = await self.agent.aget_state(_config(thread_id))
        messages = [ChatMessage.from_langchain(m) for m in state.values.get("messages", [])]
        if limit is not None:
            if limit < 0:
                raise InvalidArgument("limit must not be negative")
            messages = messages[-limit:] if limit else []
        return messages


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
        )
        users = UserManager(storage.users, clock=clock)
        limiter = RateLimiter(settings.messages_per_minute) if settings.messages_per_minute else None
        yield SupportDesk(
            manager, agent, users=users, max_message_bytes=settings.max_message_bytes, limiter=limiter
        )
    finally:
        await storage.aclose()

