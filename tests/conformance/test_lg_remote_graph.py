"""LangGraph's `RemoteGraph` (a graph run by a server) on LangGraph's server and on threaddesk."""

from __future__ import annotations

import pytest
from harness import Target, same_on_both
from langgraph.pregel.remote import RemoteGraph
from transcript import Transcript

GRAPH = "support_agent"


def remote(target: Target) -> RemoteGraph:
    return RemoteGraph(GRAPH, url=target.url, headers=target.headers)


async def new_thread(target: Target) -> dict:
    thread_id = (await target.sdk().threads.create())["thread_id"]
    return {"configurable": {"thread_id": thread_id}}


def said(text: str) -> dict:
    return {"messages": [{"role": "user", "content": text}]}


async def test_invoke_and_get_state(targets: list[Target]) -> None:
    async def scenario(target: Target, seen: Transcript) -> None:
        graph, config = remote(target), await new_thread(target)
        seen.add("invoke", await graph.ainvoke(said("Hi, I'm Alice."), config))
        seen.add("invoke again", await graph.ainvoke(said("What's my name?"), config))
        state = await graph.aget_state(config)
        seen.add("values", state.values)
        seen.add("next", state.next)
        seen.add("fields", sorted(state._asdict()))
        at = await graph.aget_state(state.config)  # by checkpoint id: POST /threads/{id}/state/checkpoint
        seen.add("same state by checkpoint", at.values == state.values and at.config == state.config)

    seen = await same_on_both(targets, scenario)
    assert seen.entries[1][1]["messages"][-1]["content"] == "Your name is Alice!"


async def test_get_state_history(targets: list[Target]) -> None:
    """History lists newest first in LangGraph's shape (threaddesk keeps fewer checkpoints: see the docs)."""

    async def scenario(target: Target, seen: Transcript) -> None:
        graph, config = remote(target), await new_thread(target)
        await graph.ainvoke(said("Hi, I'm Alice."), config)
        history = [state async for state in graph.aget_state_history(config, limit=1)]
        seen.add("latest", [(state.values, state.next, sorted(state._asdict())) for state in history])

    await same_on_both(targets, scenario)
    ours = targets[1]
    graph, config = remote(ours), await new_thread(ours)
    for text in ("Hi, I'm Alice.", "I need help"):
        await graph.ainvoke(said(text), config)
    history = [state async for state in graph.aget_state_history(config)]
    assert history and history[0].values == (await graph.aget_state(config)).values
    created = [state.created_at for state in history]
    assert created == sorted(created, reverse=True)


@pytest.mark.parametrize(
    "mode",
    ["values", "updates", "messages", "custom", "debug", "tasks", "checkpoints", ["values", "messages"]],
    ids=str,
)
async def test_stream(targets: list[Target], mode: str | list[str]) -> None:
    async def scenario(target: Target, seen: Transcript) -> None:
        graph, config = remote(target), await new_thread(target)
        async for chunk in graph.astream(said("Hi, I'm Alice."), config, stream_mode=mode):
            seen.add("chunk", chunk)

    await same_on_both(targets, scenario)


async def test_without_a_thread(targets: list[Target]) -> None:
    """Without a `thread_id`, `RemoteGraph` runs statelessly (`/runs/stream`)."""

    async def scenario(target: Target, seen: Transcript) -> None:
        graph = remote(target)
        seen.add("invoke", await graph.ainvoke(said("Hi, I'm Bob.")))
        async for chunk in graph.astream(said("Hello"), stream_mode=["updates", "messages"]):
            seen.add("chunk", chunk)

    await same_on_both(targets, scenario)
