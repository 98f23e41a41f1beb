"""A desk serving several graphs: runs side by side, threads remember their graph, a graph without
messages still gets threads, runs, state, history, ownership, TTL and serialisation (SQLite, PostgreSQL)."""

from __future__ import annotations

import asyncio
import sys
from collections.abc import AsyncIterator
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest

from threaddesk import InvalidArgument, Settings, SupportDesk, ThreadNotFound, open_desk
from threaddesk.errors import GraphNotFound
from threaddesk.graphs import system_assistant_id
from threaddesk.runs import RunRequest, RunResult

sys.path.insert(0, str(Path(__file__).parent / "samples"))
import counter  # noqa: E402
import echo  # noqa: E402


@pytest.fixture
async def multi(database_url: str, clock: Any) -> AsyncIterator[SupportDesk]:
    settings = Settings(database_url=database_url, context_messages=2, max_state_messages=4)
    graphs = {"echo": echo.graph, "counter": counter.graph, "archiving": echo.archiving}
    async with open_desk(settings, clock=clock, graphs=graphs) as desk:
        yield desk


async def _run(desk: SupportDesk, thread_id: str, request: RunRequest, **options: Any) -> RunResult:
    result = None
    async for item in desk.run(thread_id, request, **options):
        result = item
    assert isinstance(result, RunResult)
    return result


def _count(note: str, graph_id: str | None = "counter", **more: Any) -> RunRequest:
    return RunRequest(input={"note": note}, graph_id=graph_id, **more)


async def test_two_graphs_side_by_side_threads_isolated(multi: SupportDesk) -> None:
    assert list(multi.graphs) == ["echo", "counter", "archiving"]
    replies, counted = await asyncio.gather(
        asyncio.gather(*(multi.send(f"e{i}", f"hello {i}", user_id="alice", create=True) for i in range(3))),
        asyncio.gather(
            *(_run(multi, f"c{i}", _count(f"n{i}"), user_id="alice", create=True) for i in range(3))
        ),
    )
    assert [r.text for r in replies] == ["echo: hello 0", "echo: hello 1", "echo: hello 2"]
    assert [c.values for c in counted] == [
        {"count": 1, "log": [f"n{i}#1"], "note": f"n{i}"} for i in range(3)
    ]
    # A later run names no graph: each thread's own graph runs.
    again = await _run(multi, "c1", RunRequest(input={"note": "again"}), user_id="alice")
    assert again.values == {"count": 2, "log": ["n1#1", "again#2"], "note": "again"}
    assert (await multi.send("e1", "more", user_id="alice")).text == "echo: more"
    assert (await multi.state("e1")).values["messages"][-1].text == "echo: more"
    assert (await multi.state("c0")).values == {"count": 1, "log": ["n0#1"], "note": "n0"}
    # Threads remember their graph: the default graph's stay unstamped, the others are stamped.
    c1, e1 = await multi.threads.get("c1"), await multi.threads.get("e1")
    assert c1.metadata == {"graph_id": "counter", "assistant_id": system_assistant_id("counter")}
    assert "graph_id" not in e1.metadata
    assert multi.graph_for(c1).graph_id == "counter" and multi.graph_for(e1).graph_id == "echo"


async def test_a_graph_without_messages(multi: SupportDesk, clock: Any) -> None:
    result = await _run(multi, "c", _count("a"), user_id="alice", create=True)
    assert result.thread.message_count == 0
    assert await multi.history("c", user_id="alice") == []  # no conversation to show
    assert [s.values["count"] for s in await multi.state_history("c", user_id="alice")] == [1]
    with pytest.raises(ThreadNotFound):  # ownership
        await multi.state("c", user_id="bob")
    with pytest.raises(ThreadNotFound):
        await _run(multi, "c", _count("b"), user_id="bob")
    # update_state: the graph's own nodes and keys
    await multi.update_state("c", {"note": "set"}, as_node="increment")
    assert (await multi.state("c")).values["note"] == "set"
    with pytest.raises(InvalidArgument, match="as_node must be one of the graph's nodes"):
        await multi.update_state("c", {"note": "x"}, as_node="answer")
    # interrupts name this graph's nodes
    paused = await _run(multi, "c", _count("p", interrupt_before=["finish"]), user_id="alice")
    assert paused.interrupted and (await multi.threads.get("c")).status.value == "interrupted"
    # serialised: two runs on the thread never interleave
    await asyncio.gather(*(_run(multi, "c2", _count(str(i)), user_id="alice", create=True) for i in range(4)))
    assert (await multi.state("c2")).values["count"] == 4
    # TTL cleanup removes it like any thread
    clock.advance(timedelta(days=2))
    removed = await multi.cleanup("1d")
    assert {t.thread_id for t in removed} == {"c", "c2"}


async def test_inputs_are_checked_against_the_graph_that_runs(multi: SupportDesk) -> None:
    with pytest.raises(InvalidArgument, match="input may set count, log, note only"):
        await _run(multi, "x", RunRequest.say("hi", graph_id="counter"), user_id="alice", create=True)
    with pytest.raises(InvalidArgument, match="input may set messages only"):
        await _run(multi, "x", RunRequest(input={"count": 3}, graph_id="echo"), user_id="alice", create=True)
    with pytest.raises(InvalidArgument, match="names unknown nodes"):
        await _run(multi, "x", _count("n", interrupt_before=["answer"]), user_id="alice", create=True)
    with pytest.raises(InvalidArgument, match="NUL"):
        await _run(multi, "x", _count("bad\x00"), user_id="alice", create=True)
    with pytest.raises(GraphNotFound):
        await multi.send("x", "hi", user_id="alice", create=True, graph_id="nope")
    with pytest.raises(ThreadNotFound):  # nothing was stored by any refused run
        await multi.threads.get("x")


async def test_a_run_on_another_graph_moves_the_thread(multi: SupportDesk) -> None:
    await _run(multi, "t", _count("a"), user_id="alice", create=True)
    reply = await multi.send("t", "now talk", user_id="alice", graph_id="echo")  # as LangGraph's server does
    assert reply.text == "echo: now talk"
    thread = await multi.threads.get("t")
    assert thread.metadata["graph_id"] == "echo" and thread.message_count == 2
    assert [m.content for m in await multi.history("t")] == ["now talk", "echo: now talk"]


async def test_archiving_needs_an_archived_messages_channel(multi: SupportDesk) -> None:
    for graph_id in ("echo", "archiving"):
        for turn in range(4):
            await multi.send(graph_id, f"m{turn}", user_id="alice", create=True, graph_id=graph_id)
    plain, archiving = (await multi.state("echo")).values, (await multi.state("archiving")).values
    assert len(plain["messages"]) == 8 and "archived_messages" not in plain
    assert archiving["archived_messages"] > 0
    assert len(archiving["messages"]) < 8
    for thread_id in ("echo", "archiving"):  # history and message_count are whole either way
        assert [m.content for m in await multi.history(thread_id)][-2:] == ["m3", "echo: m3"]
        assert len(await multi.history(thread_id)) == 8
        assert (await multi.threads.get(thread_id)).message_count == 8


async def test_the_built_in_agent_is_the_default(desk: SupportDesk) -> None:
    assert list(desk.graphs) == ["support_agent"]
    assert desk.graphs.default.graph is desk.agent
    assert desk.graphs.default.archives


async def test_another_users_thread_answers_like_a_missing_one(multi: SupportDesk) -> None:
    """The graph a request is checked against must not tell bob what alice's thread runs."""
    await _run(multi, "alices", _count("a"), user_id="alice", create=True)
    answers = []
    for thread_id in ("alices", "nobodys"):
        for attempt in (
            _run(multi, thread_id, RunRequest(input={"note": "x"}), user_id="bob"),
            multi.update_state(thread_id, {"note": "x"}, as_node="increment", user_id="bob"),
        ):
            try:
                await attempt
            except (InvalidArgument, ThreadNotFound) as exc:
                answers.append((type(exc).__name__, str(exc).replace(thread_id, "ID")))
    assert answers[:2] == answers[2:]
    assert (await multi.state("alices")).values["count"] == 1
