"""Several processes on one SQLite file, all taking turns on one thread: nothing acknowledged is lost.

Two `threaddesk serve` processes and a piped `threaddesk chat --thread T` share a
file, as the README's own usage does. Every turn a client saw answered must be
stored exactly once, its answer right after it; and a holder `kill -9`'d
mid-turn must not stop the others.
"""

from __future__ import annotations

import asyncio
import os
import signal
import subprocess
import sys
import threading
from collections import Counter
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import httpx
import pytest
from support.replicas import Replica, add_user, free_port, running, serve_command, slow_command

pytestmark = pytest.mark.slow

THREAD = "shared-T"
CHAT_TURNS = 120
MIN_POSTS_PER_SERVER = 60
WORKERS_PER_SERVER = 4


class PipedChat:
    """`threaddesk chat --thread T` with stdin piped: one line in, one reply line out, as a script would."""

    def __init__(self, database_url: str, user: str, thread_id: str) -> None:
        command = [sys.executable, "-m", "threaddesk.cli", "--db", database_url, "chat"]
        self.process = subprocess.Popen(
            [*command, "--user", user, "--thread", thread_id],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
            bufsize=1,
        )
        self.acked: list[str] = []
        self.first_reply = threading.Event()

    def talk(self, questions: Sequence[str]) -> None:
        """Send the questions one at a time; a question is acknowledged once its reply line is read."""
        assert self.process.stdin is not None and self.process.stdout is not None
        for text in questions:
            self.process.stdin.write(text + "\n")
            self.process.stdin.flush()
            reply = self.process.stdout.readline()
            assert reply, f"chat exited early: {self.process.stderr.read() if self.process.stderr else ''}"
            assert answers(text, reply), (text, reply)
            self.acked.append(text)
            self.first_reply.set()
        self.process.stdin.close()
        assert self.process.wait(timeout=60) == 0, self.process.stderr.read() if self.process.stderr else ""

    def stop(self) -> None:
        if self.process.poll() is None:
            self.process.kill()
        self.process.wait()


def answers(question: str, answer: str) -> bool:
    """The offline model quotes the question it answers."""
    return f'"{question}"' in answer


@contextmanager
def piped_chat(database_url: str, user: str) -> Iterator[tuple[PipedChat, threading.Thread]]:
    chat = PipedChat(database_url, user, THREAD)
    errors: list[BaseException] = []

    def run() -> None:
        try:
            chat.talk([f"Chat question {i} about parcel {i * 3}" for i in range(CHAT_TURNS)])
        except BaseException as exc:  # reported by the test thread
            errors.append(exc)
            chat.first_reply.set()

    feeder = threading.Thread(target=run, daemon=True)
    try:
        yield chat, feeder
    finally:
        feeder.join(timeout=120)
        chat.stop()
        if errors:
            raise errors[0]


def client(base: str, token: str) -> httpx.AsyncClient:
    return httpx.AsyncClient(
        base_url=base,
        headers={"Authorization": f"Bearer {token}"},
        timeout=120,
        limits=httpx.Limits(max_keepalive_connections=0),  # see test_contention.py
    )


async def post_until(base: str, token: str, name: str, done: threading.Thread, acked: list[str]) -> None:
    """Post questions to one server until the chat is done and at least MIN_POSTS_PER_SERVER were sent."""
    sent = 0

    async def worker(http: httpx.AsyncClient) -> None:
        nonlocal sent
        while done.is_alive() or sent < MIN_POSTS_PER_SERVER:
            text = f"Server {name} question {sent} about invoice {sent * 7}"
            sent += 1
            response = await http.post(f"/threads/{THREAD}/messages", json={"content": text})
            assert response.status_code == 200, response.text
            assert answers(text, response.json()["message"]["content"])
            acked.append(text)

    async with client(base, token) as http:
        await asyncio.gather(*(worker(http) for _ in range(WORKERS_PER_SERVER)))


async def load(
    servers: Sequence[Replica], token: str, chat: PipedChat, feeder: threading.Thread
) -> list[str]:
    """Chat and every server take turns on THREAD at once; return the questions acknowledged over HTTP."""
    feeder.start()
    while not chat.first_reply.is_set():  # the chat process is up and taking turns
        await asyncio.sleep(0.05)
    acked: list[str] = []
    await asyncio.gather(
        *(post_until(server.url, token, str(n), feeder, acked) for n, server in enumerate(servers))
    )
    return acked


def stored_history(base: str, token: str) -> list[dict[str, Any]]:
    response = httpx.get(
        f"{base}/threads/{THREAD}/messages", headers={"Authorization": f"Bearer {token}"}, timeout=60
    )
    assert response.status_code == 200, response.text
    return response.json()["messages"]


def assert_stored_once(
    messages: list[dict[str, Any]], acked: list[str], maybe: set[str] = frozenset()
) -> None:
    """Whole turns, each answer right after its question; every acknowledged question exactly once."""
    roles = [m["role"] for m in messages]
    assert roles == ["user", "assistant"] * (len(messages) // 2), "a half turn or two answers in a row"
    for question, answer in zip(messages[0::2], messages[1::2], strict=True):
        assert answers(question["content"], answer["content"]), (question, answer)
    stored = Counter(m["content"] for m in messages[0::2])
    lost = [q for q in acked if stored[q] == 0]
    assert not lost, f"{len(lost)} of {len(acked)} acknowledged turns were not stored, e.g. {lost[:3]}"
    assert max(stored.values()) == 1, [q for q, n in stored.items() if n > 1][:3]
    assert set(stored) <= set(acked) | maybe, set(stored) - set(acked) - maybe


def create_thread(base: str, token: str) -> None:
    response = httpx.post(
        f"{base}/threads", json={"thread_id": THREAD}, headers={"Authorization": f"Bearer {token}"}
    )
    assert response.status_code == 200, response.text


def test_two_servers_and_a_piped_chat_on_one_file_store_every_acknowledged_turn_once(tmp_path: Path) -> None:
    database_url = str(tmp_path / "shared.sqlite")
    token = add_user(database_url, "alice")
    ports = [free_port(), free_port()]
    with running([(serve_command(database_url, port), port) for port in ports]) as servers:
        create_thread(servers[0].url, token)
        with piped_chat(database_url, "alice") as (chat, feeder):
            acked = asyncio.run(load(servers, token, chat, feeder))
        acked += chat.acked
        assert len(acked) >= CHAT_TURNS + 2 * MIN_POSTS_PER_SERVER
        assert_stored_once(stored_history(servers[1].url, token), acked)


DOOMED = "Slow question that dies with its server"


async def hold_kill_and_load(
    slow: Replica, server: Replica, token: str, chat: PipedChat, feeder: threading.Thread
) -> list[str]:
    """A slow turn holds the thread on `slow`; the others queue behind it; `slow` is killed mid-turn."""
    async with client(slow.url, token) as http:
        doomed = asyncio.create_task(http.post(f"/threads/{THREAD}/messages", json={"content": DOOMED}))
        while (await http.get(f"/threads/{THREAD}")).json()["status"] != "busy":
            assert not doomed.done(), doomed.result().text
            await asyncio.sleep(0.02)
        await asyncio.sleep(0.3)  # inside its 30 s model call, holding the thread
        killer = asyncio.get_running_loop().call_later(1.0, os.kill, slow.process.pid, signal.SIGKILL)
        try:
            acked = await load([server], token, chat, feeder)
        finally:
            killer.cancel()
        with pytest.raises(httpx.TransportError):
            await doomed
    return acked


def test_a_holder_killed_mid_turn_does_not_block_the_others(tmp_path: Path) -> None:
    database_url = str(tmp_path / "shared.sqlite")
    token = add_user(database_url, "alice")
    port, slow_port = free_port(), free_port()
    commands = [
        (serve_command(database_url, port), port),
        (slow_command(database_url, slow_port, 30), slow_port),
    ]
    with running(commands) as (server, slow):
        create_thread(server.url, token)
        with piped_chat(database_url, "alice") as (chat, feeder):
            acked = asyncio.run(hold_kill_and_load(slow, server, token, chat, feeder))
        assert slow.process.wait(timeout=10) == -signal.SIGKILL
        acked += chat.acked
        assert len(acked) >= CHAT_TURNS + MIN_POSTS_PER_SERVER
        assert_stored_once(stored_history(server.url, token), acked, maybe={DOOMED})
