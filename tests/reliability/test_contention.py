"""A thousand concurrent posts to one thread of a live `threaddesk serve` (SQLite).

`enqueue` (the default) must store every one, each answer right after its
question; `reject` must turn away exactly the posts that found a turn running.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import httpx
import pytest
from support.replicas import Replica, add_user, free_port, running, serve_command

pytestmark = pytest.mark.slow

POSTS = 1000


@dataclass
class Server:
    url: str
    token: str

    def client(self) -> httpx.AsyncClient:
        return httpx.AsyncClient(
            base_url=self.url,
            headers={"Authorization": f"Bearer {self.token}"},
            timeout=120,
            # A connection per post, never reused: a reused keep-alive connection can be
            # closed by uvicorn's idle timeout just as a post goes out on it (a client-side
            # ReadError for a post the server never read), which is not what this tests.
            limits=httpx.Limits(max_connections=POSTS, max_keepalive_connections=0),
        )


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    database_url = str(tmp_path_factory.mktemp("contention") / "desk.sqlite")
    token = add_user(database_url, "busy")
    port = free_port()
    with running([(serve_command(database_url, port), port)]) as replicas:
        replica: Replica = replicas[0]
        yield Server(replica.url, token)
        assert replica.process.poll() is None, "the server died under load"


def _assert_turns(messages: list[dict[str, Any]], questions: list[str]) -> None:
    """Whole turns only, each answer to the question right before it, each question once."""
    assert [m["role"] for m in messages] == ["user", "assistant"] * len(questions)
    for q, a in zip(messages[0::2], messages[1::2], strict=True):
        assert f'"{q["content"]}"' in a["content"], (q, a)
    assert sorted(m["content"] for m in messages[0::2]) == sorted(questions)


async def test_a_thousand_concurrent_posts_to_one_thread_are_all_stored_in_whole_turns(
    server: Server,
) -> None:
    async with server.client() as client:
        assert (await client.post("/threads", json={"thread_id": "crowded"})).status_code == 200
        questions = [f"Question {i} about invoice {i * 7}" for i in range(POSTS)]
        responses = await asyncio.gather(
            *(client.post("/threads/crowded/messages", json={"content": q}) for q in questions)
        )
        assert [r.status_code for r in responses] == [200] * POSTS
        for q, response in zip(questions, responses, strict=True):
            assert f'"{q}"' in response.json()["message"]["content"]
        counts = sorted(r.json()["thread"]["message_count"] for r in responses)
        assert counts == list(range(2, 2 * POSTS + 1, 2)), "each turn saw every turn before it"
        history = (await client.get("/threads/crowded/messages")).json()["messages"]
    _assert_turns(history, questions)


@dataclass
class Attempt:
    question: str
    status: int
    sent: float
    answered: float

    def overlaps(self, other: Attempt) -> bool:
        return self.sent < other.answered and other.sent < self.answered


async def test_reject_turns_away_exactly_the_posts_that_overlap_a_running_turn(server: Server) -> None:
    """Bursts of 20 simultaneous posts, each burst after the last finished: 50 bursts, 1,000 posts.

    A burst starts on an idle thread, so its first post must get in; a 409 is
    only right while another post's turn runs, so it must overlap an accepted
    post of its burst; nothing refused is stored, everything accepted is.
    """
    async with server.client() as client:
        assert (await client.post("/threads", json={"thread_id": "picky"})).status_code == 200

        async def attempt(text: str) -> Attempt:
            sent = time.perf_counter()
            response = await client.post(
                "/threads/picky/messages", json={"content": text, "multitask_strategy": "reject"}
            )
            return Attempt(text, response.status_code, sent, time.perf_counter())

        bursts = []
        for b in range(POSTS // 20):
            bursts.append(await asyncio.gather(*(attempt(f"Burst {b} post {i}") for i in range(20))))
        history = (await client.get("/threads/picky/messages")).json()["messages"]

    attempts = [a for burst in bursts for a in burst]
    assert {a.status for a in attempts} <= {200, 409}, {a.status for a in attempts}
    for burst in bursts:
        accepted = [a for a in burst if a.status == 200]
        assert accepted, "a post to an idle thread was refused"
        for refused in (a for a in burst if a.status == 409):
            assert any(refused.overlaps(a) for a in accepted), refused
    stored = [a.question for a in attempts if a.status == 200]
    assert sum(a.status == 409 for a in attempts) > 0, (
        "no post ever overlapped another: the test proved nothing"
    )
    _assert_turns(history, stored)
