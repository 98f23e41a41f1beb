"""Assistants as LangGraph's server keeps them: create, get, update (a new version), set the active
version, delete, search, count; plus each graph's own assistant, which is not stored and never changes.

Semantics follow `langgraph_runtime_inmem.ops.Assistants` (LangGraph's reference server):
an assistant's `context` and `config.configurable` are kept equal (giving both is refused);
an update merges `metadata`, replaces what else it gives, and adds a version that becomes
the active one; `set_latest` makes an older version active again (the versions stay).
For the support agent, the context is what the assistant configures: its system prompt,
model, context window and tools (`threaddesk.agent.run_settings.AgentContext`), checked here.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, replace
from typing import Any

from threaddesk.agent.run_settings import check_settings
from threaddesk.assistants.interfaces import AssistantStore
from threaddesk.assistants.models import Assistant, AssistantVersion, system_assistant_id
from threaddesk.errors import (
    AssistantExists,
    AssistantNotFound,
    GraphNotFound,
    InvalidArgument,
    SystemAssistant,
)
from threaddesk.runs.models import RunRecord
from threaddesk.runs.request import RunRequest
from threaddesk.threads.models import Clock, check_limit, utc_now
from threaddesk.values import check_metadata, check_text

SORT_KEYS = ("assistant_id", "graph_id", "name", "created_at", "updated_at")
FIELDS = ("assistant_id", "graph_id", "name", "description", "config", "context", "metadata", "version",
          "created_at", "updated_at")  # fmt: skip
MAX_NAME_CHARS = 200
MAX_DESCRIPTION_CHARS = 4000
CONFIG_KEYS = frozenset({"configurable", "tags", "recursion_limit", "metadata", "run_name"})


def contains(superset: Mapping[str, Any], subset: Mapping[str, Any]) -> bool:
    """PostgreSQL's jsonb `@>` for objects, as LangGraph's metadata filters use it."""
    for key, value in subset.items():
        if key not in superset:
            return False
        if isinstance(value, Mapping) and isinstance(superset[key], Mapping):
            if not contains(superset[key], value):
                return False
        elif superset[key] != value:
            return False
    return True


@dataclass(frozen=True, slots=True)
class AssistantQuery:
    """Which assistants a search or count wants (`name`: a case-insensitive part of the name)."""

    graph_id: str | None = None
    name: str | None = None
    metadata: Mapping[str, Any] | None = None
    sort_by: str | None = None
    sort_order: str | None = None
    limit: int = 10
    offset: int = 0

    def __post_init__(self) -> None:
        if self.sort_by is not None and self.sort_by not in SORT_KEYS:
            raise InvalidArgument(f"sort_by must be one of {', '.join(SORT_KEYS)}, got {self.sort_by!r}")
        if self.sort_order is not None and self.sort_order.lower() not in ("asc", "desc"):
            raise InvalidArgument(f"sort_order must be 'asc' or 'desc', got {self.sort_order!r}")
        check_limit(self.limit)
        if isinstance(self.offset, bool) or not isinstance(self.offset, int) or self.offset < 0:
            raise InvalidArgument(f"offset must be a non-negative integer, got {self.offset!r}")

    def matches(self, assistant: Assistant) -> bool:
        return (
            (self.graph_id is None or assistant.graph_id == self.graph_id)
            and (not self.name or self.name.lower() in assistant.name.lower())
            and contains(assistant.metadata, self.metadata or {})
        )

    def ordered(self, assistants: list[Assistant]) -> list[Assistant]:
        key = self.sort_by or "created_at"
        descending = self.sort_by is None or (self.sort_order or "desc").lower() == "desc"

        def value(assistant: Assistant) -> Any:
            found = getattr(assistant, key)
            return found.lower() if key in ("name", "graph_id") else found

        # Ties broken by id, so pages never overlap.
        by_id = sorted(assistants, key=lambda a: a.assistant_id, reverse=descending)
        return sorted(by_id, key=value, reverse=descending)


def _uuid(assistant_id: object) -> str:
    try:
        return str(uuid.UUID(str(assistant_id)))
    except ValueError:
        raise InvalidArgument(f"assistant_id must be a UUID, got {assistant_id!r}") from None


def _text(value: object, what: str, limit: int, *, empty: bool = False) -> str:
    if not isinstance(value, str) or (not empty and not value.strip()) or len(value) > limit:
        raise InvalidArgument(
            f"{what} must be a {'' if empty else 'non-empty '}string of at most {limit} characters"
        )
    return check_text(value, what)


def _config_and_context(
    config: Mapping[str, Any] | None, context: Mapping[str, Any] | None
) -> tuple[dict[str, Any], dict[str, Any] | None]:
    """The config and context as stored: checked, and each the other's copy, as LangGraph keeps them."""
    config = check_metadata(config)
    unknown = sorted(set(config) - CONFIG_KEYS)
    if unknown:
        raise InvalidArgument(f"config may hold {', '.join(sorted(CONFIG_KEYS))} only; got {unknown}")
    configurable = config.get("configurable")
    if configurable is not None and not isinstance(configurable, Mapping):
        raise InvalidArgument("config.configurable must be an object")
    context = None if context is None else check_metadata(context)
    if configurable and context:
        raise InvalidArgument("config.configurable and context exclude each other: set context alone")
    if configurable:
        context = dict(configurable)
    elif context:
        config["configurable"] = dict(context)
    problems = check_settings(context or {})
    if problems:
        raise InvalidArgument("; ".join(problems))
    return config, context


class AssistantManager:
    """Assistants of the graphs named by `graph_ids()`: the stored ones, and each graph's own.

    `store` may be None (a desk without one): then only the graphs' own assistants exist
    and creating one is refused.
    """

    def __init__(
        self,
        store: AssistantStore | None,
        graph_ids: Callable[[], Sequence[str]],
        *,
        clock: Clock = utc_now,
        descriptions: Mapping[str, str] | None = None,
    ) -> None:
        self.store = store
        self.graph_ids = graph_ids
        self.clock = clock
        self.descriptions = dict(descriptions or {})

    # The graphs' own assistants.

    def system(self) -> list[Assistant]:
        """Each graph's own assistant: its defaults (`config` and `context` empty), version 1."""
        return [
            Assistant(
                system_assistant_id(graph_id),
                graph_id,
                graph_id,
                self.descriptions.get(graph_id),
                metadata={"created_by": "system"},
            )
            for graph_id in self.graph_ids()
        ]

    def _system(self, assistant_id: str) -> Assistant | None:
        return next(
            (a for a in self.system() if assistant_id in (a.assistant_id, a.graph_id)),
            None,
        )

    def _check_graph(self, graph_id: object) -> str:
        known = list(self.graph_ids())
        if not isinstance(graph_id, str) or graph_id not in known:
            raise GraphNotFound(str(graph_id), known)
        return graph_id

    def _store(self) -> AssistantStore:
        if self.store is None:
            raise InvalidArgument("this desk stores no assistants (it has no assistant store)")
        return self.store

    # Reading.

    async def get(self, assistant_id: str) -> Assistant:
        """The assistant by id (a graph's own also by the graph's name), else `AssistantNotFound`."""
        own = self._system(assistant_id)
        if own is not None:
            return own
        try:
            key = str(uuid.UUID(assistant_id))
        except ValueError:
            raise AssistantNotFound(assistant_id) from None
        found = await self.store.get(key) if self.store is not None else None
        if found is None or found.graph_id not in self.graph_ids():
            raise AssistantNotFound(assistant_id)
        return found

    async def _all(self) -> list[Assistant]:
        stored = await self.store.list() if self.store is not None else []
        graphs = set(self.graph_ids())
        return [*self.system(), *(a for a in stored if a.graph_id in graphs)]

    async def search(self, query: AssistantQuery) -> list[Assistant]:
        """The assistants matching `query`, in its order, its slice (newest first by default)."""
        if query.graph_id is not None:
            self._check_graph(query.graph_id)
        found = query.ordered([a for a in await self._all() if query.matches(a)])
        return found[query.offset : query.offset + query.limit]

    async def count(self, query: AssistantQuery) -> int:
        if query.graph_id is not None:
            self._check_graph(query.graph_id)
        return sum(query.matches(a) for a in await self._all())

    async def versions(
        self,
        assistant_id: str,
        *,
        metadata: Mapping[str, Any] | None = None,
        limit: int = 10,
        offset: int = 0,
    ) -> list[AssistantVersion]:
        """The assistant's versions whose metadata contains `metadata`, newest first."""
        check_limit(limit)
        if isinstance(offset, bool) or not isinstance(offset, int) or offset < 0:
            raise InvalidArgument(f"offset must be a non-negative integer, got {offset!r}")
        assistant = await self.get(assistant_id)
        if assistant.is_system:
            versions = [assistant.as_version()]
        else:
            versions = await self._store().versions(assistant.assistant_id)
        wanted = [v for v in versions if contains(v.metadata, metadata or {})]
        return wanted[offset : offset + limit]

    # Changing (admins only: the web layer checks).

    async def create(
        self,
        graph_id: str,
        *,
        assistant_id: str | None = None,
        config: Mapping[str, Any] | None = None,
        context: Mapping[str, Any] | None = None,
        metadata: Mapping[str, Any] | None = None,
        name: str | None = None,
        description: str | None = None,
        if_exists: str = "raise",
    ) -> Assistant:
        """A new assistant of `graph_id` (version 1). A taken id: `AssistantExists` with
        `if_exists="raise"`, the existing assistant unchanged with `"do_nothing"`."""
        if if_exists not in ("raise", "do_nothing"):
            raise InvalidArgument(f"if_exists must be 'raise' or 'do_nothing', got {if_exists!r}")
        key = _uuid(assistant_id) if assistant_id is not None else str(uuid.uuid4())
        stored_config, stored_context = _config_and_context(config, context)
        metadata = check_metadata(metadata)
        name = "Untitled" if name is None else _text(name, "name", MAX_NAME_CHARS)
        if description is not None:
            description = _text(description, "description", MAX_DESCRIPTION_CHARS, empty=True)
        graph_id = self._check_graph(graph_id)
        store = self._store()
        if self._system(key) is not None:
            if if_exists == "do_nothing":
                return await self.get(key)
            raise AssistantExists(key)
        now = self.clock()
        assistant = Assistant(
            key, graph_id, name, description, stored_config, stored_context or {}, metadata, 1, now, now
        )
        if await store.create(assistant):
            return assistant
        if if_exists == "do_nothing":
            existing = await store.get(key)
            if existing is not None:
                return existing
        raise AssistantExists(key)

    async def _stored(self, assistant_id: str) -> Assistant:
        """A stored assistant, to change: a graph's own is `SystemAssistant`."""
        assistant = await self.get(assistant_id)
        if assistant.is_system:
            raise SystemAssistant(assistant.assistant_id)
        return assistant

    async def update(
        self,
        assistant_id: str,
        *,
        graph_id: str | None = None,
        config: Mapping[str, Any] | None = None,
        context: Mapping[str, Any] | None = None,
        metadata: Mapping[str, Any] | None = None,
        name: str | None = None,
        description: str | None = None,
    ) -> Assistant:
        """A new version (the active one from now): `metadata` merged into the current, what else
        is given replacing it."""
        new_config, new_context = _config_and_context(config, context)
        metadata = check_metadata(metadata)
        if name is not None:
            name = _text(name, "name", MAX_NAME_CHARS)
        if description is not None:
            description = _text(description, "description", MAX_DESCRIPTION_CHARS, empty=True)
        if graph_id is not None:
            self._check_graph(graph_id)
        current = await self._stored(assistant_id)
        changed = replace(
            current,
            graph_id=graph_id if graph_id is not None else current.graph_id,
            config=new_config if new_config else current.config,
            context=new_context if new_context is not None else current.context,
            metadata={**current.metadata, **metadata},
            name=name if name is not None else current.name,
            description=description if description is not None else current.description,
        )
        updated = await self._store().add_version(changed, self.clock())
        if updated is None:
            raise AssistantNotFound(assistant_id)
        return updated

    async def set_latest(self, assistant_id: str, version: int) -> Assistant:
        """Make `version` the active one (`AssistantNotFound` if there is no such version)."""
        if isinstance(version, bool) or not isinstance(version, int) or version < 1:
            raise InvalidArgument(f"version must be a positive integer, got {version!r}")
        assistant = await self.get(assistant_id)
        if assistant.is_system:
            if version != assistant.version:
                raise AssistantNotFound(assistant.assistant_id, version)
            return assistant
        updated = await self._store().set_latest(assistant.assistant_id, version, self.clock())
        if updated is None:
            raise AssistantNotFound(assistant.assistant_id, version)
        return updated

    async def delete(self, assistant_id: str) -> Assistant:
        """Forget the assistant and its versions; what it was."""
        assistant = await self._stored(assistant_id)
        if not await self._store().delete(assistant.assistant_id):
            raise AssistantNotFound(assistant_id)
        return assistant

    # Runs.

    async def bind(self, request: RunRequest, *, remembered: object = None) -> RunRequest:
        """The run with its assistant's settings: the assistant's context under the run's own (key by
        key, as LangGraph merges them), its id and graph in the run's metadata and configurable.

        The assistant is the one the run names (`AssistantNotFound` if there is none such), else
        `remembered` (the thread's, from its metadata; if since deleted, the graph's defaults).
        """
        if request.assistant_id is None and not isinstance(remembered, str):
            return request
        named = request.assistant_id is not None
        try:
            assistant = await self.get(request.assistant_id if named else remembered)  # type: ignore[arg-type]
        except AssistantNotFound:
            if named:
                raise
            return request
        ids = {"graph_id": assistant.graph_id, "assistant_id": assistant.assistant_id}
        context = {**assistant.context, **(request.context or {})}
        configurable = {**(assistant.config.get("configurable") or {}), **request.configurable, **ids}
        return replace(
            request,
            assistant_id=assistant.assistant_id,
            context=context or None,
            configurable=configurable,
            metadata={**request.metadata, **ids},
            graph_id=assistant.graph_id,
        )

    @staticmethod
    def recorded(record: RunRecord | None, request: RunRequest) -> RunRecord | None:
        """A run's record as LangGraph's server keeps it: its `kwargs` with the assistant's settings
        merged in (`config.configurable` and `context`), once `bind` has merged them into `request`."""
        if record is None or request.assistant_id is None:
            return record
        kwargs = dict(record.kwargs)
        config = dict(kwargs.get("config") or {})
        own_context = kwargs.get("context") or {}  # the run's own, copied into configurable as LangGraph does
        config["configurable"] = {**request.configurable, **own_context, **(config.get("configurable") or {})}
        kwargs["config"] = config
        kwargs["context"] = dict(request.context or {})
        return replace(record, kwargs=kwargs)
