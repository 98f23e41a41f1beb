"""Background runs across real `threaddesk serve` processes: one queue consumed by two servers, and
`kill -9` of a server with runs pending and running (SQLite file, then PostgreSQL where configured).

The test process holds the turn lock of some threads (as a third process on the same database would),
so the server's claimed runs on them are certainly `running` (waiting for the thread) when it dies.
"""

from __future__ import annotations

import asyncio
import os
import signal
from collections.abc import AsyncIterator, Iterator
from contextlib import AsyncExitStack
from pathlib import Path

import httpx
import pytest
from support.postgres import postgres_schema
from support.replicas import add_user, free_port, running, serve_command

from threaddesk import open_desk
from threaddesk.runs import RunStatus

pytestmark = pytest.mark.slow

# Short leases and polls, so a dead server's runs are taken over within seconds.
ENV = {"THREADDESK_RUN_LEASE_S": "2", "THREADDESK_RUN_POLL_S": "0.2", "THREADDESK_RUN_WORKERS": "4"}
RUNS_PER_THREAD = 4


@pytest.fixture(params=["sqlite", "postgres"])
def db(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    if request.param == "postgres":
        with postgres_schema() as url:
            yield url
    else:
        yield str(tmp_path / "queue.sqlite")


def _run_body(text: str) -> dict:
    return {"assistant_id": "support_agent", "input": {"messages": [{"role": "user", "content": text}]}}


async def _client(token: str) -> AsyncIterator[httpx.AsyncClient]:
    async with httpx.AsyncClient(headers={"Authorization": f"Bearer {token}"}, timeout=60) as client:
        yield client


async def _create_runs(
    client: httpx.AsyncClient, bases: list[str], threads: list[str]
) -> dict[str, list[tuple[str, str]]]:
    """RUNS_PER_THREAD runs per thread, made through the servers in turn: (run_id, text) acknowledged."""
    made: dict[str, list[tuple[str, str]]] = {t: [] for t in threads}
    k = 0
    for n in range(RUNS_PER_THREAD):
        for thread_id in threads:
            text = f"{thread_id} run {n}"
            answer = await client.post(
                f"{bases[k % len(bases)]}/threads/{thread_id}/runs", json=_run_body(text)
            )
            assert answer.status_code == 200, answer.text
            assert answer.json()["status"] == "pending"
            made[thread_id].append((answer.json()["run_id"], text))
            k += 1
    return made


async def _check_all_ran_once_in_order(
    client: httpx.AsyncClient, base: str, made: dict[str, list[tuple[str, str]]]
) -> None:
    for thread_id, runs in made.items():
        for run_id, _ in runs:
            joined = await client.get(f"{base}/threads/{thread_id}/runs/{run_id}/join")
            assert joined.status_code == 200, joined.text
            run = (await client.get(f"{base}/threads/{thread_id}/runs/{run_id}")).json()
            assert run["status"] == "success", run
        messages = (await client.get(f"{base}/threads/{thread_id}/messages")).json()["messages"]
        asked = [m["content"] for m in messages if m["role"] == "user"]
        assert asked == [text for _, text in runs], thread_id  # each once, in the order made
        assert [m["role"] for m in messages] == ["user", "assistant"] * len(runs)


async def test_two_servers_consume_one_queue_each_run_once_in_thread_order(db: str) -> None:
    token = await asyncio.to_thread(add_user, db, "alice")
    ports = [free_port(), free_port()]
    threads = [f"shared-{i}" for i in range(6)]
    with running([(serve_command(db, port), port) for port in ports], env=ENV) as replicas:
        bases = [replica.url for replica in replicas]
        async for client in _client(token):
            for thread_id in threads:
                created = await client.post(f"{bases[0]}/threads", json={"thread_id": thread_id})
                assert created.status_code == 200, created.text
            made = await _create_runs(client, bases, threads)
            await _check_all_ran_once_in_order(client, bases[1], made)
    async with open_desk(database_url=db, run_workers=0) as desk:
        assert desk.runs is not None
        workers = set()
        for thread_id, runs in made.items():
            for run_id, _ in runs:
                row = await desk.runs.get(thread_id, run_id)
                assert row is not None and row.attempts == 1
                workers.add(row.worker.rsplit(":", 1)[0] if row.worker else None)
        assert len(workers) == 2, workers  # both processes took runs


async def test_kill_9_with_runs_pending_and_running_loses_no_run(db: str) -> None:
    token = await asyncio.to_thread(add_user, db, "alice")
    blocked = ["held-0", "held-1"]
    free = ["free-0", "free-1", "free-2"]
    async with open_desk(database_url=db, run_workers=0) as holder, AsyncExitStack() as locks:
        port = free_port()
        with running([(serve_command(db, port), port)], env=ENV) as (replica,):
            async for client in _client(token):
                for thread_id in blocked + free:
                    created = await client.post(f"{replica.url}/threads", json={"thread_id": thread_id})
                    assert created.status_code == 200, created.text
                for thread_id in blocked:
                    await locks.enter_async_context(holder.threads.turn(thread_id))
                made = await _create_runs(client, [replica.url], blocked + free)
                for thread_id in blocked:  # the server has taken the first run of each: running, stuck
                    first = made[thread_id][0][0]
                    for _ in range(200):
                        run = (await client.get(f"{replica.url}/threads/{thread_id}/runs/{first}")).json()
                        if run["status"] == "running":
                            break
                        await asyncio.sleep(0.05)
                    assert run["status"] == "running", run
            os.kill(replica.process.pid, signal.SIGKILL)
            replica.process.wait()
        statuses = [(await holder.get_run(t, run_id)).status for t in blocked for run_id, _ in made[t]]
        assert RunStatus.RUNNING in statuses and RunStatus.PENDING in statuses, statuses
        await locks.aclose()  # the holder lets go of its threads
    port = free_port()
    with running([(serve_command(db, port), port)], env=ENV) as (replica,):
        async for client in _client(token):
            await _check_all_ran_once_in_order(client, replica.url, made)
    async with open_desk(database_url=db, run_workers=0) as desk:
        first_runs = [await desk.get_run(t, made[t][0][0]) for t in blocked]
        assert all(run.attempts == 2 for run in first_runs), first_runs  # retried after the kill
