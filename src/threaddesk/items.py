"""Each user's own long-term memory: a per-user view of LangGraph's store (`BaseStore`).

What outlives a thread (a customer's preferred name and language across their
conversations) lives in LangGraph's store, in the same database as the threads.
Every namespace a caller names is placed under their own
`("threaddesk", "users", <user>)`, and every answer strips it again, so one
user can neither read, list, search nor overwrite another's items: another
user's item is simply not there (`ItemNotFound`, as for one never written).
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from langgraph.store.base import BaseStore, Item

from threaddesk.errors import InvalidArgument, ItemNotFound
from threaddesk.threads.models import MAX_PAGE_SIZE
from threaddesk.values import check_metadata, check_text

ROOT = ("threaddesk", "users")
# LangGraph's stores take filter keys of these characters only (others raise a bare ValueError).
_FILTER_KEY = re.compile(r"[A-Za-z0-9_.-]+")
MAX_KEY_LENGTH = 512
MAX_LABELS = 16


def user_label(user_id: str) -> str:
    """The user as one namespace label: LangGraph joins labels with '.', so '.' (and '%') are escaped."""
    return user_id.replace("%", "%25").replace(".", "%2E")


def user_namespace(user_id: str, namespace: Sequence[str]) -> tuple[str, ...]:
    """Where `user_id`'s `namespace` lives in LangGraph's store (`ItemStore` shows them `namespace`)."""
    return (*ROOT, user_label(user_id), *namespace)


def check_namespace(namespace: object, what: str = "namespace") -> tuple[str, ...]:
    """LangGraph's rule (a list of non-empty labels without '.'), plus storable text and a bound."""
    if not isinstance(namespace, list | tuple) or len(namespace) > MAX_LABELS:
        raise InvalidArgument(f"{what} must be a list of at most {MAX_LABELS} labels")
    for label in namespace:
        if not isinstance(label, str) or not label or "." in label:
            raise InvalidArgument(f"{what} label {label!r} must be a non-empty string without periods")
        check_text(label, f"{what} label")
    return tuple(namespace)


@dataclass(frozen=True, slots=True)
class StoredItem:
    """An item as its owner sees it: their namespace, without the per-user prefix."""

    namespace: tuple[str, ...]
    key: str
    value: dict[str, Any]
    created_at: datetime
    updated_at: datetime
    score: float | None = None

    def to_dict(self, *, searched: bool = False) -> dict[str, Any]:
        """LangGraph's `Item.dict()`, or with `searched` its `SearchItem.dict()` (with `score`)."""
        item: dict[str, Any] = {
            "namespace": list(self.namespace),
            "key": self.key,
            "value": self.value,
            "created_at": self.created_at.isoformat(),
            "updated_at": self.updated_at.isoformat(),
        }
        if searched:
            item["score"] = self.score
        return item


class ItemStore:
    """`user_id`'s items in LangGraph's store; every method is scoped to that one user."""

    def __init__(self, store: BaseStore) -> None:
        self.store = store

    def _full(self, user_id: str, namespace: Sequence[str]) -> tuple[str, ...]:
        return user_namespace(user_id, namespace)

    def _own(self, user_id: str, item: Item) -> StoredItem:
        return StoredItem(
            namespace=tuple(item.namespace[len(ROOT) + 1 :]),
            key=item.key,
            value=item.value,
            created_at=item.created_at,
            updated_at=item.updated_at,
            score=getattr(item, "score", None),
        )

    @staticmethod
    def _key(key: object) -> str:
        if not isinstance(key, str) or not key or len(key) > MAX_KEY_LENGTH:
            raise InvalidArgument(f"key must be a non-empty string of at most {MAX_KEY_LENGTH} characters")
        return check_text(key, "key")

    async def put(
        self,
        user_id: str,
        namespace: Sequence[str],
        key: str,
        value: dict[str, Any],
        *,
        ttl: float | None = None,
    ) -> None:
        """Store `value` (a JSON object, within the metadata limits) under `namespace` and `key`."""
        namespace = check_namespace(namespace)
        if not namespace:
            raise InvalidArgument("namespace must have at least one label")
        if not isinstance(value, dict):
            raise InvalidArgument("value must be a JSON object")
        value = check_metadata(value)
        if ttl is not None and (isinstance(ttl, bool) or not isinstance(ttl, int | float) or ttl <= 0):
            raise InvalidArgument("ttl must be a positive number of minutes")
        await self.store.aput(self._full(user_id, namespace), self._key(key), value, index=False, ttl=ttl)

    async def get(self, user_id: str, namespace: Sequence[str], key: str) -> StoredItem:
        """The item, or `ItemNotFound` (never written, deleted, expired, or another user's)."""
        namespace = check_namespace(namespace)
        item = await self.store.aget(self._full(user_id, namespace), self._key(key))
        if item is None:
            raise ItemNotFound(namespace, key)
        return self._own(user_id, item)

    async def delete(self, user_id: str, namespace: Sequence[str], key: str) -> None:
        """Remove the item if it is there (deleting a missing item is no error, as in LangGraph)."""
        namespace = check_namespace(namespace)
        await self.store.adelete(self._full(user_id, namespace), self._key(key))

    async def search(
        self,
        user_id: str,
        namespace_prefix: Sequence[str] = (),
        *,
        filter: dict[str, Any] | None = None,
        limit: int = 10,
        offset: int = 0,
        query: str | None = None,
    ) -> list[StoredItem]:
        """Items under `namespace_prefix` whose value matches `filter` (LangGraph's filter operators)."""
        prefix = check_namespace(namespace_prefix, "namespace_prefix")
        _check_slice(limit, offset)
        if filter is not None:
            filter = check_metadata(filter)
            for key in filter:
                if not _FILTER_KEY.fullmatch(key):
                    raise InvalidArgument(
                        f"filter key {key!r} may hold only letters, digits, '_', '.' and '-'"
                    )
        try:
            items = await self.store.asearch(
                self._full(user_id, prefix), filter=filter, limit=limit, offset=offset, query=query
            )
        except ValueError as exc:  # the store's own refusal of a filter it cannot run
            raise InvalidArgument(f"filter: {exc}") from exc
        return [self._own(user_id, item) for item in items]

    async def namespaces(
        self,
        user_id: str,
        *,
        prefix: Sequence[str] | None = None,
        suffix: Sequence[str] | None = None,
        max_depth: int | None = None,
        limit: int = 100,
        offset: int = 0,
    ) -> list[tuple[str, ...]]:
        """The user's namespaces (at most `max_depth` labels long) under `prefix`, ending in `suffix`."""
        start = self._full(user_id, check_namespace(prefix or (), "prefix"))
        end = check_namespace(suffix, "suffix") if suffix else None
        _check_slice(limit, offset)
        if max_depth is not None and (
            isinstance(max_depth, bool) or not isinstance(max_depth, int) or max_depth < 1
        ):
            raise InvalidArgument("max_depth must be a positive integer")
        found = await self.store.alist_namespaces(
            prefix=start,
            suffix=end,
            max_depth=None if max_depth is None else max_depth + len(ROOT) + 1,
            limit=limit,
            offset=offset,
        )
        return [namespace[len(ROOT) + 1 :] for namespace in found]


def _check_slice(limit: object, offset: object) -> None:
    if isinstance(limit, bool) or not isinstance(limit, int) or not 1 <= limit <= MAX_PAGE_SIZE:
        raise InvalidArgument(f"limit must be an integer from 1 to {MAX_PAGE_SIZE}")
    if isinstance(offset, bool) or not isinstance(offset, int) or not 0 <= offset <= 2**62:
        raise InvalidArgument("offset must be a non-negative integer")
