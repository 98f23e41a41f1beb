"""Translation between LangGraph's HTTP dialect and the same `SupportDesk` calls the native API makes.

Only what `langgraph-sdk`'s threads/runs/assistants clients need: thread
search and state, one-message runs (wait and stream), and the one assistant.
"""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator, Mapping
from datetime import UTC, datetime
from typing import Annotated, Any, Literal

from langchain_core.messages import BaseMessage
from pydantic import BaseModel, BeforeValidator, ConfigDict, Field

from threaddesk.agent.graph import AGENT_NAME
from threaddesk.errors import InvalidArgument, ThreadDeskError
from threaddesk.service import Reply, SupportDesk, Token
from threaddesk.threads.models import MAX_PAGE_SIZE, Thread
from threaddesk.users import User
from threaddesk.web.errors import APIError, status_of
from threaddesk.web.sse import frame

# LangGraph's server names a graph's default assistant uuid5(this namespace, graph_id).
_ASSISTANT_NAMESPACE = uuid.UUID("6ba7b821-9dad-11d1-80b4-00c04fd430c8")
GRAPH_ID = AGENT_NAME
ASSISTANT_ID = str(uuid.uuid5(_ASSISTANT_NAMESPACE, GRAPH_ID))
_EPOCH = datetime(2026, 1, 1, tzinfo=UTC).isoformat()
STREAM_MODES = ("values", "messages-tuple")


def _json_integer(value: Any) -> Any:
    """JSON Schema's integer (10 or 10.0), not "10" or true, which pydantic's lax mode would take."""
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise ValueError("must be an integer")
    return value


JsonInteger = Annotated[int, BeforeValidator(_json_integer)]


class ThreadSearch(BaseModel):
    model_config = ConfigDict(extra="ignore")

    metadata: dict[str, Any] | None = None
    status: Literal["idle", "busy", "error", "interrupted"] | None = None
    limit: JsonInteger = Field(default=10, ge=1, le=MAX_PAGE_SIZE)
    offset: JsonInteger = Field(default=0, ge=0)


class AssistantSearch(BaseModel):
    model_config = ConfigDict(extra="ignore")

    metadata: dict[str, Any] | None = None
    graph_id: str | None = None
    name: str | None = None
    limit: JsonInteger = Field(default=10, ge=1, le=MAX_PAGE_SIZE)
    offset: JsonInteger = Field(default=0, ge=0)


class RunCreate(BaseModel):
    """The fields of LangGraph's run request that threaddesk honours; others are ignored."""

    model_config = ConfigDict(extra="ignore")

    assistant_id: str
    input: dict[str, Any] | None = None
    multitask_strategy: Literal["enqueue", "reject"] | None = None
    if_not_exists: Literal["create", "reject"] | None = None
    stream_mode: str | list[str] = "values"

    def modes(self) -> list[str]:
        modes = [self.stream_mode] if isinstance(self.stream_mode, str) else list(self.stream_mode)
        unknown = [mode for mode in modes if mode not in STREAM_MODES]
        if unknown or not modes:
            raise InvalidArgument(
                f"stream_mode must be among {', '.join(STREAM_MODES)}, got {unknown or modes}"
            )
        return modes


def assistant() -> dict[str, Any]:
    return {
        "assistant_id": ASSISTANT_ID,
        "graph_id": GRAPH_ID,
        "name": GRAPH_ID,
        "description": "threaddesk's customer-support agent",
        "config": {},
        "context": {},
        "metadata": {"created_by": "system"},
        "version": 1,
        "created_at": _EPOCH,
        "updated_at": _EPOCH,
    }


def search_assistants(query: AssistantSearch) -> list[dict[str, Any]]:
    found = assistant()
    matches = (
        (query.graph_id is None or query.graph_id == found["graph_id"])
        and (query.name is None or query.name.lower() in found["name"].lower())
        and all(found["metadata"].get(k) == v for k, v in (query.metadata or {}).items())
    )
    return [found][query.offset : query.offset + query.limit] if matches else []


def check_assistant(assistant_id: str) -> None:
    """Accept the assistant's id or its graph name, as LangGraph does."""
    if assistant_id not in (ASSISTANT_ID, GRAPH_ID):
        raise APIError(
            404,
            "assistant_not_found",
            f"assistant {assistant_id!r} not found: use {GRAPH_ID!r} or {ASSISTANT_ID}",
        )


async def search_threads(desk: SupportDesk, query: ThreadSearch, owner: str | None) -> list[Thread]:
    """One offset page, walked through the core's cursor pages."""
    if query.status == "interrupted":  # threaddesk's agent never interrupts
        return []
    wanted = query.offset + query.limit
    threads: list[Thread] = []
    cursor = None
    while len(threads) < wanted:
        page = await desk.threads.list(
            user_id=owner,
            status=query.status,
            metadata=query.metadata,
            limit=min(MAX_PAGE_SIZE, wanted - len(threads)),
            cursor=cursor,
        )
        threads += page.threads
        cursor = page.next_cursor
        if cursor is None:
            break
    return threads[query.offset : wanted]


def message_dict(message: BaseMessage) -> dict[str, Any]:
    """A LangChain message as LangGraph's server serialises it."""
    return message.model_dump(mode="json")


async def _messages(desk: SupportDesk, thread_id: str) -> list[BaseMessage]:
    state = await desk.state(thread_id)
    return list(state.values.get("messages", []))


def _checkpoint(config: Mapping[str, Any] | None) -> dict[str, Any] | None:
    if not config:
        return None
    configurable = config.get("configurable", {})
    return {
        "thread_id": configurable.get("thread_id"),
        "checkpoint_ns": configurable.get("checkpoint_ns", ""),
        "checkpoint_id": configurable.get("checkpoint_id"),
    }


async def thread_state(desk: SupportDesk, thread_id: str) -> dict[str, Any]:
    """LangGraph's ThreadState of a thread whose access was already checked."""
    state = await desk.state(thread_id)
    messages = state.values.get("messages", [])
    return {
        "values": {"messages": [message_dict(m) for m in messages]} if messages else {},
        "next": list(state.next),
        "tasks": [],
        "checkpoint": _checkpoint(state.config)
        or {"thread_id": thread_id, "checkpoint_ns": "", "checkpoint_id": None},
        "metadata": dict(state.metadata or {}),
        "created_at": state.created_at,
        "parent_checkpoint": _checkpoint(state.parent_config),
        "interrupts": [],
    }


def run_text(body: RunCreate) -> str:
    """The one customer message a run carries (threaddesk runs are one turn each)."""
    messages = (body.input or {}).get("messages")
    if not isinstance(messages, list) or len(messages) != 1:
        raise InvalidArgument("input.messages must hold exactly one user message")
    message = messages[0]
    if isinstance(message, str):
        return message
    if not isinstance(message, dict) or (message.get("role") or message.get("type")) not in ("user", "human"):
        raise InvalidArgument('input.messages[0] must be {"role": "user", "content": "..."}')
    content = message.get("content")
    if isinstance(content, list):
        content = "".join(
            block.get("text", "")
            for block in content
            if isinstance(block, dict) and block.get("type") == "text"
        )
    if not isinstance(content, str):
        raise InvalidArgument("input.messages[0].content must be a string or a list of text blocks")
    return content


def run_options(body: RunCreate, user: User, owner: str | None) -> dict[str, Any]:
    """`SupportDesk.send`/`stream` keyword arguments for this run."""
    check_assistant(body.assistant_id)
    create = body.if_not_exists == "create"
    return {
        "user_id": user.name if create else owner,
        "create": create,
        "wait": body.multitask_strategy != "reject",
    }


async def final_values(desk: SupportDesk, reply: Reply) -> dict[str, Any]:
    """The thread's state values as of this run's reply (a later queued turn is cut off)."""
    messages = await _messages(desk, reply.thread.thread_id)
    ids = [m.id for m in messages]
    if reply.message.id in ids:
        messages = messages[: ids.index(reply.message.id) + 1]
    return {"messages": [message_dict(m) for m in messages]}


def _chunk(text: str, message_id: str) -> dict[str, Any]:
    return {
        "content": text,
        "additional_kwargs": {},
        "response_metadata": {},
        "type": "AIMessageChunk",
        "name": None,
        "id": message_id,
        "tool_calls": [],
        "invalid_tool_calls": [],
        "usage_metadata": None,
        "tool_call_chunks": [],
    }


async def run_events(
    desk: SupportDesk,
    thread_id: str,
    text: str,
    events: AsyncIterator[Token | Reply | Exception],
    modes: list[str],
) -> AsyncIterator[bytes]:
    """The SSE frames LangGraph's server sends for a run: metadata, then values and/or messages."""
    run_id = str(uuid.uuid4())
    chunk_id = f"run--{run_id}"
    meta = {
        "langgraph_node": "agent",
        "langgraph_step": 1,
        "thread_id": thread_id,
        "run_id": run_id,
        "graph_id": GRAPH_ID,
        "assistant_id": ASSISTANT_ID,
    }
    yield frame("metadata", {"run_id": run_id, "attempt": 1})
    started = False
    async for event in events:
        if not started and "values" in modes:
            # The state once the input is applied, as LangGraph sends first.
            before = [message_dict(m) for m in await _messages(desk, thread_id)]
            question: dict[str, Any] = {
                "type": "human",
                "content": text,
                "id": None,
                "additional_kwargs": {},
                "response_metadata": {},
                "name": None,
            }
            yield frame("values", {"messages": [*before, question]})
        started = True
        if isinstance(event, Token):
            if "messages-tuple" in modes:
                yield frame("messages", [_chunk(event.text, chunk_id), meta])
        elif isinstance(event, Reply):
            if "values" in modes:
                yield frame("values", await final_values(desk, event))
        else:
            name = event.code if isinstance(event, ThreadDeskError) else type(event).__name__
            status = status_of(event) if isinstance(event, ThreadDeskError) else 500
            yield frame("error", {"error": name, "message": str(event), "status": status})
