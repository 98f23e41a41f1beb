"""LangGraph's run and thread-state routes, for `langgraph-sdk` clients (threads.search/get_state, runs.*).

Thin: `threaddesk.web.compat` translates, `SupportDesk` does the work.
"""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter

from threaddesk.web import compat
from threaddesk.web.deps import CurrentUser, DeskDep, ThreadIdPath, owner_scope
from threaddesk.web.presenters import present_thread
from threaddesk.web.schemas import ERROR_RESPONSES, ThreadPublic
from threaddesk.web.sse import EventStreamResponse, StartedStream

router = APIRouter(prefix="/threads", tags=["langgraph"], responses=ERROR_RESPONSES)


@router.post("/search", response_model=list[ThreadPublic])
async def search_threads(body: compat.ThreadSearch, user: CurrentUser, desk: DeskDep) -> list[ThreadPublic]:
    """Threads whose metadata contains `metadata`, by status, with limit and offset."""
    threads = await compat.search_threads(desk, body, owner_scope(user))
    return [present_thread(desk, thread) for thread in threads]


@router.get("/{thread_id}/state")
async def get_thread_state(thread_id: ThreadIdPath, user: CurrentUser, desk: DeskDep) -> dict[str, Any]:
    """LangGraph's ThreadState: values, checkpoint, metadata."""
    thread = await desk.threads.get(thread_id, user_id=owner_scope(user))
    return await compat.thread_state(desk, thread.thread_id)


@router.post("/{thread_id}/runs/wait")
async def run_wait(
    thread_id: ThreadIdPath, body: compat.RunCreate, user: CurrentUser, desk: DeskDep
) -> dict[str, Any]:
    """Run one turn and answer the thread's final state values."""
    options = compat.run_options(body, user, owner_scope(user))
    reply = await desk.send(thread_id, compat.run_text(body), **options)
    return await compat.final_values(desk, reply)


@router.post(
    "/{thread_id}/runs/stream",
    responses={200: {"description": "LangGraph run events", "content": {"text/event-stream": {}}}},
)
async def run_stream(
    thread_id: ThreadIdPath, body: compat.RunCreate, user: CurrentUser, desk: DeskDep
) -> EventStreamResponse:
    """Run one turn as SSE: `metadata`, then `values` and/or `messages` events (stream_mode)."""
    options = compat.run_options(body, user, owner_scope(user))
    modes = body.modes()
    text = compat.run_text(body)
    source = await StartedStream.start(desk.stream(thread_id, text, **options))
    return EventStreamResponse(source, compat.run_events(desk, thread_id, text, aiter(source), modes))
