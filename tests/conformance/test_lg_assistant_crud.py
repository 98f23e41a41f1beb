"""Stored assistants, differentially: create (and its conflicts), update (versions), latest, search,
count, the graph of a stored assistant, a run with one, delete: as LangGraph's server answers them."""

from __future__ import annotations

import uuid

from harness import Target, same_on_both, status_of
from transcript import Transcript

GRAPH = "support_agent"


async def test_assistant_lifecycle(admin_targets: list[Target]) -> None:
    assistant_id = str(uuid.uuid4())
    tag = uuid.uuid4().hex  # this run's assistants only, on servers that live for the session

    async def scenario(target: Target, seen: Transcript) -> None:
        assistants = target.sdk().assistants
        made = await assistants.create(
            GRAPH,
            assistant_id=assistant_id,
            name="billing",
            context={"system_prompt": "You handle billing.", "context_messages": 5},
            metadata={"team": "billing", "tag": tag},
            description="Invoices and refunds",
        )
        seen.add("created", made)
        seen.add("taken id", (await status_of(assistants.create(GRAPH, assistant_id=assistant_id)))[0])
        same = await assistants.create(GRAPH, assistant_id=assistant_id, name="x", if_exists="do_nothing")
        seen.add("do_nothing", (same["name"], same["version"]))
        seen.add("unknown graph", (await status_of(assistants.create("nowhere")))[0])
        seen.add("got", await assistants.get(assistant_id))

        second = await assistants.update(assistant_id, name="billing 2", metadata={"step": 2})
        seen.add("updated", second)
        third = await assistants.update(assistant_id, context={"system_prompt": "Billing, third take."})
        seen.add("updated again", third)
        versions = await assistants.get_versions(assistant_id)
        seen.add("versions", versions)
        seen.add(
            "versions with step",
            [v["version"] for v in await assistants.get_versions(assistant_id, metadata={"step": 2})],
        )
        back = await assistants.set_latest(assistant_id, 1)
        # LangGraph's in-memory server leaves `context` as it was on set_latest (threaddesk restores it).
        seen.add("latest 1", {k: v for k, v in back.items() if k != "context"})
        seen.add("missing version", (await status_of(assistants.set_latest(assistant_id, 9)))[0])

        found = await assistants.search(metadata={"tag": tag})
        seen.add("search", [(a["name"], a["version"]) for a in found])
        seen.add("count", await assistants.count(metadata={"tag": tag}))
        seen.add("count graph", await assistants.count(graph_id=GRAPH, metadata={"tag": tag}))
        picked = await assistants.search(metadata={"tag": tag}, select=["name", "version"])
        seen.add("select", picked)
        seen.add("search unknown graph", (await status_of(assistants.search(graph_id="nowhere")))[0])
        seen.add("graph", await assistants.get_graph(assistant_id))
        seen.add("schemas", await assistants.get_schemas(assistant_id))

        client = target.sdk()
        thread_id = str(uuid.uuid4())
        values = await client.runs.wait(
            thread_id,
            assistant_id,
            input={"messages": [{"role": "user", "content": "Hi, I'm Ada. My invoice is wrong."}]},
            if_not_exists="create",
        )
        seen.add("run values", values)
        thread = await client.threads.get(thread_id)
        seen.add("thread's assistant", thread["metadata"].get("assistant_id") == assistant_id)
        seen.add("thread's graph", thread["metadata"].get("graph_id"))
        run = await client.runs.create(
            thread_id,
            assistant_id,
            input={"messages": [{"role": "user", "content": "Any news?"}]},
            context={"context_messages": 3},
        )
        await client.runs.join(thread_id, run["run_id"])
        kwargs = (await client.runs.get(thread_id, run["run_id"]))["kwargs"]
        # (Not `system_prompt` in the context: see "latest 1" above.)
        seen.add("run's context", {k: v for k, v in kwargs["context"].items() if k != "system_prompt"})
        internal = {"__pregel_node_finished"}  # LangGraph's own plumbing, leaked into the stored kwargs
        seen.add(
            "run's configurable",
            {k: v for k, v in kwargs["config"]["configurable"].items() if k not in internal},
        )
        await client.threads.delete(thread_id)

        seen.add("deleted", await assistants.delete(assistant_id))
        seen.add("get deleted", (await status_of(assistants.get(assistant_id)))[0])
        seen.add("versions deleted", (await status_of(assistants.get_versions(assistant_id)))[0])
        seen.add("delete again", (await status_of(assistants.delete(assistant_id)))[0])
        seen.add("count after", await assistants.count(metadata={"tag": tag}))

    await same_on_both(admin_targets, scenario)
