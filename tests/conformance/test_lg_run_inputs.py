"""Any input the support graph accepts, on LangGraph's server and on threaddesk alike."""

from __future__ import annotations

import uuid

from harness import Target, same_on_both, status_of
from transcript import Transcript

GRAPH = "support_agent"


def said(*texts: str) -> dict:
    return {"messages": [{"role": "user", "content": text} for text in texts]}


async def test_several_messages_and_no_input(targets: list[Target]) -> None:
    async def scenario(target: Target, seen: Transcript) -> None:
        client = target.sdk()
        thread_id = (await client.threads.create())["thread_id"]
        seen.add("two messages", await client.runs.wait(thread_id, GRAPH, input=said("Hi.", "I'm Carol.")))
        seen.add("no input", await client.runs.wait(thread_id, GRAPH, input=None))
        seen.add("state", (await client.threads.get_state(thread_id))["values"])

    await same_on_both(targets, scenario)


async def test_interrupt_before_then_resume(targets: list[Target]) -> None:
    async def scenario(target: Target, seen: Transcript) -> None:
        client = target.sdk()
        thread_id = (await client.threads.create())["thread_id"]
        async for part in client.runs.stream(
            thread_id, GRAPH, input=said("Hi, I'm Dana."), interrupt_before=["agent"], stream_mode="updates"
        ):
            seen.add(part.event, part.data)
        state = await client.threads.get_state(thread_id)
        seen.add("paused", (state["next"], state["values"], len(state["tasks"])))
        seen.add("resumed", await client.runs.wait(thread_id, GRAPH, input=None))
        seen.add("next", (await client.threads.get_state(thread_id))["next"])

    await same_on_both(targets, scenario)


async def test_interrupt_after_and_command_goto(targets: list[Target]) -> None:
    async def scenario(target: Target, seen: Transcript) -> None:
        client = target.sdk()
        thread_id = (await client.threads.create())["thread_id"]
        seen.add("after", await client.runs.wait(thread_id, GRAPH, input=said("Hi"), interrupt_after="*"))
        seen.add("next", (await client.threads.get_state(thread_id))["next"])
        command = {"update": {"messages": [{"role": "user", "content": "I'm Eve"}]}, "goto": "agent"}
        seen.add("goto", await client.runs.wait(thread_id, GRAPH, command=command))

    await same_on_both(targets, scenario)


async def test_branch_from_an_earlier_checkpoint(targets: list[Target]) -> None:
    """Run again from the state after the first turn (`useStream`'s edit/branch): a fork."""

    async def scenario(target: Target, seen: Transcript) -> None:
        client = target.sdk()
        thread_id = (await client.threads.create())["thread_id"]
        await client.runs.wait(thread_id, GRAPH, input=said("Hi, I'm Fay."))
        await client.runs.wait(thread_id, GRAPH, input=said("What's my name?"))
        history = await client.threads.get_history(thread_id, limit=20)
        first_turn = next(s for s in history if len(s["values"].get("messages", [])) == 2 and not s["next"])
        checkpoint = first_turn["checkpoint"]
        values = await client.runs.wait(thread_id, GRAPH, input=said("Who am I?"), checkpoint=checkpoint)
        seen.add("branched", values)
        seen.add("state", (await client.threads.get_state(thread_id))["values"])

    await same_on_both(targets, scenario)


async def test_config_context_metadata(targets: list[Target]) -> None:
    async def scenario(target: Target, seen: Transcript) -> None:
        client = target.sdk()
        thread_id = (await client.threads.create())["thread_id"]
        config = {"configurable": {"tier": "gold"}, "tags": ["vip"], "recursion_limit": 5}
        async for part in client.runs.stream(
            thread_id,
            GRAPH,
            input=said("Hello"),
            config=config,
            metadata={"source": "test"},
            stream_mode="messages-tuple",
        ):
            seen.add(part.event, part.data)
        seen.add(
            "context", await client.runs.wait(thread_id, GRAPH, input=said("Hi"), context={"tier": "gold"})
        )
        both = client.runs.wait(thread_id, GRAPH, input=said("x"), config=config, context={"tier": "gold"})
        seen.add("configurable and context", (await status_of(both))[0] >= 400)

    await same_on_both(targets, scenario)


async def test_if_not_exists_and_rejected_inputs(targets: list[Target]) -> None:
    async def scenario(target: Target, seen: Transcript) -> None:
        client = target.sdk()
        new = str(uuid.uuid4())
        created = await client.runs.wait(new, GRAPH, input=said("Hi, I'm Gus."), if_not_exists="create")
        seen.add("created", created)
        seen.add("thread", (await client.threads.get(new))["thread_id"] == new)
        thread_id = (await client.threads.create())["thread_id"]
        async with target.http() as http:
            for name, body in {
                "unknown stream mode": {"input": said("x"), "stream_mode": "banana"},
                "bad checkpoint id": {"input": None, "checkpoint_id": "nope"},
                "unknown multitask strategy": {"input": said("x"), "multitask_strategy": "banana"},
            }.items():
                response = await http.post(
                    f"/threads/{thread_id}/runs/wait", json={"assistant_id": GRAPH, **body}
                )
                seen.add(name, response.status_code)

    await same_on_both(targets, scenario)
