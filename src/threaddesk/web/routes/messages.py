"""A thread's messages: send one (JSON reply, or SSE tokens then the reply) and read the history."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Header, Query

from threaddesk.errors import ThreadDeskError
from threaddesk.service import Reply, SupportDesk, Token
from threaddesk.web.deps import CurrentUser, DeskDep, ThreadIdPath, owner_scope, read_scope
from threaddesk.web.errors import error_body, status_of
from threaddesk.web.presenters import present_thread
from threaddesk.web.schemas import (
    ERROR_RESPONSES,
    MessageCreate,
    MessageList,
    MessagePublic,
    ReplyPublic,
)
from threaddesk.web.sse import EventStreamResponse, StartedStream, frame, render

router = APIRouter(prefix="/threads/{thread_id}/messages", tags=["messages"], responses=ERROR_RESPONSES)

_SSE_DOC: dict[int | str, dict[str, Any]] = {
    200: {
        "description": "The reply as JSON; with `Accept: text/event-stream`, SSE `token` events "
        '(`{"text": ...}`) then one `reply` event (the JSON reply), or an `error` event.',
        "content": {"text/event-stream": {}},
    },
    409: {"description": "multitask_strategy=reject and a turn is running on the thread"},
    413: {"description": "Message or body too large"},
    429: {"description": "The user's messages-per-minute budget is spent (see `Retry-After`)"},
}


def _reply(desk: SupportDesk, reply: Reply) -> ReplyPublic:
    return ReplyPublic(thread=present_thread(desk, reply.thread), message=MessagePublic.of(reply.message))


def _sse_frames(desk: SupportDesk):
    def frames(event: Token | Reply | Exception) -> list[bytes]:
        if isinstance(event, Token):
            return [frame("token", {"text": event.text})]
        if isinstance(event, Reply):
            return [frame("reply", _reply(desk, event).model_dump(mode="json"))]
        if isinstance(event, ThreadDeskError):
            return [frame("error", {**error_body(event.code, str(event)), "status": status_of(event)})]
        return [frame("error", {**error_body("internal_error", "the turn failed"), "status": 500})]

    return frames


@router.post("", response_model=ReplyPublic, responses=_SSE_DOC)
async def send_message(
    thread_id: ThreadIdPath,
    body: MessageCreate,
    user: CurrentUser,
    desk: DeskDep,
    accept: Annotated[str, Header()] = "application/json",
) -> ReplyPublic | EventStreamResponse:
    """One turn: the customer's message in, the agent's reply out."""
    user_id, wait = owner_scope(user), body.multitask_strategy == "enqueue"
    if "text/event-stream" in accept:
        source = await StartedStream.start(desk.stream(thread_id, body.content, user_id=user_id, wait=wait))
        return EventStreamResponse(source, render(source, _sse_frames(desk)))
    return _reply(desk, await desk.send(thread_id, body.content, user_id=user_id, wait=wait))


@router.get("", response_model=MessageList)
async def list_messages(
    thread_id: ThreadIdPath,
    user: CurrentUser,
    desk: DeskDep,
    limit: Annotated[int | None, Query(ge=0, description="Only the last `limit` messages")] = None,
) -> MessageList:
    """The stored conversation, oldest first."""
    history = await desk.history(thread_id, user_id=read_scope(user), limit=limit)
    return MessageList(messages=[MessagePublic.of(message) for message in history])
