"""Each user's store items (LangGraph's store in the desk's database), on every backend."""

from __future__ import annotations

import pytest

from threaddesk import InvalidArgument, SupportDesk
from threaddesk.errors import ItemNotFound
from threaddesk.items import user_label


async def test_items_round_trip_and_stay_with_their_user(desk: SupportDesk) -> None:
    items = desk.items
    assert items is not None
    await items.put("alice", ["prefs"], "profile", {"name": "Alice", "language": "fr"})
    await items.put("bob", ["prefs"], "profile", {"name": "Bob"})
    assert (await items.get("alice", ["prefs"], "profile")).value == {"name": "Alice", "language": "fr"}
    assert (await items.get("bob", ["prefs"], "profile")).value == {"name": "Bob"}
    with pytest.raises(ItemNotFound) as missing:
        await items.get("carol", ["prefs"], "profile")
    assert str(missing.value) == "no item 'profile' in namespace ['prefs']"
    assert [i.key for i in await items.search("carol")] == []
    assert await items.namespaces("carol") == []
    assert await items.namespaces("alice") == [("prefs",)]
    await items.delete("bob", ["prefs"], "profile")  # bob deletes his own, not alice's
    assert (await items.get("alice", ["prefs"], "profile")).namespace == ("prefs",)
    with pytest.raises(ItemNotFound):
        await items.get("bob", ["prefs"], "profile")


async def test_user_names_with_periods_cannot_reach_other_namespaces(desk: SupportDesk) -> None:
    """LangGraph's stores join labels with '.': user 'a.b' must not be user 'a' with namespace ['b']."""
    items = desk.items
    assert items is not None
    await items.put("a", ["b", "x"], "k", {"owner": "a"})
    await items.put("a.b", ["x"], "k", {"owner": "a.b"})
    assert (await items.get("a", ["b", "x"], "k")).value == {"owner": "a"}
    assert (await items.get("a.b", ["x"], "k")).value == {"owner": "a.b"}
    assert [i.value for i in await items.search("a.b")] == [{"owner": "a.b"}]
    assert [i.value for i in await items.search("a")] == [{"owner": "a"}]
    assert user_label("a.b") != user_label("a%2Eb")


async def test_search_filters_pages_and_namespace_depth(desk: SupportDesk) -> None:
    items = desk.items
    assert items is not None
    for n in range(5):
        await items.put("alice", ["notes", str(2020 + n % 2)], f"n{n}", {"n": n, "odd": n % 2 == 1})
    odd = await items.search("alice", ["notes"], filter={"odd": True})
    assert sorted(i.key for i in odd) == ["n1", "n3"]
    assert len(await items.search("alice", ["notes"], limit=2, offset=4)) == 1
    assert await items.namespaces("alice", max_depth=1) == [("notes",)]
    assert sorted(await items.namespaces("alice", prefix=["notes"])) == [("notes", "2020"), ("notes", "2021")]
    assert await items.namespaces("alice", suffix=["2021"]) == [("notes", "2021")]


@pytest.mark.parametrize(
    ("namespace", "key", "value"),
    [
        (["a.b"], "k", {}),
        ([""], "k", {}),
        ([], "k", {}),
        (["ns"], "", {}),
        (["ns"], "k\x00", {}),
        (["ns"], "k", {"v": "\x00"}),
        (["ns"], "k", [1]),
        ([["nested"]], "k", {}),
        (["x"] * 17, "k", {}),
    ],
)
async def test_bad_items_are_refused_and_nothing_is_stored(desk: SupportDesk, namespace, key, value) -> None:
    items = desk.items
    assert items is not None
    with pytest.raises(InvalidArgument):
        await items.put("alice", namespace, key, value)
    assert await items.search("alice") == []
    with pytest.raises(InvalidArgument):
        await items.put("alice", ["ns"], "k", {}, ttl=-1)
