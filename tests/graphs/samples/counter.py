"""A graph without a messages channel: it counts, and logs what it was asked."""

from __future__ import annotations

import operator
from contextlib import asynccontextmanager, contextmanager
from typing import Annotated, Any

from langgraph.checkpoint.memory import InMemorySaver
from langgraph.graph import START, StateGraph
from langgraph.store.memory import InMemoryStore
from typing_extensions import TypedDict


class CounterState(TypedDict, total=False):
    count: int
    log: Annotated[list[str], operator.add]
    note: str


def increment(state: CounterState) -> dict[str, Any]:
    count = state.get("count", 0) + 1
    return {"count": count, "log": [f"{state.get('note', '-')}#{count}"]}


def finish(state: CounterState) -> dict[str, Any]:
    return {}


def _builder() -> StateGraph:
    builder = StateGraph(CounterState)
    builder.add_node("increment", increment)
    builder.add_node("finish", finish)
    builder.add_edge(START, "increment")
    builder.add_edge("increment", "finish")
    return builder


builder = _builder()
graph = _builder().compile()
own_checkpointer = _builder().compile(checkpointer=InMemorySaver())
own_store = _builder().compile(store=InMemoryStore())
not_a_graph = 42
made: list[Any] = []  # the configs factories were called with


def make_graph(config: dict[str, Any]) -> Any:
    made.append(config)
    return _builder().compile()


def make_plain() -> Any:
    return _builder()


async def make_async(config: dict[str, Any]) -> Any:
    return _builder().compile()


@asynccontextmanager
async def make_managed(config: dict[str, Any]) -> Any:
    made.append("entered")
    yield _builder().compile()
    made.append("exited")


@contextmanager
def make_sync_managed() -> Any:
    yield _builder().compile()


def make_failing(config: dict[str, Any]) -> Any:
    raise RuntimeError("the factory could not build its graph")
