"""The run queue: runs made by one desk run in another, leases of dead workers lead to a retry or a
visible `error`, and a run never runs twice (sqlite and postgres, through the `database_url` fixture)."""

from __future__ import annotations

import asyncio
from datetime import timedelta

import pytest
from langchain_core.messages import HumanMessage
from pydantic import PrivateAttr

from threaddesk import open_desk
from threaddesk.agent import OfflineChatModel
from threaddesk.runs import LEASE, RunRecord, RunRequest, RunStatus
from threaddesk.runs.models import MAX_ATTEMPTS
from threaddesk.runs.queue import QueuedRun

RECORD = RunRecord("assistant", {"input": "x"}, {"k": "v"})


async def test_a_run_made_by_a_desk_without_a_worker_is_run_by_another(database_url: str) -> None:
    async with open_desk(database_url=database_url, run_workers=0) as maker:
        await maker.threads.create("u", "t1")
        made = [await maker.start_run("t1", RunRequest.say(f"m{i}"), RECORD, user_id="u") for i in range(5)]
        await asyncio.sleep(0.3)
        assert {r.status for r in await maker.list_runs("t1")} == {RunStatus.PENDING}  # nobody runs them
        async with open_desk(database_url=database_url) as runner:
            assert runner.worker is not None
            for run in made:
                ended = await maker.join_run("t1", run.run_id)
                assert ended.status is RunStatus.SUCCESS and ended.worker == runner.worker.name
                assert ended.attempts == 1
        history = await maker.history("t1")
        assert [m.content for m in history if m.role == "user"] == [f"m{i}" for i in range(5)]


async def test_a_delayed_run_waits_in_the_queue_until_its_time(database_url: str, clock) -> None:
    async with open_desk(database_url=database_url, clock=clock) as desk:
        await desk.threads.create("u", "t1")
        run = await desk.start_run("t1", RunRequest.say("later"), RECORD, delay=60)
        assert run.not_before == clock() + timedelta(seconds=60)
        await asyncio.sleep(0.3)
        assert (await desk.get_run("t1", run.run_id)).status is RunStatus.PENDING
        clock.advance(timedelta(seconds=61))
        assert (await desk.join_run("t1", run.run_id)).status is RunStatus.SUCCESS


async def test_a_run_of_a_dead_worker_is_rolled_back_and_retried(database_url: str, clock) -> None:
    async with open_desk(database_url=database_url, clock=clock, run_workers=0) as desk:
        assert desk.runs is not None
        await desk.send("t1", "Hi, I'm Alice.", user_id="u", create=True)
        run = await desk.start_run("t1", RunRequest.say("retry me"), RECORD)
        claim = await desk.runs.claim("dead-worker", clock(), clock() + LEASE)
        assert claim is not None and claim.run.run_id == run.run_id and claim.run.attempts == 1
        assert QueuedRun.decode(claim.payload).request.run_id == run.run_id
        # the dead process had written half its turn (a checkpoint of this run) before it died
        half = {"configurable": {"thread_id": "t1"}, "metadata": {"run_id": run.run_id}}
        await desk.agent.aupdate_state(half, {"messages": [HumanMessage("half a turn")]}, as_node="agent")
        assert (await desk.get_run("t1", run.run_id)).status is RunStatus.RUNNING
        assert await desk.runs.claim("other", clock(), clock() + LEASE) is None  # leased: not claimable
        clock.advance(LEASE + timedelta(seconds=1))
        assert (await desk.get_run("t1", run.run_id)).status is RunStatus.PENDING  # will be retried
        desk.serve_runs(2, poll=0.05)
        ended = await desk.join_run("t1", run.run_id)
        assert ended.status is RunStatus.SUCCESS and ended.attempts == 2
        said = [m.content for m in await desk.history("t1") if m.role == "user"]
        assert said == ["Hi, I'm Alice.", "retry me"]
        assert (await desk.threads.get("t1")).message_count == 4


async def test_a_run_whose_dead_worker_had_stored_its_whole_turn_is_neither_rerun_nor_undone(
    database_url: str, clock
) -> None:
    """Killed after its turn was stored but before its row said so: kept as it is (with one checkpoint
    kept per thread, undoing it would have emptied the thread), the run reads `success`."""
    async with open_desk(database_url=database_url, clock=clock, run_workers=0) as desk:
        assert desk.runs is not None
        await desk.send("t1", "Hi, I'm Alice.", user_id="u", create=True)
        run = await desk.start_run("t1", RunRequest.say("retry me"), RECORD)
        claim = await desk.runs.claim("dead-worker", clock(), clock() + LEASE)
        assert claim is not None
        async for _ in desk.run("t1", QueuedRun.decode(claim.payload).request):  # the whole turn, stored
            pass
        clock.advance(LEASE + timedelta(seconds=1))
        desk.serve_runs(2, poll=0.05)
        ended = await desk.join_run("t1", run.run_id)
        assert ended.status is RunStatus.SUCCESS and ended.attempts == 2
        said = [m.content for m in await desk.history("t1") if m.role == "user"]
        assert said == ["Hi, I'm Alice.", "retry me"]
        assert (await desk.threads.get("t1")).message_count == 4


async def test_a_run_whose_servers_keep_dying_ends_in_error(database_url: str, clock) -> None:
    async with open_desk(database_url=database_url, clock=clock, run_workers=0) as desk:
        assert desk.runs is not None
        await desk.send("t1", "Hi", user_id="u", create=True)
        run = await desk.start_run("t1", RunRequest.say("doomed"), RECORD)
        after = await desk.start_run("t1", RunRequest.say("next"), RECORD)
        for attempt in range(1, MAX_ATTEMPTS + 1):
            claim = await desk.runs.claim(f"dead-{attempt}", clock(), clock() + LEASE)
            assert claim is not None and (claim.run.run_id, claim.run.attempts) == (run.run_id, attempt)
            clock.advance(LEASE + timedelta(seconds=1))
        half = {"configurable": {"thread_id": "t1"}, "metadata": {"run_id": run.run_id}}
        await desk.agent.aupdate_state(half, {"messages": [HumanMessage("half")]}, as_node="agent")
        assert (await desk.get_run("t1", run.run_id)).status is RunStatus.ERROR  # reads as what it will be
        desk.serve_runs(1, poll=0.05)
        failed = await desk.join_run("t1", run.run_id)
        assert failed.status is RunStatus.ERROR and f"{MAX_ATTEMPTS} times" in (failed.error or "")
        assert (await desk.join_run("t1", after.run_id)).status is RunStatus.SUCCESS  # the queue goes on
        assert [m.content for m in await desk.history("t1") if m.role == "user"] == ["Hi", "next"]


async def test_a_run_finished_by_a_slow_worker_is_not_run_again(database_url: str, clock) -> None:
    """A worker thought dead (lease over) that still finishes: the one that took the run over skips it."""
    async with open_desk(database_url=database_url, clock=clock, run_workers=0) as desk:
        assert desk.runs is not None
        await desk.threads.create("u", "t1")
        run = await desk.start_run("t1", RunRequest.say("once"), RECORD)
        assert await desk.runs.claim("slow", clock(), clock() + LEASE) is not None
        clock.advance(LEASE + timedelta(seconds=1))
        assert await desk.runs.claim("taker", clock(), clock() + LEASE) is not None
        assert not await desk.runs.start(run.run_id, clock() + LEASE, clock(), worker="slow")
        await desk.runs.finish(run.run_id, RunStatus.SUCCESS, clock())
        assert not await desk.runs.start(run.run_id, clock() + LEASE, clock(), worker="taker")


async def test_a_start_just_after_its_claim_writes_nothing_and_any_other_reads_the_row(
    database_url: str, clock
) -> None:
    """The claim already made the row the worker's: its start within a third of the lease is answered
    without a second write; a later start, or another worker's, still checks the row."""
    async with open_desk(database_url=database_url, clock=clock, run_workers=0) as desk:
        runs = desk.runs
        assert runs is not None
        await desk.threads.create("u", "t1")
        first = await desk.start_run("t1", RunRequest.say("one"), RECORD)
        claim = await runs.claim("w", clock(), clock() + LEASE)
        assert claim is not None and claim.run.run_id == first.run_id
        clock.advance(timedelta(seconds=1))
        assert not await runs.start(first.run_id, clock() + LEASE, clock(), worker="other")
        assert await runs.start(first.run_id, clock() + LEASE, clock(), worker="w")  # from the row
        assert (await runs.get("t1", first.run_id)).updated_at == clock()  # type: ignore[union-attr]
        await runs.finish(first.run_id, RunStatus.SUCCESS, clock())
        second = await desk.start_run("t1", RunRequest.say("two"), RECORD)
        claimed_at = clock()
        assert await runs.claim("w", clock(), clock() + LEASE) is not None
        clock.advance(timedelta(seconds=1))
        assert await runs.start(second.run_id, clock() + LEASE, clock(), worker="w")
        row = await runs.get("t1", second.run_id)
        assert row is not None and row.status is RunStatus.RUNNING
        assert row.updated_at == claimed_at and row.worker == "w"  # no second write
        await runs.finish(second.run_id, RunStatus.SUCCESS, clock())
        third = await desk.start_run("t1", RunRequest.say("three"), RECORD)
        assert await runs.claim("w", clock(), clock() + LEASE) is not None
        clock.advance(LEASE / 3 + timedelta(seconds=1))  # past the first third: the row is checked
        assert await runs.start(third.run_id, clock() + LEASE, clock(), worker="w")
        assert (await runs.get("t1", third.run_id)).updated_at == clock()  # type: ignore[union-attr]


async def test_a_batch_claim_takes_one_run_per_thread_oldest_first(database_url: str, clock) -> None:
    """`claim_many` takes up to its limit in one statement, and never a thread's second run beside its
    first (nor a pending run beside its thread's retry): per-thread order holds within a batch."""
    async with open_desk(database_url=database_url, clock=clock, run_workers=0) as desk:
        runs = desk.runs
        assert runs is not None
        made: dict[str, list[str]] = {}
        for thread_id in ("t1", "t2", "t3"):
            await desk.threads.create("u", thread_id)
            made[thread_id] = []
            for n in range(2):
                made[thread_id].append(
                    (await desk.start_run(thread_id, RunRequest.say(f"m{n}"), RECORD)).run_id
                )
                clock.advance(timedelta(milliseconds=1))
        two = await runs.claim_many("w", clock(), clock() + LEASE, 2)
        assert [c.run.run_id for c in two] == [made["t1"][0], made["t2"][0]]  # the limit, oldest first
        rest = await runs.claim_many("w", clock(), clock() + LEASE, 10)
        assert [c.run.run_id for c in rest] == [made["t3"][0]]  # each thread's second waits for its first
        assert all(c.run.status is RunStatus.RUNNING and c.run.attempts == 1 for c in two + rest)
        assert await runs.claim_many("w", clock(), clock() + LEASE, 10) == []
        await runs.finish(made["t2"][0], RunStatus.SUCCESS, clock())
        clock.advance(LEASE + timedelta(seconds=1))  # t1's and t3's first runs: their worker died
        again = await runs.claim_many("w2", clock(), clock() + LEASE, 10)
        # t1, t3: the retries, not the pending runs behind them; t2: its second run, its first done
        assert sorted(c.run.run_id for c in again) == sorted([made["t1"][0], made["t2"][1], made["t3"][0]])
        assert {c.run.run_id: c.retried for c in again} == {
            made["t1"][0]: True,
            made["t2"][1]: False,
            made["t3"][0]: True,
        }


async def test_a_worker_claims_a_burst_of_runs_in_one_statement(database_url: str) -> None:
    """Runs queued while no worker ran are taken by one claim for all the free slots, and all run."""
    async with open_desk(database_url=database_url, run_workers=0) as maker:
        threads = [f"t{i}" for i in range(6)]
        made = {}
        for thread_id in threads:
            await maker.threads.create("u", thread_id)
            made[thread_id] = (await maker.start_run(thread_id, RunRequest.say("Hi"), RECORD)).run_id
        async with open_desk(database_url=database_url, run_workers=0) as runner:
            store = runner.runs
            assert store is not None
            taken: list[tuple[int, int]] = []
            claim_many = store.claim_many

            async def counted(worker, now, lease_until, limit):  # type: ignore[no-untyped-def]
                claims = await claim_many(worker, now, lease_until, limit)
                taken.append((limit, len(claims)))
                return claims

            store.claim_many = counted  # type: ignore[method-assign]
            runner.serve_runs(8)
            for thread_id, run_id in made.items():
                assert (await maker.join_run(thread_id, run_id)).status is RunStatus.SUCCESS
            assert taken[0] == (8, 6)  # every queued run in the first claim, asked for all 8 slots


class StuckModel(OfflineChatModel):
    """Never answers: a run stays mid-turn until it is cancelled."""

    _entered: asyncio.Event = PrivateAttr(default_factory=asyncio.Event)

    async def _agenerate(self, messages, stop=None, run_manager=None, **kwargs):  # type: ignore[override]
        self._entered.set()
        await asyncio.Event().wait()

    async def _astream(self, messages, stop=None, run_manager=None, **kwargs):  # type: ignore[override]
        self._entered.set()
        await asyncio.Event().wait()
        yield  # pragma: no cover


async def test_shutdown_puts_running_runs_back_in_the_queue(database_url: str) -> None:
    model = StuckModel()
    async with open_desk(database_url=database_url, model=model) as desk:
        await desk.threads.create("u", "t1")
        run = await desk.start_run("t1", RunRequest.say("Hi"), RECORD)
        await asyncio.wait_for(model._entered.wait(), 10)
        assert (await desk.get_run("t1", run.run_id)).status is RunStatus.RUNNING
    async with open_desk(database_url=database_url, run_workers=0) as desk:
        back = await desk.get_run("t1", run.run_id)
        assert (back.status, back.attempts, back.worker) == (RunStatus.PENDING, 0, None)
        assert (await desk.threads.get("t1")).message_count == 0
    async with open_desk(database_url=database_url) as desk:
        assert (await desk.join_run("t1", run.run_id)).status is RunStatus.SUCCESS


async def test_many_workers_run_each_run_once_in_thread_order(database_url: str) -> None:
    """Three desks, each its own storage connection and worker, consume one queue."""
    async with (
        open_desk(database_url=database_url, run_workers=3) as a,
        open_desk(database_url=database_url, run_workers=3) as b,
        open_desk(database_url=database_url, run_workers=3) as c,
    ):
        desks = [a, b, c]
        threads = [f"t{i}" for i in range(6)]
        for thread_id in threads:
            await a.threads.create("u", thread_id)
        made: dict[str, list[str]] = {t: [] for t in threads}
        for n in range(8):
            for i, thread_id in enumerate(threads):
                run = await desks[(n + i) % 3].start_run(
                    thread_id, RunRequest.say(f"{thread_id} #{n}"), RECORD
                )
                made[thread_id].append(run.run_id)
        workers = set()
        for thread_id, run_ids in made.items():
            for run_id in run_ids:
                ended = await a.join_run(thread_id, run_id)
                assert ended.status is RunStatus.SUCCESS and ended.attempts == 1
                workers.add(ended.worker)
            said = [m.content for m in await a.history(thread_id) if m.role == "user"]
            assert said == [f"{thread_id} #{n}" for n in range(8)]
            assert (await a.threads.get(thread_id)).message_count == 16
        assert len(workers) >= 2


@pytest.mark.slow
async def test_a_thousand_queued_runs_on_one_thread_all_complete_in_order(database_url: str) -> None:
    """1,000 on SQLite (200 on PostgreSQL, slower per turn on this machine), made at once."""
    count = 200 if database_url.startswith("postgresql") else 1000
    async with open_desk(database_url=database_url) as desk:
        await desk.threads.create("u", "t1")
        made = await asyncio.gather(
            *(desk.start_run("t1", RunRequest.say(f"m{n}"), RECORD) for n in range(count))
        )
        # made at once: the queue's order is their (not_before, run_id), which each run was answered with
        queued = sorted(range(count), key=lambda n: (made[n].not_before, made[n].run_id))
        last = made[queued[-1]].run_id  # the last to run (not always the last made)
        assert (await desk.join_run("t1", last)).status is RunStatus.SUCCESS
        runs = await desk.list_runs("t1", limit=100, status=RunStatus.SUCCESS)
        assert len(runs) == 100  # (a page of them)
        said = [m.content for m in await desk.history("t1") if m.role == "user"]
        assert said == [f"m{n}" for n in queued]
        assert (await desk.threads.get("t1")).message_count == 2 * count
        assert not await desk.list_runs("t1", status=RunStatus.PENDING)
