"""Several `threaddesk serve` processes on one PostgreSQL: any turn on any replica, nothing mixed or lost.

Real processes on loopback ports, a schema of their own; they skip where no
PostgreSQL is configured. Kept lean (200 threads, ~500 turns) for the default run.
"""

from __future__ import annotations

import asyncio
import os
import random
import signal
import time
from collections.abc import Iterator
from typing import Any

import httpx
import pytest
from support.postgres import postgres_schema, thread_lock_key
from support.replicas import add_user, free_port, running, serve_command, slow_command

pytestmark = pytest.mark.slow
psycopg = pytest.importorskip(
    "psycopg", reason="PostgreSQL support not installed: pip install -e '.[postgres]'"
)


# Per replica: 5 query connections + 10 turn connections; 3 replicas stay far below max_connections.
REPLICA_ENV = {"THREADDESK_PG_POOL_SIZE": "5", "THREADDESK_PG_TURN_POOL_SIZE": "10"}


@pytest.fixture
def pg_url() -> Iterator[str]:
    with postgres_schema() as url:
        yield url


def question(thread_id: str, n: int) -> str:
    return f"Parcel {n} for {thread_id} has not arrived"


def assert_conversation(messages: list[dict[str, Any]], expected_questions: list[str]) -> None:
    """Questions and answers alternate, each answer is to the question before it, no question is missing."""
    roles = [m["role"] for m in messages]
    assert roles == ["user", "assistant"] * (len(messages) // 2), roles
    asked = [m["content"] for m in messages[0::2]]
    assert sorted(asked) == sorted(expected_questions)
    for q, a in zip(messages[0::2], messages[1::2], strict=True):
        assert f'"{q["content"]}"' in a["content"], (q, a)


async def _drive(urls: list[str], token: str) -> dict[str, float]:
    rng = random.Random(20261126)
    threads = [f"thread-{i:03d}" for i in range(200)]
    asked: dict[str, list[str]] = {t: [] for t in threads}
    limits = httpx.Limits(max_connections=200)
    async with httpx.AsyncClient(
        headers={"Authorization": f"Bearer {token}"}, timeout=120, limits=limits
    ) as client:

        async def send(thread_id: str, text: str) -> None:
            asked[thread_id].append(text)
            response = await client.post(
                f"{rng.choice(urls)}/threads/{thread_id}/messages", json={"content": text}
            )
            assert response.status_code == 200, response.text
            assert text in response.json()["message"]["content"]

        created = await asyncio.gather(
            *(client.post(f"{rng.choice(urls)}/threads", json={"thread_id": t}) for t in threads)
        )
        assert all(r.status_code == 200 for r in created)

        # Two turns per thread, shuffled, 60 in flight: the two turns of a thread often overlap.
        work = [(t, question(t, n)) for t in threads for n in range(2)]
        rng.shuffle(work)
        gate = asyncio.Semaphore(60)

        async def gated(thread_id: str, text: str) -> None:
            async with gate:
                await send(thread_id, text)

        started = time.perf_counter()
        await asyncio.gather(*(gated(t, text) for t, text in work))
        spread = time.perf_counter() - started

        # Bursts: 5 turns on each of 20 threads, all at once, each to a random replica.
        bursts = [(t, question(t, n)) for t in threads[:20] for n in range(2, 7)]
        started = time.perf_counter()
        await asyncio.gather(*(send(t, text) for t, text in bursts))
        burst = time.perf_counter() - started

        for thread_id in threads:
            base = rng.choice(urls)
            history = await client.get(f"{base}/threads/{thread_id}/messages")
            assert history.status_code == 200
            assert_conversation(history.json()["messages"], asked[thread_id])
            thread = (await client.get(f"{base}/threads/{thread_id}")).json()
            assert thread["message_count"] == 2 * len(asked[thread_id])
    return {"turns/s": len(work) / spread, "burst turns/s": len(bursts) / burst}


def test_three_replicas_serve_every_thread_without_mixing_or_losing_turns(pg_url: str) -> None:
    token = add_user(pg_url, "load")
    ports = [free_port() for _ in range(3)]
    with running([(serve_command(pg_url, port), port) for port in ports], env=REPLICA_ENV) as replicas:
        rates = asyncio.run(_drive([r.url for r in replicas], token))
        assert all(r.process.poll() is None for r in replicas)
    print(
        f"3 replicas: {rates['turns/s']:.0f} turns/s spread, {rates['burst turns/s']:.0f} turns/s in bursts"
    )


def _lock_held(pg_url: str, thread_id: str) -> bool:
    key = thread_lock_key(pg_url, thread_id)
    with psycopg.connect(pg_url, autocommit=True) as conn:
        row = conn.execute(
            "SELECT count(*) FROM pg_locks WHERE locktype = 'advisory' AND granted"
            " AND classid = %s AND objid = %s AND objsubid = 1",
            ((key >> 32) & 0xFFFFFFFF, key & 0xFFFFFFFF),
        ).fetchone()
    return row[0] > 0


def test_killing_a_replica_mid_turn_leaves_the_turn_whole_or_absent(pg_url: str) -> None:
    token = add_user(pg_url, "load")
    auth = {"Authorization": f"Bearer {token}"}
    slow_port, *ports = [free_port() for _ in range(3)]
    commands = [(slow_command(pg_url, slow_port, 5.0), slow_port)]
    commands += [(serve_command(pg_url, port), port) for port in ports]
    with (
        running(commands, env=REPLICA_ENV) as (slow, *others),
        httpx.Client(headers=auth, timeout=30) as client,
    ):
        healthy = [r.url for r in others]
        assert client.post(f"{healthy[0]}/threads", json={"thread_id": "victim"}).status_code == 200
        first = question("victim", 1)
        assert (
            client.post(f"{healthy[0]}/threads/victim/messages", json={"content": first}).status_code == 200
        )

        killed_turn = question("victim", 2)
        with httpx.Client(headers=auth, timeout=30) as doomed_client:

            async def doomed() -> None:
                with pytest.raises(httpx.TransportError):
                    await asyncio.to_thread(
                        doomed_client.post,
                        f"{slow.url}/threads/victim/messages",
                        json={"content": killed_turn},
                    )

            async def kill_mid_turn() -> None:
                task = asyncio.create_task(doomed())
                deadline = time.monotonic() + 20
                while not _lock_held(pg_url, "victim"):  # the slow replica is inside the turn
                    assert time.monotonic() < deadline
                    await asyncio.sleep(0.05)
                await asyncio.sleep(0.5)
                os.kill(slow.process.pid, signal.SIGKILL)
                await task

            asyncio.run(kill_mid_turn())
        slow.process.wait(timeout=10)

        # The others keep serving: that thread (its lock died with the replica) and any other.
        after = question("victim", 3)
        reply = client.post(f"{healthy[1]}/threads/victim/messages", json={"content": after})
        assert reply.status_code == 200, reply.text
        assert client.post(f"{healthy[0]}/threads", json={"thread_id": "bystander"}).status_code == 200
        assert (
            client.post(f"{healthy[1]}/threads/bystander/messages", json={"content": "Hello"}).status_code
            == 200
        )

        messages = client.get(f"{healthy[0]}/threads/victim/messages").json()["messages"]
        asked = [m["content"] for m in messages[0::2]]
        assert asked in ([first, after], [first, killed_turn, after])
        assert_conversation(messages, asked)
