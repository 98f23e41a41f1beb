"""What one run asks of the agent: its input or command, where to start, what to stream.

A run is one whole turn on one thread (see `SupportDesk.run`): whatever it
writes is kept only if it finishes. `RunRequest.checked` refuses, before anything
is stored, what the graph would choke on halfway: malformed messages, text the
storage cannot hold, state keys the desk manages itself, unknown stream modes.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from typing import Any, Literal

from langchain_core.messages import BaseMessage, HumanMessage, convert_to_messages
from langchain_core.utils.uuid import uuid7
from langgraph.types import Command, Send

from threaddesk.errors import InvalidArgument
from threaddesk.values import check_metadata, check_text

# The graph's own stream modes (LangGraph's `StreamMode`), all of which a run may ask for.
STREAM_MODES = ("values", "updates", "messages", "custom", "debug", "tasks", "checkpoints")
Durability = Literal["sync", "async", "exit"]
DURABILITIES = ("sync", "async", "exit")
# State keys a caller may set; `archived_messages` counts what the desk moved to its archive.
INPUT_KEYS = frozenset({"messages", "customer_name"})
CONFIG_KEYS = frozenset({"configurable", "metadata", "tags", "recursion_limit", "run_name"})


def new_run_id() -> str:
    """Time-ordered (UUIDv7, as LangGraph's server makes them), so run ids sort by creation."""
    return str(uuid7())


@dataclass(frozen=True, slots=True)
class RunRequest:
    """One run's parameters, in LangGraph's terms.

    `input` is the graph input (`{"messages": [...]}`) or None to continue from
    the thread's state (with `command` to resume or redirect it). `checkpoint`
    (`{"checkpoint_id": ...}`) starts from an earlier state instead of the latest,
    which forks the thread there. `stream_mode` lists the graph's stream modes
    wanted; `events` adds LangChain's event stream (`astream_events` v2).
    """

    input: Mapping[str, Any] | None = None
    command: Command | None = None
    stream_mode: tuple[str, ...] = ("values",)
    events: bool = False
    subgraphs: bool = False
    checkpoint: Mapping[str, str] | None = None
    configurable: Mapping[str, Any] = field(default_factory=dict)
    context: Mapping[str, Any] | None = None
    metadata: Mapping[str, Any] = field(default_factory=dict)
    tags: tuple[str, ...] = ()
    recursion_limit: int | None = None
    interrupt_before: Sequence[str] | Literal["*"] | None = None
    interrupt_after: Sequence[str] | Literal["*"] | None = None
    durability: Durability | None = None
    run_id: str = field(default_factory=new_run_id)
    graph_id: str | None = None  # the graph to run; None: the thread's own (see `GraphRegistry.for_thread`)
    # The assistant the run names (id, or a graph's name); None: the thread's own, else the defaults.
    assistant_id: str | None = None

    @classmethod
    def say(cls, text: str, **options: Any) -> RunRequest:
        """The common turn: one customer message (a message object: nothing to convert)."""
        return cls(input={"messages": [HumanMessage(content=text, id=str(uuid.uuid4()))]}, **options)

    def checked(
        self,
        check_message: Callable[[str], object],
        node_names: Sequence[str],
        input_keys: frozenset[str] | None = INPUT_KEYS,
        has_messages: bool = True,
    ) -> RunRequest:
        """This request, checked (its command's update as LangChain messages), else `InvalidArgument`.

        `check_message(text)` vets each message's text (size, storable characters);
        `node_names` are the graph's nodes, which interrupts and `goto` may name;
        `input_keys` the state keys an input or update may set (None: any), and
        `has_messages` whether `messages` is LangGraph's messages channel.
        """
        shape = _Shape(check_message, input_keys, has_messages)
        unknown = [mode for mode in self.stream_mode if mode not in STREAM_MODES]
        if unknown:
            raise InvalidArgument(f"stream_mode must be among {', '.join(STREAM_MODES)}; got {unknown}")
        if self.durability is not None and self.durability not in DURABILITIES:
            raise InvalidArgument(f"durability must be one of {', '.join(DURABILITIES)}")
        if self.recursion_limit is not None and (
            isinstance(self.recursion_limit, bool) or not isinstance(self.recursion_limit, int)
        ):
            raise InvalidArgument("config.recursion_limit must be an integer")
        if self.recursion_limit is not None and self.recursion_limit < 1:
            raise InvalidArgument("config.recursion_limit must be at least 1")
        _check_nodes("interrupt_before", self.interrupt_before, node_names)
        _check_nodes("interrupt_after", self.interrupt_after, node_names)
        for values in (self.metadata, self.configurable, self.context):
            if values:
                check_metadata(values)
        if self.checkpoint is not None:
            _check_checkpoint(self.checkpoint)
        command = self.command
        if command is not None:
            update = command.update
            if isinstance(update, Mapping):
                update = _checked_state(update, shape, "command.update")
            elif isinstance(update, list | tuple) and _is_pairs(update):
                update = [
                    (key, _checked_state({key: value}, shape, "command.update")[key]) for key, value in update
                ]
            elif update is not None:
                raise InvalidArgument("command.update must be an object of state keys or [key, value] pairs")
            _check_goto(command.goto, node_names)
            command = replace(command, update=update)
        if self.input is not None:
            _checked_state(self.input, shape, "input")
        return replace(self, command=command)

    def config(self, thread_id: str, base_metadata: Mapping[str, Any]) -> dict[str, Any]:
        """The RunnableConfig: the thread, the checkpoint to start from, the run's id and metadata.

        The metadata carries `run_id`, so every checkpoint this run writes names
        it (which is how a failed run finds what to undo).
        """
        configurable = {**self.configurable, **(self.checkpoint or {}), "thread_id": thread_id}
        configurable["run_id"] = self.run_id
        config: dict[str, Any] = {
            "configurable": configurable,
            "metadata": {**base_metadata, **self.metadata, "run_id": self.run_id},
            "run_id": uuid.UUID(self.run_id),
        }
        if self.tags:
            config["tags"] = list(self.tags)
        if self.recursion_limit is not None:
            config["recursion_limit"] = self.recursion_limit
        return config


def _is_pairs(update: object) -> bool:
    return isinstance(update, list | tuple) and all(
        isinstance(pair, list | tuple) and len(pair) == 2 and isinstance(pair[0], str) for pair in update
    )


@dataclass(frozen=True, slots=True)
class _Shape:
    """What the checks know of the graph a run goes to."""

    check_message: Callable[[str], object]
    input_keys: frozenset[str] | None
    has_messages: bool


def _check_storable(value: object, check_message: Callable[[str], object], depth: int = 0) -> None:
    """Every string in a state value (other than messages) storable and within the message size."""
    if depth > 32:
        raise InvalidArgument("state values nest too deeply")
    if isinstance(value, str):
        check_message(value)
    elif isinstance(value, Mapping):
        for key, item in value.items():
            _check_storable(key, check_message, depth + 1)
            _check_storable(item, check_message, depth + 1)
    elif isinstance(value, list | tuple):
        for item in value:
            _check_storable(item, check_message, depth + 1)


def _checked_state(values: Mapping[str, Any], shape: _Shape, what: str) -> dict:
    if not isinstance(values, Mapping):
        raise InvalidArgument(f"{what} must be an object of state keys, e.g. {{'messages': [...]}}")
    allowed = shape.input_keys
    unknown = sorted(set(values) - allowed) if allowed is not None else []
    if unknown:
        why = (
            " (this graph has no messages channel)"
            if "messages" in unknown and not shape.has_messages
            else ""
        )
        raise InvalidArgument(f"{what} may set {', '.join(sorted(allowed or ()))} only{why}; got {unknown}")
    check_message = shape.check_message
    checked = dict(values)
    for key, value in values.items():
        if key == "customer_name" or (key == "messages" and shape.has_messages):
            continue  # checked below
        _check_storable(value, check_message)
    if "messages" in values and shape.has_messages:
        checked["messages"] = _checked_messages(values["messages"], check_message, f"{what}.messages")
    name = values.get("customer_name")
    if name is not None:
        if not isinstance(name, str):
            raise InvalidArgument(f"{what}.customer_name must be a string or null")
        check_text(name, f"{what}.customer_name")
    return checked


def _checked_messages(
    messages: object, check_message: Callable[[str], object], what: str
) -> list[BaseMessage]:
    if isinstance(messages, Mapping | str):
        messages = [messages]
    if not isinstance(messages, list) or not messages:
        raise InvalidArgument(f"{what} must be a non-empty list of messages")
    try:
        converted = convert_to_messages(messages)
    except (ValueError, TypeError, NotImplementedError) as exc:
        raise InvalidArgument(f"{what}: {exc}".splitlines()[0]) from exc
    for message in converted:
        check_message(message.text)
        if message.id is not None:
            check_text(str(message.id), f"{what} ids")
    return converted


def _check_nodes(name: str, nodes: object, node_names: Sequence[str]) -> None:
    if nodes is None or nodes == "*":
        return
    if not isinstance(nodes, list | tuple) or not all(isinstance(node, str) for node in nodes):
        raise InvalidArgument(f'{name} must be "*" or a list of node names')
    unknown = [node for node in nodes if node not in node_names]
    if unknown:
        raise InvalidArgument(f"{name} names unknown nodes {unknown}; the graph has {list(node_names)}")


def _check_goto(goto: object, node_names: Sequence[str]) -> None:
    targets = goto if isinstance(goto, list | tuple) else [goto]
    for target in targets:
        node = target.node if isinstance(target, Send) else target
        if node is not None and node != () and node not in node_names:
            raise InvalidArgument(
                f"command.goto names an unknown node {node!r}; the graph has {list(node_names)}"
            )


def _check_checkpoint(checkpoint: Mapping[str, Any]) -> None:
    allowed = {"checkpoint_id", "checkpoint_ns", "checkpoint_map", "thread_id"}
    if not isinstance(checkpoint, Mapping) or set(checkpoint) - allowed:
        raise InvalidArgument("checkpoint must be an object of checkpoint_id and checkpoint_ns")
    checkpoint_id = checkpoint.get("checkpoint_id")
    if checkpoint_id is not None:
        try:
            uuid.UUID(str(checkpoint_id))
        except ValueError as exc:
            raise InvalidArgument(f"checkpoint_id must be a UUID, got {checkpoint_id!r}") from exc
