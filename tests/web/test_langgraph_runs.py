"""LangGraph's run routes on threaddesk: headers, framing, delays, disconnects, checkpoints."""

from __future__ import annotations

import asyncio
import time

import httpx
import pytest

from threaddesk.web.sse import StartedStream

RUN = {"assistant_id": "support_agent", "input": {"messages": [{"role": "user", "content": "Hi, I'm Ann."}]}}


async def test_wait_names_its_run_and_answers_the_full_state(client, alice) -> None:
    thread_id = (await client.post("/threads", json={}, headers=alice.headers)).json()["thread_id"]
    response = await client.post(f"/threads/{thread_id}/runs/wait", json=RUN, headers=alice.headers)
    assert response.status_code == 200
    location = response.headers["content-location"]
    assert location.startswith(f"/threads/{thread_id}/runs/") and len(location.rsplit("/", 1)[1]) == 36
    values = response.json()
    assert (
        values["customer_name"] == "Ann" and values["messages"][-1]["content"] == "Hello Ann! How can I help?"
    )


async def test_stream_frames_as_langgraph_does(client, alice) -> None:
    thread_id = (await client.post("/threads", json={}, headers=alice.headers)).json()["thread_id"]
    body = {**RUN, "stream_mode": ["updates", "custom"]}
    response = await client.post(f"/threads/{thread_id}/runs/stream", json=body, headers=alice.headers)
    assert response.headers["content-type"].startswith("text/event-stream")
    run_id = response.headers["content-location"].rsplit("/", 1)[1]
    frames = response.text.split("\r\n\r\n")
    assert frames[0] == f'event: metadata\r\ndata: {{"run_id":"{run_id}","attempt":1}}'
    assert frames[1].startswith('event: updates\r\ndata: {"agent":{"messages":[{"content":"Hello Ann!')
    assert frames[2:] == [""]


async def test_after_seconds_delays_the_start(client, alice) -> None:
    thread_id = (await client.post("/threads", json={}, headers=alice.headers)).json()["thread_id"]
    started = time.monotonic()
    response = await client.post(
        f"/threads/{thread_id}/runs/wait", json={**RUN, "after_seconds": 1}, headers=alice.headers
    )
    assert response.status_code == 200 and time.monotonic() - started >= 1


async def test_an_unknown_checkpoint_is_a_404_that_changes_nothing(client, alice) -> None:
    thread_id = (await client.post("/threads", json={}, headers=alice.headers)).json()["thread_id"]
    await client.post(f"/threads/{thread_id}/runs/wait", json=RUN, headers=alice.headers)
    before = (await client.get(f"/threads/{thread_id}", headers=alice.headers)).json()
    missing = "1f1eb6d8-0000-6000-8000-000000000000"
    body = {**RUN, "checkpoint_id": missing}
    response = await client.post(f"/threads/{thread_id}/runs/wait", json=body, headers=alice.headers)
    assert response.status_code == 404 and response.json()["error"]["code"] == "checkpoint_not_found"
    state = await client.get(f"/threads/{thread_id}/state/{missing}", headers=alice.headers)
    assert state.status_code == 404
    assert (await client.get(f"/threads/{thread_id}", headers=alice.headers)).json() == before


async def test_history_lists_the_kept_states_newest_first(client, alice) -> None:
    thread_id = (await client.post("/threads", json={}, headers=alice.headers)).json()["thread_id"]
    for _ in range(2):
        await client.post(f"/threads/{thread_id}/runs/wait", json=RUN, headers=alice.headers)
    history = (await client.post(f"/threads/{thread_id}/history", json={}, headers=alice.headers)).json()
    latest = (await client.get(f"/threads/{thread_id}/state", headers=alice.headers)).json()
    assert history[0]["checkpoint"] == latest["checkpoint"] and history[0]["values"] == latest["values"]
    assert len(history) == 1  # keep_checkpoints=1: the latest only (documented)


async def test_a_detached_stream_runs_to_its_end() -> None:
    """`on_disconnect=continue`: once the response is gone, the run still finishes (nobody reads it)."""
    gate, finished = asyncio.Event(), asyncio.Event()

    async def run():
        yield "first"
        await gate.wait()
        for i in range(200):  # more than the stream's buffer holds
            yield i
        finished.set()

    stream = await StartedStream.start(run())
    stream.detach()
    gate.set()
    await asyncio.wait_for(finished.wait(), 5)


@pytest.mark.parametrize("on_disconnect", ["continue", "cancel"])
async def test_a_client_leaving_a_stream(live_server, on_disconnect: str) -> None:
    """`continue` lets the run finish and store its turn; `cancel` (the default) stores all or nothing."""
    async with httpx.AsyncClient(base_url=live_server.url, headers=live_server.alice.headers) as client:
        thread_id = (await client.post("/threads", json={})).json()["thread_id"]
        body = {**RUN, "stream_mode": "messages-tuple", "on_disconnect": on_disconnect}
        async with client.stream("POST", f"/threads/{thread_id}/runs/stream", json=body) as response:
            async for line in response.aiter_lines():
                if line.startswith("event: messages"):
                    break
        for _ in range(200):
            thread = (await client.get(f"/threads/{thread_id}")).json()
            if thread["status"] != "busy" and (on_disconnect == "cancel" or thread["message_count"] == 2):
                break
            await asyncio.sleep(0.02)
        assert (
            thread["message_count"] == 2 if on_disconnect == "continue" else thread["message_count"] in (0, 2)
        )
        state = (await client.get(f"/threads/{thread_id}/state")).json()
        assert len(state["values"].get("messages", [])) == thread["message_count"]


@pytest.mark.parametrize("on_completion", ["delete", "keep"])
async def test_a_stateless_background_run_cleans_up_its_thread(client, alice, on_completion: str) -> None:
    body = {**RUN, "on_completion": on_completion}
    run = (await client.post("/runs", json=body, headers=alice.headers)).json()
    assert run["status"] == "pending"
    thread = f"/threads/{run['thread_id']}"
    if on_completion == "keep":
        joined = await client.get(f"{thread}/runs/{run['run_id']}/join", headers=alice.headers)
        assert joined.json()["messages"][-1]["content"] == "Hello Ann! How can I help?"
        assert (await client.get(thread, headers=alice.headers)).json()["message_count"] == 2
        return
    for _ in range(200):
        if (await client.get(thread, headers=alice.headers)).status_code == 404:
            break
        await asyncio.sleep(0.02)
    assert (await client.get(f"{thread}/runs/{run['run_id']}", headers=alice.headers)).status_code == 404
