"""Background runs through the queue, against LangGraph's server on PostgreSQL + Redis (`langhost`)
and threaddesk on PostgreSQL: create → join, list, per-thread order, status transitions, delays.

Opt-in (see langhost.py): without `THREADDESK_LANGHOST` these skip with the reason.
"""

from __future__ import annotations

import asyncio

from harness import Target, same_on_both
from transcript import Transcript

GRAPH = "support_agent"
FINISHED = {"success", "error", "interrupted", "timeout"}


def said(text: str) -> dict:
    return {"messages": [{"role": "user", "content": text}]}


async def _statuses_until_finished(client, thread_id: str, run_id: str) -> list[str]:
    """Every distinct status the run shows, in order, polled until it has finished."""
    seen: list[str] = []
    for _ in range(600):
        status = (await client.runs.get(thread_id, run_id))["status"]
        if not seen or seen[-1] != status:
            seen.append(status)
        if status in FINISHED:
            return seen
        await asyncio.sleep(0.02)
    raise AssertionError(f"run {run_id} still {seen[-1]} after 12s")


async def test_queued_runs_on_one_thread_run_in_order(queue_targets: list[Target]) -> None:
    async def scenario(target: Target, seen: Transcript) -> None:
        client = target.sdk()
        thread_id = (await client.threads.create())["thread_id"]
        created = [
            await client.runs.create(thread_id, GRAPH, input=said(f"Order {n} was charged twice"))
            for n in range(5)
        ]
        seen.add("created", [run["status"] for run in created])
        last = await client.runs.join(thread_id, created[-1]["run_id"])
        seen.add("asked", [m["content"] for m in last["messages"] if m["type"] == "human"])
        for run in created:
            await client.runs.join(thread_id, run["run_id"])
        listed = await client.runs.list(thread_id)
        seen.add(
            "listed",
            [
                (run["run_id"] == made["run_id"], run["status"])
                for run, made in zip(listed, created[::-1], strict=True)
            ],
        )
        seen.add("pending left", await client.runs.list(thread_id, status="pending"))
        seen.add("succeeded", len(await client.runs.list(thread_id, status="success")))

    await same_on_both(queue_targets, scenario)


async def test_a_queued_run_goes_pending_running_success(queue_targets: list[Target]) -> None:
    async def scenario(target: Target, seen: Transcript) -> None:
        client = target.sdk()
        thread_id = (await client.threads.create())["thread_id"]
        run = await client.runs.create(thread_id, GRAPH, input=said("Hi, I'm Alice."))
        statuses = await _statuses_until_finished(client, thread_id, run["run_id"])
        order = ["pending", "running", "success"]
        seen.add("ended", statuses[-1])
        seen.add("in order", [order.index(s) for s in statuses] == sorted(order.index(s) for s in statuses))
        seen.add("thread", (await client.threads.get(thread_id))["status"])

    await same_on_both(queue_targets, scenario)


async def test_a_delayed_run_waits_then_runs_before_later_ones(queue_targets: list[Target]) -> None:
    async def scenario(target: Target, seen: Transcript) -> None:
        client = target.sdk()
        thread_id = (await client.threads.create())["thread_id"]
        later = await client.runs.create(thread_id, GRAPH, input=said("Hi, I'm Alice."), after_seconds=2)
        await asyncio.sleep(0.5)
        seen.add("waiting", (await client.runs.get(thread_id, later["run_id"]))["status"])
        now = await client.runs.create(thread_id, GRAPH, input=said("What's my name?"))
        await client.runs.join(thread_id, now["run_id"])
        values = await client.runs.join(thread_id, later["run_id"])
        seen.add("asked", [m["content"] for m in values["messages"] if m["type"] == "human"])

    await same_on_both(queue_targets, scenario)


async def test_queued_runs_on_many_threads_all_finish(queue_targets: list[Target]) -> None:
    async def scenario(target: Target, seen: Transcript) -> None:
        client = target.sdk()
        threads = [(await client.threads.create())["thread_id"] for _ in range(8)]
        runs = [
            (thread_id, await client.runs.create(thread_id, GRAPH, input=said(f"Hi, I'm Alice {n}.")))
            for thread_id in threads
            for n in range(3)
        ]
        await asyncio.gather(*(client.runs.join(t, run["run_id"]) for t, run in runs))
        # Only the last run of each thread: LangGraph's join answers the values the joined run left,
        # threaddesk's the thread's values now (docs/langgraph.md), the same for a thread's last run.
        last = [run for n, (_, run) in enumerate(runs) if n % 3 == 2]
        joined = [await client.runs.join(run["thread_id"], run["run_id"]) for run in last]
        seen.add("messages", sorted(len(values["messages"]) for values in joined))
        finished = [(await client.runs.get(t, run["run_id"]))["status"] for t, run in runs]
        seen.add("statuses", sorted(set(finished)))

    await same_on_both(queue_targets, scenario)
