"""The graphs a desk serves, by graph id, and which one a thread or a run uses.

Each served graph is an assistant, as on LangGraph's server: its system
assistant's id is `uuid5(NAMESPACE_GRAPH, graph_id)`, and runs may name it by
that id or by the graph id. A thread remembers its graph in its metadata
(`graph_id`, stamped by the run that used it); a thread without one belongs to
the desk's default graph. This module is the one place those rules live.

What the desk adds around a graph depends on its state, read once here:
- `has_messages`: a `messages` channel with LangGraph's `add_messages` reducer
  (`MessagesState`). Needed for `history`, the chat page, search, `send`/`stream`,
  `message_count`.
- `archives`: also an `archived_messages` channel, so old messages can move to
  the archive with their count kept in the same checkpoint (the built-in agent
  has one; add `archived_messages: int` to your state to opt in).
- `input_keys`: the state keys a run's input or `command.update` may set.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass
from typing import Any

from langgraph.channels.binop import BinaryOperatorAggregate
from langgraph.graph.message import add_messages
from langgraph.pregel import Pregel

from threaddesk.errors import GraphNotFound
from threaddesk.threads.models import Thread

# LangGraph's server names a graph's system assistant uuid5(this namespace, graph_id) (langgraph_api.graph).
NAMESPACE_GRAPH = uuid.UUID("6ba7b821-9dad-11d1-80b4-00c04fd430c8")
ARCHIVED = "archived_messages"


def system_assistant_id(graph_id: str) -> str:
    """The id LangGraph's server gives the assistant it creates for `graph_id`."""
    return str(uuid.uuid5(NAMESPACE_GRAPH, graph_id))


def _adds_messages(graph: Pregel) -> bool:
    channel = graph.channels.get("messages")
    if not isinstance(channel, BinaryOperatorAggregate):
        return False
    operator: Any = channel.operator
    return operator is add_messages or getattr(operator, "__name__", "") in ("add_messages", "_add_messages")


def _input_keys(graph: Pregel) -> frozenset[str] | None:
    """The state keys the graph's input schema has (None: not a StateGraph, any input goes)."""
    builder: Any = getattr(graph, "builder", None)
    schemas = getattr(builder, "schemas", None)
    if builder is None or not schemas:
        return None
    keys = schemas.get(builder.input_schema) or {}
    return frozenset(keys) - {ARCHIVED}


@dataclass(frozen=True, slots=True)
class ServedGraph:
    """One graph as the desk serves it: the compiled graph and what the desk can do with it."""

    graph_id: str
    graph: Pregel
    description: str | None = None
    location: str | None = None  # where it was loaded from (`file.py:attr`), for messages
    archive_node: str | None = None  # the node old messages are removed "as" (None: LangGraph infers it)

    @property
    def assistant_id(self) -> str:
        return system_assistant_id(self.graph_id)

    @property
    def nodes(self) -> tuple[str, ...]:
        return tuple(name for name in self.graph.nodes if not name.startswith("__"))

    @property
    def has_messages(self) -> bool:
        return _adds_messages(self.graph)

    @property
    def archives(self) -> bool:
        return self.has_messages and ARCHIVED in self.graph.channels

    @property
    def input_keys(self) -> frozenset[str] | None:
        return _input_keys(self.graph)


class GraphRegistry(Mapping[str, Pregel]):
    """A read-only mapping graph id → compiled graph, with the `ServedGraph` of each and a default.

    The default is the graph of threads that name none (the first given, unless `default` says).
    """

    def __init__(self, graphs: Iterable[ServedGraph], default: str | None = None) -> None:
        self._served = {served.graph_id: served for served in graphs}
        if not self._served:
            raise ValueError("a desk serves at least one graph")
        self._default = self._served[default] if default is not None else next(iter(self._served.values()))
        self._by_assistant = {served.assistant_id: served for served in self._served.values()}

    def __getitem__(self, graph_id: str) -> Pregel:
        return self._served[graph_id].graph

    def __iter__(self) -> Iterator[str]:
        return iter(self._served)

    def __len__(self) -> int:
        return len(self._served)

    @property
    def default(self) -> ServedGraph:
        return self._default

    def served(self) -> list[ServedGraph]:
        """Every served graph, in the order given."""
        return list(self._served.values())

    def get_served(self, graph_id: str) -> ServedGraph:
        """The served graph `graph_id`, else `GraphNotFound`."""
        try:
            return self._served[graph_id]
        except KeyError:
            raise GraphNotFound(graph_id, list(self._served)) from None

    def by_assistant(self, assistant_id: str) -> ServedGraph | None:
        """The graph an assistant reference names: a graph id or a system assistant's uuid (None: neither)."""
        return self._served.get(assistant_id) or self._by_assistant.get(assistant_id)

    def for_thread(self, thread: Thread) -> ServedGraph:
        """The graph whose state the thread holds: its `graph_id` metadata, else the default.

        A `graph_id` this desk does not serve (set by hand, or from another config)
        reads with the default graph, so a thread never becomes unreadable.
        """
        graph_id = thread.metadata.get("graph_id")
        if len(self._served) == 1 or not isinstance(graph_id, str):
            return self._default
        return self._served.get(graph_id, self._default)

    def stamp(self, thread: Thread, served: ServedGraph) -> dict[str, str]:
        """The metadata to write on `thread` after `served` ran on it (empty: nothing changes).

        A run naming another graph on a thread moves the thread to it, as on
        LangGraph's server; a default-graph run on an unstamped thread stays unstamped.
        """
        if self.for_thread(thread) is served and (
            "graph_id" not in thread.metadata or thread.metadata["graph_id"] == served.graph_id
        ):
            return {}
        return {"graph_id": served.graph_id, "assistant_id": served.assistant_id}
