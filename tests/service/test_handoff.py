"""Handing a conversation to a human agent, through the library (`SupportDesk`), on SQLite and PostgreSQL.

The customer asks for a person (or the bot fails twice) → the run pauses at LangGraph's
`interrupt()` with a `HumanInterrupt` → the thread is `interrupted` and in the agents' inbox →
an agent replies (`Command(resume=...)`), stored as theirs → hands back to the bot or closes.
"""

from __future__ import annotations

import asyncio
import os
import subprocess
import sys
from pathlib import Path

import pytest
from langgraph.types import Command

from threaddesk import SupportDesk
from threaddesk.agent.handoff import STILL_WAITING_TEXT, WAITING_TEXT
from threaddesk.errors import InvalidArgument, NotAllowed, NotInterrupted, ThreadNotFound
from threaddesk.runs import RunRequest, RunResult
from threaddesk.threads.models import ThreadStatus


async def _agents(desk: SupportDesk) -> None:
    await desk.users.add("alice")
    await desk.users.add("bob", role="agent")
    await desk.users.add("carl", role="agent")
    await desk.users.add("root", admin=True)


async def _handed_over(desk: SupportDesk, thread_id: str = "t1", owner: str = "alice") -> None:
    await desk.send(thread_id, "Hi, I'm Alice.", user_id=owner, create=True)
    reply = await desk.send(thread_id, "Can I talk to a human please?", user_id=owner)
    assert reply.text == WAITING_TEXT
    assert reply.thread.status is ThreadStatus.INTERRUPTED


async def test_asking_for_a_person_pauses_the_thread_with_a_human_interrupt(desk: SupportDesk) -> None:
    await _agents(desk)
    await _handed_over(desk)
    state = await desk.state("t1")
    assert state.next == ("human",)
    [pending] = state.interrupts
    [request] = pending.value  # LangGraph's HumanInterrupt, in a list, as agent-chat-ui expects
    assert set(request) == {"action_request", "config", "description"}
    assert request["action_request"] == {
        "action": "handoff_to_human",
        "args": {
            "reason": "the customer asked for a person",
            "customer_message": "Can I talk to a human please?",
        },
    }
    assert request["config"] == {
        "allow_ignore": True,
        "allow_respond": True,
        "allow_edit": False,
        "allow_accept": True,
    }
    assert (await desk.threads.get("t1")).status is ThreadStatus.INTERRUPTED
    history = await desk.history("t1")
    assert [m.role for m in history] == ["user", "assistant", "user", "assistant", "tool", "assistant"]
    assert history[-1].content == WAITING_TEXT and history[-1].author is None


async def test_an_agent_replies_the_customer_writes_again_and_the_agent_hands_back(desk: SupportDesk) -> None:
    await _agents(desk)
    await _handed_over(desk)
    answered = await desk.reply("t1", "Hello Alice, Bob from support here.", agent="bob")
    assert answered.message.author == "bob" and answered.message.role == "assistant"
    assert answered.thread.status is ThreadStatus.IDLE
    stored = (await desk.state("t1")).values["messages"][-1]
    assert stored.name == "bob" and stored.additional_kwargs["threaddesk"] == {
        "from": "human_agent",
        "agent": "bob",
    }
    assert [m.to_dict().get("author") for m in await desk.history("t1")][-1] == "bob"

    # The people keep the conversation: the next message waits for them, not for the bot.
    again = await desk.send("t1", "What's my name?", user_id="alice")
    assert again.text == STILL_WAITING_TEXT and again.thread.status is ThreadStatus.INTERRUPTED
    assert [t.thread_id for t in await desk.inbox()] == ["t1"]

    back = await desk.reply("t1", None, agent="carl", then="bot")
    assert (
        back.text.startswith("carl handed this conversation back") and back.thread.status is ThreadStatus.IDLE
    )
    assert await desk.inbox() == []
    bot = await desk.send("t1", "What's my name?", user_id="alice")
    assert bot.text == "Your name is Alice!" and bot.message.author is None


async def test_reply_and_close_in_one_and_the_bot_answers_what_comes_next(desk: SupportDesk) -> None:
    await _agents(desk)
    await _handed_over(desk)
    closed = await desk.reply("t1", "Refund done. Bye!", agent="root", then="close")
    assert closed.text == "root closed this conversation. Write again any time: the assistant will answer."
    said = await desk.history("t1")
    assert [(m.author, m.content) for m in said[-2:]][0] == ("root", "Refund done. Bye!")
    assert (await desk.send("t1", "Thanks!", user_id="alice")).text.startswith("You're welcome")


async def test_the_second_failed_answer_hands_over(desk: SupportDesk) -> None:
    """A failed answer is one the customer says did not help; the second time, a person takes over."""
    await _agents(desk)
    for text in ("blorp zzk", "quux frob", "zork"):  # not understood, but nobody complained: the bot goes on
        assert (await desk.send("t2", text, user_id="alice", create=True)).thread.status is ThreadStatus.IDLE
    first = await desk.send("t2", "That didn't help.", user_id="alice")
    assert first.text != WAITING_TEXT and first.thread.status is ThreadStatus.IDLE
    second = await desk.send("t2", "You don't understand me.", user_id="alice")
    assert second.text == WAITING_TEXT and second.thread.status is ThreadStatus.INTERRUPTED
    reason = (await desk.state("t2")).interrupts[0].value[0]["action_request"]["args"]["reason"]
    assert reason == "the customer said twice that the assistant's answer did not help"
    # Handed back, the count starts again: one more complaint is only a complaint.
    await desk.reply("t2", None, agent="bob", then="bot")
    third = await desk.send("t2", "That is not what I asked.", user_id="alice")
    assert third.text != WAITING_TEXT and third.thread.status is ThreadStatus.IDLE


async def test_the_inbox_is_every_customers_interrupted_threads_oldest_first(
    desk: SupportDesk, clock
) -> None:
    from datetime import timedelta

    await _agents(desk)
    await desk.users.add("dora")
    await _handed_over(desk, "late", "alice")
    clock.advance(timedelta(minutes=1))
    await desk.send("calm", "Hello", user_id="dora", create=True)
    await _handed_over(desk, "later", "dora")
    assert [t.thread_id for t in await desk.inbox()] == ["late", "later"]
    assert [t.thread_id for t in await desk.inbox(limit=1, offset=1)] == ["later"]
    await desk.reply("late", "On it.", agent="bob")
    assert [t.thread_id for t in await desk.inbox()] == ["later"]


async def test_who_may_answer(desk: SupportDesk) -> None:
    await _agents(desk)
    await _handed_over(desk)
    with pytest.raises(NotAllowed):
        await desk.reply("t1", "I'm the team now", agent="alice")
    # The customer cannot resume their own handoff through LangGraph's Command either.
    forged = RunRequest(command=Command(resume=[{"type": "response", "args": "hi", "responder": "bob"}]))
    with pytest.raises(NotAllowed):
        async for _ in desk.run("t1", forged, user_id="alice"):
            pass
    with pytest.raises(InvalidArgument):
        await desk.reply("t1", None, agent="bob")  # no reply and staying: nothing to do
    with pytest.raises(InvalidArgument):
        await desk.reply("t1", "x", agent="bob", then="later")
    with pytest.raises(ThreadNotFound):
        await desk.reply("nope", "hello", agent="bob")
    # Refusals changed nothing; the thread still waits.
    assert (await desk.threads.get("t1")).status is ThreadStatus.INTERRUPTED
    assert (await desk.history("t1"))[-1].content == WAITING_TEXT


async def test_a_resume_names_its_responder_from_the_caller_not_the_payload(desk: SupportDesk) -> None:
    await _agents(desk)
    await _handed_over(desk)
    forged = RunRequest(command=Command(resume=[{"type": "response", "args": "Hi!", "responder": "carl"}]))
    items = [item async for item in desk.run("t1", forged, responder="bob")]
    assert isinstance(items[-1], RunResult)
    assert (await desk.history("t1"))[-1].author == "bob"
    with pytest.raises(InvalidArgument):  # not a HumanResponse: refused before anything runs
        await _handed_over_again_and_resume(desk, {"type": "edit", "args": {"action": "x", "args": {}}})


async def _handed_over_again_and_resume(desk: SupportDesk, resume: object) -> None:
    await desk.send("t1", "Are you still there?", user_id="alice")
    async for _ in desk.run("t1", RunRequest(command=Command(resume=resume)), responder="bob"):
        pass


async def test_two_agents_answering_at_once_exactly_one_wins(desk: SupportDesk) -> None:
    await _agents(desk)
    await _handed_over(desk)
    results = await asyncio.gather(
        desk.reply("t1", "Bob here.", agent="bob"),
        desk.reply("t1", "Carl here.", agent="carl"),
        return_exceptions=True,
    )
    wins = [r for r in results if not isinstance(r, BaseException)]
    losses = [r for r in results if isinstance(r, BaseException)]
    assert len(wins) == 1 and len(losses) == 1 and isinstance(losses[0], NotInterrupted), results
    authors = [m.author for m in await desk.history("t1") if m.author]
    assert authors == [wins[0].message.author]


async def test_a_reply_for_an_interrupt_already_answered_is_a_conflict(desk: SupportDesk) -> None:
    await _agents(desk)
    await _handed_over(desk)
    first = (await desk.state("t1")).interrupts[0].id
    await desk.reply("t1", "Bob here.", agent="bob", interrupt_id=first)
    await desk.send("t1", "Thanks, and another thing", user_id="alice")  # waiting again: a new interrupt
    with pytest.raises(NotInterrupted):
        await desk.reply("t1", "Stale answer", agent="carl", interrupt_id=first)
    second = (await desk.state("t1")).interrupts[0].id
    assert (
        await desk.reply("t1", "Fresh answer", agent="carl", interrupt_id=second)
    ).message.author == "carl"


REPLY_SCRIPT = """
import sys
from threaddesk import ThreadDesk
from threaddesk.agent import OfflineChatModel
from threaddesk.errors import NotInterrupted
url, agent, ready = sys.argv[1:4]
with ThreadDesk.open(database_url=url, model=OfflineChatModel()) as desk:
    open(ready, "w").close()
    try:
        desk.reply("t1", f"{agent} here.", agent=agent)
    except NotInterrupted:
        print("409")
        sys.exit(5)
print("won")
"""


async def test_two_agents_in_two_processes_exactly_one_wins(
    desk: SupportDesk, database_url, tmp_path
) -> None:
    """Both processes wait on the thread's turn lock (held here), then race: one answer, one 409."""
    await _agents(desk)
    await _handed_over(desk)
    script = tmp_path / "reply.py"
    script.write_text(REPLY_SCRIPT)
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(sys.path)}
    async with desk.threads.turn("t1"):  # hold the thread: both replies queue behind it
        procs, flags = [], []
        for agent in ("bob", "carl"):
            ready = tmp_path / f"{agent}.ready"
            flags.append(ready)
            procs.append(
                subprocess.Popen(
                    [sys.executable, str(script), database_url, agent, str(ready)],
                    env=env,
                    stdout=subprocess.PIPE,
                    stderr=subprocess.PIPE,
                    text=True,
                )
            )
        for _ in range(600):
            if all(Path(f).exists() for f in flags):
                break
            await asyncio.sleep(0.1)
        await asyncio.sleep(1.0)  # both are at the lock now (or just about to be)
    outcomes = []
    for proc in procs:
        out, err = await asyncio.to_thread(proc.communicate, timeout=120)
        outcomes.append((proc.returncode, out.strip()))
        assert proc.returncode in (0, 5), err
    assert sorted(outcomes) == [(0, "won"), (5, "409")], outcomes
    assert len([m for m in await desk.history("t1") if m.author]) == 1
    assert (await desk.threads.get("t1")).status is ThreadStatus.IDLE
