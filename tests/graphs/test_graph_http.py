"""The HTTP API over a desk serving several graphs: one system assistant per graph, runs and state
per thread's graph, the checks of the graph that runs."""

from __future__ import annotations

import sys
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from threaddesk import Settings, SupportDesk, open_desk
from threaddesk.graphs import system_assistant_id
from threaddesk.web import create_app

sys.path.insert(0, str(Path(__file__).parent / "samples"))
import counter  # noqa: E402
import echo  # noqa: E402

GRAPHS = {"echo": echo.graph, "counter": counter.graph, "parent": echo.parent}


@pytest.fixture
async def desk() -> AsyncIterator[SupportDesk]:
    async with open_desk(Settings(database_url="memory"), graphs=GRAPHS) as desk:
        yield desk


@pytest.fixture
async def client(desk: SupportDesk) -> AsyncIterator[httpx.AsyncClient]:
    app = create_app(Settings(database_url="memory"), desk=desk)
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://threaddesk.test") as client:
        _, alice = await desk.users.add("alice")
        _, bob = await desk.users.add("bob")
        client.headers["Authorization"] = f"Bearer {alice}"
        client.bob = {"Authorization": f"Bearer {bob}"}  # type: ignore[attr-defined]
        yield client


async def _ok(response: httpx.Response) -> Any:
    assert response.status_code == 200, response.text
    return response.json()


async def test_one_assistant_per_graph(client: httpx.AsyncClient) -> None:
    found = await _ok(await client.post("/assistants/search", json={}))
    assert sorted((a["graph_id"], a["assistant_id"]) for a in found) == sorted(
        (g, system_assistant_id(g)) for g in ("echo", "counter", "parent")
    )
    assert await _ok(await client.post("/assistants/count", json={})) == 3
    assert await _ok(await client.post("/assistants/count", json={"graph_id": "counter"})) == 1
    by_id = await _ok(await client.get(f"/assistants/{system_assistant_id('counter')}"))
    assert by_id == await _ok(await client.get("/assistants/counter"))
    missing = await client.get("/assistants/support_agent")
    assert missing.status_code == 404 and missing.json()["error"]["code"] == "assistant_not_found"
    schemas = await _ok(await client.get("/assistants/counter/schemas"))
    assert schemas["graph_id"] == "counter"
    assert set(schemas["state_schema"]["properties"]) == {"count", "log", "note"}
    drawn = await _ok(await client.get("/assistants/counter/graph"))
    assert {n["id"] for n in drawn["nodes"]} == {"__start__", "increment", "finish", "__end__"}
    assert await _ok(await client.get("/assistants/counter/subgraphs")) == {}
    inner = await _ok(await client.get("/assistants/parent/subgraphs"))
    assert list(inner) == ["inner"] and "messages" in inner["inner"]["state_schema"]["properties"]
    versions = await _ok(await client.post("/assistants/echo/versions", json={}))
    assert [v["graph_id"] for v in versions] == ["echo"]


async def test_runs_state_and_history_follow_the_threads_graph(client: httpx.AsyncClient) -> None:
    await _ok(await client.post("/threads", json={"thread_id": "c1"}))
    run = {"assistant_id": system_assistant_id("counter"), "input": {"note": "hi"}}
    assert await _ok(await client.post("/threads/c1/runs/wait", json=run)) == {
        "count": 1,
        "log": ["hi#1"],
        "note": "hi",
    }
    assert (await _ok(await client.post("/threads/c1/runs/wait", json={**run, "assistant_id": "counter"})))[
        "count"
    ] == 2
    thread = await _ok(await client.get("/threads/c1"))
    assert thread["metadata"]["graph_id"] == "counter" and thread["message_count"] == 0
    state = await _ok(await client.get("/threads/c1/state"))
    assert state["values"]["count"] == 2 and state["next"] == []
    history = await _ok(await client.post("/threads/c1/history", json={"limit": 5}))
    assert history[0]["values"]["count"] == 2
    said = await _ok(await client.get("/threads/c1/messages"))
    assert said["messages"] == []
    sent = await client.post("/threads/c1/messages", json={"content": "hello"})  # no conversation to join
    assert sent.status_code == 422 and "input may set count, log, note only" in sent.text
    found = await _ok(await client.post("/threads/search", json={"metadata": {"graph_id": "counter"}}))
    assert [t["thread_id"] for t in found] == ["c1"]
    # Ownership: bob sees none of it.
    assert (await client.get("/threads/c1/state", headers=client.bob)).status_code == 404  # type: ignore[attr-defined]
    # The graph's own checks: a messages input to the counter is refused, and nothing ran.
    refused = await client.post(
        "/threads/c1/runs/wait",
        json={"assistant_id": "counter", "input": {"messages": [{"role": "user", "content": "x"}]}},
    )
    assert refused.status_code == 422 and "may set count, log, note only" in refused.text
    assert (await _ok(await client.get("/threads/c1/state")))["values"]["count"] == 2
    # A run records its assistant.
    runs = await _ok(await client.get("/threads/c1/runs"))
    assert {r["assistant_id"] for r in runs} == {system_assistant_id("counter")}
    assert {r["metadata"]["graph_id"] for r in runs} == {"counter"}


async def test_messages_graph_side_by_side(client: httpx.AsyncClient) -> None:
    said = {"messages": [{"role": "user", "content": "hello"}]}
    out = await _ok(await client.post("/runs/wait", json={"assistant_id": "echo", "input": said}))
    assert out["messages"][-1]["content"] == "echo: hello"
    await _ok(await client.post("/threads", json={"thread_id": "e1"}))
    await _ok(await client.post("/threads/e1/runs/wait", json={"assistant_id": "parent", "input": said}))
    messages = await _ok(await client.get("/threads/e1/messages"))
    assert [m["content"] for m in messages["messages"]] == ["hello", "echo: hello"]
