"""Assistants as `langgraph-sdk`'s assistants client sees them: saved configurations of a graph.

Every user may read them (search, get, count, versions, the graph's drawing
and schemas: what LangGraph Studio-like front-ends and agent-chat-ui ask for)
and run them; only admins create, update, delete them or change their active
version (403 `forbidden` for anyone else, as on every admin route). Each
graph's own assistant (`created_by: system`) is listed too, and cannot be
changed (409 `system_assistant`).
"""

from __future__ import annotations

from typing import Annotated, Any, Literal

from fastapi import APIRouter, Query, Response
from pydantic import BaseModel, ConfigDict, Field

from threaddesk.assistants import AssistantQuery
from threaddesk.errors import AssistantNotFound, InvalidArgument
from threaddesk.threads.models import MAX_PAGE_SIZE
from threaddesk.web import compat
from threaddesk.web.compat import JsonInteger
from threaddesk.web.deps import AdminUser, CurrentUser, DeskDep
from threaddesk.web.langgraph_events import json_bytes
from threaddesk.web.schemas import ERROR_RESPONSES

router = APIRouter(prefix="/assistants", tags=["langgraph"], responses=ERROR_RESPONSES)
ADMIN_ONLY: dict[int | str, dict[str, Any]] = {403: {"description": "Not an admin"}}
SELECTABLE = ("assistant_id", "graph_id", "name", "description", "config", "context", "created_at",
              "updated_at", "metadata", "version")  # fmt: skip


class AssistantCount(BaseModel):
    model_config = ConfigDict(extra="ignore")

    metadata: dict[str, Any] | None = None
    graph_id: str | None = None
    name: str | None = None


class VersionSearch(BaseModel):
    model_config = ConfigDict(extra="ignore")

    metadata: dict[str, Any] | None = None
    limit: JsonInteger = Field(default=10, ge=1, le=MAX_PAGE_SIZE)
    offset: JsonInteger = Field(default=0, ge=0)


class AssistantCreate(BaseModel):
    """LangGraph's `AssistantCreate`: a graph, and the configuration to save for it."""

    model_config = ConfigDict(extra="ignore")

    graph_id: str
    assistant_id: str | None = None
    config: dict[str, Any] | None = None
    context: dict[str, Any] | None = None
    metadata: dict[str, Any] | None = None
    if_exists: Literal["raise", "do_nothing"] | None = None
    name: str | None = None
    description: str | None = None


class AssistantPatch(BaseModel):
    """LangGraph's `AssistantPatch`: what to change (a new version); `metadata` is merged."""

    model_config = ConfigDict(extra="ignore")

    graph_id: str | None = None
    config: dict[str, Any] | None = None
    context: dict[str, Any] | None = None
    metadata: dict[str, Any] | None = None
    name: str | None = None
    description: str | None = None


class VersionChange(BaseModel):
    model_config = ConfigDict(extra="ignore")

    version: JsonInteger = Field(ge=1)


def _xray(raw: str | None) -> bool | int:
    """LangGraph's `xray` query: true/false, or a positive depth."""
    if raw is None or raw in ("false", "False", ""):
        return False
    if raw in ("true", "True"):
        return True
    if raw.isdigit() and int(raw) > 0:
        return int(raw)
    raise InvalidArgument(f"xray must be true, false or a positive depth, got {raw!r}")


def _query(body: compat.AssistantSearch | AssistantCount, **page: Any) -> AssistantQuery:
    return AssistantQuery(graph_id=body.graph_id, name=body.name, metadata=body.metadata, **page)


@router.post("", responses=ADMIN_ONLY)
async def create_assistant(body: AssistantCreate, admin: AdminUser, desk: DeskDep) -> dict[str, Any]:
    """Save a configuration of a graph as a new assistant (version 1).

    A taken `assistant_id` is 409 `assistant_exists`, or the existing one with `if_exists: "do_nothing"`.
    """
    assistant = await desk.assistants.create(
        body.graph_id,
        assistant_id=body.assistant_id,
        config=body.config,
        context=body.context,
        metadata=body.metadata,
        name=body.name,
        description=body.description,
        if_exists=body.if_exists or "raise",
    )
    return assistant.to_dict()


@router.post("/search")
async def search_assistants(body: compat.AssistantSearch, user: CurrentUser, desk: DeskDep) -> Response:
    """Assistants by `graph_id`, `name` (a part of it) and `metadata`; newest first unless `sort_by`."""
    unknown = sorted(set(body.select or ()) - set(SELECTABLE))
    if unknown:
        raise InvalidArgument(f"select may name {', '.join(SELECTABLE)} only; got {unknown}")
    found = await desk.assistants.search(
        _query(body, sort_by=body.sort_by, sort_order=body.sort_order, limit=body.limit, offset=body.offset)
    )
    shown = [a.to_dict() for a in found]
    if body.select:
        shown = [{key: a[key] for key in body.select} for a in shown]
    if len(shown) == body.limit:
        headers = {"X-Pagination-Total": str(body.offset + body.limit + 1)}
        headers["X-Pagination-Next"] = str(body.offset + body.limit)
    else:
        headers = {"X-Pagination-Total": str(body.offset + len(shown))}
    return Response(json_bytes(shown), media_type="application/json", headers=headers)


@router.post("/count")
async def count_assistants(body: AssistantCount, user: CurrentUser, desk: DeskDep) -> int:
    """How many assistants match (each graph's own included)."""
    return await desk.assistants.count(_query(body))


@router.get("/{assistant_id}")
async def get_assistant(assistant_id: str, user: CurrentUser, desk: DeskDep) -> dict[str, Any]:
    """The assistant by id (a graph's own also by the graph's name)."""
    return (await desk.assistants.get(assistant_id)).to_dict()


@router.patch("/{assistant_id}", responses=ADMIN_ONLY)
async def update_assistant(
    assistant_id: str, body: AssistantPatch, admin: AdminUser, desk: DeskDep
) -> dict[str, Any]:
    """Change the assistant: a new version, the active one from now on."""
    assistant = await desk.assistants.update(
        assistant_id,
        graph_id=body.graph_id,
        config=body.config,
        context=body.context,
        metadata=body.metadata,
        name=body.name,
        description=body.description,
    )
    return assistant.to_dict()


@router.delete("/{assistant_id}", status_code=204, responses=ADMIN_ONLY)
async def delete_assistant(
    assistant_id: str,
    admin: AdminUser,
    desk: DeskDep,
    delete_threads: Annotated[
        bool, Query(description="Also delete every thread whose metadata names this assistant")
    ] = False,
) -> Response:
    """Delete the assistant and its versions (threads made with it remain unless `delete_threads`)."""
    await desk.delete_assistant(assistant_id, delete_threads=delete_threads)
    return Response(status_code=204)


@router.post("/{assistant_id}/latest", responses=ADMIN_ONLY)
async def set_latest_version(
    assistant_id: str, body: VersionChange, admin: AdminUser, desk: DeskDep
) -> dict[str, Any]:
    """Make an earlier (or later) version the active one; the versions themselves stay."""
    return (await desk.assistants.set_latest(assistant_id, body.version)).to_dict()


@router.post("/{assistant_id}/versions")
async def assistant_versions(
    assistant_id: str, body: VersionSearch, user: CurrentUser, desk: DeskDep
) -> list[dict[str, Any]]:
    """The assistant's versions whose metadata contains `metadata`, newest first (404 if none, as
    on LangGraph's server)."""
    versions = await desk.assistants.versions(
        assistant_id, metadata=body.metadata, limit=body.limit, offset=body.offset
    )
    if not versions:
        raise AssistantNotFound(assistant_id)
    return [version.to_dict() for version in versions]


@router.get("/{assistant_id}/graph")
async def assistant_graph(
    assistant_id: str,
    user: CurrentUser,
    desk: DeskDep,
    xray: Annotated[str | None, Query(description="true, false, or a positive depth of subgraphs")] = None,
) -> dict[str, Any]:
    """The assistant's graph: nodes and edges (LangGraph's drawable graph as JSON)."""
    depth = _xray(xray)
    assistant = await desk.assistants.get(assistant_id)
    return desk.graph_json(depth, assistant.graph_id)


@router.get("/{assistant_id}/schemas")
async def assistant_schemas(assistant_id: str, user: CurrentUser, desk: DeskDep) -> dict[str, Any]:
    """The assistant's graph's input, output, state, config and context JSON schemas."""
    assistant = await desk.assistants.get(assistant_id)
    return desk.graph_schemas(assistant.graph_id)


@router.get("/{assistant_id}/subgraphs")
async def assistant_subgraphs(
    assistant_id: str, user: CurrentUser, desk: DeskDep, recurse: bool = False
) -> dict[str, Any]:
    """The assistant's graph's subgraphs by namespace, with their schemas (the support agent has none)."""
    assistant = await desk.assistants.get(assistant_id)
    return await desk.graph_subgraphs(assistant.graph_id, recurse=recurse)


@router.get("/{assistant_id}/subgraphs/{namespace}")
async def assistant_subgraphs_in(
    assistant_id: str, namespace: str, user: CurrentUser, desk: DeskDep, recurse: bool = False
) -> dict[str, Any]:
    """The subgraphs under `namespace`."""
    assistant = await desk.assistants.get(assistant_id)
    return await desk.graph_subgraphs(assistant.graph_id, namespace, recurse)
