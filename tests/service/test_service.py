"""The support desk: isolation, switching, serialised turns, unknown threads."""

from __future__ import annotations

import asyncio
import logging
import random
import sqlite3
from typing import Any, ClassVar

import pytest
from langchain_core.messages import BaseMessage
from support.models import FlakyModel

from threaddesk import (
    InternalError,
    InvalidArgument,
    InvalidThreadId,
    MessageTooLarge,
    ModelUnavailable,
    OfflineChatModel,
    Reply,
    StorageUnavailable,
    SupportDesk,
    ThreadBusy,
    ThreadNotFound,
    ThreadStatus,
    Token,
    open_desk,
)
from threaddesk.agent import graph

NAMES = ["Alice", "Bob", "Carol", "Dave", "Erin", "Frank", "Grace", "Heidi", "Ivan", "Judy"]


async def test_alice_and_bob_are_isolated(desk: SupportDesk) -> None:
    await desk.threads.create("alice", "alice_session")
    await desk.threads.create("bob", "bob_session")
    assert (await desk.send("alice_session", "Hi, I'm Alice.")).text == "Hello Alice! How can I help?"
    assert (await desk.send("bob_session", "Hey, I'm Bob.")).text == "Hi Bob! What can I do for you?"
    assert (await desk.send("alice_session", "What's my name?")).text == "Your name is Alice!"
    assert (await desk.send("bob_session", "Do you know who I am?")).text == "Yes, you're Bob!"
    alice = [m.content for m in await desk.history("alice_session")]
    assert not any("Bob" in text for text in alice)


async def test_switching_back_recalls_context(desk: SupportDesk) -> None:
    for tid, intro, issue in [
        ("carol", "Hi, I'm Carol.", "My order #1042 arrived damaged."),
        ("dave", "Hey, I'm Dave.", "I can't log in."),
    ]:
        await desk.send(tid, intro, user_id=tid, create=True)
        await desk.send(tid, issue, user_id=tid)
    assert (await desk.send("carol", "Who am I?", user_id="carol")).text == "You're Carol!"
    reply = await desk.send("carol", "What was my issue again?", user_id="carol")
    assert reply.text == 'You told me: "My order #1042 arrived damaged."'
    assert (await desk.send("dave", "What was my problem?", user_id="dave")).text == (
        'You told me: "I can\'t log in."'
    )


async def test_thousand_threads_randomly_interleaved(database_url: str) -> None:
    """1,000 customers, turns shuffled: every thread names its own customer and no other."""
    rng = random.Random(20261126)

    def suffix(i: int) -> str:
        return "".join(chr(97 + i // 26**k % 26) for k in range(3))

    threads = {f"customer-{i:04d}": f"{NAMES[i % 10]}{suffix(i)}" for i in range(1000)}
    turns = list(threads) * 2
    rng.shuffle(turns)
    # Each thread's first turn in the shuffled order introduces, its second asks.
    seen: set[str] = set()
    ordered: list[tuple[str, str]] = []
    for tid in turns:
        ordered.append((tid, f"Hi, I'm {threads[tid]}." if tid not in seen else "What's my name?"))
        seen.add(tid)
    async with open_desk(database_url=database_url) as desk:
        # Concurrent batches of up to 50 turns, never two turns of one thread in one batch
        # (the order of those would be the race this test is not about).
        chunks: list[list[tuple[str, str]]] = [[]]
        for tid, text in ordered:
            if len(chunks[-1]) == 50 or any(t == tid for t, _ in chunks[-1]):
                chunks.append([])
            chunks[-1].append((tid, text))
        answers: dict[str, str] = {}
        for chunk in chunks:
            replies = await asyncio.gather(
                *(desk.send(tid, text, user_id=tid, create=True) for tid, text in chunk)
            )
            for (tid, _), reply in zip(chunk, replies, strict=True):
                answers[tid] = reply.text
        for tid, name in threads.items():
            assert answers[tid] == f"Your name is {name}!"
        thread = await desk.threads.get("customer-0007")
        assert thread.message_count == 4


class RecordingModel(OfflineChatModel):
    """The offline model, noting every message list it is asked to answer."""

    calls: ClassVar[list[list[BaseMessage]]] = []

    def _generate(self, messages, stop=None, run_manager=None, **kwargs):  # type: ignore[override]
        type(self).calls.append(list(messages))
        return super()._generate(messages, stop, run_manager, **kwargs)


async def test_model_never_sees_another_threads_messages(database_url: str) -> None:
    RecordingModel.calls = []
    async with open_desk(database_url=database_url, model=RecordingModel()) as desk:
        await desk.send("alice_session", "Hi, I'm Alice. My card ends in 4242.", user_id="alice", create=True)
        await desk.send("bob_session", "Hey, I'm Bob.", user_id="bob", create=True)
        await desk.send("alice_session", "What's my name?", user_id="alice")
        await desk.send("bob_session", "Do you know who I am?", user_id="bob")
    bob_calls = [c for c in RecordingModel.calls if "Bob" in c[1].text]
    assert len(bob_calls) == 2
    for call in bob_calls:
        seen = " ".join(m.text for m in call)
        assert "Alice" not in seen and "4242" not in seen
        assert call[0].type == "system"


async def test_unknown_thread_is_an_error_not_a_new_conversation(desk: SupportDesk) -> None:
    with pytest.raises(ThreadNotFound):
        await desk.send("nobody_session", "Hello?")
    with pytest.raises(ThreadNotFound):
        await desk.history("nobody_session")
    assert await desk.threads.registry.count() == 0
    reply = await desk.send("nobody_session", "Hi, I'm Zoe.", user_id="zoe", create=True)
    assert reply.thread.user_id == "zoe"


@pytest.mark.parametrize("bad", ["", "../etc/passwd", "a b", "-lead", "x" * 129, "drop;table"])
async def test_malformed_thread_id_is_rejected(desk: SupportDesk, bad: str) -> None:
    with pytest.raises(InvalidThreadId):
        await desk.send(bad, "Hi", user_id="u", create=True)
    assert await desk.threads.registry.count() == 0


async def test_another_users_thread_looks_missing(desk: SupportDesk) -> None:
    await desk.send("alice_session", "Hi, I'm Alice.", user_id="alice", create=True)
    with pytest.raises(ThreadNotFound):
        await desk.send("alice_session", "What's my name?", user_id="mallory")
    with pytest.raises(ThreadNotFound):
        await desk.history("alice_session", user_id="mallory")
    assert len(await desk.history("alice_session")) == 2


@pytest.mark.parametrize("text", ["", "   ", None, 42, "nul\x00byte"])
async def test_bad_message_text_is_rejected_and_stores_nothing(desk: SupportDesk, text: Any) -> None:
    await desk.threads.create("u", "t1")
    with pytest.raises(InvalidArgument):
        await desk.send("t1", text)
    assert await desk.history("t1") == []


async def test_message_size_limit(database_url: str) -> None:
    async with open_desk(database_url=database_url) as desk:
        desk.max_message_bytes = 100
        await desk.threads.create("u", "t1")
        with pytest.raises(MessageTooLarge):
            await desk.send("t1", "é" * 51)  # 102 bytes in UTF-8
        assert (await desk.send("t1", "é" * 50)).text
        assert len(await desk.history("t1")) == 2


async def test_burst_on_one_thread_keeps_every_turn_in_order(desk: SupportDesk) -> None:
    """200 concurrent sends to one thread: 400 messages, each reply right after its question."""
    await desk.threads.create("u", "busy_thread")
    texts = [f"Question number {i}" for i in range(200)]
    replies = await asyncio.gather(*(desk.send("busy_thread", t) for t in texts))
    history = await desk.history("busy_thread")
    assert len(history) == 400
    questions = [m.content for m in history[0::2]]
    assert sorted(questions) == sorted(texts)
    assert questions == texts  # FIFO: the order they arrived in
    for question, answer in zip(history[0::2], history[1::2], strict=True):
        assert question.role == "user" and answer.role == "assistant"
        assert f'"{question.content}"' in answer.content
    assert [r.thread.message_count for r in replies] == list(range(2, 401, 2))
    assert (await desk.threads.get("busy_thread")).message_count == 400
    assert len(desk.threads.locks) == 0


async def test_reject_strategy_raises_busy(desk: SupportDesk) -> None:
    await desk.threads.create("u", "t1")
    async with desk.threads.turn("t1"):
        with pytest.raises(ThreadBusy):
            await desk.send("t1", "Hello", wait=False)
    assert (await desk.send("t1", "Hello", wait=False)).text


async def test_different_threads_run_concurrently(database_url: str) -> None:
    class SlowModel(OfflineChatModel):
        async def _agenerate(self, messages, stop=None, run_manager=None, **kwargs):  # type: ignore[override]
            await asyncio.sleep(0.2)
            return self._generate(messages, stop, **kwargs)

    async with open_desk(database_url=database_url, model=SlowModel()) as desk:
        for i in range(10):
            await desk.threads.create("u", f"t{i}")
        loop = asyncio.get_running_loop()
        started = loop.time()
        await asyncio.gather(*(desk.send(f"t{i}", "Hi, I'm Ann.") for i in range(10)))
        assert loop.time() - started < 1.0  # serial would take 2 s


async def test_stream_yields_tokens_then_the_stored_reply(desk: SupportDesk) -> None:
    await desk.threads.create("u", "t1")
    events = [e async for e in desk.stream("t1", "Hi, I'm Alice.")]
    tokens = [e for e in events if isinstance(e, Token)]
    assert len(tokens) > 1 and all(isinstance(e, Token) for e in events[:-1])
    final = events[-1]
    assert isinstance(final, Reply)
    assert "".join(t.text for t in tokens) == final.text == "Hello Alice! How can I help?"
    assert (await desk.history("t1"))[-1].content == final.text
    assert final.thread.message_count == 2


async def test_activity_is_recorded_on_every_turn(desk: SupportDesk, clock) -> None:
    from datetime import timedelta

    thread = await desk.threads.create("u", "t1")
    clock.advance(timedelta(minutes=5))
    await desk.send("t1", "Hi, I'm Ann.")
    after = await desk.threads.get("t1")
    assert after.last_active_at == thread.created_at + timedelta(minutes=5)
    assert after.message_count == 2 and after.status is ThreadStatus.IDLE


async def test_failed_turn_marks_thread_error_and_stores_nothing(database_url: str) -> None:
    class BrokenModel(OfflineChatModel):
        async def _agenerate(self, messages, stop=None, run_manager=None, **kwargs):  # type: ignore[override]
            raise RuntimeError("provider down")

    async with open_desk(database_url=database_url, model=BrokenModel()) as desk:
        await desk.threads.create("u", "t1")
        with pytest.raises(ModelUnavailable, match="RuntimeError: provider down") as raised:
            await desk.send("t1", "Hello")
        assert isinstance(raised.value.__cause__, RuntimeError)
        thread = await desk.threads.get("t1")
        assert thread.status is ThreadStatus.ERROR
        assert await desk.history("t1") == []
        assert len(desk.threads.locks) == 0


def _break_the_agent(monkeypatch: pytest.MonkeyPatch) -> None:
    """A bug in the agent itself (not in the model, not in the database)."""

    def broken(*args: object, **kwargs: object) -> None:
        raise KeyError("a bug")

    monkeypatch.setattr(graph, "recent_context", broken)


async def test_an_unexpected_error_is_internal_logged_and_rolled_back(
    database_url: str, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    async with open_desk(database_url=database_url) as desk:
        await desk.send("t1", "Hi, I'm Alice.", user_id="u", create=True)
        with monkeypatch.context() as patch, caplog.at_level(logging.ERROR, logger="threaddesk.service"):
            _break_the_agent(patch)
            with pytest.raises(InternalError, match="KeyError") as raised:
                await desk.send("t1", "My order is late.")
        assert not isinstance(raised.value, ModelUnavailable | StorageUnavailable)
        assert isinstance(raised.value.__cause__, KeyError)
        assert [r.exc_info[0] for r in caplog.records if r.exc_info] == [KeyError]
        assert [m.content for m in await desk.history("t1")] == [
            "Hi, I'm Alice.",
            "Hello Alice! How can I help?",
        ]
        assert (await desk.threads.get("t1")).status is ThreadStatus.ERROR
        assert (await desk.send("t1", "What's my name?")).text == "Your name is Alice!"


async def test_a_database_failure_in_a_turn_is_storage_unavailable(
    database_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Each backend names its own driver's errors; none is mistaken for the model's."""
    async with open_desk(database_url=database_url) as desk:
        await desk.send("t1", "Hi, I'm Alice.", user_id="u", create=True)
        with monkeypatch.context() as patch:
            if database_url.startswith("postgresql://"):
                import psycopg
                from langgraph.checkpoint.postgres.aio import AsyncPostgresSaver

                from threaddesk.storage.postgres.checkpointer import PooledPostgresSaver

                async def lost(*args: object, **kwargs: object) -> None:
                    raise psycopg.OperationalError("server closed the connection unexpectedly")

                def lost_now(*args: object, **kwargs: object) -> None:
                    raise psycopg.OperationalError("server closed the connection unexpectedly")

                patch.setattr(AsyncPostgresSaver, "aput", lost)
                # A turn's checkpoint is written with its registry row (`TurnBatching`), not by `aput`.
                patch.setattr(PooledPostgresSaver, "add_puts", lost_now)
            else:
                from langgraph.checkpoint.sqlite import SqliteSaver

                from threaddesk.storage.sqlite.checkpointer import ThreadedSqliteSaver

                def full(*args: object, **kwargs: object) -> None:
                    raise sqlite3.OperationalError("database or disk is full")

                patch.setattr(SqliteSaver, "put", full)
                # A turn's checkpoint is written with its registry row (`TurnBatching`), not by `put`.
                patch.setattr(ThreadedSqliteSaver, "write_held", staticmethod(full))
            with pytest.raises(StorageUnavailable, match="checkpoint write failed|disk is full"):
                await desk.send("t1", "My order is late.")
        assert [m.content for m in await desk.history("t1")] == [
            "Hi, I'm Alice.",
            "Hello Alice! How can I help?",
        ]
        assert (await desk.send("t1", "What's my name?")).text == "Your name is Alice!"


async def test_deleted_thread_forgets_everything(desk: SupportDesk) -> None:
    await desk.send("t1", "Hi, I'm Alice.", user_id="u", create=True)
    await desk.threads.delete("t1")
    with pytest.raises(ThreadNotFound):
        await desk.send("t1", "What's my name?")
    reply = await desk.send("t1", "What's my name?", user_id="u", create=True)
    assert reply.text == "I don't know your name yet. What should I call you?"


async def test_failed_turn_rolls_back_to_the_last_good_turn(database_url: str) -> None:
    model = FlakyModel()
    async with open_desk(database_url=database_url, model=model) as desk:
        await desk.send("t1", "Hi, I'm Alice.", user_id="u", create=True)
        model.fail = True
        with pytest.raises(ModelUnavailable):
            await desk.send("t1", "My order is late.")
        assert [m.content for m in await desk.history("t1")] == [
            "Hi, I'm Alice.",
            "Hello Alice! How can I help?",
        ]
        assert (await desk.threads.get("t1")).message_count == 2
        model.fail = False
        assert (await desk.send("t1", "What's my name?")).text == "Your name is Alice!"
        history = await desk.history("t1")
        assert [m.role for m in history] == ["user", "assistant"] * 2
        assert (await desk.threads.get("t1")).status is ThreadStatus.IDLE


async def test_abandoned_stream_leaves_no_half_turn(desk: SupportDesk) -> None:
    await desk.send("t1", "Hi, I'm Alice.", user_id="u", create=True)
    events = desk.stream("t1", "What's my name?")
    first = await anext(events)
    assert isinstance(first, Token)
    await events.aclose()  # the client went away mid-reply
    history = await desk.history("t1")
    assert [m.role for m in history] in (["user", "assistant"], ["user", "assistant"] * 2)
    assert len(desk.threads.locks) == 0
    assert (await desk.send("t1", "Who am I?")).text == "You're Alice!"
