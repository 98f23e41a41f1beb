"""SSE over a real socket: tokens first, then the stored reply; a client that leaves frees the thread."""

from __future__ import annotations

import asyncio
import json

import httpx


async def _events(response: httpx.Response):
    name = None
    async for line in response.aiter_lines():
        if line.startswith("event:"):
            name = line[6:].strip()
        elif line.startswith("data:"):
            yield name, json.loads(line[5:])


async def test_tokens_arrive_before_the_final_reply_which_is_stored(live_server) -> None:
    headers = {"Authorization": f"Bearer {live_server.alice.token}"}
    async with httpx.AsyncClient(base_url=live_server.url, headers=headers) as client:
        thread_id = (await client.post("/threads", json={})).json()["thread_id"]
        arrived = []
        async with client.stream(
            "POST",
            f"/threads/{thread_id}/messages",
            json={"content": "Hi, I'm Dana."},
            headers={"Accept": "text/event-stream"},
        ) as response:
            assert response.headers["content-type"].startswith("text/event-stream")
            async for event in _events(response):
                arrived.append(event)
        names = [name for name, _ in arrived]
        assert names.index("reply") == len(names) - 1 and names.count("token") >= 2
        streamed = "".join(data["text"] for name, data in arrived if name == "token")
        history = (await client.get(f"/threads/{thread_id}/messages")).json()["messages"]
        assert streamed == arrived[-1][1]["message"]["content"] == history[-1]["content"]


async def test_a_client_leaving_mid_stream_leaves_no_half_turn(live_server) -> None:
    headers = {"Authorization": f"Bearer {live_server.alice.token}"}
    async with httpx.AsyncClient(base_url=live_server.url, headers=headers) as client:
        thread_id = (await client.post("/threads", json={})).json()["thread_id"]
        async with client.stream(
            "POST",
            f"/threads/{thread_id}/messages",
            json={"content": "Hi, I'm Eve."},
            headers={"Accept": "text/event-stream"},
        ) as response:
            async for name, _ in _events(response):
                assert name == "token"
                break
        for _ in range(100):
            if (await client.get(f"/threads/{thread_id}")).json()["status"] != "busy":
                break
            await asyncio.sleep(0.02)
        count = len((await client.get(f"/threads/{thread_id}/messages")).json()["messages"])
        assert count in (0, 2)
        reply = await client.post(
            f"/threads/{thread_id}/messages", json={"content": "Hi", "multitask_strategy": "reject"}
        )
        assert reply.status_code == 200
        assert len((await client.get(f"/threads/{thread_id}/messages")).json()["messages"]) == count + 2
