"""A human agent answers a thread handed to a person: threaddesk's own route for `Command(resume=...)`.

The same as a LangGraph run with `command.resume` (which agent-chat-ui and Agent Inbox send), in
one call: the reply, then whether the conversation stays with the team, goes back to the bot, or
is closed. Agents and admins only (403 for a customer, whose thread it may be: nobody answers as the
team but the team); 409 when the thread no longer waits (another agent answered first).
"""

from __future__ import annotations

from typing import Literal

from fastapi import APIRouter
from pydantic import Field

from threaddesk.web.deps import CurrentUser, DeskDep, ThreadIdPath
from threaddesk.web.presenters import present_thread
from threaddesk.web.schemas import ERROR_RESPONSES, ErrorBody, MessagePublic, ReplyPublic, _Strict

router = APIRouter(prefix="/threads/{thread_id}", tags=["handoff"], responses=ERROR_RESPONSES)


class HandoffReply(_Strict):
    content: str | None = Field(
        default=None, description="The reply, stored as yours; null to only hand back or close."
    )
    then: Literal["stay", "bot", "close"] = Field(
        default="stay",
        description="stay: the conversation stays with the team (the customer's next message waits for"
        " you); bot: hand it back to the assistant; close: end it.",
    )
    interrupt_id: str | None = Field(
        default=None,
        max_length=200,
        description="The interrupt you answer (from the thread's `interrupts`):"
        " 409 if it was answered meanwhile.",
    )


@router.post(
    "/reply",
    response_model=ReplyPublic,
    responses={
        403: {"model": ErrorBody, "description": "Not an agent or admin"},
        409: {"model": ErrorBody, "description": "The thread no longer waits for a human agent"},
    },
)
async def reply(thread_id: ThreadIdPath, body: HandoffReply, user: CurrentUser, desk: DeskDep) -> ReplyPublic:
    """Answer a handed-over thread as yourself (the human agent); the thread and the last message written."""
    answered = await desk.reply(
        thread_id, body.content, agent=user, then=body.then, interrupt_id=body.interrupt_id
    )
    return ReplyPublic(
        thread=present_thread(desk, answered.thread), message=MessagePublic.of(answered.message)
    )
