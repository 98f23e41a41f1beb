"""Sending messages (JSON and SSE), history, one turn at a time per thread, and size limits."""

from __future__ import annotations

import asyncio

import pytest
from sse_client import parse_sse

from threaddesk import SupportDesk
from threaddesk.agent import graph

SSE = {"Accept": "text/event-stream"}


@pytest.fixture
async def thread_id(web_desk: SupportDesk, alice) -> str:
    await web_desk.threads.create("alice", "t1", title="Support")
    return "t1"


async def _contents(desk: SupportDesk, thread_id: str) -> list[str]:
    return [m.content for m in await desk.history(thread_id)]


async def test_send_returns_the_reply_and_remembers_per_thread(client, thread_id, alice) -> None:
    first = await client.post(
        f"/threads/{thread_id}/messages", json={"content": "Hi, I'm Alice."}, headers=alice.headers
    )
    assert first.status_code == 200
    assert first.json()["message"]["role"] == "assistant"
    assert first.json()["message"]["content"] == "Hello Alice! How can I help?"
    assert first.json()["thread"]["message_count"] == 2
    second = await client.post(
        f"/threads/{thread_id}/messages", json={"content": "What's my name?"}, headers=alice.headers
    )
    assert second.json()["message"]["content"] == "Your name is Alice!"

    history = await client.get(f"/threads/{thread_id}/messages", headers=alice.headers)
    assert [(m["role"], m["content"]) for m in history.json()["messages"]] == [
        ("user", "Hi, I'm Alice."),
        ("assistant", "Hello Alice! How can I help?"),
        ("user", "What's my name?"),
        ("assistant", "Your name is Alice!"),
    ]
    last = await client.get(f"/threads/{thread_id}/messages", params={"limit": 1}, headers=alice.headers)
    assert [m["content"] for m in last.json()["messages"]] == ["Your name is Alice!"]


async def test_sse_streams_tokens_then_the_stored_reply(client, web_desk, thread_id, alice) -> None:
    await web_desk.send(thread_id, "Hi, I'm Alice.", user_id="alice")
    response = await client.post(
        f"/threads/{thread_id}/messages",
        json={"content": "Do you remember my name?"},
        headers={**alice.headers, **SSE},
    )
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/event-stream")
    events = parse_sse(response.text)
    names = [name for name, _ in events]
    assert names[-1] == "reply" and set(names[:-1]) == {"token"} and len(names) > 2
    streamed = "".join(data["text"] for name, data in events if name == "token")
    reply = events[-1][1]
    stored = (await web_desk.history(thread_id))[-1]
    assert streamed == reply["message"]["content"] == stored.content == "Yes, you're Alice!"
    assert reply["message"]["id"] == stored.id and reply["thread"]["message_count"] == 4


@pytest.mark.parametrize("accept", ["application/json", "text/event-stream"])
async def test_errors_before_the_turn_starts_are_http_statuses(
    client, web_desk, thread_id, alice, bob, accept
) -> None:
    headers = {**alice.headers, "Accept": accept}
    cases = [
        ("/threads/missing/messages", {"content": "hi"}, headers, 404, "thread_not_found"),
        (
            f"/threads/{thread_id}/messages",
            {"content": "hi"},
            {**bob.headers, "Accept": accept},
            404,
            "thread_not_found",
        ),
        ("/threads/bad%20id/messages", {"content": "hi"}, headers, 422, "invalid_thread_id"),
        (f"/threads/{thread_id}/messages", {"content": "x" * 1025}, headers, 413, "message_too_large"),
        (f"/threads/{thread_id}/messages", {"content": "é" * 513}, headers, 413, "message_too_large"),
        (f"/threads/{thread_id}/messages", {"content": "   "}, headers, 422, "invalid_argument"),
        (f"/threads/{thread_id}/messages", {"content": 42}, headers, 422, "invalid_request"),
        (f"/threads/{thread_id}/messages", {"text": "hi"}, headers, 422, "invalid_request"),
        (
            f"/threads/{thread_id}/messages",
            {"content": "hi", "multitask_strategy": "rollback"},
            headers,
            422,
            "invalid_request",
        ),
    ]
    for path, body, hdrs, status, code in cases:
        response = await client.post(path, json=body, headers=hdrs)
        assert response.status_code == status, (body, response.text)
        assert response.headers["content-type"] == "application/json"
        assert response.json()["error"]["code"] == code
    assert await _contents(web_desk, thread_id) == []
    assert (await web_desk.threads.get(thread_id)).message_count == 0


async def test_a_message_at_the_limit_is_accepted(client, thread_id, alice) -> None:
    response = await client.post(
        f"/threads/{thread_id}/messages", json={"content": "x" * 1024}, headers=alice.headers
    )
    assert response.status_code == 200


async def test_malformed_json_is_422_with_a_clear_message(client, web_desk, thread_id, alice) -> None:
    response = await client.post(
        f"/threads/{thread_id}/messages",
        content=b'{"content": "hi"',
        headers={**alice.headers, "Content-Type": "application/json"},
    )
    assert response.status_code == 422
    assert response.json()["error"]["message"].startswith("malformed JSON")
    not_object = await client.post(f"/threads/{thread_id}/messages", json=["hi"], headers=alice.headers)
    assert not_object.json()["error"]["message"] == "the request body must be a JSON object"
    assert await _contents(web_desk, thread_id) == []


async def test_oversized_body_is_refused_before_it_is_read(client, web_desk, thread_id, alice) -> None:
    sent = 0

    async def ten_megabytes():
        nonlocal sent
        for _ in range(160):
            sent += 65536
            yield b"x" * 65536

    declared = await client.post(
        f"/threads/{thread_id}/messages",
        content=ten_megabytes(),
        headers={**alice.headers, "Content-Type": "application/json", "Content-Length": str(160 * 65536)},
    )
    assert declared.status_code == 413 and declared.json()["error"]["code"] == "request_too_large"
    assert sent <= 65536

    sent = 0
    chunked = await client.post(
        f"/threads/{thread_id}/messages",
        content=ten_megabytes(),
        headers={**alice.headers, "Content-Type": "application/json"},
    )
    assert chunked.status_code == 413 and chunked.json()["error"]["code"] == "request_too_large"
    assert sent <= 16 * 1024 + 2 * 65536  # the 16 KiB limit plus the chunk in flight
    assert await _contents(web_desk, thread_id) == []


async def test_busy_thread_queues_by_default_and_rejects_on_request(
    client, web_desk, thread_id, alice
) -> None:
    url = f"/threads/{thread_id}/messages"
    async with web_desk.threads.locks.hold(thread_id):  # a turn in progress
        status = (await client.get(f"/threads/{thread_id}", headers=alice.headers)).json()["status"]
        assert status == "busy"
        rejected = await client.post(
            url, json={"content": "hi", "multitask_strategy": "reject"}, headers=alice.headers
        )
        assert rejected.status_code == 409 and rejected.json()["error"]["code"] == "thread_busy"
        streamed = await client.post(
            url, json={"content": "hi", "multitask_strategy": "reject"}, headers={**alice.headers, **SSE}
        )
        assert streamed.status_code == 409
        queued = asyncio.create_task(client.post(url, json={"content": "I'm Alice"}, headers=alice.headers))
        await asyncio.sleep(0.05)
        assert not queued.done()
    response = await queued
    assert (
        response.status_code == 200
        and response.json()["message"]["content"] == "Hello Alice! How can I help?"
    )
    assert (await client.get(f"/threads/{thread_id}", headers=alice.headers)).json()["status"] == "idle"


async def test_turns_on_different_threads_run_concurrently(client, web_desk, alice) -> None:
    await web_desk.threads.create("alice", "a")
    await web_desk.threads.create("alice", "b")
    async with web_desk.threads.locks.hold("a"):
        other = await asyncio.wait_for(
            client.post("/threads/b/messages", json={"content": "I'm Alice"}, headers=alice.headers),
            timeout=10,
        )
    assert other.status_code == 200


async def test_concurrent_sends_on_one_thread_all_land_whole(client, web_desk, thread_id, alice) -> None:
    url = f"/threads/{thread_id}/messages"
    texts = [f"note {n}" for n in range(8)]
    responses = await asyncio.gather(
        *(client.post(url, json={"content": text}, headers=alice.headers) for text in texts)
    )
    assert all(r.status_code == 200 for r in responses)
    contents = await _contents(web_desk, thread_id)
    # Every turn stored whole: each question directly followed by its own answer.
    assert len(contents) == 16 and sorted(contents[0::2]) == texts
    for question, answer in zip(contents[0::2], contents[1::2], strict=True):
        assert f'"{question}"' in answer


async def test_an_unexpected_error_in_a_turn_is_a_500_in_the_error_shape(
    client, web_desk, thread_id, alice, monkeypatch: pytest.MonkeyPatch
) -> None:
    def broken(*args: object, **kwargs: object) -> None:
        raise KeyError("a bug")

    monkeypatch.setattr(graph, "recent_context", broken)
    response = await client.post(
        f"/threads/{thread_id}/messages", json={"content": "Hi"}, headers=alice.headers
    )
    assert response.status_code == 500
    assert response.json()["error"]["code"] == "internal_error"
    assert await _contents(web_desk, thread_id) == []
