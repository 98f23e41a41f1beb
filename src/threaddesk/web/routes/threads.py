"""Threads: create, list, read, rename/tag, delete.

Also what `langgraph-sdk`'s threads.create/get/update/delete call: the bodies are LangGraph's shapes.
"""

from __future__ import annotations

import json
from typing import Annotated, Any

from fastapi import APIRouter, Header, Query, Response, status

from threaddesk.errors import InvalidArgument
from threaddesk.threads.models import MAX_PAGE_SIZE, ThreadStatus
from threaddesk.web.deps import CurrentUser, DeskDep, ThreadIdPath, owner_scope, read_scope
from threaddesk.web.handoff import queue_page
from threaddesk.web.langgraph_state import as_json, thread_interrupts
from threaddesk.web.presenters import present_thread
from threaddesk.web.schemas import (
    DURATION_SCHEMA,
    ERROR_RESPONSES,
    ErrorBody,
    ThreadCreate,
    ThreadList,
    ThreadPublic,
    ThreadUpdate,
)

router = APIRouter(prefix="/threads", tags=["threads"], responses=ERROR_RESPONSES)


def _metadata_filter(raw: str | None) -> dict[str, Any] | None:
    if raw is None:
        return None
    try:
        value = json.loads(raw)
    except ValueError as exc:  # malformed, or an integer past Python's digit limit
        raise InvalidArgument(f"metadata must be a JSON object: {exc}") from exc
    except RecursionError as exc:
        raise InvalidArgument("metadata must be a JSON object: it nests too deeply") from exc
    if not isinstance(value, dict):
        raise InvalidArgument('metadata must be a JSON object, e.g. {"tier": "gold"}')
    return value


@router.post(
    "",
    status_code=status.HTTP_200_OK,
    response_model=ThreadPublic,
    responses={
        409: {"model": ErrorBody, "description": "The thread id is taken"},
        429: {"description": "You own `max_threads_per_user` threads already"},
    },
)
async def create_thread(body: ThreadCreate, user: CurrentUser, desk: DeskDep) -> ThreadPublic:
    """Start a thread you own. A taken id is a 409, unless `if_exists="do_nothing"` and it is yours."""
    thread = await desk.threads.create(
        user.name,
        body.thread_id,
        title=body.title,
        metadata=body.metadata,
        if_exists="get" if body.if_exists == "do_nothing" else "raise",
    )
    return present_thread(desk, thread)


@router.get("", response_model=ThreadList)
async def list_threads(
    user: CurrentUser,
    desk: DeskDep,
    status: Annotated[
        ThreadStatus | None,
        Query(description="idle, busy, error or interrupted (for an agent or admin: the handoff queue)"),
    ] = None,
    metadata: Annotated[str | None, Query(description="JSON object the metadata must contain")] = None,
    idle_for: Annotated[
        str | None,
        Query(description="Only threads idle at least this long (7d)", json_schema_extra=DURATION_SCHEMA),
    ] = None,
    limit: Annotated[int, Query(ge=1, le=MAX_PAGE_SIZE)] = 50,
    cursor: Annotated[str | None, Query(description="next_cursor of the previous page")] = None,
) -> ThreadList:
    """Your threads (an admin's: everyone's), most recently active first.

    For an agent or admin, `status=interrupted` alone is the handoff queue instead: every
    customer's interrupted threads, waiting longest first; with `metadata` or `idle_for` too, every
    customer's interrupted threads that match, most recently active first.
    """
    queue = status is ThreadStatus.INTERRUPTED and user.is_agent
    if queue and metadata is None and idle_for is None:
        waiting, next_cursor = await queue_page(desk, limit=limit, cursor=cursor)
        return ThreadList(threads=[present_thread(desk, t) for t in waiting], next_cursor=next_cursor)
    page = await desk.threads.list(
        user_id=None if queue else owner_scope(user),
        status=status,
        metadata=_metadata_filter(metadata),
        inactive_since=idle_for,
        limit=limit,
        cursor=cursor,
    )
    return ThreadList(
        threads=[present_thread(desk, thread) for thread in page.threads], next_cursor=page.next_cursor
    )


@router.get("/{thread_id}", response_model=ThreadPublic)
async def get_thread(thread_id: ThreadIdPath, user: CurrentUser, desk: DeskDep) -> ThreadPublic:
    """The thread, with its LangGraph state `values` (the stored messages) and pending `interrupts`."""
    thread = await desk.threads.get(thread_id, user_id=read_scope(user))
    state = await desk.state(thread.thread_id)
    return present_thread(
        desk, thread, values=as_json(state.values), interrupts=as_json(thread_interrupts(state))
    )


@router.patch(
    "/{thread_id}", response_model=ThreadPublic, responses={204: {"description": "Prefer: return=minimal"}}
)
async def update_thread(
    thread_id: ThreadIdPath,
    body: ThreadUpdate,
    user: CurrentUser,
    desk: DeskDep,
    prefer: Annotated[str | None, Header()] = None,
) -> ThreadPublic | Response:
    """Rename, and merge metadata (a null value removes the key)."""
    thread = await desk.threads.update(
        thread_id, title=body.title, metadata=body.metadata, user_id=owner_scope(user)
    )
    if prefer and "return=minimal" in prefer:
        return Response(status_code=status.HTTP_204_NO_CONTENT)
    return present_thread(desk, thread)


@router.delete("/{thread_id}", status_code=status.HTTP_204_NO_CONTENT)
async def delete_thread(thread_id: ThreadIdPath, user: CurrentUser, desk: DeskDep) -> Response:
    """Delete the thread and its memory (after any running turn ends)."""
    await desk.threads.delete(thread_id, user_id=owner_scope(user))
    return Response(status_code=status.HTTP_204_NO_CONTENT)
