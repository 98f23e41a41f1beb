"""Background runs across replicas, against two LangGraph servers on one PostgreSQL database + Redis
(`langhost`) and two threaddesk servers on one PostgreSQL schema: a run made on one replica is joined,
read, listed and cancelled on the other, and runs made on both keep their thread's order.

Opt-in (see langhost.py): without `THREADDESK_LANGHOST` these skip with the reason.
"""

from __future__ import annotations

from harness import Target, same_on_both
from transcript import Transcript

GRAPH = "support_agent"


def said(text: str) -> dict:
    return {"messages": [{"role": "user", "content": text}]}


def _asked(values: dict) -> list[str]:
    return [m["content"] for m in values["messages"] if m["type"] == "human"]


def _pair(target: Target) -> tuple[Target, Target]:
    assert target.other is not None
    return target, target.other


async def test_a_run_made_on_one_replica_is_joined_read_and_listed_on_the_other(
    replica_targets: list[Target],
) -> None:
    async def scenario(target: Target, seen: Transcript) -> None:
        first, second = (t.sdk() for t in _pair(target))
        thread_id = (await first.threads.create())["thread_id"]
        run = await first.runs.create(thread_id, GRAPH, input=said("Hi, I'm Alice."))
        seen.add("created", run["status"])
        values = await second.runs.join(thread_id, run["run_id"])
        seen.add("joined elsewhere", _asked(values))
        seen.add("reply names her", "Alice" in values["messages"][-1]["content"])
        seen.add("read elsewhere", (await second.runs.get(thread_id, run["run_id"]))["status"])
        seen.add("listed elsewhere", [r["status"] for r in await second.runs.list(thread_id)])
        seen.add("thread elsewhere", (await second.threads.get(thread_id))["status"])
        again = await first.runs.join(thread_id, run["run_id"])  # joined where it was made, after its end
        seen.add("joined here after", _asked(again))

    await same_on_both(replica_targets, scenario)


async def test_runs_made_on_both_replicas_run_in_the_order_they_were_made(
    replica_targets: list[Target],
) -> None:
    async def scenario(target: Target, seen: Transcript) -> None:
        clients = [t.sdk() for t in _pair(target)]
        thread_id = (await clients[0].threads.create())["thread_id"]
        made = []
        for n in range(6):
            client = clients[n % 2]
            made.append(
                (client, await client.runs.create(thread_id, GRAPH, input=said(f"Order {n}, please")))
            )
        last = await clients[0].runs.join(thread_id, made[-1][1]["run_id"])
        seen.add("asked", _asked(last))
        for n, (_, run) in enumerate(made):
            await clients[(n + 1) % 2].runs.join(thread_id, run["run_id"])  # each joined on the other
        listed = await clients[1].runs.list(thread_id, limit=10)
        seen.add("statuses", [r["status"] for r in listed])
        seen.add("newest first", [r["run_id"] for r in listed] == [r["run_id"] for _, r in made[::-1]])

    await same_on_both(replica_targets, scenario)


async def test_a_pending_run_cancelled_on_the_other_replica_never_runs(replica_targets: list[Target]) -> None:
    async def scenario(target: Target, seen: Transcript) -> None:
        first, second = (t.sdk() for t in _pair(target))
        thread_id = (await first.threads.create())["thread_id"]
        later = await first.runs.create(thread_id, GRAPH, input=said("Cancel me"), after_seconds=3)
        await second.runs.cancel(thread_id, later["run_id"], action="interrupt")
        seen.add("cancelled, read where made", (await first.runs.get(thread_id, later["run_id"]))["status"])
        now = await first.runs.create(thread_id, GRAPH, input=said("Hi, I'm Bo."))
        values = await second.runs.join(thread_id, now["run_id"])
        seen.add("asked", _asked(values))
        seen.add("statuses", sorted(r["status"] for r in await first.runs.list(thread_id)))

    await same_on_both(replica_targets, scenario)
