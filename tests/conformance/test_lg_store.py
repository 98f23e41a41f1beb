"""LangGraph's store API through `langgraph-sdk` on both servers."""

from __future__ import annotations

import uuid

from harness import Target, same_on_both, status_of
from transcript import Transcript


async def test_put_get_search_namespaces_delete(targets: list[Target]) -> None:
    async def scenario(target: Target, seen: Transcript) -> None:
        store = target.sdk().store
        root = str(uuid.uuid4())  # normalised by the transcript, as every id
        await store.put_item([root, "prefs"], "alice", {"name": "Alice", "language": "fr"})
        await store.put_item([root, "prefs"], "bob", {"name": "Bob", "language": "en"})
        await store.put_item([root, "notes", "2026"], "n1", {"text": "refund asked"})
        item = await store.get_item([root, "prefs"], "alice")
        seen.add("get", item)
        found = await store.search_items([root, "prefs"], filter={"language": "fr"})
        seen.add("search by filter", found)
        everything = await store.search_items([root], limit=10)
        seen.add("search prefix", sorted((i["namespace"][1], i["key"]) for i in everything["items"]))
        seen.add("search offset", len((await store.search_items([root], limit=2, offset=2))["items"]))
        seen.add("namespaces", await store.list_namespaces(prefix=[root]))
        seen.add("namespaces depth 2", await store.list_namespaces(prefix=[root], max_depth=2))
        seen.add("namespaces suffix", await store.list_namespaces(prefix=[root], suffix=["2026"]))
        await store.put_item([root, "prefs"], "alice", {"name": "Alice", "language": "de"})
        seen.add("replaced", (await store.get_item([root, "prefs"], "alice"))["value"])
        await store.delete_item([root, "prefs"], "alice")
        await store.delete_item([root, "prefs"], "never-there")
        seen.add("after delete", len((await store.search_items([root, "prefs"]))["items"]))
        async with target.http() as http:
            bad = await http.put("/store/items", json={"namespace": ["a.b"], "key": "k", "value": {}})
            seen.add("label with a period", bad.status_code)
            bad = await http.post("/store/items/search", json={"namespace_prefix": [""]})
            seen.add("empty label", bad.status_code)
        status, _ = await status_of(store.get_item([root, "prefs"], "alice"))
        seen.add("get deleted: 200 there (null), 404 here", status in (200, 404))

    await same_on_both(targets, scenario)
