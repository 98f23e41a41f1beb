"""The served graphs' system assistants, as `langgraph-sdk`'s assistants client sees them.

One assistant per graph the desk serves (`desk.graphs`; the built-in support
agent by default), named by its uuid or its graph id: search, get, count,
versions, and each graph's drawing, schemas and subgraphs (what LangGraph
Studio-like front-ends and agent-chat-ui ask for). Assistants are not stored:
creating, updating or deleting one is not offered.
"""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Query
from pydantic import BaseModel, ConfigDict, Field

from threaddesk.errors import InvalidArgument
from threaddesk.threads.models import MAX_PAGE_SIZE
from threaddesk.web import compat
from threaddesk.web.compat import JsonInteger
from threaddesk.web.deps import CurrentUser, DeskDep
from threaddesk.web.schemas import ERROR_RESPONSES

router = APIRouter(prefix="/assistants", tags=["langgraph"], responses=ERROR_RESPONSES)


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


def _xray(raw: str | None) -> bool | int:
    """LangGraph's `xray` query: true/false, or a positive depth."""
    if raw is None or raw in ("false", "False"):
        return False
    if raw in ("true", "True"):
        return True
    if raw.isdigit() and int(raw) > 0:
        return int(raw)
    raise InvalidArgument(f"xray must be true, false or a positive depth, got {raw!r}")


@router.post("/search")
async def search_assistants(
    body: compat.AssistantSearch, user: CurrentUser, desk: DeskDep
) -> list[dict[str, Any]]:
    return compat.search_assistants(body, desk.graphs)


@router.post("/count")
async def count_assistants(body: AssistantCount, user: CurrentUser, desk: DeskDep) -> int:
    """How many assistants match (one per served graph at most)."""
    query = compat.AssistantSearch(
        metadata=body.metadata, graph_id=body.graph_id, name=body.name, limit=MAX_PAGE_SIZE
    )
    return len(compat.search_assistants(query, desk.graphs))


@router.get("/{assistant_id}")
async def get_assistant(assistant_id: str, user: CurrentUser, desk: DeskDep) -> dict[str, Any]:
    return compat.assistant(compat.check_assistant(assistant_id, desk.graphs))


@router.post("/{assistant_id}/versions")
async def assistant_versions(
    assistant_id: str, body: VersionSearch, user: CurrentUser, desk: DeskDep
) -> list[dict[str, Any]]:
    """The assistant's versions, newest first: a system assistant has one."""
    version = compat.assistant(compat.check_assistant(assistant_id, desk.graphs))
    version.pop("updated_at")
    matches = all(version["metadata"].get(k) == v for k, v in (body.metadata or {}).items())
    return [version][body.offset : body.offset + body.limit] if matches else []


@router.get("/{assistant_id}/graph")
async def assistant_graph(
    assistant_id: str,
    user: CurrentUser,
    desk: DeskDep,
    xray: Annotated[str | None, Query(description="true, false, or a positive depth of subgraphs")] = None,
) -> dict[str, Any]:
    """The graph's nodes and edges (LangGraph's drawable graph as JSON)."""
    served = compat.check_assistant(assistant_id, desk.graphs)
    return desk.graph_json(_xray(xray), served.graph_id)


@router.get("/{assistant_id}/schemas")
async def assistant_schemas(assistant_id: str, user: CurrentUser, desk: DeskDep) -> dict[str, Any]:
    """The graph's input, output, state, config and context JSON schemas."""
    return desk.graph_schemas(compat.check_assistant(assistant_id, desk.graphs).graph_id)


@router.get("/{assistant_id}/subgraphs")
async def assistant_subgraphs(
    assistant_id: str, user: CurrentUser, desk: DeskDep, recurse: bool = False
) -> dict[str, Any]:
    """The graph's subgraphs by namespace, with their schemas (the support agent has none)."""
    served = compat.check_assistant(assistant_id, desk.graphs)
    return await desk.graph_subgraphs(served.graph_id, recurse=recurse)


@router.get("/{assistant_id}/subgraphs/{namespace}")
async def assistant_subgraphs_in(
    assistant_id: str, namespace: str, user: CurrentUser, desk: DeskDep, recurse: bool = False
) -> dict[str, Any]:
    """The subgraphs under `namespace`."""
    served = compat.check_assistant(assistant_id, desk.graphs)
    return await desk.graph_subgraphs(served.graph_id, namespace, recurse)
