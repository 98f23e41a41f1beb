"""`kill -9` a loaded `threaddesk serve`, restart it on the same database: nothing acknowledged is lost.

Real processes on loopback ports (SQLite, then PostgreSQL where configured).
Forty conversations run at once, half as JSON and half as SSE, each sending
its turns one after another; the server dies mid-load with turns in flight,
three times over (each kill lands somewhere else in the turns in flight).
"""

from __future__ import annotations

import asyncio
import os
import signal
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
import pytest
from support.postgres import postgres_schema
from support.replicas import add_user, free_port, running, serve_command

pytestmark = pytest.mark.slow

CONVERSATIONS = 40
ACKED_PER_ROUND = 100  # turns acknowledged across all conversations before each kill
ROUNDS = 3


@dataclass
class Conversation:
    thread_id: str
    stream: bool
    acked: list[str] = field(default_factory=list)  # questions whose reply the client received
    in_flight: str | None = None  # the question sent when the server died, if any


def question(thread_id: str, n: int) -> str:
    return f"Order {n} on {thread_id} was charged twice"


def answers(q: str, a: str) -> bool:
    """The offline model quotes the question it answers."""
    return f'"{q}"' in a


async def _turn(client: httpx.AsyncClient, base: str, conv: Conversation, text: str) -> bool:
    """One turn; True if its reply came back whole (the turn is then acknowledged)."""
    url = f"{base}/threads/{conv.thread_id}/messages"
    if conv.stream:
        response = await client.post(url, json={"content": text}, headers={"Accept": "text/event-stream"})
        assert response.status_code == 200, response.text
        return "event: reply" in response.text
    response = await client.post(url, json={"content": text})
    assert response.status_code == 200, response.text
    assert answers(text, response.json()["message"]["content"])
    return True


async def _converse(client: httpx.AsyncClient, base: str, conv: Conversation, acked: list[int]) -> None:
    """Send turns one after another until the server goes away."""
    n = len(conv.acked)
    while True:
        text = question(conv.thread_id, n)
        conv.in_flight = text
        try:
            whole = await _turn(client, base, conv, text)
        except httpx.TransportError:
            return
        if not whole:  # the stream was cut before its reply: the turn is in flight
            return
        conv.acked.append(text)
        conv.in_flight = None
        acked[0] += 1
        n += 1


async def _load_then_kill(base: str, token: str, process, conversations: list[Conversation]) -> None:
    auth = {"Authorization": f"Bearer {token}"}
    async with httpx.AsyncClient(
        headers=auth, timeout=60, limits=httpx.Limits(max_connections=100)
    ) as client:
        for conv in conversations:
            if conv.acked or conv.in_flight:  # a previous round started it: check what survived
                await _settle(client, base, conv)
            else:
                created = await client.post(f"{base}/threads", json={"thread_id": conv.thread_id})
                assert created.status_code == 200, created.text
        acked = [0]
        tasks = [asyncio.create_task(_converse(client, base, conv, acked)) for conv in conversations]
        while acked[0] < ACKED_PER_ROUND:
            assert not any(t.done() for t in tasks), [t.exception() for t in tasks if t.done()]
            await asyncio.sleep(0.01)
        os.kill(process.pid, signal.SIGKILL)
        await asyncio.gather(*tasks)
    assert sum(conv.in_flight is not None for conv in conversations) > 0, "no turn was in flight"


def _check_history(messages: list[dict[str, Any]], conv: Conversation) -> bool:
    """Acknowledged turns all there, in order, whole; return whether the in-flight question was kept."""
    asked = [m["content"] for m in messages if m["role"] == "user"]
    kept_in_flight = asked == [*conv.acked, conv.in_flight]
    assert asked == conv.acked or kept_in_flight, (conv.thread_id, asked, conv.acked, conv.in_flight)
    roles = [m["role"] for m in messages]
    assert roles == ["user", "assistant"] * len(asked), (conv.thread_id, roles)  # no half turn
    for q, a in zip(messages[0::2], messages[1::2], strict=True):
        assert answers(q["content"], a["content"]), (q, a)
    return kept_in_flight


async def _settle(client: httpx.AsyncClient, base: str, conv: Conversation) -> list[dict[str, Any]]:
    """Check the history after a restart; count a kept in-flight turn as acknowledged from now on."""
    history = await client.get(f"{base}/threads/{conv.thread_id}/messages")
    assert history.status_code == 200, history.text
    messages = history.json()["messages"]
    if _check_history(messages, conv):
        conv.acked.append(conv.in_flight)
    conv.in_flight = None
    return messages


async def _verify_after_restart(base: str, token: str, conversations: list[Conversation]) -> None:
    auth = {"Authorization": f"Bearer {token}"}
    async with httpx.AsyncClient(headers=auth, timeout=60) as client:

        async def verify(conv: Conversation) -> None:
            before = await _settle(client, base, conv)
            # The next turn works, lands after everything kept, and the count catches up.
            after = question(conv.thread_id, 999)
            reply = await client.post(f"{base}/threads/{conv.thread_id}/messages", json={"content": after})
            assert reply.status_code == 200, reply.text
            assert reply.json()["thread"]["message_count"] == len(before) + 2
            conv.acked.append(after)
            messages = (await client.get(f"{base}/threads/{conv.thread_id}/messages")).json()["messages"]
            assert messages[: len(before)] == before
            _check_history(messages, conv)

        await asyncio.gather(*(verify(conv) for conv in conversations))


def _crash_and_recover(database_url: str) -> None:
    token = add_user(database_url, "crash")
    conversations = [Conversation(f"crash-{i:02d}", stream=i % 2 == 1) for i in range(CONVERSATIONS)]
    for _ in range(ROUNDS):
        port = free_port()
        with running([(serve_command(database_url, port), port)]) as (server,):
            asyncio.run(_load_then_kill(server.url, token, server.process, conversations))
            server.process.wait(timeout=10)
            assert server.process.returncode == -signal.SIGKILL
    port = free_port()
    with running([(serve_command(database_url, port), port)]) as (server,):
        asyncio.run(_verify_after_restart(server.url, token, conversations))
    acked = sum(len(c.acked) for c in conversations)
    print(f"{acked} acknowledged turns on {CONVERSATIONS} threads survived {ROUNDS} kill -9s and restarts")


@pytest.fixture
def pg_url() -> Iterator[str]:
    pytest.importorskip("psycopg", reason="PostgreSQL support not installed: pip install -e '.[postgres]'")
    with postgres_schema() as url:
        yield url


def test_kill_9_under_load_on_sqlite_loses_no_acknowledged_turn(tmp_path: Path) -> None:
    _crash_and_recover(str(tmp_path / "crash.sqlite"))


def test_kill_9_under_load_on_postgres_loses_no_acknowledged_turn(pg_url: str) -> None:
    _crash_and_recover(pg_url)
