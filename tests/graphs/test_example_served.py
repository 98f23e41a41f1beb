"""The example graph (examples/support_graph) served by `threaddesk serve --config`, driven by langgraph-sdk.

A real process, as a team would run it: the config names a graph file that
knows nothing of threaddesk; the SDK finds its assistant, runs it (tool calls
included), streams it, and reads the thread's state and history.
"""

from __future__ import annotations

import os
import re
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from langgraph_sdk import get_client

from threaddesk.graphs import system_assistant_id

ROOT = Path(__file__).resolve().parents[2]
CONFIG = ROOT / "examples" / "support_graph" / "langgraph.json"


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@pytest.fixture(scope="module")
def served(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[str, str, str]]:
    """(url, admin token, what serve printed)."""
    db = tmp_path_factory.mktemp("example") / "desk.sqlite"
    port = _free_port()
    command = [sys.executable, "-m", "threaddesk.cli", "--db", str(db), "serve", "--config", str(CONFIG)]
    command += ["--port", str(port)]
    env = {**os.environ, "PYTHONUNBUFFERED": "1"}
    env.pop("THREADDESK_CONFIG", None)
    server = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, env=env)
    try:
        printed, token = "", None
        deadline = time.monotonic() + 90
        while "Graphs:" not in printed and time.monotonic() < deadline:
            line = server.stdout.readline() if server.stdout else ""
            assert line, f"serve exited early: {printed}"
            printed += line
            if match := re.fullmatch(r"\s+(\S{40,})\s*", line):
                token = match.group(1)
        assert token is not None, printed
        url = f"http://127.0.0.1:{port}"
        while time.monotonic() < deadline:
            try:
                if httpx.get(f"{url}/healthz").status_code == 200:
                    break
            except httpx.TransportError:
                time.sleep(0.1)
        yield url, token, printed
    finally:
        server.terminate()
        server.wait(timeout=30)


async def test_the_example_runs_with_its_tools(served: tuple[str, str, str]) -> None:
    url, token, printed = served
    assert f"Graphs: support (from {CONFIG})" in printed
    client = get_client(url=url, api_key=token)
    [assistant] = await client.assistants.search()
    assert assistant["graph_id"] == "support"
    assert assistant["assistant_id"] == system_assistant_id("support")  # as LangGraph's server names it
    schemas = await client.assistants.get_schemas(assistant["assistant_id"])
    assert "messages" in schemas["input_schema"]["properties"]
    drawn = await client.assistants.get_graph("support")
    assert {node["id"] for node in drawn["nodes"]} >= {"agent", "tools"}

    thread = await client.threads.create()
    state = await client.runs.wait(
        thread["thread_id"],
        "support",
        input={"messages": [{"role": "user", "content": "where is my order 1042?"}]},
    )
    types = [m["type"] for m in state["messages"]]
    assert types == ["human", "ai", "tool", "ai"]
    assert state["messages"][1]["tool_calls"][0]["name"] == "lookup_order"
    assert "blue kettle" in state["messages"][-1]["content"]

    # The same thread, by the assistant's uuid, streamed: the refund tool this time.
    chunks = [
        chunk
        async for chunk in client.runs.stream(
            thread["thread_id"],
            assistant["assistant_id"],
            input={"messages": [{"role": "user", "content": "I want a refund for order 1042"}]},
            stream_mode="updates",
        )
    ]
    updated = [list(chunk.data) for chunk in chunks if chunk.event == "updates"]
    assert updated == [["agent"], ["tools"], ["agent"]]
    final = await client.threads.get_state(thread["thread_id"])
    assert "ticket T-1042 opened" in final["values"]["messages"][-1]["content"]
    assert len(final["values"]["messages"]) == 8
    got = await client.threads.get(thread["thread_id"])
    assert got["metadata"]["graph_id"] == "support"
    found = await client.threads.search(metadata={"graph_id": "support"})
    assert thread["thread_id"] in [t["thread_id"] for t in found]

    # threaddesk's own API on the same thread: the conversation as messages.
    said = httpx.get(
        f"{url}/threads/{thread['thread_id']}/messages", headers={"Authorization": f"Bearer {token}"}
    )
    assert said.status_code == 200, said.text


async def test_unknown_assistants_are_refused(served: tuple[str, str, str]) -> None:
    url, token, _ = served
    client = get_client(url=url, api_key=token)
    thread = await client.threads.create()
    with pytest.raises(Exception, match="404|not found"):
        await client.assistants.get("support_agent")  # the built-in agent is not served under --config
    auth = {"Authorization": f"Bearer {token}"}
    said = {"messages": [{"role": "user", "content": "hi"}]}
    runs = f"{url}/threads/{thread['thread_id']}/runs/wait"
    # As on LangGraph's server: a name that is no graph is malformed (422), an unknown uuid is missing (404).
    response = httpx.post(runs, json={"assistant_id": "support_agent", "input": said}, headers=auth)
    assert response.status_code == 422 and "use 'support' or" in response.text, response.text
    unknown = system_assistant_id("support_agent")
    response = httpx.post(runs, json={"assistant_id": unknown, "input": said}, headers=auth)
    assert response.status_code == 404, response.text
    assert (await client.threads.get_state(thread["thread_id"]))["values"] == {}  # nothing ran
