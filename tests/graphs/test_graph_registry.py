"""The registry: graph ids and system assistants as LangGraph's server names them, a thread's graph."""

from __future__ import annotations

import sys
from datetime import UTC, datetime
from pathlib import Path

import pytest

from threaddesk.errors import GraphNotFound
from threaddesk.graphs.registry import GraphRegistry, ServedGraph, system_assistant_id
from threaddesk.threads.models import Thread, ThreadStatus

sys.path.insert(0, str(Path(__file__).parent / "samples"))
import counter  # noqa: E402
import echo  # noqa: E402

NOW = datetime(2026, 1, 1, tzinfo=UTC)


def _thread(metadata: dict[str, object]) -> Thread:
    return Thread("t1", "alice", NOW, NOW, metadata=dict(metadata), status=ThreadStatus.IDLE)


def test_system_assistant_ids_are_langgraphs() -> None:
    # What `langgraph dev` answers for a graph named "agent" (uuid5 of LangGraph's NAMESPACE_GRAPH).
    assert system_assistant_id("agent") == "fe096781-5601-53d2-b2f6-0d3403f7e9ca"


def test_what_the_desk_reads_from_each_graph() -> None:
    plain = ServedGraph("echo", echo.graph)
    archiving = ServedGraph("arch", echo.archiving)
    count = ServedGraph("counter", counter.graph)
    assert (plain.has_messages, plain.archives, plain.input_keys) == (True, False, {"messages"})
    assert (archiving.has_messages, archiving.archives, archiving.input_keys) == (True, True, {"messages"})
    assert (count.has_messages, count.archives) == (False, False)
    assert count.input_keys == {"count", "log", "note"}
    assert count.nodes == ("increment", "finish")


def test_lookups() -> None:
    registry = GraphRegistry([ServedGraph("echo", echo.graph), ServedGraph("counter", counter.graph)])
    assert list(registry) == ["echo", "counter"] and len(registry) == 2
    assert registry["counter"] is counter.graph  # a read-only mapping graph id -> compiled graph
    assert registry.default.graph_id == "echo"
    assert registry.by_assistant("counter") is registry.get_served("counter")
    assert registry.by_assistant(system_assistant_id("counter")) is registry.get_served("counter")
    assert registry.by_assistant("nope") is None
    with pytest.raises(GraphNotFound, match="graph 'nope' not found: this desk serves echo, counter"):
        registry.get_served("nope")
    with pytest.raises(TypeError):
        registry["x"] = echo.graph  # type: ignore[index]
    assert GraphRegistry(registry.served(), default="counter").default.graph_id == "counter"


def test_a_threads_graph_and_its_stamp() -> None:
    registry = GraphRegistry([ServedGraph("echo", echo.graph), ServedGraph("counter", counter.graph)])
    echo_, counter_ = registry.get_served("echo"), registry.get_served("counter")
    unstamped, on_counter = _thread({}), _thread({"graph_id": "counter"})
    assert registry.for_thread(unstamped) is echo_  # no graph_id: the default graph
    assert registry.for_thread(on_counter) is counter_
    assert registry.for_thread(_thread({"graph_id": "gone"})) is echo_  # never unreadable
    assert registry.stamp(unstamped, echo_) == {}  # default on unstamped: stays unstamped
    assert registry.stamp(unstamped, counter_) == {
        "graph_id": "counter",
        "assistant_id": system_assistant_id("counter"),
    }
    assert registry.stamp(on_counter, counter_) == {}
    assert registry.stamp(on_counter, echo_)["graph_id"] == "echo"  # a run on another graph moves it
