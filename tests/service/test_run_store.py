"""Runs kept as resources: their rows follow the run, leases expose dead servers, threads take them along."""

from __future__ import annotations

from datetime import timedelta

import pytest
from support.models import FlakyModel

from threaddesk import SupportDesk, open_desk
from threaddesk.errors import ModelUnavailable, RunInProgress, RunNotFound, ThreadNotFound
from threaddesk.runs import LEASE, Run, RunRecord, RunRequest, RunStatus

RECORD = RunRecord("assistant", {"input": "x"}, {"k": "v"})


async def run(desk: SupportDesk, thread_id: str, text: str, **options) -> str:
    request = RunRequest.say(text)
    async for _ in desk.run(thread_id, request, record=RECORD, **options):
        pass
    return request.run_id


async def test_a_run_is_kept_with_its_request_and_status(desk: SupportDesk) -> None:
    run_id = await run(desk, "t1", "Hi, I'm Alice.", user_id="u", create=True)
    stored = await desk.get_run("t1", run_id, user_id="u")
    assert (stored.status, stored.assistant_id, stored.kwargs, stored.metadata) == (
        RunStatus.SUCCESS,
        "assistant",
        {"input": "x"},
        {"k": "v"},
    )
    assert stored.lease_until is None and (await desk.join_run("t1", run_id)).status is RunStatus.SUCCESS
    second = await run(desk, "t1", "Bye")
    assert [r.run_id for r in await desk.list_runs("t1")] == [second, run_id]
    assert [r.run_id for r in await desk.list_runs("t1", limit=1, offset=1)] == [run_id]


async def test_runs_are_the_owners_only(desk: SupportDesk) -> None:
    run_id = await run(desk, "t1", "Hi", user_id="u", create=True)
    with pytest.raises(ThreadNotFound):
        await desk.get_run("t1", run_id, user_id="someone-else")
    with pytest.raises(ThreadNotFound):
        await desk.list_runs("t1", user_id="someone-else")
    with pytest.raises(RunNotFound):
        await desk.get_run("t1", "01a2240e-0000-7000-8000-000000000000", user_id="u")


async def test_a_failed_run_is_error_and_a_sent_turn_keeps_no_run(database_url: str) -> None:
    model = FlakyModel()
    async with open_desk(database_url=database_url, model=model) as desk:
        await desk.send("t1", "Hi", user_id="u", create=True)
        assert await desk.list_runs("t1") == []
        model.fail = True
        request = RunRequest.say("again")
        with pytest.raises(ModelUnavailable):
            async for _ in desk.run("t1", request, record=RECORD):
                pass
        failed = await desk.get_run("t1", request.run_id)
        assert failed.status is RunStatus.ERROR and "provider timeout" in (failed.error or "")


async def test_an_abandoned_run_is_interrupted(desk: SupportDesk) -> None:
    await desk.threads.create("u", "t1")
    request = RunRequest.say("Hi", stream_mode=("messages",))
    events = desk.run("t1", request, record=RECORD)
    await anext(events)
    await events.aclose()
    assert (await desk.get_run("t1", request.run_id)).status is RunStatus.INTERRUPTED


async def test_a_run_left_running_by_a_dead_server_reads_as_error(desk: SupportDesk, clock) -> None:
    await desk.threads.create("u", "t1")
    now = clock()
    assert desk.runs is not None
    await desk.runs.insert(
        Run("01a2240e-0000-7000-8000-000000000001", "t1", "a", RunStatus.RUNNING, now, now, now + LEASE)
    )
    left = await desk.get_run("t1", "01a2240e-0000-7000-8000-000000000001")
    assert left.status is RunStatus.RUNNING
    with pytest.raises(RunInProgress):
        await desk.delete_run("t1", left.run_id)
    clock.advance(LEASE + timedelta(seconds=1))
    dead = await desk.join_run("t1", left.run_id)
    assert dead.status is RunStatus.ERROR and "stopped" in (dead.error or "")
    await desk.delete_run("t1", left.run_id)
    assert await desk.list_runs("t1") == []


async def test_deleting_a_thread_deletes_its_runs(desk: SupportDesk, clock) -> None:
    await run(desk, "t1", "Hi", user_id="u", create=True)
    await run(desk, "t2", "Hi", user_id="u", create=True)
    await desk.threads.delete("t1")
    assert desk.runs is not None
    assert await desk.runs.list("t1", limit=10, offset=0) == []
    assert len(await desk.list_runs("t2")) == 1
    clock.advance(timedelta(days=2))
    await desk.threads.cleanup("1d")
    assert await desk.runs.list("t2", limit=10, offset=0) == []


async def test_background_runs_on_one_thread_complete_in_order(desk: SupportDesk) -> None:
    await desk.threads.create("u", "t1")
    started = []
    for i in range(20):
        run_ = await desk.start_run("t1", RunRequest.say(f"message {i}"), RECORD, user_id="u")
        assert run_.status is RunStatus.PENDING
        started.append(run_.run_id)
    for run_id in started:
        assert (await desk.join_run("t1", run_id)).status is RunStatus.SUCCESS
    history = await desk.history("t1")
    assert [m.content for m in history if m.role == "user"] == [f"message {i}" for i in range(20)]
    assert (await desk.threads.get("t1")).message_count == 40


async def test_a_background_run_refused_when_it_starts_reads_error(desk: SupportDesk) -> None:
    await desk.send("t1", "Hi", user_id="u", create=True)
    missing = {"checkpoint_id": "1f1eb6d8-0000-6000-8000-000000000000"}
    run_ = await desk.start_run("t1", RunRequest.say("x", checkpoint=missing), RECORD)
    ended = await desk.join_run("t1", run_.run_id)
    assert ended.status is RunStatus.ERROR and "checkpoint" in (ended.error or "")
    assert (await desk.threads.get("t1")).message_count == 2
    with pytest.raises(ThreadNotFound):
        await desk.start_run("t1", RunRequest.say("x"), RECORD, user_id="someone-else")


async def test_background_runs_left_at_shutdown_stay_queued_and_run_after_restart(database_url: str) -> None:
    async with open_desk(database_url=database_url) as desk:
        await desk.threads.create("u", "t1")
        run_ = await desk.start_run("t1", RunRequest.say("Hi"), RECORD, delay=1)
    async with open_desk(database_url=database_url, run_workers=0) as desk:
        assert (await desk.get_run("t1", run_.run_id)).status is RunStatus.PENDING
        assert (await desk.threads.get("t1")).message_count == 0
    async with open_desk(database_url=database_url) as desk:
        assert (await desk.join_run("t1", run_.run_id)).status is RunStatus.SUCCESS
        assert (await desk.threads.get("t1")).message_count == 2
