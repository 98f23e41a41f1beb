"""One rule for a streaming client that goes away, at every moment of its turn.

The rule: a turn is committed when the model's reply is stored. A client that
disconnects before that (before the first token, or mid-stream) leaves nothing
of the turn behind; one that disconnects after it (the reply stored, the final
event not yet sent) leaves the whole turn stored. Either way the thread is
`idle` afterwards, never `error`, and the next turn runs at once.

The ASGI app is driven directly, so the disconnect lands exactly at the moment chosen.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator, Awaitable, Callable
from typing import Any

import pytest
from support.models import GatedModel

from threaddesk import Settings, SupportDesk, ThreadStatus, open_desk
from threaddesk.web import create_app

Moment = Callable[[SupportDesk, GatedModel, asyncio.Event], Awaitable[None]]


@pytest.fixture
def model() -> GatedModel:
    return GatedModel()


@pytest.fixture(params=["memory", "sqlite"])
async def gated_desk(
    model: GatedModel, request: pytest.FixtureRequest, tmp_path
) -> AsyncIterator[SupportDesk]:
    url = "memory" if request.param == "memory" else str(tmp_path / "desk.sqlite")
    async with open_desk(Settings(database_url=url), model=model) as desk:
        yield desk


async def _stream_then_leave(desk: SupportDesk, token: str, moment: Moment, model: GatedModel) -> list[Any]:
    """POST a message with `Accept: text/event-stream`; `moment` decides when the client is gone."""
    app = create_app(Settings(database_url="memory"), desk=desk)
    gone = asyncio.Event()
    body = json.dumps({"content": "What's my name?"}).encode()
    requested = False
    sent: list[Any] = []

    async def receive() -> dict[str, Any]:
        nonlocal requested
        if not requested:
            requested = True
            return {"type": "http.request", "body": body, "more_body": False}
        await gone.wait()
        return {"type": "http.disconnect"}

    async def send(message: dict[str, Any]) -> None:
        sent.append(message)

    path = "/threads/t1/messages"
    scope = {
        "type": "http",
        "asgi": {"version": "3.0"},
        "http_version": "1.1",
        "method": "POST",
        "scheme": "http",
        "path": path,
        "raw_path": path.encode(),
        "root_path": "",
        "query_string": b"",
        "headers": [
            (b"host", b"threaddesk.test"),
            (b"authorization", f"Bearer {token}".encode()),
            (b"accept", b"text/event-stream"),
            (b"content-type", b"application/json"),
        ],
        "client": ("127.0.0.1", 50000),
        "server": ("threaddesk.test", 80),
        "state": {},
    }
    call = asyncio.create_task(app(scope, receive, send))
    await moment(desk, model, gone)
    await asyncio.wait_for(call, 30)
    return sent


async def before_the_first_token(desk: SupportDesk, model: GatedModel, gone: asyncio.Event) -> None:
    model.pause_at = frozenset({0, 1})
    await model.paused()  # nothing streamed yet
    gone.set()
    await asyncio.sleep(0.05)
    model.release()  # one token: the response starts and notices the client is gone


async def mid_stream(desk: SupportDesk, model: GatedModel, gone: asyncio.Event) -> None:
    model.pause_at = frozenset({2})
    await model.paused()  # two tokens streamed
    gone.set()


async def after_the_model_finished(desk: SupportDesk, model: GatedModel, gone: asyncio.Event) -> None:
    """The reply is stored; the client leaves while the turn is still being recorded."""
    registry = desk.threads.registry
    # Where registry and saver share a database, the turn is recorded with its checkpoint (`end_turn`).
    method = "end_turn" if desk.threads.batching is registry else "record_turn"
    record_turn = getattr(registry, method)
    recording = asyncio.Event()
    calls = 0

    async def slow_record_turn(*args: Any, **kwargs: Any) -> Any:
        nonlocal calls
        calls += 1
        if calls == 1:
            recording.set()
            await asyncio.sleep(30)  # cancelled by the disconnect
        return await record_turn(*args, **kwargs)

    setattr(registry, method, slow_record_turn)
    try:
        await recording.wait()
        gone.set()
        await asyncio.sleep(0.2)
    finally:
        delattr(registry, method)


@pytest.mark.parametrize(
    ("moment", "kept"),
    [(before_the_first_token, False), (mid_stream, False), (after_the_model_finished, True)],
    ids=["before the first token", "mid-stream", "after the model finished"],
)
async def test_a_disconnect_leaves_the_thread_idle_with_the_turn_whole_or_gone(
    gated_desk: SupportDesk, model: GatedModel, moment: Moment, kept: bool
) -> None:
    _, token = await gated_desk.users.add("alice")
    await gated_desk.send("t1", "Hi, I'm Alice.", user_id="alice", create=True)

    sent = await _stream_then_leave(gated_desk, token, moment, model)

    frames = b"".join(m.get("body", b"") for m in sent if m["type"] == "http.response.body")
    assert b"event: reply" not in frames  # the client never saw the turn end
    thread = await gated_desk.threads.get("t1")
    assert thread.status is ThreadStatus.IDLE
    history = [m.content for m in await gated_desk.history("t1")]
    if kept:
        assert history == [
            "Hi, I'm Alice.",
            "Hello Alice! How can I help?",
            "What's my name?",
            "Your name is Alice!",
        ]
    else:
        assert history == ["Hi, I'm Alice.", "Hello Alice! How can I help?"]
    assert thread.message_count == len(history)
    searched = [hit.message.content for hit in await gated_desk.search("name", user_id="alice")]
    assert sorted(searched) == sorted(m for m in history[2:] if "name" in m)  # indexed if and only if kept
    assert len(gated_desk.threads.locks) == 0
    model.pause_at = frozenset()
    assert (await gated_desk.send("t1", "Who am I?", user_id="alice", wait=False)).text == "You're Alice!"
