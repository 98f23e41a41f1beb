"""LangGraph's thread requests beyond runs (search, count, prune, update_state), read into core calls.

Kept apart from `compat` (the runs' dialect) so each side of the API can move
on its own; the core does the work (`SupportDesk.search_threads`, ...).
"""

from __future__ import annotations

from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field

from threaddesk.errors import InvalidArgument
from threaddesk.threads.models import MAX_PAGE_SIZE, SORT_COLUMNS, ThreadQuery, ThreadStatus
from threaddesk.web.compat import JsonInteger, checkpoint_id
from threaddesk.web.langgraph_state import as_json
from threaddesk.web.schemas import THREAD_ID_SCHEMA

# LangGraph's `ThreadSelectField`: what `select` may name.
THREAD_FIELDS = (
    "thread_id",
    "created_at",
    "updated_at",
    "state_updated_at",
    "metadata",
    "config",
    "status",
    "values",
    "interrupts",
)
Status = Literal["idle", "busy", "error", "interrupted"]
# Checked by the core (422 invalid_thread_id), stated for clients and schemathesis.
ThreadIds = list[Annotated[str, Field(json_schema_extra=THREAD_ID_SCHEMA)]]
SortBy = Literal["thread_id", "status", "created_at", "updated_at", "state_updated_at"]
assert set(SortBy.__args__) == set(SORT_COLUMNS)  # type: ignore[attr-defined]


def json_contains(document: Any, pattern: Any) -> bool:
    """PostgreSQL's `jsonb @>`, which LangGraph's `values` filter is: objects by their keys
    (recursively), arrays holding each pattern element somewhere, scalars equal."""
    if isinstance(pattern, dict):
        return isinstance(document, dict) and all(
            key in document and json_contains(document[key], value) for key, value in pattern.items()
        )
    if isinstance(pattern, list):
        return isinstance(document, list) and all(
            any(json_contains(item, wanted) for item in document) for wanted in pattern
        )
    if isinstance(pattern, bool) or isinstance(document, bool):
        return type(pattern) is type(document) and pattern == document
    return document == pattern


class ThreadFilter(BaseModel):
    """What LangGraph's `threads.count` (and search) filter on."""

    model_config = ConfigDict(extra="ignore")

    metadata: dict[str, Any] | None = None
    values: dict[str, Any] | None = None
    status: Status | None = None

    def values_match(self) -> Any:
        """A predicate on a thread's state values, or None without a `values` filter."""
        pattern = self.values
        if not pattern:
            return None
        return lambda values: json_contains(as_json(values), pattern)

    def query(self, owner: str | None, **slice_and_order: Any) -> ThreadQuery:
        return ThreadQuery(
            user_id=owner,
            status=ThreadStatus(self.status) if self.status else None,
            metadata=self.metadata or None,
            **slice_and_order,
        )


class ThreadSearch(ThreadFilter):
    """LangGraph's `ThreadSearchRequest`."""

    ids: ThreadIds | None = Field(default=None, max_length=MAX_PAGE_SIZE)
    limit: JsonInteger = Field(default=10, ge=1, le=MAX_PAGE_SIZE)
    offset: JsonInteger = Field(default=0, ge=0)
    sort_by: SortBy | None = None
    sort_order: Literal["asc", "desc", "ASC", "DESC"] | None = None
    select: list[Literal[THREAD_FIELDS]] | None = None  # type: ignore[valid-type]

    def thread_query(self, owner: str | None) -> ThreadQuery:
        return self.query(
            owner,
            ids=None if self.ids is None else tuple(self.ids),
            sort_by=self.sort_by or "updated_at",
            sort_order=(self.sort_order or "desc").lower(),
            limit=self.limit,
            offset=self.offset,
        )

    def fields(self) -> list[str] | None:
        return list(dict.fromkeys(self.select)) if self.select else None


class ThreadPrune(BaseModel):
    """LangGraph's `ThreadPruneRequest`."""

    model_config = ConfigDict(extra="ignore")

    thread_ids: ThreadIds = Field(max_length=MAX_PAGE_SIZE)
    strategy: Literal["delete", "keep_latest"] = "delete"


class ThreadStateUpdate(BaseModel):
    """LangGraph's `ThreadStateUpdate`: values written as if `as_node` had, on the latest or a given state."""

    model_config = ConfigDict(extra="ignore")

    values: dict[str, Any] | list[Any] | None = None
    as_node: str | None = None
    checkpoint_id: str | None = None
    checkpoint: dict[str, Any] | None = None

    def start(self) -> str | None:
        """The checkpoint to update from (a fork), or None for the latest."""
        if self.checkpoint and self.checkpoint.get("checkpoint_ns"):
            raise InvalidArgument("the support agent has no subgraphs: checkpoint_ns must be empty")
        raw = self.checkpoint_id or (self.checkpoint or {}).get("checkpoint_id")
        return checkpoint_id(raw, optional=True)
