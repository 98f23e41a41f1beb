"""LangGraph's run and thread-state routes, for `langgraph-sdk` clients and `RemoteGraph`.

Thin: `threaddesk.web.compat` reads LangGraph's request, `SupportDesk.run` does
the work, `langgraph_events`/`langgraph_state` write LangGraph's answer.
"""

from __future__ import annotations

import asyncio
import contextlib
import uuid
from collections.abc import AsyncGenerator, AsyncIterator
from contextlib import aclosing
from typing import Annotated, Any

from fastapi import APIRouter, Body, Query, Response

from threaddesk.errors import ThreadNotFound
from threaddesk.ids import new_thread_id
from threaddesk.runs import Run, RunChunk, RunRequest, RunResult, RunStatus
from threaddesk.service import SupportDesk
from threaddesk.threads.models import MAX_PAGE_SIZE
from threaddesk.users import User
from threaddesk.web import compat
from threaddesk.web.deps import CurrentUser, DeskDep, SettingsDep, ThreadIdPath, owner_scope, read_scope
from threaddesk.web.handoff import run_as
from threaddesk.web.langgraph_events import RunEvents, frame, json_bytes
from threaddesk.web.langgraph_state import thread_state
from threaddesk.web.schemas import ERROR_RESPONSES, ErrorBody
from threaddesk.web.sse import EventStreamResponse, StartedStream

RUN_RESPONSES: dict[int | str, dict[str, Any]] = {
    **ERROR_RESPONSES,
    409: {
        "model": ErrorBody,
        "description": "The thread is busy (`multitask_strategy=reject`), its id taken by another user,"
        " or the run still running",
    },
}
router = APIRouter(prefix="/threads", tags=["langgraph"], responses=RUN_RESPONSES)
JSON_BODY: dict[int | str, dict[str, Any]] = {
    200: {"description": "JSON", "content": {"application/json": {}}}
}
MAX_BATCH = 100
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
    return _json(thread_state(await desk.state(thread_id, user_id=read_scope(user))))


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
        thread_state(await desk.state(thread_id, user_id=read_scope(user), checkpoint_id=checkpoint))
    )


@router.post("/{thread_id}/state/checkpoint", responses=JSON_BODY)
async def post_thread_state_at(
    thread_id: ThreadIdPath, body: compat.StateAtCheckpoint, user: CurrentUser, desk: DeskDep
) -> Response:
    """The thread's state as of `checkpoint` (what `RemoteGraph.get_state` asks with a checkpoint id)."""
    checkpoint = compat.checkpoint_id(body.checkpoint.get("checkpoint_id"), optional=True)
    return _json(
        thread_state(await desk.state(thread_id, user_id=read_scope(user), checkpoint_id=checkpoint))
    )


@router.post("/{thread_id}/history", responses=JSON_BODY)
async def thread_history(
    thread_id: ThreadIdPath, body: compat.HistorySearch, user: CurrentUser, desk: DeskDep
) -> Response:
    """The thread's kept states, newest first (threaddesk keeps the latest `keep_checkpoints`)."""
    states = await desk.state_history(
        thread_id,
        user_id=read_scope(user),
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


async def _wait(events: AsyncGenerator[RunChunk | RunResult, None], body: compat.RunCreate) -> RunResult:
    run = _result(events)
    if body.on_disconnect != "continue":
        return await run
    task = asyncio.ensure_future(run)  # the run finishes even if this request is dropped
    _CONTINUING.add(task)
    task.add_done_callback(_CONTINUING.discard)
    return await asyncio.shield(task)


async def _stream(
    events: AsyncGenerator[RunChunk | RunResult, None],
    body: compat.RunCreate,
    modes: list[str],
    run_id: str,
    headers: dict[str, str],
) -> EventStreamResponse:
    source = await StartedStream.start(events)
    translate = RunEvents(modes)

    async def frames() -> AsyncIterator[bytes]:
        yield frame("metadata", {"run_id": run_id, "attempt": 1})
        async for item in source:
            if isinstance(item, RunChunk):
                for event, data in translate(item):
                    yield frame(event, data)
            elif isinstance(item, Exception):
                yield frame("error", item)

    return EventStreamResponse(source, frames(), headers, cancel_on_close=body.on_disconnect == "cancel")


@router.post("/{thread_id}/runs/wait", responses=JSON_BODY)
async def run_wait(
    thread_id: ThreadIdPath, body: compat.RunCreate, user: CurrentUser, desk: DeskDep, settings: SettingsDep
) -> Response:
    """Run the agent on the thread and answer its final state values (one whole turn)."""
    options = run_as(
        compat.run_options(body, user, owner_scope(user), settings.max_run_delay_s, desk.graphs), body, user
    )
    request = body.request(desk.graphs)
    if body.after_seconds:
        await asyncio.sleep(body.after_seconds)
    events = desk.run(thread_id, request, record=body.record(request, thread_id), **options)
    result = await _wait(events, body)
    return _json(result.values, _location(thread_id, request.run_id))


@router.post(
    "/{thread_id}/runs/stream",
    responses={200: {"description": "LangGraph run events", "content": {"text/event-stream": {}}}},
)
async def run_stream(
    thread_id: ThreadIdPath, body: compat.RunCreate, user: CurrentUser, desk: DeskDep, settings: SettingsDep
) -> EventStreamResponse:
    """Run the agent on the thread as SSE: `metadata`, then the events of each `stream_mode`."""
    options = run_as(
        compat.run_options(body, user, owner_scope(user), settings.max_run_delay_s, desk.graphs), body, user
    )
    modes = body.modes()
    request = body.request(desk.graphs)
    if body.after_seconds:
        await asyncio.sleep(body.after_seconds)
    events = desk.run(thread_id, request, record=body.record(request, thread_id), **options)
    return await _stream(events, body, modes, request.run_id, _location(thread_id, request.run_id))


@router.post("/{thread_id}/runs", responses=JSON_BODY)
async def create_run(
    thread_id: ThreadIdPath, body: compat.RunCreate, user: CurrentUser, desk: DeskDep, settings: SettingsDep
) -> Response:
    """A background run: answered at once (`pending`); join it, or read it, by its id."""
    options = run_as(
        compat.run_options(body, user, owner_scope(user), settings.max_run_delay_s, desk.graphs), body, user
    )
    request = body.request(desk.graphs)
    run = await desk.start_run(
        thread_id, request, body.record(request, thread_id), delay=body.after_seconds, **options
    )
    return _json(compat.run_dict(run), _location(thread_id, run.run_id))


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
        thread_id, user_id=read_scope(user), limit=limit, offset=offset, status=status
    )
    return _json([compat.run_dict(run) for run in runs])


@router.get("/{thread_id}/runs/{run_id}", responses=JSON_BODY)
async def get_run(thread_id: ThreadIdPath, run_id: uuid.UUID, user: CurrentUser, desk: DeskDep) -> Response:
    """One run: its status (a run whose server died reads `error`), request and metadata."""
    return _json(compat.run_dict(await desk.get_run(thread_id, str(run_id), user_id=read_scope(user))))


@router.get("/{thread_id}/runs/{run_id}/join", responses=JSON_BODY)
async def join_run(thread_id: ThreadIdPath, run_id: uuid.UUID, user: CurrentUser, desk: DeskDep) -> Response:
    """Wait for the run to end; answer the thread's state values then (or the run's error)."""
    run = await desk.join_run(thread_id, str(run_id), user_id=read_scope(user))
    if run.status is RunStatus.ERROR:
        return _json({"__error__": {"error": "RunError", "message": run.error or "the run failed"}})
    return _json((await desk.state(thread_id, user_id=read_scope(user))).values)


@router.delete("/{thread_id}/runs/{run_id}", status_code=204)
async def delete_run(
    thread_id: ThreadIdPath, run_id: uuid.UUID, user: CurrentUser, desk: DeskDep
) -> Response:
    """Forget a finished run (409 `run_in_progress` while it runs); the thread's state is untouched."""
    await desk.delete_run(thread_id, str(run_id), user_id=owner_scope(user))
    return Response(status_code=204)


stateless = APIRouter(prefix="/runs", tags=["langgraph"], responses=RUN_RESPONSES)


async def _on_a_new_thread(
    desk: SupportDesk, thread_id: str, request: RunRequest, body: compat.StatelessRunCreate, user: User
) -> AsyncGenerator[RunChunk | RunResult, None]:
    """The run on a thread made for it, deleted afterwards (however the run ends) unless kept."""
    events = desk.run(
        thread_id, request, record=body.record(request, thread_id), user_id=user.name, create=True
    )
    try:
        async with aclosing(events):
            async for item in events:
                yield item
    finally:
        if body.on_completion == "delete":
            with contextlib.suppress(ThreadNotFound):
                await desk.threads.delete(thread_id, user_id=user.name)


@stateless.post("/wait", responses=JSON_BODY)
async def stateless_wait(
    body: compat.StatelessRunCreate, user: CurrentUser, desk: DeskDep, settings: SettingsDep
) -> Response:
    """A run on a new thread of its own, deleted afterwards (unless `on_completion="keep"`)."""
    compat.run_options(body, user, user.name, settings.max_run_delay_s, desk.graphs)
    request, thread_id = body.request(desk.graphs), new_thread_id()
    if body.after_seconds:
        await asyncio.sleep(body.after_seconds)
    result = await _wait(_on_a_new_thread(desk, thread_id, request, body, user), body)
    return _json(result.values, _location(thread_id, request.run_id))


@stateless.post(
    "/stream",
    responses={200: {"description": "LangGraph run events", "content": {"text/event-stream": {}}}},
)
async def stateless_stream(
    body: compat.StatelessRunCreate, user: CurrentUser, desk: DeskDep, settings: SettingsDep
) -> EventStreamResponse:
    """A streamed run on a new thread of its own, deleted afterwards (unless `on_completion="keep"`)."""
    compat.run_options(body, user, user.name, settings.max_run_delay_s, desk.graphs)
    modes, request, thread_id = body.modes(), body.request(desk.graphs), new_thread_id()
    if body.after_seconds:
        await asyncio.sleep(body.after_seconds)
    events = _on_a_new_thread(desk, thread_id, request, body, user)
    return await _stream(events, body, modes, request.run_id, _location(thread_id, request.run_id))


async def _start_stateless(
    desk: SupportDesk, body: compat.StatelessRunCreate, user: User, max_delay: int
) -> tuple[str, Run]:
    compat.run_options(body, user, user.name, max_delay, desk.graphs)
    request, thread_id = body.request(desk.graphs), new_thread_id()
    run = await desk.start_run(
        thread_id,
        request,
        body.record(request, thread_id),
        user_id=user.name,
        create=True,
        delay=body.after_seconds,
        temporary=body.on_completion == "delete",
    )
    return thread_id, run


@stateless.post("", responses=JSON_BODY)
async def stateless_create(
    body: compat.StatelessRunCreate, user: CurrentUser, desk: DeskDep, settings: SettingsDep
) -> Response:
    """A background run on a new thread of its own, deleted once the run ends (unless kept)."""
    _, run = await _start_stateless(desk, body, user, settings.max_run_delay_s)
    return _json(compat.run_dict(run), {"Content-Location": f"/runs/{run.run_id}"})


@stateless.post("/batch", responses=JSON_BODY)
async def stateless_batch(
    body: Annotated[list[compat.StatelessRunCreate], Body(min_length=1, max_length=MAX_BATCH)],
    user: CurrentUser,
    desk: DeskDep,
    settings: SettingsDep,
) -> Response:
    """Several background runs, each on a new thread of its own; every one is checked before any starts."""
    for each in body:
        compat.run_options(each, user, user.name, settings.max_run_delay_s, desk.graphs)
        each.request(desk.graphs)
    runs = [(await _start_stateless(desk, each, user, settings.max_run_delay_s))[1] for each in body]
    return _json([compat.run_dict(run) for run in runs])
