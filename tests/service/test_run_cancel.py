"""Cancelling runs (`interrupt` keeps, `rollback` undoes), across desks sharing one database,
multitask strategies, joining a run's stream, and a thousand queued runs in order."""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator

import pytest
from support.models import HeldModel

from threaddesk import SupportDesk, open_desk
from threaddesk.errors import InvalidArgument, RunNotFound, ThreadNotFound
from threaddesk.runs import RunRecord, RunRequest, RunStatus
from threaddesk.runs.cancel import RunCancelled
from threaddesk.runs.events import after_seq, stream_id
from threaddesk.threads.models import ThreadStatus

RECORD = RunRecord("fe096781-5601-53d2-b2f6-0d3403f7e9ca", {"stream_mode": ["values"]})


@pytest.fixture
def model() -> HeldModel:
    return HeldModel()


@pytest.fixture
async def held(database_url: str, model: HeldModel) -> AsyncIterator[SupportDesk]:
    async with open_desk(database_url=database_url, model=model) as desk:
        yield desk


async def _answered(desk: SupportDesk, thread_id: str, text: str) -> None:
    await desk.threads.create("u", thread_id, if_exists="get")
    async for _ in desk.run(thread_id, RunRequest.say(text), record=RECORD):
        pass


async def _running(desk: SupportDesk, model: HeldModel, thread_id: str, text: str, **options) -> str:
    """A background run, held by the model mid-run; its id."""
    run = await desk.start_run(thread_id, RunRequest.say(text), RECORD, **options)
    await asyncio.wait_for(model.started(), 10)
    return run.run_id


async def _first_turn(desk: SupportDesk, model: HeldModel) -> None:
    model.hold = False
    await _answered(desk, "t1", "Hi, I'm Ann.")
    model.hold_next()


async def test_interrupt_keeps_the_input_and_waits_at_the_unfinished_step(
    held: SupportDesk, model: HeldModel
) -> None:
    await _first_turn(held, model)
    run_id = await _running(held, model, "t1", "I'm Bob now.", user_id="u")
    assert (await held.get_run("t1", run_id)).status is RunStatus.RUNNING
    ended = await held.cancel_run("t1", run_id, "interrupt", user_id="u", wait=True)
    assert ended is not None and ended.status is RunStatus.INTERRUPTED
    state = await held.state("t1")
    assert [m.content for m in state.values["messages"]] == [
        "Hi, I'm Ann.",
        "Hello Ann! How can I help?",
        "I'm Bob now.",
    ]
    assert state.next == ("agent",)
    thread = await held.threads.get("t1")
    assert thread.status is ThreadStatus.INTERRUPTED and thread.message_count == 3
    model.release()  # input=None answers the kept message, as on LangGraph's server
    async for _ in held.run("t1", RunRequest()):
        pass
    answered = (await held.state("t1")).values["messages"]
    assert len(answered) == 4 and answered[-1].type == "ai" and "I'm Bob now." in answered[-1].content


async def test_rollback_undoes_the_run_and_deletes_it(held: SupportDesk, model: HeldModel) -> None:
    await _first_turn(held, model)
    before = await held.state("t1")
    run_id = await _running(held, model, "t1", "I'm Bob now.", user_id="u")
    assert await held.cancel_run("t1", run_id, "rollback", user_id="u", wait=True) is None
    with pytest.raises(RunNotFound):
        await held.get_run("t1", run_id)
    after = await held.state("t1")
    assert after.values == before.values and after.next == ()
    thread = await held.threads.get("t1")
    assert thread.status is ThreadStatus.IDLE and thread.message_count == 2


async def test_a_pending_run_is_cancelled_before_it_runs(held: SupportDesk, model: HeldModel) -> None:
    await _first_turn(held, model)
    first = await _running(held, model, "t1", "one")
    second = (await held.start_run("t1", RunRequest.say("two"), RECORD)).run_id
    third = (await held.start_run("t1", RunRequest.say("three"), RECORD)).run_id
    assert (await held.get_run("t1", second)).status is RunStatus.PENDING
    await held.cancel_run("t1", second, "interrupt")
    await held.cancel_run("t1", third, "rollback")
    assert (await held.get_run("t1", second)).status is RunStatus.INTERRUPTED
    with pytest.raises(RunNotFound):
        await held.get_run("t1", third)
    model.release()
    assert (await held.join_run("t1", first)).status is RunStatus.SUCCESS
    await asyncio.sleep(0.1)
    texts = [m.content for m in (await held.state("t1")).values["messages"]]
    assert "two" not in texts and "three" not in texts and texts[-2] == "one"
    assert model.calls == 2  # the first turn and `one`: the cancelled runs never reached the model


async def test_what_cannot_be_cancelled(held: SupportDesk, model: HeldModel) -> None:
    await _first_turn(held, model)
    done = (await held.list_runs("t1"))[0].run_id
    with pytest.raises(RunNotFound):
        await held.cancel_run("t1", done)  # finished
    with pytest.raises(RunNotFound):
        await held.cancel_run("t1", "01a22473-30c1-772a-a70a-9225f3624a25")
    with pytest.raises(ThreadNotFound):
        await held.cancel_run("t1", done, user_id="someone-else")
    with pytest.raises(InvalidArgument):
        await held.cancel_run("t1", done, "explode")
    with pytest.raises(InvalidArgument):
        await held.cancel_runs("interrupt", status="bogus")
    with pytest.raises(RunNotFound):
        await held.cancel_runs("interrupt", status="all", user_id="u")


async def test_cancel_from_another_desk_on_the_same_database(database_url: str, model: HeldModel) -> None:
    """The run executes in one desk; another (another process, as far as runs know) cancels it:
    the request travels through the run's row and is noticed within the poll interval."""
    async with (
        open_desk(database_url=database_url, model=model) as here,
        open_desk(database_url=database_url) as there,
    ):
        await _first_turn(here, model)
        for action, status in (("interrupt", RunStatus.INTERRUPTED), ("rollback", None)):
            run_id = await _running(here, model, "t1", f"{action} me")
            asked = time.monotonic()
            ended = await there.cancel_run("t1", run_id, action, wait=True)
            assert time.monotonic() - asked < 3
            assert (ended.status if ended else None) is status
            texts = [m.content for m in (await there.state("t1")).values["messages"]]
            assert ("interrupt me" in texts) and ("rollback me" not in texts)


async def test_bulk_cancel_by_status_and_by_ids(held: SupportDesk, model: HeldModel) -> None:
    await _first_turn(held, model)
    await held.threads.create("u", "t2")
    running = await _running(held, model, "t1", "one", user_id="u")
    pending = (await held.start_run("t1", RunRequest.say("two"), RECORD)).run_id
    other = (await held.start_run("t2", RunRequest.say("three"), RECORD, delay=30)).run_id
    cancelled = await held.cancel_runs("interrupt", thread_id="t1", run_ids=[pending], user_id="u")
    assert [r.run_id for r in cancelled] == [pending]
    cancelled = await held.cancel_runs("rollback", status="all", user_id="u")
    assert {r.run_id for r in cancelled} == {running, other}
    await held.join_run("t1", pending)
    with pytest.raises(RunNotFound):
        await held.get_run("t2", other)
    assert (await held.get_run("t1", pending)).status is RunStatus.INTERRUPTED


@pytest.mark.parametrize("strategy", ["interrupt", "rollback"])
async def test_multitask_strategies_cancel_what_runs_then_run(
    held: SupportDesk, model: HeldModel, strategy: str
) -> None:
    await _first_turn(held, model)
    running = await _running(held, model, "t1", "I'm Bob.")
    pending = (await held.start_run("t1", RunRequest.say("I'm Cy."), RECORD)).run_id
    await held.cancel_thread_runs("t1", strategy)
    model.release()
    async for _ in held.run("t1", RunRequest.say("What's my name?"), record=RECORD):
        pass
    texts = [m.content for m in (await held.state("t1")).values["messages"]]
    if strategy == "interrupt":
        # the running run's input was kept (unanswered), the pending one never ran
        assert texts == [
            "Hi, I'm Ann.",
            "Hello Ann! How can I help?",
            "I'm Bob.",
            "What's my name?",
            "Your name is Bob!",
        ]
        statuses = {(await held.get_run("t1", r)).status for r in (running, pending)}
        assert statuses == {RunStatus.INTERRUPTED}
    else:
        assert texts == ["Hi, I'm Ann.", "Hello Ann! How can I help?", "What's my name?", "Your name is Ann!"]
        for run_id in (running, pending):
            with pytest.raises(RunNotFound):
                await held.get_run("t1", run_id)
    assert (await held.threads.get("t1")).status is ThreadStatus.IDLE


async def test_a_cancelled_foreground_run_raises_run_cancelled(held: SupportDesk, model: HeldModel) -> None:
    await _first_turn(held, model)
    request = RunRequest.say("I'm Bob.")

    async def drain() -> None:
        async for _ in held.run("t1", request, record=RECORD):
            pass

    task = asyncio.create_task(drain())
    await asyncio.wait_for(model.started(), 10)
    await held.cancel_run("t1", request.run_id, "rollback")
    with pytest.raises(RunCancelled):
        await task
    assert [m.content for m in (await held.state("t1")).values["messages"]][
        -1
    ] == "Hello Ann! How can I help?"


def test_stream_ids_name_the_run_and_the_event() -> None:
    run_id = "01a22473-6444-7613-aa2e-1bba173e1d86"
    assert stream_id(run_id, 7) == f"{int('01a224736444', 16)}-7"
    assert after_seq(stream_id(run_id, 7)) == 7
    assert after_seq("0") == 0 and after_seq(None) is None
    with pytest.raises(InvalidArgument):
        after_seq("not-an-id")


async def test_join_stream_replays_kept_events_then_tails(held: SupportDesk, model: HeldModel) -> None:
    held.events.encoder = _Encoder
    await _first_turn(held, model)
    record = RunRecord(RECORD.assistant_id, {"stream_mode": ["values"], "resumable": True})
    run = await held.start_run("t1", RunRequest.say("I'm Bob."), record)
    await asyncio.wait_for(model.started(), 10)
    _, events = await held.join_stream("t1", run.run_id, after=0)
    model.release()
    seen = [e async for e in events]
    assert [e.seq for e in seen] == list(range(1, len(seen) + 1)) and seen[0].event == "start"
    assert [e.event for e in seen[1:]] == ["values", "values"]
    _, replay = await held.join_stream("t1", run.run_id, after=1)
    assert [e async for e in replay] == seen[1:]
    _, finished = await held.join_stream("t1", run.run_id)
    assert [e async for e in finished] == []  # an ended run, no Last-Event-ID: nothing
    await held.threads.delete("t1")
    assert await held.events.log.after(run.run_id, 0) == []  # kept events go with the thread


class _Encoder:
    def __init__(self, run_id: str, kwargs: object) -> None:
        self.run_id = run_id

    def start(self) -> list[tuple[str, bytes]]:
        return [("start", self.run_id.encode())]

    def chunk(self, chunk) -> list[tuple[str, bytes]]:
        return [(chunk.mode, str(len(chunk.data.get("messages", []))).encode())]

    def error(self, exc: BaseException) -> list[tuple[str, bytes]]:
        return [("error", b"{}")]


@pytest.mark.slow
async def test_a_thousand_runs_created_at_once_complete_in_creation_order(database_url: str) -> None:
    """In the queue's order: when each may start (`not_before`, its creation), then its id (time-ordered)."""
    count = 200 if database_url.startswith("postgresql") else 1000  # a PostgreSQL turn costs more here
    async with open_desk(database_url=database_url) as desk:
        await desk.threads.create("u", "t1")
        started = time.monotonic()
        created = await asyncio.gather(
            *(desk.start_run("t1", RunRequest.say(f"n{i}"), RECORD) for i in range(count))
        )
        order = sorted(range(count), key=lambda i: (created[i].not_before, created[i].run_id))
        for run in created:
            assert (await desk.join_run("t1", run.run_id)).status is RunStatus.SUCCESS
        history = [m.content for m in await desk.history("t1") if m.role == "user"]
        assert history == [f"n{i}" for i in order]
        assert (await desk.threads.get("t1")).message_count == 2 * count
        print(f"{count} queued runs on one thread: {time.monotonic() - started:.1f}s")


async def test_a_cancelled_delayed_run_leaves_an_interrupted_thread_as_it_was(
    held: SupportDesk, model: HeldModel
) -> None:
    """A run cancelled while it waited `after_seconds` later finds its row no longer pending and
    touches nothing: the thread paused at a node stays `interrupted`."""
    model.release()
    await held.threads.create("u", "t1")
    async for _ in held.run("t1", RunRequest.say("Hi, I'm Dana.", interrupt_before=["agent"])):
        pass
    before = await held.threads.get("t1")
    assert before.status is ThreadStatus.INTERRUPTED
    run = await held.start_run("t1", RunRequest.say("later"), RECORD, delay=0.3)
    await held.cancel_run("t1", run.run_id, "interrupt")
    await asyncio.sleep(0.8)
    after = await held.threads.get("t1")
    assert (after.status, after.message_count) == (ThreadStatus.INTERRUPTED, 1)
    assert (await held.get_run("t1", run.run_id)).status is RunStatus.INTERRUPTED
    assert model.calls == 0


async def test_kept_events_are_bounded(held: SupportDesk, model: HeldModel, monkeypatch) -> None:
    """Past `MAX_KEPT_EVENTS` a run's events are streamed live but no longer kept."""
    monkeypatch.setattr("threaddesk.runs.events.MAX_KEPT_EVENTS", 2)
    held.events.encoder = _Encoder
    model.release()
    await held.threads.create("u", "t1")
    record = RunRecord(RECORD.assistant_id, {"stream_mode": ["values"], "resumable": True})
    request = RunRequest.say("Hi, I'm Ann.")
    async for _ in held.run("t1", request, record=record):
        pass
    kept = await held.events.log.after(request.run_id, 0)
    assert [e.seq for e in kept] == [1, 2]
