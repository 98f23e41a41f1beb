"""Cancel, multitask interrupt/rollback, join_stream and resumable streams: LangGraph's server and
threaddesk must answer alike. LangGraph's dev server runs the offline model in milliseconds, so runs
are held `pending` with `after_seconds` where a scenario needs one still going."""

from __future__ import annotations

import asyncio

import pytest
from harness import Target, same_on_both
from transcript import Transcript

GRAPH = "support_agent"
MISSING_RUN = "01a22473-30c1-772a-a70a-9225f3624a25"


def said(text: str) -> dict:
    return {"messages": [{"role": "user", "content": text}]}


def run(text: str, **extra: object) -> dict:
    return {"assistant_id": GRAPH, "input": said(text), **extra}


async def test_cancel_pending_runs(targets: list[Target]) -> None:
    async def scenario(target: Target, seen: Transcript) -> None:
        async with target.http() as http:
            thread_id = (await http.post("/threads", json={})).json()["thread_id"]
            await http.post(f"/threads/{thread_id}/runs/wait", json=run("Hi, I'm Al."))
            for action in ("interrupt", "rollback"):
                created = (
                    await http.post(f"/threads/{thread_id}/runs", json=run("x", after_seconds=5))
                ).json()
                url = f"/threads/{thread_id}/runs/{created['run_id']}"
                cancel = await http.post(f"{url}/cancel", params={"wait": 0, "action": action})
                seen.add(f"{action}: cancel", [cancel.status_code, cancel.content.decode()])
                got = await http.get(url)
                seen.add(f"{action}: run", [got.status_code, got.json().get("status")])
                again = await http.post(f"{url}/cancel", params={"action": action})
                seen.add(f"{action}: again", again.status_code)
            created = (await http.post(f"/threads/{thread_id}/runs", json=run("y", after_seconds=5))).json()
            url = f"/threads/{thread_id}/runs/{created['run_id']}"
            cancel = await http.post(f"{url}/cancel", params={"wait": 1, "action": "interrupt"})
            seen.add("wait: status", cancel.status_code)
            seen.add("wait: body", cancel.json())
            seen.add("wait: location", cancel.headers.get("location"))
            finished = (await http.get(f"/threads/{thread_id}/runs", params={"status": "success"})).json()
            done = await http.post(f"/threads/{thread_id}/runs/{finished[0]['run_id']}/cancel")
            seen.add("finished run", done.status_code)
            missing = await http.post(f"/threads/{thread_id}/runs/{MISSING_RUN}/cancel")
            seen.add("missing run", missing.status_code)
            thread = (await http.get(f"/threads/{thread_id}")).json()
            seen.add("thread status", thread["status"])
            seen.add("messages", [m["content"] for m in thread["values"]["messages"]])

    await same_on_both(targets, scenario)


async def test_cancel_through_the_sdk_and_in_bulk(targets: list[Target]) -> None:
    async def scenario(target: Target, seen: Transcript) -> None:
        client = target.sdk()
        thread_id = (await client.threads.create())["thread_id"]
        first = await client.runs.create(thread_id, GRAPH, input=said("a"), after_seconds=5)
        second = await client.runs.create(thread_id, GRAPH, input=said("b"), after_seconds=5)
        seen.add("sdk cancel", await client.runs.cancel(thread_id, first["run_id"]))
        seen.add("first", (await client.runs.get(thread_id, first["run_id"]))["status"])
        async with target.http() as http:
            body = {"thread_id": thread_id, "run_ids": [second["run_id"]]}
            bulk = await http.post("/runs/cancel", json=body, params={"action": "interrupt"})
            seen.add("bulk", [bulk.status_code, bulk.content.decode()])
            seen.add("bulk again", (await http.post("/runs/cancel", json=body)).status_code)
            seen.add("bulk empty", (await http.post("/runs/cancel", json={})).status_code)
            seen.add("bulk bad status", (await http.post("/runs/cancel", json={"status": "bad"})).status_code)
        seen.add("second", (await client.runs.get(thread_id, second["run_id"]))["status"])

    await same_on_both(targets, scenario)


@pytest.mark.parametrize("strategy", ["interrupt", "rollback"])
async def test_multitask_strategy_cancels_what_waits(targets: list[Target], strategy: str) -> None:
    async def scenario(target: Target, seen: Transcript) -> None:
        client = target.sdk()
        thread_id = (await client.threads.create())["thread_id"]
        await client.runs.wait(thread_id, GRAPH, input=said("Hi, I'm Al."))
        waiting = [
            await client.runs.create(thread_id, GRAPH, input=said(text), after_seconds=3)
            for text in ("I'm Bo.", "I'm Cy.")
        ]
        result = await client.runs.wait(
            thread_id, GRAPH, input=said("What's my name?"), multitask_strategy=strategy
        )
        seen.add("result", result)
        async with target.http() as http:
            for each in waiting:
                got = await http.get(f"/threads/{thread_id}/runs/{each['run_id']}")
                seen.add("earlier run", [got.status_code, got.json().get("status")])
        runs = await client.runs.list(thread_id)
        seen.add("statuses", sorted(r["status"] for r in runs))
        seen.add("thread", (await client.threads.get(thread_id))["status"])

    await same_on_both(targets, scenario)


async def test_join_stream_of_ended_missing_and_resumable_runs(targets: list[Target]) -> None:
    async def scenario(target: Target, seen: Transcript) -> None:
        async with target.http() as http:
            thread_id = (await http.post("/threads", json={})).json()["thread_id"]
            body = run("Hi, I'm Al.", stream_resumable=True, stream_mode=["values", "messages-tuple"])
            streamed = await http.post(f"/threads/{thread_id}/runs/stream", json=body)
            seen.add("resumable stream", seen.frames(streamed.content))
            run_id = streamed.headers["content-location"].rsplit("/", 1)[1]
            join = f"/threads/{thread_id}/runs/{run_id}/stream"
            ended = await http.get(join)
            seen.add("ended", [ended.status_code, ended.headers["content-type"], ended.text])
            seen.add("ended location", ended.headers.get("location"))
            replay = await http.get(join, headers={"Last-Event-ID": "0"})
            seen.add("replay from 0", seen.frames(replay.content))
            values = await http.get(join, params={"stream_mode": "values"}, headers={"Last-Event-ID": "0"})
            seen.add("replay of values", seen.frames(values.content))
            plain = await http.post(f"/threads/{thread_id}/runs/stream", json=run("again"))
            seen.add("not resumable", seen.frames(plain.content))
            missing = await http.get(f"/threads/{thread_id}/runs/{MISSING_RUN}/stream")
            seen.add("missing", [missing.status_code, missing.text])

    await same_on_both(targets, scenario)


async def test_join_stream_of_a_pending_background_run(targets: list[Target]) -> None:
    async def scenario(target: Target, seen: Transcript) -> None:
        client = target.sdk()
        thread_id = (await client.threads.create())["thread_id"]
        for resumable in (False, True):
            created = await client.runs.create(
                thread_id, GRAPH, input=said("Hi, I'm Al."), after_seconds=1, stream_resumable=resumable
            )
            parts = client.runs.join_stream(thread_id, created["run_id"])
            seen.add(f"joined (resumable={resumable})", [(p.event, p.data) async for p in parts])
            await asyncio.sleep(0)

    await same_on_both(targets, scenario)
