"""LangGraph's run and thread-state routes, for `langgraph-sdk` clients and `RemoteGraph`.

Thin: `threaddesk.web.compat` reads LangGraph's request, `SupportDesk.run` does
the work, `langgraph_events`/`langgraph_state` write LangGraph's answer.
"""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import AsyncGenerator, AsyncIterator
from contextlib import aclosing
from typing import Annotated, Any

from fastapi import APIRouter, Query, Response

from threaddesk.runs import RunChunk, RunResult, RunStatus
from threaddesk.threads.models import MAX_PAGE_SIZE
from threaddesk.web import compat
from threaddesk.web.deps import CurrentUser, DeskDep, SettingsDep, ThreadIdPath, owner_scope
from threaddesk.web.langgraph_events import RunEvents, frame, json_bytes
from threaddesk.web.langgraph_state import thread_state
from threaddesk.web.schemas import ERROR_RESPONSES
from threaddesk.web.sse import EventStreamResponse, StartedStream

router = APIRouter(prefix="/threads", tags=["langgraph"], responses=ERROR_RESPONSES)
JSON_BODY: dict[int | str, dict[str, Any]] = {
    200: {"description": "JSON", "content": {"application/json": {}}}
}
_CONTINUING: set[asyncio.Task[RunResult]] = set()  # runs left by their client (on_disconnect=continue)


def _json(value: Any, headers: dict[str, str] | None = None) -> Response:
    """`value` written by LangGraph's serializer (messages as their `model_dump`)."""
    return Response(json_bytes(value), media_type="application/json", headers=headers)


@router.get("/{thread_id}/state", responses=JSON_BODY)
async def get_thread_state(
    thread_id: ThreadIdPath,
    user: CurrentUser,
    desk: DeskDep,
    subgraphs: Annotated[bool, Query(description="Accepted; the support agent has no subgraphs")] = False,
) -> Response:
    """LangGraph's ThreadState: values, next, tasks, checkpoint, metadata, interrupts."""
    return _json(thread_state(await desk.state(thread_id, user_id=owner_scope(user))))


@router.get("/{thread_id}/state/{checkpoint_id}", responses=JSON_BODY)
async def get_thread_state_at(
    thread_id: ThreadIdPath,
    checkpoint_id: uuid.UUID,
    user: CurrentUser,
    desk: DeskDep,
    subgraphs: Annotated[bool, Query(description="Accepted; the support agent has no subgraphs")] = False,
) -> Response:
    """The thread's state as of one of its checkpoints."""
    checkpoint = compat.checkpoint_id(checkpoint_id)
    return _json(
        thread_state(await desk.state(thread_id, user_id=owner_scope(user), checkpoint_id=checkpoint))
    )


@router.post("/{thread_id}/state/checkpoint", responses=JSON_BODY)
async def post_thread_state_at(
    thread_id: ThreadIdPath, body: compat.StateAtCheckpoint, user: CurrentUser, desk: DeskDep
) -> Response:
    """The thread's state as of `checkpoint` (what `RemoteGraph.get_state` asks with a checkpoint id)."""
    checkpoint = compat.checkpoint_id(body.checkpoint.get("checkpoint_id"), optional=True)
    return _json(
        thread_state(await desk.state(thread_id, user_id=owner_scope(user), checkpoint_id=checkpoint))
    )


@router.post("/{thread_id}/history", responses=JSON_BODY)
async def thread_history(
    thread_id: ThreadIdPath, body: compat.HistorySearch, user: CurrentUser, desk: DeskDep
) -> Response:
    """The thread's kept states, newest first (threaddesk keeps the latest `keep_checkpoints`)."""
    states = await desk.state_history(
        thread_id,
        user_id=owner_scope(user),
        limit=body.limit,
        before=body.before_id(),
        checkpoint_id=compat.checkpoint_id((body.checkpoint or {}).get("checkpoint_id"), optional=True),
        metadata=body.metadata,
    )
    return _json([thread_state(state) for state in states])


async def _result(events: AsyncGenerator[RunChunk | RunResult, None]) -> RunResult:
    async with aclosing(events):
        async for item in events:
            if isinstance(item, RunResult):
                return item
    raise AssertionError("a run always ends with its result")  # pragma: no cover


def _location(thread_id: str, run_id: str) -> dict[str, str]:
    return {"Content-Location": f"/threads/{thread_id}/runs/{run_id}"}


@router.post("/{thread_id}/runs/wait", responses=JSON_BODY)
async def run_wait(
    thread_id: ThreadIdPath, body: compat.RunCreate, user: CurrentUser, desk: DeskDep, settings: SettingsDep
) -> Response:
    """Run the agent on the thread and answer its final state values (one whole turn)."""
    options = compat.run_options(body, user, owner_scope(user), settings.max_run_delay_s)
    request = body.request()
    if body.after_seconds:
        await asyncio.sleep(body.after_seconds)
    run = _result(desk.run(thread_id, request, record=body.record(request, thread_id), **options))
    if body.on_disconnect == "continue":  # the run finishes even if this request is dropped
        task = asyncio.ensure_future(run)
        _CONTINUING.add(task)
        task.add_done_callback(_CONTINUING.discard)
        result = await asyncio.shield(task)
    else:
        result = await run
    return _json(result.values, _location(thread_id, request.run_id))


@router.post(
    "/{thread_id}/runs/stream",
    responses={200: {"description": "LangGraph run events", "content": {"text/event-stream": {}}}},
)
async def run_stream(
    thread_id: ThreadIdPath, body: compat.RunCreate, user: CurrentUser, desk: DeskDep, settings: SettingsDep
) -> EventStreamResponse:
    """Run the agent on the thread as SSE: `metadata`, then the events of each `stream_mode`."""
    options = compat.run_options(body, user, owner_scope(user), settings.max_run_delay_s)
    modes = body.modes()
    request = body.request()
    if body.after_seconds:
        await asyncio.sleep(body.after_seconds)
    record = body.record(request, thread_id)
    source = await StartedStream.start(desk.run(thread_id, request, record=record, **options))
    translate = RunEvents(modes)

    async def frames() -> AsyncIterator[bytes]:
        yield frame("metadata", {"run_id": request.run_id, "attempt": 1})
        async for item in source:
            if isinstance(item, RunChunk):
                for event, data in translate(item):
                    yield frame(event, data)
            elif isinstance(item, Exception):
                yield frame("error", item)

    return EventStreamResponse(
        source,
        frames(),
        _location(thread_id, request.run_id),
        cancel_on_close=body.on_disconnect == "cancel",
    )


@router.get("/{thread_id}/runs", responses=JSON_BODY)
async def list_runs(
    thread_id: ThreadIdPath,
    user: CurrentUser,
    desk: DeskDep,
    limit: Annotated[int, Query(ge=1, le=MAX_PAGE_SIZE)] = 10,
    offset: Annotated[int, Query(ge=0)] = 0,
    status: Annotated[
        RunStatus | None, Query(description="pending, running, success, error or interrupted")
    ] = None,
) -> Response:
    """The thread's runs (those made through these LangGraph routes), newest first."""
    runs = await desk.list_runs(
        thread_id, user_id=owner_scope(user), limit=limit, offset=offset, status=status
    )
    return _json([compat.run_dict(run) for run in runs])


@router.get("/{thread_id}/runs/{run_id}", responses=JSON_BODY)
async def get_run(thread_id: ThreadIdPath, run_id: uuid.UUID, user: CurrentUser, desk: DeskDep) -> Response:
    """One run: its status (a run whose server died reads `error`), request and metadata."""
    return _json(compat.run_dict(await desk.get_run(thread_id, str(run_id), user_id=owner_scope(user))))


@router.get("/{thread_id}/runs/{run_id}/join", responses=JSON_BODY)
async def join_run(thread_id: ThreadIdPath, run_id: uuid.UUID, user: CurrentUser, desk: DeskDep) -> Response:
    """Wait for the run to end; answer the thread's state values then (or the run's error)."""
    run = await desk.join_run(thread_id, str(run_id), user_id=owner_scope(user))
    if run.status is RunStatus.ERROR:
        return _json({"__error__": {"error": "RunError", "message": run.error or "the run failed"}})
    return _json((await desk.state(thread_id, user_id=owner_scope(user))).values)


@router.delete("/{thread_id}/runs/{run_id}", status_code=204)
async def delete_run(
    thread_id: ThreadIdPath, run_id: uuid.UUID, user: CurrentUser, desk: DeskDep
) -> Response:
    """Forget a finished run (409 `run_in_progress` while it runs); the thread's state is untouched."""
    await desk.delete_run(thread_id, str(run_id), user_id=owner_scope(user))
    return Response(status_code=204)
