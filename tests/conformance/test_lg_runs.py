"""Runs through `langgraph-sdk` and raw HTTP: LangGraph's server and threaddesk must answer alike."""

from __future__ import annotations

import uuid

import pytest
from harness import Target, same_on_both, status_of
from transcript import Transcript

GRAPH = "support_agent"


def said(text: str) -> dict:
    return {"messages": [{"role": "user", "content": text}]}


async def test_thread_create_has_langgraph_fields(targets: list[Target]) -> None:
    """threaddesk's thread carries every field of LangGraph's (and more of its own)."""
    reference, ours = [await target.sdk().threads.create(metadata={"k": "v"}) for target in targets]
    assert set(reference) <= set(ours), set(reference) - set(ours)
    for key in ("metadata", "status"):
        assert ours[key] == reference[key]


async def test_runs_wait_two_turns_and_state(targets: list[Target]) -> None:
    async def scenario(target: Target, seen: Transcript) -> None:
        client = target.sdk()
        thread_id = (await client.threads.create())["thread_id"]
        seen.add("first", await client.runs.wait(thread_id, GRAPH, input=said("Hi, I'm Alice.")))
        seen.add("second", await client.runs.wait(thread_id, GRAPH, input=said("What's my name?")))
        state = await client.threads.get_state(thread_id)
        seen.add("state.values", state["values"])
        seen.add("state.next", state["next"])
        seen.add("state.checkpoint", sorted(state["checkpoint"]))

    seen = await same_on_both(targets, scenario)
    assert seen.entries[1][1]["messages"][-1]["content"] == "Your name is Alice!"


async def test_runs_stream_values_and_messages_tuple(targets: list[Target]) -> None:
    async def scenario(target: Target, seen: Transcript) -> None:
        client = target.sdk()
        thread_id = (await client.threads.create())["thread_id"]
        for mode, text in (("values", "I'm Bob"), ("messages-tuple", "What's my name?")):
            async for part in client.runs.stream(thread_id, GRAPH, input=said(text), stream_mode=mode):
                seen.add(part.event, part.data)

    await same_on_both(targets, scenario)


@pytest.mark.parametrize("mode", ["values", "updates", "messages-tuple"])
async def test_stream_framing_is_byte_compatible(targets: list[Target], mode: str) -> None:
    """The raw SSE body: CRLF lines, compact JSON in LangGraph's key order."""

    async def scenario(target: Target, seen: Transcript) -> None:
        async with target.http() as http:
            thread_id = (await http.post("/threads", json={})).json()["thread_id"]
            body = {"assistant_id": GRAPH, "input": said("Hi, I'm Alice."), "stream_mode": mode}
            async with http.stream("POST", f"/threads/{thread_id}/runs/stream", json=body) as response:
                seen.add("status", response.status_code)
                seen.add("content-type", response.headers["content-type"])
                seen.add("body", seen.frames(await response.aread()))

    await same_on_both(targets, scenario)


async def test_errors_have_langgraph_statuses(targets: list[Target]) -> None:
    async def scenario(target: Target, seen: Transcript) -> None:
        client = target.sdk()
        missing = str(uuid.uuid4())
        status, _ = await status_of(client.runs.wait(missing, GRAPH, input=said("hello")))
        seen.add("wait on a missing thread", status)
        status, _ = await status_of(client.threads.get_state(missing))
        seen.add("state of a missing thread", status)
        thread_id = (await client.threads.create())["thread_id"]
        status, _ = await status_of(client.runs.wait(thread_id, "no-such-graph", input=said("hello")))
        seen.add("unknown assistant", status)

    await same_on_both(targets, scenario)


SINGLE_MODES = ["values", "updates", "messages", "messages-tuple", "events", "custom", "debug", "tasks"]
SINGLE_MODES += ["checkpoints"]
MODE_LISTS = [["values", "updates", "messages-tuple", "custom"], ["messages", "updates", "tasks"]]


@pytest.mark.parametrize("mode", SINGLE_MODES)
async def test_every_stream_mode(targets: list[Target], mode: str) -> None:
    """A turn streamed in `mode` alone: the same events with the same data, in the same order."""

    async def scenario(target: Target, seen: Transcript) -> None:
        client = target.sdk()
        thread_id = (await client.threads.create())["thread_id"]
        async for part in client.runs.stream(
            thread_id, GRAPH, input=said("Hi, I'm Alice."), stream_mode=mode
        ):
            seen.add(part.event, part.data)

    await same_on_both(targets, scenario)


@pytest.mark.parametrize("subgraphs", [False, True], ids=["", "subgraphs"])
@pytest.mark.parametrize("modes", MODE_LISTS, ids=str)
async def test_stream_mode_lists(targets: list[Target], modes: list[str], subgraphs: bool) -> None:
    """Two turns streamed in several modes at once (with subgraph namespaces or not)."""

    async def scenario(target: Target, seen: Transcript) -> None:
        client = target.sdk()
        thread_id = (await client.threads.create())["thread_id"]
        for text in ("Hi, I'm Alice.", "What's my name?"):
            parts = client.runs.stream(
                thread_id, GRAPH, input=said(text), stream_mode=modes, stream_subgraphs=subgraphs
            )
            async for part in parts:
                seen.add(part.event, part.data)

    await same_on_both(targets, scenario)


async def test_runs_are_resources(targets: list[Target]) -> None:
    """A run made by `runs.wait` can be listed, fetched, joined and deleted, as on LangGraph's server."""

    async def scenario(target: Target, seen: Transcript) -> None:
        client = target.sdk()
        thread_id = (await client.threads.create())["thread_id"]
        await client.runs.wait(thread_id, GRAPH, input=said("Hi, I'm Alice."), metadata={"k": "v"})
        await client.runs.wait(thread_id, GRAPH, input=said("What's my name?"), interrupt_before=["agent"])
        runs = await client.runs.list(thread_id)
        seen.add("statuses", [run["status"] for run in runs])
        seen.add("fields", [sorted(run) for run in runs])
        seen.add("kwargs fields", sorted(runs[-1]["kwargs"]))
        seen.add("metadata", runs[-1]["metadata"])
        seen.add("input", runs[-1]["kwargs"]["input"])
        first = runs[-1]["run_id"]
        seen.add("get", (await client.runs.get(thread_id, first))["status"])
        seen.add("join", await client.runs.join(thread_id, first))
        seen.add("filtered", [run["status"] for run in await client.runs.list(thread_id, status="success")])
        await client.runs.delete(thread_id, first)
        status, _ = await status_of(client.runs.get(thread_id, first))
        seen.add("gone", status)
        seen.add("left", len(await client.runs.list(thread_id)))

    await same_on_both(targets, scenario)


async def test_background_runs_create_and_join(targets: list[Target]) -> None:
    """`runs.create` answers a pending run at once; `runs.join` waits for it; runs on a thread queue."""

    async def scenario(target: Target, seen: Transcript) -> None:
        client = target.sdk()
        thread_id = (await client.threads.create())["thread_id"]
        first = await client.runs.create(thread_id, GRAPH, input=said("Hi, I'm Alice."))
        second = await client.runs.create(thread_id, GRAPH, input=said("What's my name?"))
        seen.add("created", (first["status"], sorted(first), first["kwargs"]["input"]))
        seen.add("join second", await client.runs.join(thread_id, second["run_id"]))
        seen.add(
            "join first", (await client.runs.join(thread_id, first["run_id"]))["messages"][-1]["content"]
        )
        seen.add("statuses", [run["status"] for run in await client.runs.list(thread_id)])

    await same_on_both(targets, scenario)


async def test_stateless_runs(targets: list[Target]) -> None:
    """`/runs/wait` and `/runs/stream`: a thread of the run's own, deleted afterwards unless kept."""

    async def scenario(target: Target, seen: Transcript) -> None:
        client = target.sdk()
        seen.add("wait", await client.runs.wait(None, GRAPH, input=said("Hi, I'm Alice.")))
        async for part in client.runs.stream(None, GRAPH, input=said("Hello"), stream_mode="updates"):
            seen.add(part.event, part.data)
        async with target.http() as http:
            for on_completion in ("delete", "keep"):
                body = {"assistant_id": GRAPH, "input": said("Hi"), "on_completion": on_completion}
                response = await http.post("/runs/wait", json=body)
                thread_id = response.headers["content-location"].split("/")[2]
                seen.add(on_completion, (await http.get(f"/threads/{thread_id}")).status_code)

    await same_on_both(targets, scenario)


async def test_stateless_background_runs_and_batches(targets: list[Target]) -> None:
    async def scenario(target: Target, seen: Transcript) -> None:
        client = target.sdk()
        run = await client.runs.create(None, GRAPH, input=said("Hi"))
        seen.add("created", (run["status"], sorted(run)))
        batch = await client.runs.create_batch(
            [{"assistant_id": GRAPH, "input": said(f"Hi {i}")} for i in range(3)]
        )
        seen.add("batch", [(r["status"], r["kwargs"]["input"]) for r in batch])
        async with target.http() as http:
            status = (
                await http.post("/runs/batch", json=[{"assistant_id": GRAPH, "stream_mode": "x"}])
            ).status_code
            seen.add("a bad batch", status)

    await same_on_both(targets, scenario)
