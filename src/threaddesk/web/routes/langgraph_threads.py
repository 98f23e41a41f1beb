"""LangGraph's thread routes beyond runs and state reads: search, count, prune, copy, update_state.

What `langgraph-sdk`'s `threads.search/count/prune/copy/update_state` call. Every
route is scoped to the caller's threads (an admin's: everyone's); another user's
thread is a 404 exactly like a missing one, and a prune skips it like a missing one.
"""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Response

from threaddesk.users import User
from threaddesk.web.deps import CurrentUser, DeskDep, ThreadIdPath, owner_scope
from threaddesk.web.langgraph_events import json_bytes
from threaddesk.web.langgraph_state import as_json
from threaddesk.web.langgraph_threads import ThreadFilter, ThreadPrune, ThreadSearch, ThreadStateUpdate
from threaddesk.web.presenters import present_thread
from threaddesk.web.schemas import ERROR_RESPONSES, ThreadPublic

router = APIRouter(prefix="/threads", tags=["langgraph"], responses=ERROR_RESPONSES)
JSON_BODY: dict[int | str, dict[str, Any]] = {
    200: {"description": "JSON", "content": {"application/json": {}}}
}


def _scope(user: User, status: str | None) -> str | None:
    """Whose threads a search covers: an agent's `status=interrupted` search is the handoff queue
    (every customer's), as Agent Inbox asks for it; anything else, the caller's own (an admin's: all)."""
    return None if status == "interrupted" and user.is_agent else owner_scope(user)


@router.post("/search", responses=JSON_BODY)
async def search_threads(body: ThreadSearch, user: CurrentUser, desk: DeskDep) -> Response:
    """Your threads by `ids`, `metadata`, `values`, `status`; in `sort_by`/`sort_order`; `select`ed fields.

    Each comes with its state `values` unless `select` leaves them out;
    `X-Pagination-Total` (and `X-Pagination-Next` when more follow) as LangGraph sends them.
    """
    fields = body.fields()
    found = await desk.search_threads(
        body.thread_query(_scope(user, body.status)),
        values_match=body.values_match(),
        with_values=fields is None or "values" in fields,
    )
    threads = []
    for thread, values in found:
        shown = present_thread(desk, thread, values=None if values is None else as_json(values))
        data = shown.model_dump(mode="json")
        threads.append({key: data[key] for key in fields} if fields else data)
    if len(threads) == body.limit:
        headers = {"X-Pagination-Total": str(body.offset + body.limit + 1)}
        headers["X-Pagination-Next"] = str(body.offset + body.limit)
    else:
        headers = {"X-Pagination-Total": str(body.offset + len(threads))}
    return Response(json_bytes(threads), media_type="application/json", headers=headers)


@router.post("/count")
async def count_threads(body: ThreadFilter, user: CurrentUser, desk: DeskDep) -> int:
    """How many of your threads match `metadata`, `values` and `status`."""
    return await desk.count_threads(body.query(_scope(user, body.status)), values_match=body.values_match())


@router.post("/prune")
async def prune_threads(body: ThreadPrune, user: CurrentUser, desk: DeskDep) -> dict[str, int]:
    """`delete` the named threads, or keep only their latest checkpoint (`keep_latest`).

    Ids that are not yours or do not exist are skipped alike; `pruned_count` counts the rest.
    """
    pruned = await desk.prune_threads(body.thread_ids, body.strategy, user_id=owner_scope(user))
    return {"pruned_count": pruned}


@router.post("/{thread_id}/copy", response_model=ThreadPublic)
async def copy_thread(thread_id: ThreadIdPath, user: CurrentUser, desk: DeskDep) -> ThreadPublic:
    """A new thread, owned by you, with this thread's state, kept history, messages and metadata."""
    copy = await desk.copy_thread(thread_id, user.name, user_id=owner_scope(user))
    return present_thread(desk, copy)


@router.post("/{thread_id}/state", responses=JSON_BODY)
async def update_thread_state(
    thread_id: ThreadIdPath, body: ThreadStateUpdate, user: CurrentUser, desk: DeskDep
) -> Response:
    """LangGraph's `update_state`: write `values` as node `as_node` would, between turns.

    Answers the new checkpoint (`checkpoint`, and the older `configurable` and `checkpoint_id`).
    """
    written = await desk.update_state(
        thread_id, body.values, as_node=body.as_node, checkpoint_id=body.start(), user_id=owner_scope(user)
    )
    configurable = dict(written["configurable"])
    answer = {
        "checkpoint": configurable,
        "configurable": configurable,
        "checkpoint_id": configurable["checkpoint_id"],
    }
    return Response(json_bytes(answer), media_type="application/json")
