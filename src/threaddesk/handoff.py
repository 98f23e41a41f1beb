"""The desk's side of a handoff to a human: the inbox, answering, and who may answer.

The graph pauses a handed-over conversation with `interrupt()` (`threaddesk.agent.handoff`); here
a person of the support team finds it (`inbox`: every customer's interrupted threads, waiting
longest first) and resumes it (`answer`: LangGraph's `Command(resume=HumanResponse)`, run as any
turn, under the thread's turn lock).

Two agents answering the same thread at once: both runs queue on the turn lock (in-process, and
across processes: SQLite byte-range locks, PostgreSQL advisory locks); the first resumes the
interrupt; the second, once it holds the lock, finds the thread no longer waiting and gets
`NotInterrupted` (HTTP 409, exit code 6) before anything runs — checked inside the lock, so the
check and the resume are one step for everyone sharing the database.

Who answered is stamped here from the caller's identity, never read from the payload
(`responder`), and only an agent or admin may resume a handed-over thread: a customer resuming
their own thread's handoff interrupt is refused (`NotAllowed`), so nobody writes as the team.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import replace
from typing import Any

from langgraph.pregel import Pregel
from langgraph.types import Command

from threaddesk.agent.handoff import THEN, is_handoff_request, read_response
from threaddesk.errors import InvalidArgument, NotAllowed, NotInterrupted
from threaddesk.runs import RunRequest
from threaddesk.threads.manager import ThreadManager
from threaddesk.threads.models import Thread, ThreadQuery, ThreadStatus, check_limit
from threaddesk.users import User


def _stamp(value: Any, responder: str | None) -> Any:
    """A resume value with `responder` set in each HumanResponse-like dict (lists and id maps too)."""
    if isinstance(value, list):
        return [_stamp(each, responder) for each in value]
    if isinstance(value, Mapping) and "type" in value:
        return {**value, "responder": responder}
    return value


def stamp_responder(request: RunRequest, responder: str | None) -> RunRequest:
    """The request with its resume value attributed to `responder` (None: not a human agent), so
    the reply's author comes from who is calling, whatever the payload says."""
    command = request.command
    if command is None or command.resume is None:
        return request
    resume = command.resume
    if isinstance(resume, Mapping) and "type" not in resume:  # {interrupt_id: value, ...}
        resume = {key: _stamp(value, responder) for key, value in resume.items()}
    else:
        resume = _stamp(resume, responder)
    return replace(request, command=replace(command, resume=resume))


async def check_resume(agent: Pregel, thread_id: str, request: RunRequest, responder: str | None) -> None:
    """Before a run resumes the thread (its turn lock held): may it, and is there still something to answer?

    Raises:
        NotAllowed: the thread waits for a human agent and the caller is not one.
        NotInterrupted: a human agent resumes a thread that no longer waits (answered meanwhile),
            or names an interrupt that is no longer pending.
        InvalidArgument: the answer to a handoff is not a valid HumanResponse.
    """
    command = request.command
    if command is None or command.resume is None:
        return
    state = await agent.aget_state({"configurable": {"thread_id": thread_id}})
    pending = {i.id: i for i in state.interrupts}
    handoffs = {key for key, i in pending.items() if is_handoff_request(i.value)}
    if handoffs and responder is None:
        raise NotAllowed(
            "only a human agent (role agent or admin) may answer a conversation handed to a person"
        )
    if responder is not None and not state.next:
        raise NotInterrupted(thread_id, "it is not waiting for a human agent (already answered?)")
    resume = command.resume
    if isinstance(resume, Mapping) and "type" not in resume:  # answers by interrupt id
        gone = [key for key in resume if key not in pending]
        if gone:
            raise NotInterrupted(thread_id, f"interrupt {gone[0]!r} is no longer pending (already answered?)")
        answers = [value for key, value in resume.items() if key in handoffs]
    else:
        answers = [resume] if handoffs else []
    for answer in answers:
        try:
            read_response(answer)
        except ValueError as exc:
            raise InvalidArgument(f"command.resume: {exc}") from exc


async def waiting_threads(threads: ThreadManager, *, limit: int = 50, offset: int = 0) -> list[Thread]:
    """Every customer's interrupted threads, the one waiting longest first (the human agents' queue)."""
    check_limit(limit)
    query = ThreadQuery(
        status=ThreadStatus.INTERRUPTED, sort_by="updated_at", sort_order="asc", limit=limit, offset=offset
    )
    return await threads.search(query)


def may_answer(user: User) -> None:
    """`NotAllowed` unless `user` is a human agent (role agent, or admin)."""
    if not user.is_agent:
        raise NotAllowed(f"user {user.name!r} is a {user.role}: only an agent or admin may answer handoffs")


def answer_request(text: str | None, *, then: str = "stay", interrupt_id: str | None = None) -> RunRequest:
    """The run resuming a handoff: reply `text` (None: no reply) then `stay` with the people, hand
    back to the `bot`, or `close`; for the interrupt `interrupt_id` only, if given."""
    if then not in THEN:
        raise InvalidArgument(f"then must be one of {', '.join(THEN)}, got {then!r}")
    if text is None:
        if then == "stay":
            raise InvalidArgument("without a reply, hand the conversation back (bot) or close it")
        response: dict[str, Any] = {"type": "accept" if then == "bot" else "ignore", "args": None}
    else:
        if not isinstance(text, str) or not text.strip():
            raise InvalidArgument("the reply must be a non-empty string")
        response = {"type": "response", "args": text, "then": then}
    resume: Any = [response] if interrupt_id is None else {interrupt_id: [response]}
    return RunRequest(command=Command(resume=resume))
