"""The one assistant (the support agent), as `langgraph-sdk`'s assistants client sees it.

search, get, count, versions, and the graph's drawing and schemas (what
LangGraph Studio-like front-ends and agent-chat-ui ask for). Assistants are not
stored: creating, updating or deleting one is not offered.
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
async def search_assistants(body: compat.AssistantSearch, user: CurrentUser) -> list[dict[str, Any]]:
    return compat.search_assistants(body)


@router.post("/count")
async def count_assistants(body: AssistantCount, user: CurrentUser) -> int:
    """How many assistants match (0 or 1: the support agent)."""
    query = compat.AssistantSearch(metadata=body.metadata, graph_id=body.graph_id, name=body.name)
    return len(compat.search_assistants(query))


@router.get("/{assistant_id}")
async def get_assistant(assistant_id: str, user: CurrentUser) -> dict[str, Any]:
    compat.check_assistant(assistant_id)
    return compat.assistant()


@router.post("/{assistant_id}/versions")
async def assistant_versions(
    assistant_id: str, body: VersionSearch, user: CurrentUser
) -> list[dict[str, Any]]:
    """The assistant's versions, newest first: the support agent has one."""
    compat.check_assistant(assistant_id)
    version = compat.assistant()
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
    compat.check_assistant(assistant_id)
    return desk.graph_json(_xray(xray))


@router.get("/{assistant_id}/schemas")
async def assistant_schemas(assistant_id: str, user: CurrentUser, desk: DeskDep) -> dict[str, Any]:
    """The graph's input, output, state, config and context JSON schemas."""
    compat.check_assistant(assistant_id)
    return desk.graph_schemas(compat.GRAPH_ID)


@router.get("/{assistant_id}/subgraphs")
async def assistant_subgraphs(assistant_id: str, user: CurrentUser, recurse: bool = False) -> dict[str, Any]:
    """The graph's subgraphs by namespace, with their schemas: the support agent has none."""
    compat.check_assistant(assistant_id)
    return {}


@router.get("/{assistant_id}/subgraphs/{namespace}")
async def assistant_subgraphs_in(
    assistant_id: str, namespace: str, user: CurrentUser, recurse: bool = False
) -> dict[str, Any]:
    """The subgraphs under `namespace`: none."""
    compat.check_assistant(assistant_id)
    return {}
