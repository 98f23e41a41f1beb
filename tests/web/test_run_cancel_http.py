"""LangGraph's cancel, multitask, join_stream and resumable-stream routes over HTTP (sqlite + postgres)."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import httpx
import pytest
from support.models import HeldModel
from support.postgres import recycled_postgres_schema

from threaddesk import Settings, SupportDesk, open_desk

GRAPH = "support_agent"


def said(text: str) -> dict:
    return {"assistant_id": GRAPH, "input": {"messages": [{"role": "user", "content": text}]}}


@pytest.fixture(params=["sqlite", "postgres"])
def database_url(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    if request.param == "postgres":
        with recycled_postgres_schema() as url:
            yield url
    else:
        yield str(tmp_path / "desk.sqlite")


@pytest.fixture
def model() -> HeldModel:
    return HeldModel(hold=False)


@pytest.fixture
async def web_desk(settings: Settings, clock, model: HeldModel) -> AsyncIterator[SupportDesk]:
    async with open_desk(settings, model=model) as desk:
        yield desk


async def _thread(client: httpx.AsyncClient, headers: dict) -> str:
    thread_id = (await client.post("/threads", json={}, headers=headers)).json()["thread_id"]
    first = await client.post(f"/threads/{thread_id}/runs/wait", json=said("Hi, I'm Ann."), headers=headers)
    assert first.status_code == 200
    return thread_id


async def _held_run(client, headers, model: HeldModel, thread_id: str, text: str, **extra) -> str:
    model.hold_next()
    run = await client.post(f"/threads/{thread_id}/runs", json={**said(text), **extra}, headers=headers)
    await asyncio.wait_for(model.started(), 10)
    return run.json()["run_id"]


async def _texts(client, headers, thread_id: str) -> list[str]:
    state = (await client.get(f"/threads/{thread_id}/state", headers=headers)).json()
    return [m["content"] for m in state["values"]["messages"]]


async def test_cancel_interrupt_and_rollback(client, alice, bob, model: HeldModel) -> None:
    headers = alice.headers
    thread_id = await _thread(client, headers)
    run_id = await _held_run(client, headers, model, thread_id, "I'm Bob.")
    url = f"/threads/{thread_id}/runs/{run_id}"
    # another user's run is missing to them, byte for byte like a missing thread
    theirs = await client.post(f"{url}/cancel", params={"action": "interrupt"}, headers=bob.headers)
    missing = await client.post(
        f"/threads/00000000-0000-4000-8000-000000000000/runs/{run_id}/cancel", headers=bob.headers
    )
    assert theirs.status_code == missing.status_code == 404
    assert theirs.content == missing.content.replace(
        b"00000000-0000-4000-8000-000000000000", thread_id.encode()
    )
    bad = await client.post(f"{url}/cancel", params={"action": "explode"}, headers=headers)
    assert bad.status_code == 422
    cancel = await client.post(f"{url}/cancel", params={"wait": 1, "action": "interrupt"}, headers=headers)
    assert cancel.status_code == 200 and cancel.headers["location"] == f"{url}/join"
    assert cancel.json() == {}  # as LangGraph's: no `values` streamed after the cancel was asked
    assert (await _texts(client, headers, thread_id))[-1] == "I'm Bob."
    assert (await client.get(url, headers=headers)).json()["status"] == "interrupted"
    thread = (await client.get(f"/threads/{thread_id}", headers=headers)).json()
    assert thread["status"] == "interrupted" and thread["message_count"] == 3
    again = await client.post(f"{url}/cancel", headers=headers)
    assert again.status_code == 404  # ended: nothing to cancel, as on LangGraph's server

    run_id = await _held_run(client, headers, model, thread_id, "I'm Cy.")
    url = f"/threads/{thread_id}/runs/{run_id}"
    cancel = await client.post(f"{url}/cancel", params={"wait": 0, "action": "rollback"}, headers=headers)
    assert cancel.status_code == 202 and cancel.content == b""
    for _ in range(200):
        if (await client.get(url, headers=headers)).status_code == 404:
            break
        await asyncio.sleep(0.02)
    assert (await client.get(url, headers=headers)).status_code == 404
    assert "I'm Cy." not in await _texts(client, headers, thread_id)


async def test_cancel_mid_stream_rolls_back_and_ends_the_stream(client, alice, model: HeldModel) -> None:
    headers = alice.headers
    thread_id = await _thread(client, headers)
    before = await _texts(client, headers, thread_id)
    model.hold_next()
    body = {**said("I'm Bob."), "stream_mode": ["values", "messages-tuple"]}
    stream = asyncio.create_task(client.post(f"/threads/{thread_id}/runs/stream", json=body, headers=headers))
    await asyncio.wait_for(model.started(), 10)
    run_id = (await client.get(f"/threads/{thread_id}/runs", headers=headers)).json()[0]["run_id"]
    cancel = await client.post(
        f"/threads/{thread_id}/runs/{run_id}/cancel",
        params={"action": "rollback", "wait": 1},
        headers=headers,
    )
    assert cancel.status_code == 200
    response = await asyncio.wait_for(stream, 10)
    events = [line for line in response.text.split("\r\n") if line.startswith("event: ")]
    assert events == ["event: metadata", "event: values"]  # no error: a cancel ends the stream quietly
    assert await _texts(client, headers, thread_id) == before
    assert (await client.get(f"/threads/{thread_id}/runs/{run_id}", headers=headers)).status_code == 404
    assert (await client.get(f"/threads/{thread_id}", headers=headers)).json()["status"] == "idle"


@pytest.mark.parametrize("strategy", ["interrupt", "rollback"])
async def test_multitask_interrupt_and_rollback(client, alice, model: HeldModel, strategy: str) -> None:
    headers = alice.headers
    thread_id = await _thread(client, headers)
    running = await _held_run(client, headers, model, thread_id, "I'm Bob.")
    pending = (await client.post(f"/threads/{thread_id}/runs", json=said("I'm Cy."), headers=headers)).json()[
        "run_id"
    ]
    body = {**said("What's my name?"), "multitask_strategy": strategy}
    new = asyncio.create_task(client.post(f"/threads/{thread_id}/runs/wait", json=body, headers=headers))
    gone = 404 if strategy == "rollback" else 200
    for _ in range(300):
        old = await client.get(f"/threads/{thread_id}/runs/{running}", headers=headers)
        if old.status_code == gone and (gone == 404 or old.json()["status"] == "interrupted"):
            break
        await asyncio.sleep(0.02)
    model.release()
    response = await asyncio.wait_for(new, 10)
    assert response.status_code == 200
    texts = [m["content"] for m in response.json()["messages"]]
    if strategy == "interrupt":
        assert texts == [
            "Hi, I'm Ann.",
            "Hello Ann! How can I help?",
            "I'm Bob.",
            "What's my name?",
            "Your name is Bob!",
        ]
        for run_id in (running, pending):
            run = await client.get(f"/threads/{thread_id}/runs/{run_id}", headers=headers)
            assert run.json()["status"] == "interrupted"
    else:
        assert texts == ["Hi, I'm Ann.", "Hello Ann! How can I help?", "What's my name?", "Your name is Ann!"]
        for run_id in (running, pending):
            assert (
                await client.get(f"/threads/{thread_id}/runs/{run_id}", headers=headers)
            ).status_code == 404
    runs = (await client.get(f"/threads/{thread_id}/runs", headers=headers)).json()
    assert [r["status"] for r in runs][0] == "success"
    reject = await client.post(
        f"/threads/{thread_id}/runs/wait", json={**said("x"), "multitask_strategy": "reject"}, headers=headers
    )
    assert reject.status_code == 200  # nothing runs now: reject lets it through


async def test_a_resumable_stream_carries_ids_and_resumes(client, alice) -> None:
    headers = alice.headers
    thread_id = (await client.post("/threads", json={}, headers=headers)).json()["thread_id"]
    body = {**said("Hi, I'm Ann."), "stream_mode": ["values", "messages-tuple"], "stream_resumable": True}
    response = await client.post(f"/threads/{thread_id}/runs/stream", json=body, headers=headers)
    frames = response.text.split("\r\n\r\n")[:-1]
    assert all(frame.split("\r\n")[-1].startswith("id: ") for frame in frames) and len(frames) > 3
    run_id = response.headers["content-location"].rsplit("/", 1)[1]
    join = f"/threads/{thread_id}/runs/{run_id}/stream"
    first_id = frames[0].split("\r\n")[-1][4:]
    replay = await client.get(join, headers={**headers, "Last-Event-ID": first_id})
    assert replay.status_code == 200 and replay.text.split("\r\n\r\n")[:-1] == frames[1:]  # byte for byte
    everything = await client.get(join, headers={**headers, "Last-Event-ID": "0"})
    assert everything.text.split("\r\n\r\n")[:-1] == frames
    only_values = await client.get(
        join, params={"stream_mode": "values"}, headers={**headers, "Last-Event-ID": "0"}
    )
    assert [f.split("\r\n")[0] for f in only_values.text.split("\r\n\r\n")[:-1]] == ["event: values"] * 2
    ended = await client.get(join, headers=headers)
    assert ended.status_code == 200 and ended.text == ""  # an ended run, no Last-Event-ID: nothing
    plain = await client.post(f"/threads/{thread_id}/runs/stream", json=said("again"), headers=headers)
    assert "\r\nid: " not in plain.text  # ids only on resumable runs, as LangGraph's server sends them
    bad = await client.get(join, headers={**headers, "Last-Event-ID": "x"})
    assert bad.status_code == 422


async def test_join_stream_of_a_running_background_run(client, alice, bob, model: HeldModel) -> None:
    headers = alice.headers
    thread_id = await _thread(client, headers)
    for resumable in (False, True):
        run_id = await _held_run(client, headers, model, thread_id, "I'm Bob.", stream_resumable=resumable)
        join = f"/threads/{thread_id}/runs/{run_id}/stream"
        assert (await client.get(join, headers=bob.headers)).status_code == 404
        joined = asyncio.create_task(client.get(join, headers=headers))
        await asyncio.sleep(0.2)
        model.release()
        response = await asyncio.wait_for(joined, 10)
        assert response.headers["content-type"].startswith("text/event-stream")
        lines = response.text.split("\r\n")
        assert [line for line in lines if line.startswith("event: ")] == ["event: values"]
        assert any(line.startswith("id: ") for line in lines) is resumable
        assert '"I\'m Bob."' in response.text
    missing = await client.get(
        f"/threads/{thread_id}/runs/01a22473-30c1-772a-a70a-9225f3624a25/stream", headers=headers
    )
    assert missing.status_code == 200
    assert (
        missing.text
        == 'event: error\r\ndata: {"error":"HTTPException","message":"404: Run not found"}\r\n\r\n'
    )


async def test_bulk_cancel(client, alice, bob, model: HeldModel) -> None:
    headers = alice.headers
    thread_id = await _thread(client, headers)
    run_id = await _held_run(client, headers, model, thread_id, "I'm Bob.")
    assert (await client.post("/runs/cancel", json={"status": "all"}, headers=bob.headers)).status_code == 404
    assert (await client.post("/runs/cancel", json={}, headers=headers)).status_code == 422
    assert (await client.post("/runs/cancel", json={"status": "bad"}, headers=headers)).status_code == 422
    body = {"thread_id": thread_id, "run_ids": [run_id]}
    assert (await client.post("/runs/cancel", json=body, headers=bob.headers)).status_code == 404
    response = await client.post("/runs/cancel", json=body, params={"action": "interrupt"}, headers=headers)
    assert response.status_code == 204
    joined = await client.get(f"/threads/{thread_id}/runs/{run_id}/join", headers=headers)
    assert joined.status_code == 200
    assert (await client.get(f"/threads/{thread_id}/runs/{run_id}", headers=headers)).json()[
        "status"
    ] == "interrupted"
    assert (await client.post("/runs/cancel", json=body, headers=headers)).status_code == 404


async def test_a_joiner_leaving_with_cancel_on_disconnect_cancels_the_run(live_server) -> None:
    """`join_stream(cancel_on_disconnect=True)`: the client goes, the run is cancelled (`interrupt`);
    without it, the run goes on."""
    async with httpx.AsyncClient(base_url=live_server.url, headers=live_server.alice.headers) as client:
        thread_id = (await client.post("/threads", json={})).json()["thread_id"]
        for cancel in (True, False):
            run = (
                await client.post(f"/threads/{thread_id}/runs", json={**said("Hi"), "after_seconds": 2})
            ).json()
            url = f"/threads/{thread_id}/runs/{run['run_id']}"
            params = {"cancel_on_disconnect": str(cancel).lower()}
            with pytest.raises(httpx.ReadTimeout):
                async with client.stream("GET", f"{url}/stream", params=params, timeout=0.3) as response:
                    async for _ in response.aiter_bytes():
                        pass
            for _ in range(100):
                status = (await client.get(url)).json()["status"]
                if status != "pending":
                    break
                await asyncio.sleep(0.05)
            assert (status == "interrupted") is cancel
            if not cancel:
                assert (await client.get(f"{url}/join")).status_code == 200
                assert (await client.get(url)).json()["status"] == "success"
