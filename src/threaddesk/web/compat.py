"""Translation between LangGraph's HTTP dialect and the same `SupportDesk` calls the native API makes.

Only what `langgraph-sdk`'s threads/runs/assistants clients need: thread
search and state, one-message runs (wait and stream), and the one assistant.
"""

from __future__ import annotations

import uuid
from datetime import UTC, datetime
from typing import Annotated, Any, Literal

from langgraph.types import Command, Send
from pydantic import BaseModel, BeforeValidator, ConfigDict, Field

from threaddesk.agent.graph import AGENT_DESCRIPTION, AGENT_NAME
from threaddesk.errors import InvalidArgument
from threaddesk.graphs.registry import GraphRegistry, ServedGraph, system_assistant_id
from threaddesk.runs import Run, RunRecord, RunRequest
from threaddesk.threads.models import MAX_PAGE_SIZE
from threaddesk.users import User
from threaddesk.web import langgraph_events
from threaddesk.web.errors import APIError
from threaddesk.web.langgraph_events import STREAM_MODES

# The built-in agent's graph and system assistant (LangGraph's server names a graph's system
# assistant uuid5(NAMESPACE_GRAPH, graph_id)); a desk's own graphs are in `desk.graphs`.
GRAPH_ID = AGENT_NAME
ASSISTANT_ID = system_assistant_id(GRAPH_ID)
_EPOCH = datetime(2026, 1, 1, tzinfo=UTC).isoformat()
# Keys of a run's configurable that the server sets (thread, run, checkpoint, graph).
RESERVED_CONFIGURABLE = frozenset({"thread_id", "run_id", "checkpoint_id", "checkpoint_ns", "checkpoint_map"})


def _json_integer(value: Any) -> Any:
    """JSON Schema's integer (10 or 10.0), not "10" or true, which pydantic's lax mode would take."""
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise ValueError("must be an integer")
    return value


JsonInteger = Annotated[int, BeforeValidator(_json_integer)]


class AssistantSearch(BaseModel):
    model_config = ConfigDict(extra="ignore")

    metadata: dict[str, Any] | None = None
    graph_id: str | None = None
    name: str | None = None
    limit: JsonInteger = Field(default=10, ge=1, le=MAX_PAGE_SIZE)
    offset: JsonInteger = Field(default=0, ge=0)
    sort_by: Literal["assistant_id", "graph_id", "name", "created_at", "updated_at"] | None = None
    sort_order: Literal["asc", "desc"] | None = None
    select: list[str] | None = None


def checkpoint_id(value: object, *, optional: bool = False) -> Any:
    """A checkpoint id as a request names it (a UUID), or `InvalidArgument`."""
    if value is None and optional:
        return None
    try:
        return str(uuid.UUID(str(value)))
    except ValueError:
        raise InvalidArgument(f"checkpoint_id must be a UUID, got {value!r}") from None


class StateAtCheckpoint(BaseModel):
    model_config = ConfigDict(extra="ignore")

    checkpoint: dict[str, Any]
    subgraphs: bool = False


class HistorySearch(BaseModel):
    """LangGraph's `ThreadStateSearch`: which of a thread's states to list."""

    model_config = ConfigDict(extra="ignore")

    limit: JsonInteger = Field(default=10, ge=1, le=MAX_PAGE_SIZE)
    before: str | dict[str, Any] | None = None
    metadata: dict[str, Any] | None = None
    checkpoint: dict[str, Any] | None = None

    def before_id(self) -> str | None:
        before = self.before.get("checkpoint_id") if isinstance(self.before, dict) else self.before
        return checkpoint_id(before, optional=True)


class RunCommand(BaseModel):
    """LangGraph's `Command`: resume an interrupted run, update the state, go to nodes."""

    model_config = ConfigDict(extra="forbid")

    update: dict[str, Any] | list[Any] | None = None
    resume: Any = None
    goto: str | dict[str, Any] | list[str | dict[str, Any]] | None = None

    def command(self) -> Command:
        goto = self.goto if isinstance(self.goto, list) or self.goto is None else [self.goto]
        sends: list[str | Send] = []
        for target in goto or []:
            if isinstance(target, dict):
                if not isinstance(target.get("node"), str) or "input" not in target:
                    raise InvalidArgument('command.goto objects must be {"node": "...", "input": ...}')
                sends.append(Send(target["node"], target["input"]))
            else:
                sends.append(target)
        update = self.update
        if isinstance(update, list):
            update = [tuple(pair) if isinstance(pair, list) else pair for pair in update]
        return Command(update=update, goto=sends or (), resume=self.resume)


class RunConfig(BaseModel):
    """LangGraph's run `config`: what a run of the support agent uses (other keys are ignored)."""

    model_config = ConfigDict(extra="ignore")

    configurable: dict[str, Any] | None = None
    metadata: dict[str, Any] | None = None
    tags: list[str] | None = None
    recursion_limit: JsonInteger | None = None


Nodes = Literal["*"] | list[str] | None


class RunCreate(BaseModel):
    """LangGraph's run request (`RunCreateStateful`), for runs that wait or stream."""

    model_config = ConfigDict(extra="ignore")

    assistant_id: str
    input: dict[str, Any] | None = None
    command: RunCommand | None = None
    checkpoint_id: str | None = None
    checkpoint: dict[str, Any] | None = None
    config: RunConfig | None = None
    context: dict[str, Any] | None = None
    metadata: dict[str, Any] | None = None
    stream_mode: str | list[str] = "values"
    stream_subgraphs: bool = False
    stream_resumable: bool = False
    interrupt_before: Nodes = None
    interrupt_after: Nodes = None
    multitask_strategy: Literal["enqueue", "reject", "interrupt", "rollback"] | None = None
    if_not_exists: Literal["create", "reject"] | None = None
    after_seconds: JsonInteger = Field(default=0, ge=0)
    on_disconnect: Literal["cancel", "continue"] = "cancel"
    durability: Literal["sync", "async", "exit"] | None = None
    webhook: str | None = None

    def modes(self) -> list[str]:
        modes = [self.stream_mode] if isinstance(self.stream_mode, str) else list(self.stream_mode)
        unknown = [mode for mode in modes if mode not in STREAM_MODES]
        if unknown:
            raise InvalidArgument(f"stream_mode must be among {', '.join(STREAM_MODES)}, got {unknown}")
        return modes or ["values"]

    def record(self, request: RunRequest, thread_id: str) -> RunRecord:
        """What the run keeps as a resource: its request, as LangGraph's `Run.kwargs` and `metadata`
        (the graph and assistant as `request` names them)."""
        graph_id = request.metadata.get("graph_id")  # None: a stored assistant's, found by the desk
        assistant_id = request.metadata.get("assistant_id", system_assistant_id(graph_id or GRAPH_ID))
        config = self.config or RunConfig()
        configurable = {
            **request.configurable,
            **(request.checkpoint or {}),
            "run_id": request.run_id,
            "thread_id": thread_id,
        }
        kwargs = {
            "input": self.input,
            "command": self.command.model_dump() if self.command is not None else None,
            "config": {
                **config.model_dump(exclude_none=True),
                "configurable": configurable,
                "metadata": dict(request.metadata),
            },
            "context": self.context or {},
            "stream_mode": self.modes(),
            "interrupt_before": self.interrupt_before,
            "interrupt_after": self.interrupt_after,
            "webhook": None,
            "feedback_keys": None,
            "temporary": False,
            "subgraphs": self.stream_subgraphs,
            "resumable": self.stream_resumable,
            "checkpoint_during": True,
            "durability": self.durability or "exit",
        }
        metadata = {
            "created_by": "system",
            **(self.metadata or {}),
            **({"graph_id": graph_id} if graph_id is not None else {}),
            "assistant_id": assistant_id,
        }
        return RunRecord(assistant_id, kwargs, metadata, self.multitask_strategy or "enqueue")

    def request(self, graphs: GraphRegistry) -> RunRequest:
        """The core's `RunRequest` on the graph `assistant_id` names, checked for what LangGraph's
        server refuses too."""
        graph_id, assistant_id = run_assistant(self.assistant_id, graphs)
        ids = {"assistant_id": assistant_id, **({"graph_id": graph_id} if graph_id is not None else {})}
        if self.webhook is not None:
            raise InvalidArgument("webhook is not supported: threaddesk makes no outbound requests")
        config = self.config or RunConfig()
        configurable = dict(config.configurable or {})
        if configurable and self.context:
            raise InvalidArgument("context and config.configurable exclude each other: set context alone")
        for key in RESERVED_CONFIGURABLE & set(configurable):
            raise InvalidArgument(f"config.configurable.{key} is set by the server")
        checkpoint = dict(self.checkpoint or {})
        if self.checkpoint_id is not None:
            checkpoint["checkpoint_id"] = self.checkpoint_id
        graph_modes, events = langgraph_events.graph_modes(self.modes())
        metadata = {
            "created_by": "system",
            **(config.metadata or {}),
            **(self.metadata or {}),
            **({"graph_id": graph_id} if graph_id is not None else {}),
            "assistant_id": assistant_id,
            "run_attempt": 1,
        }
        return RunRequest(
            input=self.input,
            command=self.command.command() if self.command is not None else None,
            stream_mode=graph_modes,
            events=events,
            subgraphs=self.stream_subgraphs,
            checkpoint=checkpoint or None,
            configurable={**configurable, **ids},
            context=self.context if self.context else (configurable or None),
            metadata=metadata,
            tags=tuple(config.tags or ()),
            recursion_limit=config.recursion_limit,
            interrupt_before=self.interrupt_before,
            interrupt_after=self.interrupt_after,
            durability=self.durability,
            graph_id=graph_id,
            assistant_id=assistant_id,
        )


def assistant(served: ServedGraph) -> dict[str, Any]:
    """A served graph's system assistant, as LangGraph's server shows the one it makes per graph."""
    description = served.description
    if description is None and served.graph_id == GRAPH_ID and served.location is None:
        description = AGENT_DESCRIPTION
    return {
        "assistant_id": served.assistant_id,
        "graph_id": served.graph_id,
        "name": served.graph_id,
        "description": description,
        "config": {},
        "context": {},
        "metadata": {"created_by": "system"},
        "version": 1,
        "created_at": _EPOCH,
        "updated_at": _EPOCH,
    }


def search_assistants(query: AssistantSearch, graphs: GraphRegistry) -> list[dict[str, Any]]:
    """The system assistants matching the query, in the order the graphs were given."""
    found = [
        each
        for each in (assistant(served) for served in graphs.served())
        if (query.graph_id is None or query.graph_id == each["graph_id"])
        and (query.name is None or query.name.lower() in each["name"].lower())
        and all(each["metadata"].get(k) == v for k, v in (query.metadata or {}).items())
    ]
    return found[query.offset : query.offset + query.limit]


def _choices(graphs: GraphRegistry) -> str:
    served = graphs.served()
    if len(served) == 1:
        return f"{served[0].graph_id!r} or {served[0].assistant_id}"
    return "one of " + ", ".join(repr(s.graph_id) for s in served) + " (or their assistant ids)"


def check_assistant(assistant_id: str, graphs: GraphRegistry) -> ServedGraph:
    """The graph of the assistant named by its id or its graph name, as LangGraph does; else 404."""
    served = graphs.by_assistant(assistant_id)
    if served is None:
        raise APIError(
            404, "assistant_not_found", f"assistant {assistant_id!r} not found: use {_choices(graphs)}"
        )
    return served


def run_assistant(assistant_id: str, graphs: GraphRegistry) -> tuple[str | None, str]:
    """The graph and assistant a run names: a graph's name or its system assistant's id give both;
    another UUID is a stored assistant (its graph is the desk's to find, and whether it exists:
    404 `assistant_not_found`); anything else is malformed (422), as on LangGraph's server."""
    served = graphs.by_assistant(assistant_id)
    if served is not None:
        return served.graph_id, served.assistant_id
    try:
        return None, str(uuid.UUID(assistant_id))
    except ValueError:
        raise InvalidArgument(
            f"assistant_id {assistant_id!r} is neither an assistant's UUID nor a graph:"
            f" use {_choices(graphs)}"
        ) from None


def run_options(
    body: RunCreate, user: User, scope: str | None, max_delay: int, graphs: GraphRegistry
) -> dict[str, Any]:
    """`SupportDesk.run` keyword arguments for this run.

    `if_not_exists: "create"` creates a missing thread for the caller; another
    user's thread is a 404 as on every route (an admin's scope is every thread,
    so an admin's run uses a customer's thread as it is).
    """
    run_assistant(body.assistant_id, graphs)
    if body.after_seconds > max_delay:
        raise InvalidArgument(f"after_seconds must be at most {max_delay}")
    return {
        "user_id": scope,
        "create": body.if_not_exists == "create",
        "owner": user.name,
        "wait": body.multitask_strategy != "reject",
    }


def run_dict(run: Run) -> dict[str, Any]:
    """A stored run as LangGraph's server shows it."""
    return {
        "run_id": run.run_id,
        "thread_id": run.thread_id,
        "assistant_id": run.assistant_id,
        "metadata": run.metadata,
        "status": run.status.value,
        "kwargs": run.kwargs,
        "multitask_strategy": run.multitask_strategy,
        "created_at": run.created_at.isoformat(),
        "updated_at": run.updated_at.isoformat(),
        "langsmith_session_name": None,
    }


class StatelessRunCreate(RunCreate):
    """LangGraph's `RunCreateStateless`: a run on a thread of its own, deleted afterwards unless kept."""

    on_completion: Literal["delete", "keep"] = "delete"
