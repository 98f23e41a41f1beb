"""LangGraph's run and thread-state routes, for `langgraph-sdk` clients and `RemoteGraph`.

Thin: `threaddesk.web.compat` reads LangGraph's request, `SupportDesk.run` does
the work, `langgraph_events`/`langgraph_state` write LangGraph's answer.
"""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import logging
import uuid
from collections.abc import AsyncGenerator, AsyncIterator
from contextlib import aclosing
from typing import Annotated, Any, Literal

import orjson
from fastapi import APIRouter, Body, Header, Query, Response
from pydantic import BaseModel, ConfigDict
from starlette.responses import StreamingResponse

from threaddesk.errors import InvalidArgument, RunNotFound, ThreadNotFound
from threaddesk.ids import new_thread_id
from threaddesk.runs import Run, RunChunk, RunRequest, RunResult, RunStatus
from threaddesk.runs.cancel import CancelAction, RunCancelled
from threaddesk.runs.events import after_seq, stream_id
from threaddesk.service import SupportDesk
from threaddesk.threads.models import MAX_PAGE_SIZE
from threaddesk.users import User
from threaddesk.web import compat
from threaddesk.web.deps import CurrentUser, DeskDep, SettingsDep, ThreadIdPath, owner_scope, read_scope
from threaddesk.web.handoff import run_as
from threaddesk.web.langgraph_events import STREAM_MODES, RunEvents, frame, json_bytes, raw_frame
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
log = logging.getLogger(__name__)
_CONTINUING: set[asyncio.Task[RunResult]] = set()  # runs left by their client (on_disconnect=continue)
_CANCELLING: set[asyncio.Future[None]] = set()  # cancels of runs a joiner left (cancel_on_disconnect)


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
    # A resumable run's events carry their id, numbered as the run's kept events are (runs.events).
    seq = itertools.count(1)

    def sse(event: str, data: Any) -> bytes:
        return frame(event, data, stream_id(run_id, next(seq)) if body.stream_resumable else None)

    async def frames() -> AsyncIterator[bytes]:
        yield sse("metadata", {"run_id": run_id, "attempt": 1})
        async for item in source:
            if isinstance(item, RunChunk):
                for event, data in translate(item):
                    yield sse(event, data)
            elif isinstance(item, RunCancelled):
                return  # cancelled by a request: the stream ends, as on LangGraph's server
            elif isinstance(item, Exception):
                yield sse("error", item)

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
    await _multitask(desk, thread_id, body, options["user_id"])
    events = desk.run(thread_id, request, record=body.record(request, thread_id), **options)
    try:
        values = (await _wait(events, body)).values
    except RunCancelled:  # the thread as the cancel left it, as LangGraph's join answers
        values = (await desk.state(thread_id, user_id=options["user_id"])).values
    return _json(values, _location(thread_id, request.run_id))


async def _multitask(desk: SupportDesk, thread_id: str, body: compat.RunCreate, scope: str | None) -> None:
    """`multitask_strategy` `interrupt` / `rollback`: cancel the thread's pending and running runs
    that way; the new run queues behind them on the thread, so it starts once they have stopped."""
    if body.multitask_strategy in ("interrupt", "rollback"):
        await desk.cancel_thread_runs(thread_id, body.multitask_strategy, user_id=scope)


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
    await _multitask(desk, thread_id, body, options["user_id"])
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
    await _multitask(desk, thread_id, body, options["user_id"])
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
    """Wait for the run to end; answer the state values it ended with (or the run's error): those
    it handed over if it ended in this process while joined, else the thread's state, read now."""
    run, values = await desk.join_result(thread_id, str(run_id), user_id=read_scope(user))
    if run.status is RunStatus.ERROR:
        return _json({"__error__": {"error": "RunError", "message": run.error or "the run failed"}})
    if values is None or run.status is not RunStatus.SUCCESS:
        values = (await desk.state(thread_id, user_id=read_scope(user))).values
    return _json(values)


@router.delete("/{thread_id}/runs/{run_id}", status_code=204)
async def delete_run(
    thread_id: ThreadIdPath, run_id: uuid.UUID, user: CurrentUser, desk: DeskDep
) -> Response:
    """Forget a finished run (409 `run_in_progress` while it runs); the thread's state is untouched."""
    await desk.delete_run(thread_id, str(run_id), user_id=owner_scope(user))
    return Response(status_code=204)


@router.post(
    "/{thread_id}/runs/{run_id}/cancel",
    status_code=202,
    responses={
        202: {"description": "Cancel requested (without `wait`): empty body"},
        200: {"description": "With `wait`: the thread's state values once the run has stopped"},
    },
)
async def cancel_run(
    thread_id: ThreadIdPath,
    run_id: uuid.UUID,
    user: CurrentUser,
    desk: DeskDep,
    wait: Annotated[bool, Query(description="Answer once the run has stopped")] = False,
    action: Annotated[
        CancelAction,
        Query(description="`interrupt` (keep its progress) or `rollback` (undo it, delete the run)"),
    ] = "interrupt",
) -> Response:
    """Cancel a pending or running run, wherever it executes (404 if it has ended).

    With `wait`, the answer comes once the run has stopped: as on LangGraph's server, the last
    `values` the run streamed after the cancel was asked (`{}` when none, the usual case).
    """
    scope = owner_scope(user)
    if not wait:
        await desk.cancel_run(thread_id, str(run_id), action, user_id=scope)
        return Response(status_code=202)
    _, events = await desk.join_stream(thread_id, str(run_id), user_id=scope)  # its events from now on
    latest = b"{}"
    async with aclosing(events):  # type: ignore[type-var]
        await desk.cancel_run(thread_id, str(run_id), action, user_id=scope)
        async for event in events:
            if event.event == "values":
                latest = event.data
    await desk.run_ended(thread_id, str(run_id))
    headers = {
        "Location": f"/threads/{thread_id}/runs/{run_id}/join",
        **_location(thread_id, str(run_id)),
    }
    return Response(latest, media_type="application/json", headers=headers)


def _join_modes(stream_mode: list[str] | None) -> list[str]:
    """`stream_mode` as the SDK sends it (repeated, or one JSON array), checked."""
    modes: list[str] = []
    for value in stream_mode or []:
        if not value:
            continue  # the SDK sends `stream_mode=` when it has none
        if value.startswith("["):
            try:
                parsed = orjson.loads(value)
            except orjson.JSONDecodeError as exc:
                raise InvalidArgument(f"stream_mode is not a JSON array: {exc}") from exc
            modes.extend(str(mode) for mode in parsed) if isinstance(parsed, list) else None
        else:
            modes.append(value)
    unknown = [mode for mode in modes if mode not in STREAM_MODES]
    if unknown:
        raise InvalidArgument(f"stream_mode must be among {', '.join(STREAM_MODES)}, got {unknown}")
    return modes


@router.get(
    "/{thread_id}/runs/{run_id}/stream",
    responses={200: {"description": "The run's events", "content": {"text/event-stream": {}}}},
)
async def join_run_stream(
    thread_id: ThreadIdPath,
    run_id: uuid.UUID,
    user: CurrentUser,
    desk: DeskDep,
    stream_mode: Annotated[list[str] | None, Query(description="Only these modes' events")] = None,
    cancel_on_disconnect: Annotated[bool, Query(description="Cancel the run if this client leaves")] = False,
    last_event_id: Annotated[
        str | None, Header(description="Replay a resumable run's events after this one")
    ] = None,
) -> StreamingResponse:
    """Join a run's stream: its events from now on (a resumable run's from `Last-Event-ID`), until it ends.

    A run that has ended sends nothing (or its kept events after `Last-Event-ID`);
    a missing run, LangGraph's `error` event.
    """
    scope, modes, after = owner_scope(user), _join_modes(stream_mode), after_seq(last_event_id)
    headers = {
        "Location": f"/threads/{thread_id}/runs/{run_id}/stream",
        **_location(thread_id, str(run_id)),
        "Cache-Control": "no-store",
        "X-Accel-Buffering": "no",
    }
    try:
        run, events = await desk.join_stream(thread_id, str(run_id), user_id=scope, after=after, modes=modes)
    except RunNotFound:
        missing = {"error": "HTTPException", "message": "404: Run not found"}
        return StreamingResponse(
            iter([frame("error", missing)]), media_type="text/event-stream", headers=headers
        )
    resumable = bool(run.kwargs.get("resumable"))

    async def frames() -> AsyncIterator[bytes]:
        ended = False
        try:
            async with aclosing(events):  # type: ignore[type-var]
                async for event in events:
                    yield raw_frame(
                        event.event, event.data, stream_id(run.run_id, event.seq) if resumable else None
                    )
            ended = True
        finally:
            if cancel_on_disconnect and not ended:
                task = asyncio.ensure_future(_cancel_quietly(desk, thread_id, run.run_id, scope))
                _CANCELLING.add(task)
                task.add_done_callback(_CANCELLING.discard)

    return StreamingResponse(frames(), media_type="text/event-stream", headers=headers)


async def _cancel_quietly(desk: SupportDesk, thread_id: str, run_id: str, scope: str | None) -> None:
    with contextlib.suppress(RunNotFound, ThreadNotFound):
        await desk.cancel_run(thread_id, run_id, "interrupt", user_id=scope)


stateless = APIRouter(prefix="/runs", tags=["langgraph"], responses=RUN_RESPONSES)


class RunsCancel(BaseModel):
    """LangGraph's bulk cancel: `thread_id` and `run_ids`, or a `status` across threads."""

    model_config = ConfigDict(extra="forbid")

    thread_id: str | None = None
    run_ids: list[uuid.UUID] | None = None
    status: Literal["pending", "running", "all"] | None = None


@stateless.post("/cancel", status_code=204)
async def cancel_runs(
    body: RunsCancel,
    user: CurrentUser,
    desk: DeskDep,
    action: Annotated[CancelAction, Query(description="`interrupt` or `rollback`")] = "interrupt",
) -> Response:
    """Cancel several runs: `run_ids` of `thread_id`, or every `pending`/`running`/`all` run the caller
    may see (404 if none could be)."""
    if body.run_ids is not None and len(body.run_ids) > MAX_PAGE_SIZE:
        raise InvalidArgument(f"run_ids may name at most {MAX_PAGE_SIZE} runs")
    await desk.cancel_runs(
        action,
        thread_id=body.thread_id,
        run_ids=None if body.run_ids is None else [str(r) for r in body.run_ids],
        status=body.status,
        user_id=owner_scope(user),
    )
    return Response(status_code=204)


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
