"""LangGraph's store API (`langgraph-sdk`'s `client.store`): each user's own long-term memory.

Every call acts on the caller's own items only (see `threaddesk.items`): another
user's item answers exactly what a missing one does (404 `item_not_found`).
"""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Query, Response, status
from pydantic import BaseModel, ConfigDict, Field

from threaddesk.items import ItemStore
from threaddesk.threads.models import MAX_PAGE_SIZE
from threaddesk.web.compat import JsonInteger
from threaddesk.web.deps import CurrentUser, DeskDep
from threaddesk.web.errors import APIError
from threaddesk.web.schemas import ERROR_RESPONSES

router = APIRouter(prefix="/store", tags=["langgraph"], responses=ERROR_RESPONSES)
Namespace = list[str]


class StorePut(BaseModel):
    model_config = ConfigDict(extra="ignore")

    namespace: Namespace
    key: str
    value: dict[str, Any]
    index: Any = Field(default=None, description="Accepted; threaddesk's store has no vector index")
    ttl: float | None = Field(default=None, description="Minutes until the item expires")


class StoreDelete(BaseModel):
    model_config = ConfigDict(extra="ignore")

    namespace: Namespace
    key: str


class StoreSearch(BaseModel):
    model_config = ConfigDict(extra="ignore")

    namespace_prefix: Namespace = Field(default_factory=list)
    filter: dict[str, Any] | None = None
    limit: JsonInteger = Field(default=10, ge=1, le=MAX_PAGE_SIZE)
    offset: JsonInteger = Field(default=0, ge=0)
    query: str | None = None
    refresh_ttl: bool | None = None


class StoreNamespaces(BaseModel):
    model_config = ConfigDict(extra="ignore")

    prefix: Namespace | None = None
    suffix: Namespace | None = None
    max_depth: JsonInteger | None = Field(default=None, description="At least 1 (checked by the core)")
    limit: JsonInteger = Field(default=100, ge=1, le=MAX_PAGE_SIZE)
    offset: JsonInteger = Field(default=0, ge=0)


def _items(desk: DeskDep) -> ItemStore:
    if desk.items is None:  # every backend has one; a desk built by hand may not
        raise APIError(404, "not_found", "this server has no store")
    return desk.items


@router.put("/items", status_code=status.HTTP_204_NO_CONTENT)
async def put_item(body: StorePut, user: CurrentUser, desk: DeskDep) -> Response:
    """Store (or replace) your item `key` in `namespace`."""
    await _items(desk).put(user.name, body.namespace, body.key, body.value, ttl=body.ttl)
    return Response(status_code=status.HTTP_204_NO_CONTENT)


@router.get("/items")
async def get_item(
    user: CurrentUser,
    desk: DeskDep,
    key: Annotated[str, Query(description="The item's key")],
    namespace: Annotated[str, Query(description="The namespace's labels joined by '.'")] = "",
) -> dict[str, Any]:
    """Your item, or 404 `item_not_found` (LangGraph's server answers `null`)."""
    labels = namespace.split(".") if namespace else []
    return (await _items(desk).get(user.name, labels, key)).to_dict()


@router.delete("/items", status_code=status.HTTP_204_NO_CONTENT)
async def delete_item(body: StoreDelete, user: CurrentUser, desk: DeskDep) -> Response:
    """Delete your item (nothing happens if there is none)."""
    await _items(desk).delete(user.name, body.namespace, body.key)
    return Response(status_code=status.HTTP_204_NO_CONTENT)


@router.post("/items/search")
async def search_items(body: StoreSearch, user: CurrentUser, desk: DeskDep) -> dict[str, Any]:
    """Your items under `namespace_prefix` whose value matches `filter`, `limit`/`offset`."""
    found = await _items(desk).search(
        user.name,
        body.namespace_prefix,
        filter=body.filter,
        limit=body.limit,
        offset=body.offset,
        query=body.query,
    )
    return {"items": [item.to_dict(searched=True) for item in found]}


@router.post("/namespaces")
async def list_namespaces(body: StoreNamespaces, user: CurrentUser, desk: DeskDep) -> dict[str, Any]:
    """Your namespaces under `prefix`, ending in `suffix`, cut to `max_depth` labels."""
    found = await _items(desk).namespaces(
        user.name,
        prefix=body.prefix,
        suffix=body.suffix,
        max_depth=body.max_depth,
        limit=body.limit,
        offset=body.offset,
    )
    return {"namespaces": [list(namespace) for namespace in found]}
