"""Joining a background run costs few reads: a run executed by this process's worker is not polled
for (its end here is told), and every run this process executes is watched for cancel requests
from other processes in one statement per poll, not one per run (sqlite and postgres)."""

from __future__ import annotations

import asyncio
from collections.abc import Sequence

import pytest
from support.models import HeldModel

from threaddesk import open_desk
from threaddesk.runs import RunRecord, RunRequest, RunStatus
from threaddesk.runs.cancel import CANCEL_POLL

RECORD = RunRecord("fe096781-5601-53d2-b2f6-0d3403f7e9ca", {"stream_mode": ["values"]})


@pytest.fixture
def model() -> HeldModel:
    return HeldModel()


async def test_a_joiner_stops_polling_once_this_process_claims_the_run(
    database_url: str, model: HeldModel
) -> None:
    async with open_desk(database_url=database_url, model=model, run_workers=0) as desk:
        assert desk.runs is not None
        await desk.threads.create("u", "t1")
        run = await desk.start_run("t1", RunRequest.say("Hi, I'm Ann."), RECORD, user_id="u")
        reads: list[str] = []
        get, get_among = desk.runs.get, desk.runs.get_among

        async def counted(thread_id: str, run_id: str):  # type: ignore[no-untyped-def]
            reads.append(run_id)
            return await get(thread_id, run_id)

        async def counted_among(run_ids):  # type: ignore[no-untyped-def]
            reads.extend(run_ids)
            return await get_among(run_ids)

        desk.runs.get = counted  # type: ignore[method-assign]
        desk.runs.get_among = counted_among  # type: ignore[method-assign]
        joiner = asyncio.create_task(desk.join_run("t1", run.run_id, user_id="u"))
        await asyncio.sleep(0.2)
        assert reads, "a pending run nobody here executes is polled for"
        desk.serve_runs(2, poll=30)  # no poll of its own in the test's time: the wake-up claims it
        await asyncio.wait_for(model.started(), 10)
        await asyncio.sleep(0.1)  # the claim's notice: the joiner read the row once, saw it runs here
        before = len(reads)
        await asyncio.sleep(1.0)  # polling would have read it 2 to 6 times by now
        assert len(reads) == before
        assert not joiner.done()
        model.release()
        ended = await asyncio.wait_for(joiner, 5)  # told at once when it ended
        assert ended.status is RunStatus.SUCCESS and len(reads) == before + 1


async def test_runs_executed_elsewhere_are_joined_by_one_shared_poll(database_url: str) -> None:
    async with (
        open_desk(database_url=database_url, run_workers=0) as maker,
        open_desk(database_url=database_url, run_workers=1) as runner,
    ):
        assert maker.runs is not None
        polls: list[tuple[str, ...]] = []
        get_among = maker.runs.get_among

        async def counted(run_ids):  # type: ignore[no-untyped-def]
            polls.append(tuple(run_ids))
            return await get_among(run_ids)

        maker.runs.get_among = counted  # type: ignore[method-assign]
        runs = []
        for i in range(3):
            await maker.threads.create("u", f"t{i}")
            runs.append(await maker.start_run(f"t{i}", RunRequest.say(f"m{i}"), RECORD, user_id="u"))
        joins = [maker.join_run(f"t{i}", r.run_id, user_id="u") for i, r in enumerate(runs)]
        ended = await asyncio.wait_for(asyncio.gather(*joins), 10)
        assert [r.status for r in ended] == [RunStatus.SUCCESS] * 3
        assert runner.worker is not None and {r.worker for r in ended} == {runner.worker.name}
        assert len(polls[0]) == 3  # the three joiners' runs in one statement
        await asyncio.sleep(0.2)
        assert maker._endings._poller is None  # nobody waits: nothing polled


async def test_one_statement_watches_every_running_run_for_cancel_requests(
    database_url: str, model: HeldModel
) -> None:
    async with (
        open_desk(database_url=database_url, model=model) as here,
        open_desk(database_url=database_url) as there,
    ):
        cancels = here.control.cancels
        assert cancels is not None
        asked: list[tuple[str, ...]] = []
        among = cancels.requested_among

        async def counted(run_ids: Sequence[str]) -> dict[str, str]:
            asked.append(tuple(sorted(run_ids)))
            return await among(run_ids)

        async def refused(run_id: str) -> str | None:
            raise AssertionError("a run's own poll: one statement per run")

        cancels.requested_among = counted  # type: ignore[method-assign]
        cancels.requested = refused  # type: ignore[method-assign]
        ids = []
        for thread_id in ("t1", "t2"):
            await here.threads.create("u", thread_id)
            ids.append((await here.start_run(thread_id, RunRequest.say("hold"), RECORD, user_id="u")).run_id)
            await asyncio.wait_for(model.started(), 10)
        await asyncio.sleep(CANCEL_POLL * 3)
        both = tuple(sorted(ids))
        assert both in asked and all(set(a) <= set(ids) for a in asked)
        assert len([a for a in asked if a == both]) <= 4  # one statement per poll, not per run
        for thread_id, run_id in zip(("t1", "t2"), ids, strict=True):
            ended = await asyncio.wait_for(there.cancel_run(thread_id, run_id, "interrupt", wait=True), 5)
            assert ended is not None and ended.status is RunStatus.INTERRUPTED
        await asyncio.sleep(CANCEL_POLL * 2)
        assert here.control._watcher is None  # nothing running here: nothing polled


async def test_a_run_that_ends_here_hands_its_joiners_the_values_it_ended_with(database_url: str) -> None:
    async with (
        open_desk(database_url=database_url) as here,
        open_desk(database_url=database_url, run_workers=0) as elsewhere,
    ):
        await here.threads.create("u", "t1")
        run = await here.start_run("t1", RunRequest.say("Hi, I'm Ann."), RECORD, user_id="u")
        ended, values = await asyncio.wait_for(here.join_result("t1", run.run_id, user_id="u"), 10)
        assert ended.status is RunStatus.SUCCESS and values is not None
        state = (await here.state("t1")).values
        assert [m.content for m in values["messages"]] == [m.content for m in state["messages"]]
        assert "Ann" in values["messages"][-1].content
        # joined from a process that did not execute it: no values handed over (read the state)
        again = await elsewhere.start_run("t1", RunRequest.say("And again."), RECORD, user_id="u")
        ended, values = await asyncio.wait_for(elsewhere.join_result("t1", again.run_id, user_id="u"), 10)
        assert ended.status is RunStatus.SUCCESS and values is None
        # joined after it ended: nothing to hand over either
        assert (await here.join_result("t1", run.run_id, user_id="u"))[1] is None
