"""Your own graph on both servers: the example of examples/support_graph, served by `langgraph dev`
from its langgraph.json and by threaddesk from the same file, driven by the same SDK calls."""

from __future__ import annotations

import shutil
from collections.abc import Iterator
from pathlib import Path

import pytest
from harness import Target, same_on_both
from langgraph_dev import find_langgraph_cli, serve_peer
from support.live import serve_live
from transcript import Transcript

EXAMPLE = Path(__file__).resolve().parents[2] / "examples" / "support_graph"


@pytest.fixture(scope="module")
def own_graph_targets(tmp_path_factory: pytest.TempPathFactory) -> Iterator[list[Target]]:
    cli, why = find_langgraph_cli()
    if cli is None:
        pytest.skip(why)
    folder = tmp_path_factory.mktemp("own_graph") / "example"
    shutil.copytree(EXAMPLE, folder, ignore=shutil.ignore_patterns("__pycache__"))
    database = tmp_path_factory.mktemp("own_graph_desk") / "desk.sqlite"
    config = str(folder / "langgraph.json")
    with (
        serve_peer(cli, folder, folder.parent / "langgraph-dev.log") as peer,
        serve_live(database, ["alice"], keep_checkpoints=0, config=config) as ours,
    ):
        yield [Target("langgraph", peer.url, {}), Target("threaddesk", ours.url, ours.alice.headers)]


async def test_the_example_graph_behaves_the_same(own_graph_targets: list[Target]) -> None:
    async def scenario(target: Target, seen: Transcript) -> None:
        client = target.sdk()
        assistants = await client.assistants.search()
        seen.add("assistants", [(a["graph_id"], a["assistant_id"], a["name"]) for a in assistants])
        assistant_id = assistants[0]["assistant_id"]  # these routes take the uuid only on LangGraph's server
        seen.add("schemas", await client.assistants.get_schemas(assistant_id))
        seen.add("graph", await client.assistants.get_graph(assistant_id))
        thread = await client.threads.create()
        ask = {"messages": [{"role": "user", "content": "where is my order 1042?"}]}
        state = await client.runs.wait(thread["thread_id"], "support", input=ask)
        seen.add("wait", [(m["type"], m["content"], m.get("tool_calls")) for m in state["messages"]])
        refund = {"messages": [{"role": "user", "content": "I want a refund for order 1042"}]}
        chunks = [
            (chunk.event, sorted(chunk.data) if chunk.event == "updates" else None)
            async for chunk in client.runs.stream(
                thread["thread_id"], assistant_id, input=refund, stream_mode="updates"
            )
            if chunk.event != "metadata"
        ]
        seen.add("stream", chunks)
        final = await client.threads.get_state(thread["thread_id"])
        seen.add("state", [(m["type"], m["content"]) for m in final["values"]["messages"]])
        seen.add("next", final["next"])
        got = await client.threads.get(thread["thread_id"])
        seen.add("thread graph", (got["metadata"]["graph_id"], got["metadata"]["assistant_id"]))
        history = await client.threads.get_history(thread["thread_id"], limit=1)  # durability differs
        seen.add("history", [sorted(h["values"]) for h in history])

    await same_on_both(own_graph_targets, scenario)
