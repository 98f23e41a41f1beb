"""Cancel and join a run across server processes sharing one database (a SQLite file, PostgreSQL):
the run executes on replica A (a model that takes seconds), the client talks to replica B."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from support.postgres import postgres_schema
from support.replicas import add_user, free_port, running, serve_command, slow_command

GRAPH = "support_agent"
DELAY = 3.0

pytestmark = pytest.mark.slow


def said(text: str, **extra: object) -> dict:
    return {"assistant_id": GRAPH, "input": {"messages": [{"role": "user", "content": text}]}, **extra}


@pytest.fixture(params=["sqlite", "postgres"])
def database_url(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    if request.param == "postgres":
        with postgres_schema() as url:
            yield url
    else:
        yield str(tmp_path / "desk.sqlite")


async def _until(check, timeout: float = 20) -> None:  # type: ignore[no-untyped-def]
    deadline = time.monotonic() + timeout
    while not await check():
        assert time.monotonic() < deadline, "timed out"
        await asyncio.sleep(0.05)


def test_cancel_and_join_a_run_executing_on_another_replica(database_url: str) -> None:
    token = add_user(database_url, "alice")
    slow_port, port = free_port(), free_port()
    commands = [
        (slow_command(database_url, slow_port, DELAY), slow_port),
        (serve_command(database_url, port), port),
    ]
    env = {"THREADDESK_PG_POOL_SIZE": "4", "THREADDESK_PG_TURN_POOL_SIZE": "4"}
    with running(commands, env=env) as (a, b):
        asyncio.run(_scenario(a.url, b.url, {"Authorization": f"Bearer {token}"}))


async def _scenario(a_url: str, b_url: str, headers: dict[str, str]) -> None:
    async with (
        httpx.AsyncClient(base_url=a_url, headers=headers, timeout=30) as a,
        httpx.AsyncClient(base_url=b_url, headers=headers, timeout=30) as b,
    ):
        thread_id = (await b.post("/threads", json={})).json()["thread_id"]
        first = await b.post(f"/threads/{thread_id}/runs/wait", json=said("Hi, I'm Ann."))
        assert first.status_code == 200
        before = (await b.get(f"/threads/{thread_id}/state")).json()["values"]

        async def started(run_id: str) -> bool:
            return (await b.get(f"/threads/{thread_id}/runs/{run_id}")).json()["status"] == "running"

        # Joined from B while it executes on A: every kept event, then the live ones, with their ids.
        run = (
            await a.post(f"/threads/{thread_id}/runs", json=said("I'm Bob.", stream_resumable=True))
        ).json()
        await _until(lambda: started(run["run_id"]))
        joined = await b.get(
            f"/threads/{thread_id}/runs/{run['run_id']}/stream", headers={"Last-Event-ID": "0"}
        )
        frames = joined.text.split("\r\n\r\n")[:-1]
        assert [f.split("\r\n")[0] for f in frames] == ["event: metadata", "event: values", "event: values"]
        assert all(f.split("\r\n")[-1].startswith("id: ") for f in frames)
        assert "Hello Bob!" in frames[-1]
        before = (await b.get(f"/threads/{thread_id}/state")).json()["values"]

        # Cancelled through B while the model on A is still thinking: noticed well before it answers.
        for action in ("rollback", "interrupt"):
            run = (await a.post(f"/threads/{thread_id}/runs", json=said(f"{action} me"))).json()
            url = f"/threads/{thread_id}/runs/{run['run_id']}"
            await _until(lambda: started(run["run_id"]))  # noqa: B023
            asked = time.monotonic()
            cancel = await b.post(f"{url}/cancel", params={"action": action, "wait": 1})
            assert cancel.status_code == 200 and time.monotonic() - asked < DELAY - 0.5
            after = (await b.get(f"/threads/{thread_id}/state")).json()
            texts = [m["content"] for m in after["values"]["messages"]]
            if action == "rollback":
                assert (await b.get(url)).status_code == 404
                assert after["values"] == before
            else:
                assert (await b.get(url)).json()["status"] == "interrupted"
                assert texts[-1] == "interrupt me" and after["next"] == ["agent"]
                thread = (await b.get(f"/threads/{thread_id}")).json()
                assert thread["status"] == "interrupted"
